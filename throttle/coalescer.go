// Package throttle coalesces frequent updates (progress edits of Discord
// messages) so that many jobs together send few requests.
//
// Discord limits each interaction's routes, and counts 429s toward a ban
// on invalid requests; a progress edit is outdated by the next one anyway.
// A Coalescer keeps only the latest update per key (per job) and sends
// them one at a time, taking keys in turn, at most one per key per
// interval, so that many running jobs make a steady trickle of edits
// rather than bursts.
package throttle

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// maxTombstones bounds how many dropped keys are remembered (so that a
// late Set for them is ignored). Keys are job ids, never reused, and a late
// Set comes within moments of the Drop; the bound only keeps memory flat
// over a long run.
const maxTombstones = 4096

// Coalescer runs the latest update of each key on one worker goroutine.
//
// Rules:
//   - Set replaces the key's pending update; an update that has not started
//     is never run once a newer one is set.
//   - Updates run one at a time. Of the keys whose interval has passed,
//     the one that became pending first goes first (a key keeps its place
//     while its update is replaced), so one busy key cannot starve others.
//   - A key's updates start at least interval apart (start to start).
//   - With WithPace(p), any two updates start at least p apart, whatever
//     their keys: N keys together then make at most one update per p,
//     instead of N per interval.
//   - Drop(key) and Flush(key) end a key: when they return, no update of
//     key is running or will ever run, and later Sets for key are ignored
//     until Reset(key). Call them before posting a job's final message, so
//     a stale progress edit can never overwrite it.
//
// An update's context is cancelled by Close. Updates must not call Drop or
// Flush for their own key (that would wait for itself). Methods are safe
// for concurrent use.
type Coalescer struct {
	interval time.Duration
	pace     time.Duration
	clock    Clock
	log      *slog.Logger
	ctx      context.Context
	cancel   context.CancelFunc
	wake     chan struct{} // room for one token: "something changed"
	stopped  chan struct{} // closed when the worker has returned

	mu      sync.Mutex
	closed  bool
	keys    map[string]*keyState
	order   []string // keys with a pending update, oldest first
	lastAny time.Time
	anyRan  bool
	dropped map[string]uint64 // key → tombstone serial
	tombs   []tomb            // FIFO of tombstones, oldest first
	tombSeq uint64
}

type keyState struct {
	fn       func(context.Context) // pending update, nil if none
	last     time.Time             // start of the key's last update
	ran      bool
	inflight bool
	idle     chan struct{} // closed when the in-flight update returns
	urgent   bool          // Flush: run next, ignoring the interval
	flushed  chan struct{} // closed when the urgent update has run or been discarded
}

type tomb struct {
	key string
	seq uint64
}

// Option configures a Coalescer.
type Option func(*Coalescer)

// WithPace sets the least time between the starts of any two updates.
func WithPace(d time.Duration) Option { return func(c *Coalescer) { c.pace = d } }

// WithClock replaces the wall clock (for tests).
func WithClock(clk Clock) Option { return func(c *Coalescer) { c.clock = clk } }

// WithLogger sets where panics in updates are logged (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *Coalescer) { c.log = l } }

// New starts a Coalescer whose keys update at most once per interval.
func New(interval time.Duration, opts ...Option) *Coalescer {
	c := &Coalescer{
		interval: interval,
		clock:    realClock{},
		log:      slog.Default(),
		wake:     make(chan struct{}, 1),
		stopped:  make(chan struct{}),
		keys:     make(map[string]*keyState),
		dropped:  make(map[string]uint64),
	}
	for _, o := range opts {
		o(c)
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	go c.loop()
	return c
}

// Set records fn as key's latest update, replacing one not yet started.
// It is ignored for a dropped key, after Close, or when fn is nil.
func (c *Coalescer) Set(key string, fn func(ctx context.Context)) {
	if fn == nil {
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if _, gone := c.dropped[key]; gone {
		c.mu.Unlock()
		return
	}
	st := c.keys[key]
	if st == nil {
		st = &keyState{}
		c.keys[key] = st
	}
	if st.fn == nil {
		c.order = append(c.order, key)
	}
	st.fn = fn
	c.mu.Unlock()
	c.poke()
}

// Drop ends key: it discards the pending update, waits for an in-flight
// one to return, and ignores later Sets for key until Reset(key). The
// in-flight update is left to finish rather than cancelled: a request cut
// halfway might still land after the caller's next message.
func (c *Coalescer) Drop(key string) {
	c.mu.Lock()
	c.tombstoneLocked(key)
	st := c.keys[key]
	if st == nil {
		c.mu.Unlock()
		return
	}
	c.unpendLocked(key, st)
	idle := st.idle
	inflight := st.inflight
	delete(c.keys, key)
	c.mu.Unlock()
	if inflight {
		<-idle
	}
}

// Flush ends key like Drop, but first runs its pending update, if any, on
// the worker, ahead of other keys and regardless of the key's interval
// (the pace still holds). Use it when the latest update must be seen, e.g.
// a final state that has no message of its own.
func (c *Coalescer) Flush(key string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.Drop(key)
		return
	}
	c.tombstoneLocked(key)
	st := c.keys[key]
	if st == nil {
		c.mu.Unlock()
		return
	}
	var wait chan struct{}
	switch {
	case st.fn != nil:
		if st.flushed == nil {
			st.flushed = make(chan struct{})
		}
		wait = st.flushed
		if !st.urgent {
			st.urgent = true
			i := slices.Index(c.order, key)
			c.order = slices.Insert(slices.Delete(c.order, i, i+1), 0, key)
		}
	case st.inflight:
		wait = st.idle
	}
	c.mu.Unlock()
	c.poke()
	if wait != nil {
		<-wait
	}
	c.mu.Lock()
	if c.keys[key] == st {
		// The urgent run may have been discarded by Drop or Close; after
		// either, nothing of key runs any more: wait for that too.
		if st.inflight {
			idle := st.idle
			c.mu.Unlock()
			<-idle
			c.mu.Lock()
		}
		if c.keys[key] == st {
			delete(c.keys, key)
		}
	}
	c.mu.Unlock()
}

// Reset forgets that key was dropped, so Set works for it again.
func (c *Coalescer) Reset(key string) {
	c.mu.Lock()
	delete(c.dropped, key)
	c.mu.Unlock()
}

// Close stops the worker: pending updates are discarded, the in-flight
// one's context is cancelled, and Close returns once it has returned.
// Afterwards Set does nothing, and Flush acts as Drop.
func (c *Coalescer) Close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		for key, st := range c.keys {
			c.unpendLocked(key, st)
		}
	}
	c.mu.Unlock()
	c.cancel()
	<-c.stopped
}

// Pending reports how many keys have an update waiting to run.
func (c *Coalescer) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.order)
}

func (c *Coalescer) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// unpendLocked discards key's pending update and releases a Flush waiting
// for it.
func (c *Coalescer) unpendLocked(key string, st *keyState) {
	if st.fn != nil {
		st.fn = nil
		if i := slices.Index(c.order, key); i >= 0 {
			c.order = slices.Delete(c.order, i, i+1)
		}
	}
	st.urgent = false
	if st.flushed != nil {
		close(st.flushed)
		st.flushed = nil
	}
}

func (c *Coalescer) tombstoneLocked(key string) {
	if _, ok := c.dropped[key]; ok {
		return
	}
	c.tombSeq++
	c.dropped[key] = c.tombSeq
	c.tombs = append(c.tombs, tomb{key, c.tombSeq})
	if len(c.tombs) > maxTombstones {
		old := c.tombs[0]
		c.tombs = c.tombs[1:]
		// A key Reset and dropped again has a newer serial: keep it.
		if c.dropped[old.key] == old.seq {
			delete(c.dropped, old.key)
		}
	}
}

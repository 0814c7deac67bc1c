package bot

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"time"
)

// Clock is the Limiter's time source; tests give a fake one. It has the
// shape of throttle.Clock, so one fake serves both.
type Clock interface {
	Now() time.Time
	// NewTimer returns a channel that receives once d has passed, and a
	// function that stops the timer.
	NewTimer(d time.Duration) (<-chan time.Time, func() bool)
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// ErrHeld is returned, wrapped, for a request not sent because Discord's
// rate limit holds its route: a droppable one (a progress edit) while the
// route waits out a 429, or one whose wait would outlast its context.
var ErrHeld = errors.New("held by Discord's rate limit")

// Limiter is the bot's own rate limiter for the routes of interactions
// (callback, edits with and without files, follow-ups, all of one
// interaction keyed as one, as Discord keys them: by the webhook's token)
// and of channel posts.
//
// discordgo's limiter cannot serve these: it keys a bucket by URL and
// never forgets one (the token is in the URL, so every interaction left
// about 440 bytes behind for good), keys a file edit apart from a
// file-less edit of the same message (so a 429 on one did not hold the
// other), and sleeps out a 429 without looking at the request's context.
//
// Here a route has an entry only while it constrains something: a request
// in flight (one at a time per route, so a 429 on one holds the next), or
// a hold from a 429's retry_after or an exhausted X-RateLimit-Remaining.
// An entry is freed when its hold has passed, and at the latest when its
// token expires (15 minutes after the interaction), so memory stays flat
// whatever the traffic. Routes are kept by a hash; no token is stored.
type Limiter struct {
	clock Clock
	seed  maphash.Seed

	mu     sync.Mutex
	routes map[uint64]*route
	swept  time.Time
}

type route struct {
	hold    time.Time // no request starts before this
	expires time.Time // the token's end; zero for routes without one
	busy    bool      // a request is in flight
	waiters int
	changed chan struct{} // closed and replaced when busy or hold change
}

// sweepEvery is how often acquire looks for entries to forget besides the
// one it touches.
const sweepEvery = time.Minute

// NewLimiter makes a Limiter on clock (nil: the wall clock).
func NewLimiter(clock Clock) *Limiter {
	if clock == nil {
		clock = wallClock{}
	}
	return &Limiter{clock: clock, seed: maphash.MakeSeed(), routes: map[uint64]*route{}}
}

// Len counts the entries the limiter keeps, after forgetting those whose
// hold has passed or whose token has expired: the figure that must stay
// flat however many interactions come.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(l.clock.Now())
	return len(l.routes)
}

// key names a route without keeping what names it (a token).
func (l *Limiter) key(kind, id string) uint64 {
	return maphash.String(l.seed, kind+"\x00"+id)
}

// acquire waits until key has no request in flight and no hold, then marks
// it busy; release must follow. A droppable request does not wait for a
// hold: it gets ErrHeld at once. Nor does one whose context would end
// before the hold does: waiting could only end in failure, later.
func (l *Limiter) acquire(ctx context.Context, key uint64, expires time.Time, droppable bool) (*route, error) {
	l.mu.Lock()
	now := l.clock.Now()
	if now.Sub(l.swept) >= sweepEvery {
		l.sweepLocked(now)
	}
	r := l.routes[key]
	if r == nil {
		r = &route{changed: make(chan struct{})}
		l.routes[key] = r
	}
	if expires.After(r.expires) {
		r.expires = expires
	}
	r.waiters++
	for {
		now = l.clock.Now()
		wait := r.hold.Sub(now)
		if !r.busy && wait <= 0 {
			r.waiters--
			r.busy = true
			l.mu.Unlock()
			return r, nil
		}
		if wait > 0 {
			dl, hasDL := ctx.Deadline()
			if droppable || hasDL && time.Until(dl) < wait {
				r.waiters--
				l.forgetIfIdleLocked(key, r, now)
				l.mu.Unlock()
				return nil, fmt.Errorf("route rate-limited for %v more: %w", wait.Round(time.Millisecond), ErrHeld)
			}
		}
		changed := r.changed
		var fire <-chan time.Time
		stop := func() bool { return false }
		if !r.busy {
			fire, stop = l.clock.NewTimer(wait)
		}
		l.mu.Unlock()
		var err error
		select {
		case <-changed:
		case <-fire:
		case <-ctx.Done():
			err = ctx.Err()
		}
		stop()
		l.mu.Lock()
		if err != nil {
			r.waiters--
			l.forgetIfIdleLocked(key, r, l.clock.Now())
			l.mu.Unlock()
			return nil, err
		}
	}
}

// release ends the request acquire allowed; hold > 0 keeps the route's
// next request back that long (a 429's retry_after).
func (l *Limiter) release(key uint64, r *route, hold time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	r.busy = false
	if until := now.Add(hold); hold > 0 && until.After(r.hold) {
		r.hold = until
	}
	close(r.changed)
	r.changed = make(chan struct{})
	l.forgetIfIdleLocked(key, r, now)
}

// holdFor holds key for d from now, as Discord's headers asked (no
// requests left until the bucket resets). It does nothing to a route the
// limiter has forgotten: only a request in flight reports headers.
func (l *Limiter) holdFor(key uint64, d time.Duration) {
	if d <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.routes[key]
	if r == nil {
		return
	}
	if until := l.clock.Now().Add(d); until.After(r.hold) {
		r.hold = until
	}
}

// heldFor reports how long key is still held (0 when it is not).
func (l *Limiter) heldFor(key uint64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.routes[key]; r != nil {
		return max(r.hold.Sub(l.clock.Now()), 0)
	}
	return 0
}

func (l *Limiter) forgetIfIdleLocked(key uint64, r *route, now time.Time) {
	if r.busy || r.waiters > 0 {
		return
	}
	if !now.Before(r.hold) || !r.expires.IsZero() && !now.Before(r.expires) {
		delete(l.routes, key)
	}
}

func (l *Limiter) sweepLocked(now time.Time) {
	l.swept = now
	for key, r := range l.routes {
		l.forgetIfIdleLocked(key, r, now)
	}
}

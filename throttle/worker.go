package throttle

import (
	"context"
	"runtime/debug"
	"slices"
	"time"
)

// loop is the worker: it runs the next due update, or sleeps until one is
// due or something changes.
func (c *Coalescer) loop() {
	defer close(c.stopped)
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return
		}
		now := c.clock.Now()
		i, wait := c.nextLocked(now)
		if i < 0 {
			c.pruneLocked(now)
			c.mu.Unlock()
			c.sleep(wait)
			continue
		}
		key := c.order[i]
		c.order = slices.Delete(c.order, i, i+1)
		st := c.keys[key]
		fn, flushed := st.fn, st.flushed
		st.fn, st.flushed, st.urgent = nil, nil, false
		st.last, st.ran, st.inflight = now, true, true
		st.idle = make(chan struct{})
		c.lastAny, c.anyRan = now, true
		c.mu.Unlock()

		c.run(key, fn)

		c.mu.Lock()
		st.inflight = false
		close(st.idle)
		if flushed != nil {
			close(flushed)
		}
		c.mu.Unlock()
	}
}

// nextLocked returns the index in order of the update to run now, or -1
// and how long to sleep (0: until woken).
func (c *Coalescer) nextLocked(now time.Time) (int, time.Duration) {
	var paceWait time.Duration
	if c.anyRan && c.pace > 0 {
		paceWait = c.lastAny.Add(c.pace).Sub(now)
	}
	var wait time.Duration
	for i, key := range c.order {
		st := c.keys[key]
		due := st.last.Add(c.interval).Sub(now)
		if st.urgent || !st.ran || due <= 0 {
			if paceWait > 0 {
				return -1, paceWait
			}
			return i, 0
		}
		if wait == 0 || due < wait {
			wait = due
		}
	}
	if wait > 0 && paceWait > wait {
		wait = paceWait
	}
	return -1, wait
}

// pruneLocked forgets keys that have nothing pending or running and whose
// interval has passed: they constrain nothing any more.
func (c *Coalescer) pruneLocked(now time.Time) {
	for key, st := range c.keys {
		if st.fn == nil && !st.inflight && !now.Before(st.last.Add(c.interval)) {
			delete(c.keys, key)
		}
	}
}

// sleep waits for a poke, for d to pass (if d > 0), or for Close.
func (c *Coalescer) sleep(d time.Duration) {
	var fire <-chan time.Time
	if d > 0 {
		var stop func() bool
		fire, stop = c.clock.NewTimer(d)
		defer stop()
	}
	select {
	case <-c.wake:
	case <-fire:
	case <-c.ctx.Done():
	}
}

// run calls one update, keeping a panic in it from ending the worker.
func (c *Coalescer) run(key string, fn func(context.Context)) {
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("throttle: update panicked", "key", key, "panic", v, "stack", string(debug.Stack()))
		}
	}()
	fn(c.ctx)
}

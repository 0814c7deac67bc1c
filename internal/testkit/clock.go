package testkit

import (
	"sync"
	"testing"
	"time"
)

// Clock is a fake clock that moves only when told. Each NewTimer is
// announced on a channel, so a test knows the code under test has gone to
// sleep and for how long (WaitTimer), then wakes it with Advance.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	pending []*fakeTimer
	timers  chan time.Duration
}

type fakeTimer struct {
	at time.Time
	ch chan time.Time
}

// NewClock starts at a fixed instant.
func NewClock() *Clock {
	return &Clock{now: time.Unix(1_700_000_000, 0), timers: make(chan time.Duration, 1000)}
}

// Now is the fake time.
func (f *Clock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer fires on the returned channel once Advance reaches now+d; stop
// removes it and reports whether it had not fired.
func (f *Clock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	f.mu.Lock()
	t := &fakeTimer{at: f.now.Add(d), ch: make(chan time.Time, 1)}
	f.pending = append(f.pending, t)
	f.mu.Unlock()
	f.timers <- d
	return t.ch, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		for i, p := range f.pending {
			if p == t {
				f.pending = append(f.pending[:i], f.pending[i+1:]...)
				return true
			}
		}
		return false
	}
}

// Advance moves the clock and fires the timers that became due.
func (f *Clock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	keep := f.pending[:0]
	for _, t := range f.pending {
		if t.at.After(f.now) {
			keep = append(keep, t)
			continue
		}
		t.ch <- f.now
	}
	f.pending = keep
}

// Timers announces each timer set, with its length.
func (f *Clock) Timers() <-chan time.Duration { return f.timers }

// WaitTimer waits (10 s at most) until the code under test sets a timer and
// returns its length.
func (f *Clock) WaitTimer(t testing.TB) time.Duration {
	t.Helper()
	return Recv(t, f.timers, 10*time.Second, "a timer to be set")
}

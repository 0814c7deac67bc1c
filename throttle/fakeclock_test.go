package throttle

import (
	"sync"
	"testing"
	"time"
)

// fakeClock moves only when told. Each NewTimer is announced on timers, so
// a test knows the worker has gone to sleep and for how long.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	pending []*fakeTimer
	timers  chan time.Duration
}

type fakeTimer struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Unix(1_700_000_000, 0), timers: make(chan time.Duration, 1000)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
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
func (f *fakeClock) Advance(d time.Duration) {
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

// waitTimer waits until the worker sleeps on a timer and returns its length.
func (f *fakeClock) waitTimer(t *testing.T) time.Duration {
	t.Helper()
	return recv(t, f.timers, "the worker to set a timer")
}

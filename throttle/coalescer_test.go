package throttle

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"lorabot/internal/testkit"
)

const waitLimit = 10 * time.Second

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	return testkit.Recv(t, ch, waitLimit, what)
}

// runs records updates as "key=value@offset" (offset from the fake clock's
// start) and announces each on ch.
type runs struct {
	clk   *testkit.Clock
	start time.Time
	mu    sync.Mutex
	log   []string
	ch    chan string
}

func newRuns(clk *testkit.Clock) *runs {
	return &runs{clk: clk, start: clk.Now(), ch: make(chan string, 1000)}
}

func (r *runs) update(key string, v any) func(context.Context) {
	return func(context.Context) {
		s := fmt.Sprintf("%s=%v@%v", key, v, r.clk.Now().Sub(r.start))
		r.mu.Lock()
		r.log = append(r.log, s)
		r.mu.Unlock()
		r.ch <- s
	}
}

func (r *runs) next(t *testing.T) string {
	t.Helper()
	return recv(t, r.ch, "an update to run")
}

func (r *runs) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.log)
}

func quiet() Option { return WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))) }

// hold makes the worker busy with key "hold" until the returned func is
// called, so that Sets pile up meanwhile.
func hold(t *testing.T, c *Coalescer) (release func()) {
	t.Helper()
	started, gate := make(chan struct{}), make(chan struct{})
	c.Set("hold", func(context.Context) { close(started); <-gate })
	recv(t, started, "the worker to pick up the hold")
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release) // before Close (cleanups run last-in first-out) if the test fails early
	return release
}

func newTest(t *testing.T, interval time.Duration, opts ...Option) (*Coalescer, *testkit.Clock, *runs) {
	clk := testkit.NewClock()
	c := New(interval, append([]Option{WithClock(clk), quiet()}, opts...)...)
	t.Cleanup(c.Close)
	return c, clk, newRuns(clk)
}

func TestLatestUpdateWins(t *testing.T) {
	c, _, r := newTest(t, time.Second)
	release := hold(t, c)
	for i := 1; i <= 3; i++ {
		c.Set("a", r.update("a", i))
	}
	release()
	if got := r.next(t); got != "a=3@0s" {
		t.Fatalf("ran %s, want only the latest, a=3", got)
	}
	c.Set("z", r.update("z", "end"))
	r.next(t)
	if got, want := r.all(), []string{"a=3@0s", "z=end@0s"}; !slices.Equal(got, want) {
		t.Fatalf("runs %v, want %v", got, want)
	}
}

func TestAtMostOneUpdatePerKeyPerInterval(t *testing.T) {
	c, clk, r := newTest(t, time.Second)
	c.Set("a", r.update("a", 1))
	if got := r.next(t); got != "a=1@0s" {
		t.Fatalf("first update: %s, want a=1 at once", got)
	}
	c.Set("a", r.update("a", 2))
	select {
	case got := <-r.ch:
		t.Fatalf("%s ran within the interval", got)
	case d := <-clk.Timers():
		if d != time.Second {
			t.Fatalf("worker sleeps %v, want 1s", d)
		}
	case <-time.After(waitLimit):
		t.Fatal("worker neither ran nor slept")
	}
	clk.Advance(999 * time.Millisecond) // not yet
	c.Set("b", r.update("b", 1))        // another key is not held back
	if got := r.next(t); got != "b=1@999ms" {
		t.Fatalf("got %s, want b=1 at 999ms", got)
	}
	clk.WaitTimer(t)
	clk.Advance(time.Millisecond)
	if got := r.next(t); got != "a=2@1s" {
		t.Fatalf("got %s, want a=2 at 1s", got)
	}
}

// Sets and clock steps of random size: each value is waited for (moving
// the clock whenever the worker asks), and every two runs of the key start
// at least an interval apart.
func TestIntervalHoldsUnderChurn(t *testing.T) {
	const interval = 100 * time.Millisecond
	clk := testkit.NewClock()
	c := New(interval, WithClock(clk), quiet())
	defer c.Close()
	rng := rand.New(rand.NewPCG(3, 4))
	ran := make(chan time.Time, 1)
	var starts []time.Time
	for i := range 60 {
		c.Set("a", func(context.Context) { ran <- clk.Now() })
	wait:
		for {
			select {
			case at := <-ran:
				starts = append(starts, at)
				break wait
			case d := <-clk.Timers(): // possibly a stale one: advancing more is harmless
				clk.Advance(d)
			case <-time.After(waitLimit):
				t.Fatalf("update %d never ran", i)
			}
		}
		clk.Advance(time.Duration(rng.IntN(4)) * 40 * time.Millisecond)
	}
	delayed := 0
	for i := 1; i < len(starts); i++ {
		gap := starts[i].Sub(starts[i-1])
		if gap < interval {
			t.Fatalf("runs %d and %d only %v apart", i-1, i, gap)
		}
		if gap == interval {
			delayed++
		}
	}
	if delayed == 0 {
		t.Fatal("no run was ever held back to the interval: the test did not test it")
	}
}

func TestKeysTakeTurns(t *testing.T) {
	c, _, r := newTest(t, 0)
	release := hold(t, c)
	var again atomic.Int32
	var spam func(context.Context)
	spam = func(ctx context.Context) {
		r.update("a", "spam")(ctx)
		if again.Add(1) < 5 {
			c.Set("a", spam) // a key that always has more to say
		}
	}
	c.Set("a", r.update("a", 1))
	c.Set("b", r.update("b", 1))
	c.Set("c", r.update("c", 1))
	c.Set("a", spam) // replaces a=1 but keeps a's place
	release()
	var got []string
	for range 5 {
		got = append(got, r.next(t))
	}
	want := []string{"a=spam@0s", "b=1@0s", "c=1@0s", "a=spam@0s", "a=spam@0s"}
	if !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

func TestPaceSpacesAllKeys(t *testing.T) {
	const pace = 50 * time.Millisecond
	c, _, r := newTest(t, 0, WithPace(pace))
	c.Set("a", r.update("a", 1))
	if got := r.next(t); got != "a=1@0s" {
		t.Fatalf("got %s", got)
	}
	c.Set("b", r.update("b", 1))
	c.Set("c", r.update("c", 1))
	last := time.Duration(0)
	for _, key := range []string{"b", "c"} {
		got := r.nextAdvancing(t, pace)
		at := r.offset(t, got)
		if got[:1] != key || at-last < pace {
			t.Fatalf("ran %s %v after the previous update; want %s at least the pace %v later", got, at-last, key, pace)
		}
		last = at
	}
}

// nextAdvancing waits for the next update, advancing the fake clock by
// each sleep the worker announces. The worker arms its timer again when a
// Set wakes it, and may read the clock just before an Advance and arm
// just after it, so a test cannot know which announcement is the live
// timer: it advances by each, which never sends the clock past a due time
// by more than one sleep. Every sleep must be at most max.
func (r *runs) nextAdvancing(t *testing.T, max time.Duration) string {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case s := <-r.ch:
			return s
		case d := <-r.clk.Timers():
			if d <= 0 || d > max {
				t.Fatalf("worker sleeps %v, want at most %v", d, max)
			}
			r.clk.Advance(d)
		case <-deadline:
			t.Fatalf("no update ran within %v", waitLimit)
		}
	}
}

// offset is when a recorded update ran, from the fake clock's start.
func (r *runs) offset(t *testing.T, s string) time.Duration {
	t.Helper()
	i := strings.LastIndex(s, "@")
	d, err := time.ParseDuration(s[i+1:])
	if err != nil {
		t.Fatalf("update %q: %v", s, err)
	}
	return d
}

func TestDropWaitsForInFlightAndBlocksLaterSets(t *testing.T) {
	c, _, r := newTest(t, 0)
	started, gate := make(chan struct{}), make(chan struct{})
	var finished atomic.Bool
	c.Set("a", func(context.Context) {
		close(started)
		<-gate
		finished.Store(true)
	})
	recv(t, started, "a's update to start")
	var once sync.Once
	release := func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release)
	dropped := make(chan bool, 1)
	go func() {
		c.Drop("a")
		dropped <- finished.Load()
	}()
	// A correct Drop cannot return while the update is held; this check
	// can only miss a wrong one, never fail a right one.
	select {
	case <-dropped:
		t.Fatal("Drop returned while a's update was still running")
	case <-time.After(20 * time.Millisecond):
	}
	release()
	if !recv(t, dropped, "Drop to return") {
		t.Fatal("Drop returned before the in-flight update finished")
	}

	c.Set("a", r.update("a", "stale"))
	c.Set("z", r.update("z", 1))
	if got := r.next(t); got != "z=1@0s" {
		t.Fatalf("after Drop, %s ran; a Set for a dropped key must be ignored", got)
	}
	c.Reset("a")
	c.Set("a", r.update("a", "new"))
	if got := r.next(t); got != "a=new@0s" {
		t.Fatalf("after Reset, got %s", got)
	}
}

func TestDropDiscardsPending(t *testing.T) {
	c, _, r := newTest(t, 0)
	release := hold(t, c)
	c.Set("a", r.update("a", 1))
	c.Set("b", r.update("b", 1))
	c.Drop("a")
	release()
	if got := r.next(t); got != "b=1@0s" {
		t.Fatalf("got %s, want b (a was dropped)", got)
	}
	if c.Pending() != 0 {
		t.Fatalf("%d keys still pending", c.Pending())
	}
}

func TestFlushRunsPendingAtOnce(t *testing.T) {
	c, _, r := newTest(t, time.Hour)
	c.Set("a", r.update("a", 1))
	r.next(t)
	c.Set("a", r.update("a", "final")) // due only in an hour
	c.Flush("a")
	select {
	case got := <-r.ch:
		if got != "a=final@0s" {
			t.Fatalf("Flush ran %s", got)
		}
	default:
		t.Fatal("Flush returned before the pending update ran")
	}
	c.Set("a", r.update("a", "late"))
	c.Set("z", r.update("z", 1))
	if got := r.next(t); got != "z=1@0s" {
		t.Fatalf("got %s; a Set after Flush must be ignored", got)
	}
}

func TestFlushGoesAheadOfOtherKeys(t *testing.T) {
	c, _, r := newTest(t, 0)
	release := hold(t, c)
	c.Set("a", r.update("a", 1))
	c.Set("b", r.update("b", 1))
	flushed := make(chan struct{})
	go func() { c.Flush("b"); close(flushed) }()
	// Wait until Flush has moved b ahead: it is then first in order.
	deadline := time.After(waitLimit)
	for {
		c.mu.Lock()
		first := c.order[0]
		c.mu.Unlock()
		if first == "b" {
			break
		}
		select {
		case <-deadline:
			t.Fatal("Flush never queued b first")
		default:
		}
		runtimeGosched()
	}
	release()
	if got := r.next(t); got != "b=1@0s" {
		t.Fatalf("got %s first, want the flushed b", got)
	}
	recv(t, flushed, "Flush to return")
	if got := r.next(t); got != "a=1@0s" {
		t.Fatalf("got %s, want a", got)
	}
}

func TestCloseCancelsInFlightAndStops(t *testing.T) {
	clk := testkit.NewClock()
	c := New(0, WithClock(clk), quiet())
	started := make(chan struct{})
	var sawCancel atomic.Bool
	c.Set("a", func(ctx context.Context) {
		close(started)
		<-ctx.Done()
		sawCancel.Store(true)
	})
	recv(t, started, "update to start")
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	recv(t, closed, "Close to return")
	if !sawCancel.Load() {
		t.Fatal("Close returned before the in-flight update saw its context cancelled")
	}
	ran := make(chan struct{}, 1)
	c.Set("b", func(context.Context) { ran <- struct{}{} })
	c.Close() // a second Close is harmless
	c.Drop("b")
	if c.Pending() != 0 {
		t.Fatal("Set after Close was recorded")
	}
}

func TestPanicInUpdateKeepsWorker(t *testing.T) {
	c, _, r := newTest(t, 0)
	c.Set("bad", func(context.Context) { panic("boom") })
	c.Set("good", r.update("good", 1))
	if got := r.next(t); got != "good=1@0s" {
		t.Fatalf("got %s", got)
	}
}

func TestTombstonesAreBounded(t *testing.T) {
	c, _, r := newTest(t, 0)
	for i := range maxTombstones + 1 {
		c.Drop(fmt.Sprint("k", i))
	}
	c.Set("k0", r.update("k0", 1)) // the oldest tombstone was forgotten
	if got := r.next(t); got != "k0=1@0s" {
		t.Fatalf("got %s", got)
	}
	c.Set("k1", r.update("k1", 1)) // still remembered
	c.Set("z", r.update("z", 1))
	if got := r.next(t); got != "z=1@0s" {
		t.Fatalf("got %s; k1 is still dropped", got)
	}
}

func TestRealClock(t *testing.T) {
	c := New(time.Millisecond, quiet())
	defer c.Close()
	ran := make(chan int, 2)
	c.Set("a", func(context.Context) { ran <- 1 })
	recv(t, ran, "first update")
	c.Set("a", func(context.Context) { ran <- 2 })
	if v := recv(t, ran, "second update after the interval"); v != 2 {
		t.Fatalf("got %d", v)
	}
}

func runtimeGosched() { runtime.Gosched() }

package queue

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

func TestFailoverMovesJobToAnotherBackend(t *testing.T) {
	h := newHarness(t, Options{Backends: 2, Retryable: retryDown})
	p := h.mustSubmit("a", "p")
	if b := recv(t, p.running, "p to run"); b != 0 {
		t.Fatalf("p ran on %d, want 0", b)
	}
	p.release <- fmt.Errorf("generate: %w", errDown)
	p.wantMove(t, 0)
	p.wantPos(t, 0)
	if b := recv(t, p.running, "p to run again"); b != 1 {
		t.Fatalf("p ran again on %d, want 1", b)
	}
	p.release <- nil
	if err := p.wantDone(t); err != nil {
		t.Fatalf("Done(%v), want success on the second backend", err)
	}
	if st := h.s.Backends(); st[0].Done != 0 || st[1].Done != 1 {
		t.Fatalf("done counts %d %d, want 0 1", st[0].Done, st[1].Done)
	}
}

// The moved job goes first in line, but never back to the backend that
// failed it: a job behind it takes that one.
func TestFailoverGoesToHeadOfLine(t *testing.T) {
	h := newHarness(t, Options{Backends: 2, MaxPerUser: 3, Retryable: retryDown})
	j := h.mustSubmit("j", "j")
	x := h.mustSubmit("x", "x")
	recv(t, j.running, "j to run")
	recv(t, x.running, "x to run")
	y := h.mustSubmit("y", "y")
	z := h.mustSubmit("z", "z")
	j2 := h.mustSubmit("j", "j2")

	j.release <- errDown
	j.wantMove(t, 0)
	// Backend 0 is free, but j avoids it: y, next after j, takes it.
	if b := recv(t, y.running, "y to run on the backend j failed on"); b != 0 {
		t.Fatalf("y ran on %d, want 0", b)
	}
	j.wantPos(t, 1)
	if js := h.s.UserJobs("j"); len(js) != 2 || js[0].ID != j.id || js[0].Position != 1 || js[0].Attempts != 1 || js[1].ID != j2.id {
		t.Fatalf("UserJobs(j) %+v, want j first in line after one attempt, then j2", js)
	}
	x.release <- nil
	x.wantDone(t)
	if b := recv(t, j.running, "j to run on backend 1"); b != 1 {
		t.Fatalf("j ran again on %d, want 1", b)
	}
	for _, p := range []*probe{j, y} {
		p.release <- nil
		p.wantDone(t)
	}
	z.release <- nil
	j2.release <- nil
	z.wantDone(t)
	j2.wantDone(t)
}

// Four backends that all fail: the job is tried on MaxAttempts (3) of them,
// each once, then Done gets the last error.
func TestFailoverBoundedByMaxAttempts(t *testing.T) {
	h := newHarness(t, Options{Backends: 4, Retryable: retryDown})
	p := h.mustSubmit("a", "p")
	var tried []int
	for i := range 3 {
		b := recv(t, p.running, "p to run")
		tried = append(tried, b)
		p.release <- fmt.Errorf("backend %d: %w", b, errDown)
		if i < 2 {
			p.wantMove(t, b)
		}
	}
	err := p.wantDone(t)
	if !errors.Is(err, errDown) || err.Error() != "backend 2: a1111: server went away" {
		t.Fatalf("Done(%v), want the third backend's error", err)
	}
	if !slices.Equal(tried, []int{0, 1, 2}) {
		t.Fatalf("tried %v, want [0 1 2]", tried)
	}
	if len(p.moved) != 0 || p.runs() != 3 {
		t.Fatalf("%d runs and more moves than 2 (events %v)", p.runs(), p.log())
	}
}

func TestNonRetryableErrorIsNotRetried(t *testing.T) {
	h := newHarness(t, Options{Backends: 2, Retryable: retryDown})
	p := h.mustSubmit("a", "p")
	recv(t, p.running, "p to run")
	bad := errors.New("a1111: bad prompt")
	p.release <- bad
	if err := p.wantDone(t); err != bad {
		t.Fatalf("Done(%v), want Run's error", err)
	}
	if p.runs() != 1 || len(p.moved) != 0 {
		t.Fatalf("%d runs, %d moves; want 1 and 0", p.runs(), len(p.moved))
	}
}

func TestNoRetryableMeansNoFailover(t *testing.T) {
	h := newHarness(t, Options{Backends: 2})
	p := h.mustSubmit("a", "p")
	recv(t, p.running, "p to run")
	p.release <- errDown
	if err := p.wantDone(t); err != errDown || p.runs() != 1 {
		t.Fatalf("Done(%v) after %d runs, want errDown after 1", err, p.runs())
	}
}

func TestRetryablePanicMeansNo(t *testing.T) {
	h := newHarness(t, Options{Backends: 2, Retryable: func(error) bool { panic("oops") }})
	p := h.mustSubmit("a", "p")
	recv(t, p.running, "p to run")
	p.release <- errDown
	if err := p.wantDone(t); err != errDown {
		t.Fatalf("Done(%v), want errDown", err)
	}
}

// A resumed job starts with the servers it failed on and its count.
func TestAvoidAndAttemptsOfAResumedJob(t *testing.T) {
	h := newHarness(t, Options{Backends: 3, Retryable: retryDown})
	p := h.mustSubmitProbe(&probe{label: "p", avoid: 1 << 0}, "a")
	if b := recv(t, p.running, "p to run"); b != 1 {
		t.Fatalf("p ran on %d, want 1 (0 is avoided)", b)
	}
	p.release <- errDown
	p.wantMove(t, 1)
	if b := recv(t, p.running, "p to run again"); b != 2 {
		t.Fatalf("p ran again on %d, want 2", b)
	}
	p.release <- nil
	p.wantDone(t)

	// Two failures already: the third is the last.
	q := h.mustSubmitProbe(&probe{label: "q", avoid: 1 << 0, attempts: 2}, "b")
	if b := recv(t, q.running, "q to run"); b == 0 {
		t.Fatal("q ran on its avoided backend")
	}
	q.release <- errDown
	if err := q.wantDone(t); err != errDown || q.runs() != 1 {
		t.Fatalf("q: Done(%v) after %d runs, want errDown after 1", err, q.runs())
	}

	// No backend left to try after a failure: Done gets it.
	r := h.mustSubmitProbe(&probe{label: "r", avoid: 0b011}, "c")
	if b := recv(t, r.running, "r to run"); b != 2 {
		t.Fatalf("r ran on %d, want 2", b)
	}
	r.release <- errDown
	if err := r.wantDone(t); err != errDown || r.runs() != 1 {
		t.Fatalf("r: Done(%v) after %d runs, want errDown after 1", err, r.runs())
	}
}

// A moved job whose remaining backends are down waits for a server.
func TestMovedJobWaitsForAServer(t *testing.T) {
	h := newHarness(t, Options{Backends: 2, Retryable: retryDown})
	h.s.SetUp(1, false)
	p := h.mustSubmit("a", "p")
	recv(t, p.running, "p to run")
	p.release <- errDown
	p.wantMove(t, 0)
	p.wantNoServer(t, true)
	if js := h.s.UserJobs("a"); len(js) != 1 || !js[0].WaitingForServer {
		t.Fatalf("UserJobs %+v", js)
	}
	h.s.SetUp(1, true)
	p.wantNoServer(t, false)
	if b := recv(t, p.running, "p to run on 1"); b != 1 {
		t.Fatalf("p ran on %d", b)
	}
	p.release <- nil
	p.wantDone(t)
}

// movedAndWaiting runs p on backend 0 while backend 1 is busy with blocker,
// fails it there and returns once it waits again.
func movedAndWaiting(t *testing.T, h *harness, user string) (p, blocker *probe) {
	t.Helper()
	p = h.mustSubmit(user, "p")
	blocker = h.mustSubmit("blocker", "blocker")
	recv(t, p.running, "p to run")
	recv(t, blocker.running, "blocker to run")
	p.release <- errDown
	p.wantMove(t, 0)
	p.wantPos(t, 1)
	return p, blocker
}

func TestCancelMovedJob(t *testing.T) {
	h := newHarness(t, Options{Backends: 2, MaxPerUser: 1, Retryable: retryDown})
	p, blocker := movedAndWaiting(t, h, "a")
	// The moved job keeps its user's slot.
	if _, err := h.submit("a", "over"); !errors.Is(err, ErrUserLimit) {
		t.Fatalf("Submit while the moved job waits: %v, want ErrUserLimit", err)
	}
	if wasRunning, err := h.s.Cancel(p.id, "a"); err != nil || wasRunning {
		t.Fatalf("Cancel: wasRunning %v, err %v", wasRunning, err)
	}
	if err := p.wantDone(t); !errors.Is(err, ErrCanceled) {
		t.Fatalf("Done(%v), want ErrCanceled", err)
	}
	blocker.release <- nil
	blocker.wantDone(t)
	if p.runs() != 1 {
		t.Fatalf("cancelled moved job ran %d times", p.runs())
	}
	again := h.mustSubmit("a", "again")
	again.release <- nil
	again.wantDone(t)
}

func TestShutdownDuringMove(t *testing.T) {
	h := newHarness(t, Options{Backends: 2, Retryable: retryDown})
	p, blocker := movedAndWaiting(t, h, "a")
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	cuts, err := h.s.Shutdown(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Cut{{ID: p.id, User: "a"}, {ID: blocker.id, User: "blocker", Running: true}}
	if !slices.Equal(cuts, want) {
		t.Fatalf("cuts %+v, want %+v", cuts, want)
	}
	for _, q := range []*probe{p, blocker} {
		if err := q.wantDone(t); !errors.Is(err, ErrShutdown) {
			t.Fatalf("%s: Done(%v), want ErrShutdown", q.label, err)
		}
	}
}

// A Run that answers a cancellation with a retryable-looking error (its
// server connection was cut) is not moved: Cancel and Shutdown win.
func TestCancelledRunIsNotMoved(t *testing.T) {
	for _, how := range []string{"cancel", "shutdown"} {
		t.Run(how, func(t *testing.T) {
			h := newHarness(t, Options{Backends: 2, Retryable: retryDown})
			p := &probe{label: "p"}
			p.run = func(ctx context.Context, _ int) error {
				<-ctx.Done()
				return errDown
			}
			h.mustSubmitProbe(p, "a")
			recv(t, p.running, "p to run")
			if how == "cancel" {
				if _, err := h.s.Cancel(p.id, "a"); err != nil {
					t.Fatal(err)
				}
			} else {
				ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
				defer cancel()
				if _, err := h.s.Shutdown(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.wantDone(t); err != errDown || p.runs() != 1 || len(p.moved) != 0 {
				t.Fatalf("Done(%v) after %d runs, %d moves; want Run's error, 1, 0", err, p.runs(), len(p.moved))
			}
		})
	}
}

// Cancel of a job running again after a move reaches its second Run.
func TestCancelJobRunningAgain(t *testing.T) {
	h := newHarness(t, Options{Backends: 2, Retryable: retryDown})
	p := h.mustSubmit("a", "p")
	recv(t, p.running, "p to run")
	p.release <- errDown
	p.wantMove(t, 0)
	recv(t, p.running, "p to run again")
	if wasRunning, err := h.s.Cancel(p.id, "a"); err != nil || !wasRunning {
		t.Fatalf("Cancel: wasRunning %v err %v", wasRunning, err)
	}
	if err := p.wantDone(t); !errors.Is(err, ErrCanceled) {
		t.Fatalf("Done(%v), want ErrCanceled", err)
	}
}

// Many jobs fail at random on backends that go up and down, while users
// cancel: no backend ever runs two jobs, no job runs twice at once or on a
// backend it avoids, and every job ends exactly once.
func TestFailoverStress(t *testing.T) {
	const backends, users, perUser = 4, 6, 10
	s := New(Options{Backends: backends, MaxPerUser: 0, Retryable: retryDown,
		MaxAttempts: 3, NoServerWait: -1, Logger: quietLogger()})
	var onBackend [backends]atomic.Int32
	var bad atomic.Value // string: the first broken rule
	fail := func(msg string) { bad.CompareAndSwap(nil, msg) }
	var ended sync.WaitGroup
	var cancelled atomic.Int32
	type rec struct {
		mu      sync.Mutex
		running bool
		tried   uint64
		dones   int
	}
	var recs sync.Map
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(3, 4))
	flip := func() bool { mu.Lock(); defer mu.Unlock(); return rng.IntN(3) == 0 }
	var submitters sync.WaitGroup
	for u := range users {
		submitters.Add(1)
		go func() {
			defer submitters.Done()
			user := fmt.Sprint("u", u)
			for i := range perUser {
				r := &rec{}
				var avoid uint64
				if i%4 == 0 {
					avoid = 1 << (i % backends)
				}
				ended.Add(1)
				id, _, err := s.Submit(&Job{
					User:  user,
					Avoid: avoid,
					Run: func(ctx context.Context, b int) error {
						r.mu.Lock()
						if r.running {
							fail("a job ran twice at once")
						}
						if r.tried&(1<<b) != 0 || avoid&(1<<b) != 0 {
							fail("a job ran on a backend it avoids")
						}
						r.running = true
						r.mu.Unlock()
						if onBackend[b].Add(1) > 1 {
							fail("two jobs on one backend")
						}
						err := error(nil)
						if flip() {
							err = errDown
						}
						onBackend[b].Add(-1)
						r.mu.Lock()
						r.running = false
						if err != nil {
							r.tried |= 1 << b
						}
						r.mu.Unlock()
						return err
					},
					Done: func(error) {
						r.mu.Lock()
						r.dones++
						r.mu.Unlock()
						ended.Done()
					},
				})
				if err != nil {
					t.Error(err)
					ended.Done()
					return
				}
				recs.Store(id, r)
				if i%5 == 1 {
					if _, err := s.Cancel(id, user); err == nil {
						cancelled.Add(1)
					}
				}
				if i%3 == 2 {
					s.SetUp(i%backends, false)
					s.SetUp(i%backends, true)
				}
			}
		}()
	}
	submitters.Wait()
	for b := range backends {
		s.SetUp(b, true)
	}
	finished := make(chan struct{})
	go func() { ended.Wait(); close(finished) }()
	recv(t, finished, "every job to end")
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if _, err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if msg, _ := bad.Load().(string); msg != "" {
		t.Fatal(msg)
	}
	recs.Range(func(k, v any) bool {
		r := v.(*rec)
		if r.dones != 1 {
			t.Errorf("job %v: Done called %d times", k, r.dones)
		}
		if n := bits.OnesCount64(r.tried); n > 3 {
			t.Errorf("job %v failed on %d backends, MaxAttempts 3", k, n)
		}
		return true
	})
}

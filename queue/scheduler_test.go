package queue

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestOneJobAtATimePerBackend(t *testing.T) {
	h := newHarness(t, Options{Backends: 1, MaxPerUser: 3})
	var now, peak atomic.Int32
	var probes []*probe
	for i := range 6 {
		p := &probe{label: fmt.Sprint(i)}
		p.run = func(ctx context.Context, _ int) error {
			n := now.Add(1)
			for {
				old := peak.Load()
				if n <= old || peak.CompareAndSwap(old, n) {
					break
				}
			}
			defer now.Add(-1)
			return <-p.release
		}
		if _, err := h.submitProbe(p, fmt.Sprintf("user%d", i%3)); err != nil {
			t.Fatal(err)
		}
		probes = append(probes, p)
	}
	for range probes {
		label := recv(t, h.started, "a job to start")
		if got := h.s.Snapshot().Running; got != 1 {
			t.Fatalf("%d jobs running on one backend", got)
		}
		p := probes[slices.IndexFunc(probes, func(p *probe) bool { return p.label == label })]
		p.release <- nil
		if err := p.wantDone(t); err != nil {
			t.Fatalf("job %s: Done(%v), want nil", label, err)
		}
	}
	if peak.Load() != 1 {
		t.Fatalf("at most %d Runs at once on one backend, want 1", peak.Load())
	}
}

func TestTwoBackendsRunTwoJobs(t *testing.T) {
	h := newHarness(t, Options{Backends: 2, MaxPerUser: 3})
	a := h.mustSubmit("a", "a")
	b := h.mustSubmit("b", "b")
	c := h.mustSubmit("c", "c")
	if a.firstPos != 0 || b.firstPos != 0 || c.firstPos != 1 {
		t.Fatalf("positions %d %d %d, want 0 0 1", a.firstPos, b.firstPos, c.firstPos)
	}
	ba := recv(t, a.running, "a to run")
	bb := recv(t, b.running, "b to run")
	if ba == bb {
		t.Fatalf("a and b both on backend %d", ba)
	}
	if st := h.s.Snapshot(); st.Running != 2 || st.Queued != 1 {
		t.Fatalf("snapshot %+v, want 2 running 1 queued", st)
	}
	b.release <- nil
	b.wantDone(t)
	c.wantPos(t, 0)
	if bc := recv(t, c.running, "c to run"); bc != bb {
		t.Fatalf("c ran on backend %d, want the freed backend %d", bc, bb)
	}
	a.release <- nil
	c.release <- nil
	a.wantDone(t)
	c.wantDone(t)
}

// runInOrder releases jobs one at a time as they start on a single backend
// and returns the order they started in.
func runInOrder(t *testing.T, h *harness, probes map[string]*probe) []string {
	t.Helper()
	var order []string
	for range probes {
		label := recv(t, h.started, "the next job to start")
		order = append(order, label)
		p := probes[label]
		p.release <- nil
		if err := p.wantDone(t); err != nil {
			t.Fatalf("job %s: Done(%v)", label, err)
		}
	}
	return order
}

func TestRoundRobinAcrossUsers(t *testing.T) {
	h := newHarness(t, Options{Backends: 1, MaxPerUser: 5})
	probes := map[string]*probe{}
	firstPos := map[string]int{}
	for _, sub := range []struct{ user, label string }{
		{"A", "A1"}, {"A", "A2"}, {"A", "A3"}, {"A", "A4"}, {"A", "A5"},
		{"B", "B1"},
		{"C", "C1"}, {"C", "C2"},
	} {
		p := h.mustSubmit(sub.user, sub.label)
		probes[sub.label] = p
		firstPos[sub.label] = p.firstPos
	}
	// Submit's answers are what each user saw at their own submit time.
	wantFirst := map[string]int{"A1": 0, "A2": 1, "A3": 2, "A4": 3, "A5": 4, "B1": 1, "C1": 2, "C2": 4}
	for label, want := range wantFirst {
		if firstPos[label] != want {
			t.Errorf("Submit(%s) position %d, want %d", label, firstPos[label], want)
		}
	}
	order := runInOrder(t, h, probes)
	want := []string{"A1", "B1", "C1", "A2", "C2", "A3", "A4", "A5"}
	if !slices.Equal(order, want) {
		t.Fatalf("run order %v, want %v", order, want)
	}
}

// A user who submits one job at a time while their first runs must not get
// ahead of a user who came in between.
func TestRoundRobinWhenFirstJobStartsAtOnce(t *testing.T) {
	h := newHarness(t, Options{Backends: 1, MaxPerUser: 5})
	probes := map[string]*probe{}
	probes["A1"] = h.mustSubmit("A", "A1")
	recv(t, probes["A1"].running, "A1 to run")
	probes["A2"] = h.mustSubmit("A", "A2")
	probes["B1"] = h.mustSubmit("B", "B1")
	probes["A3"] = h.mustSubmit("A", "A3")
	probes["C1"] = h.mustSubmit("C", "C1")
	// A1 is already out of h.started's way: put it back for runInOrder.
	h.started <- <-h.started
	order := runInOrder(t, h, probes)
	want := []string{"A1", "B1", "C1", "A2", "A3"}
	if !slices.Equal(order, want) {
		t.Fatalf("run order %v, want %v", order, want)
	}
}

func TestPerUserLimit(t *testing.T) {
	h := newHarness(t, Options{Backends: 1, MaxPerUser: 3})
	var mine []*probe
	for i := range 3 {
		mine = append(mine, h.mustSubmit("a", fmt.Sprint("a", i)))
	}
	_, err := h.submit("a", "a-over")
	if !errors.Is(err, ErrUserLimit) {
		t.Fatalf("4th job: err %v, want ErrUserLimit", err)
	}
	if !strings.Contains(err.Error(), "3 jobs") {
		t.Fatalf("refusal %q does not say the limit", err)
	}
	other := h.mustSubmit("b", "b0") // others are not affected

	recv(t, mine[0].running, "a0 to run")
	if got := recv(t, h.started, "a0 to run"); got != "a0" {
		t.Fatalf("%s started first, want a0", got)
	}
	mine[0].release <- nil
	mine[0].wantDone(t)
	again := h.mustSubmit("a", "a-again") // a slot is free again

	// b0 was served before a1 (b joined after a0 was served).
	rest := map[string]*probe{"a1": mine[1], "a2": mine[2], "b0": other, "a-again": again}
	order := runInOrder(t, h, rest)
	if want := []string{"b0", "a1", "a2", "a-again"}; !slices.Equal(order, want) {
		t.Fatalf("order %v, want %v", order, want)
	}
}

func TestLimitMessageSingular(t *testing.T) {
	err := error(&LimitError{Limit: 1})
	if err.Error() != "you already have 1 job queued or running" {
		t.Fatalf("got %q", err)
	}
}

func TestPositionsFollowStartAndCancel(t *testing.T) {
	h := newHarness(t, Options{Backends: 1, MaxPerUser: 5})
	run := h.mustSubmit("x", "run")
	a := h.mustSubmit("a", "a")
	b := h.mustSubmit("b", "b")
	c := h.mustSubmit("c", "c")
	if a.firstPos != 1 || b.firstPos != 2 || c.firstPos != 3 {
		t.Fatalf("positions %d %d %d, want 1 2 3", a.firstPos, b.firstPos, c.firstPos)
	}
	if _, err := h.s.Cancel(a.id, "a"); err != nil {
		t.Fatal(err)
	}
	b.wantPos(t, 1)
	c.wantPos(t, 2)
	if err := a.wantDone(t); !errors.Is(err, ErrCanceled) {
		t.Fatalf("cancelled job: Done(%v), want ErrCanceled", err)
	}

	run.release <- nil
	b.wantPos(t, 0)
	c.wantPos(t, 1)
	recv(t, b.running, "b to run")

	// c's second job waits for the next round, so d, a new user, gets
	// ahead of it: c2 drops from 2 to 3.
	c2 := h.mustSubmit("c", "c2")
	d := h.mustSubmit("d", "d")
	if c2.firstPos != 2 || d.firstPos != 2 {
		t.Fatalf("c2 at %d, d at %d; want 2 and 2", c2.firstPos, d.firstPos)
	}
	c2.wantPos(t, 3)

	run.wantDone(t)
	for _, p := range []*probe{b, c, d, c2} {
		p.release <- nil
		if err := p.wantDone(t); err != nil {
			t.Fatal(err)
		}
	}
}

// A job whose place gets worse (a new user is served before it) hears it.
func TestPositionGrowsWhenAnotherUserJoins(t *testing.T) {
	h := newHarness(t, Options{Backends: 1, MaxPerUser: 5})
	a1 := h.mustSubmit("a", "a1")
	a2 := h.mustSubmit("a", "a2")
	b1 := h.mustSubmit("b", "b1")
	if a2.firstPos != 1 || b1.firstPos != 1 {
		t.Fatalf("a2 at %d, b1 at %d; want 1 and 1", a2.firstPos, b1.firstPos)
	}
	a2.wantPos(t, 2)
	for _, p := range []*probe{a1, b1, a2} {
		p.release <- nil
		p.wantDone(t)
	}
}

func TestNotifyInitial(t *testing.T) {
	h := newHarness(t, Options{Backends: 1})
	first := h.mustSubmit("a", "first")
	got := make(chan int, 10)
	done := make(chan error, 1)
	_, pos, err := h.s.Submit(&Job{
		User:          "b",
		NotifyInitial: true,
		Run:           func(context.Context, int) error { return nil },
		OnPosition:    func(pos int) { got <- pos },
		Done:          func(err error) { done <- err },
	})
	if err != nil || pos != 1 {
		t.Fatalf("Submit: pos %d err %v", pos, err)
	}
	if v := recv(t, got, "initial position"); v != 1 {
		t.Fatalf("first OnPosition(%d), want 1", v)
	}
	first.release <- nil
	first.wantDone(t)
	if v := recv(t, got, "start"); v != 0 {
		t.Fatalf("OnPosition(%d), want 0", v)
	}
	recv(t, done, "Done")
}

func TestCancelQueuedJob(t *testing.T) {
	h := newHarness(t, Options{Backends: 1})
	run := h.mustSubmit("a", "run")
	q := h.mustSubmit("b", "queued")
	wasRunning, err := h.s.Cancel(q.id, "b")
	if err != nil || wasRunning {
		t.Fatalf("Cancel: wasRunning %v err %v", wasRunning, err)
	}
	if err := q.wantDone(t); !errors.Is(err, ErrCanceled) {
		t.Fatalf("Done(%v), want ErrCanceled", err)
	}
	if _, err := h.s.Cancel(q.id, "b"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Cancel: %v, want ErrNotFound", err)
	}
	if st := h.s.Snapshot(); st.Queued != 0 || st.Running != 1 {
		t.Fatalf("snapshot %+v", st)
	}
	run.release <- nil
	run.wantDone(t)
	if slices.Contains(q.log(), "run") {
		t.Fatal("a job cancelled while queued ran")
	}
}

func TestCancelRunningJob(t *testing.T) {
	h := newHarness(t, Options{Backends: 1})
	r := h.mustSubmit("a", "running")
	next := h.mustSubmit("b", "next")
	recv(t, r.running, "job to run")
	wasRunning, err := h.s.Cancel(r.id, "a")
	if err != nil || !wasRunning {
		t.Fatalf("Cancel: wasRunning %v err %v", wasRunning, err)
	}
	// The probe's Run returns context.Cause(ctx): Done gets Run's value.
	if err := r.wantDone(t); !errors.Is(err, ErrCanceled) {
		t.Fatalf("Done(%v), want Run's ErrCanceled", err)
	}
	next.wantPos(t, 0)
	recv(t, next.running, "next job to run on the freed backend")
	next.release <- nil
	next.wantDone(t)
}

func TestCancelRunningJobDoneGetsRunResult(t *testing.T) {
	h := newHarness(t, Options{Backends: 1})
	p := &probe{label: "r"}
	interrupted := errors.New("a1111: interrupted")
	p.run = func(ctx context.Context, _ int) error {
		<-ctx.Done()
		return interrupted
	}
	if _, err := h.submitProbe(p, "a"); err != nil {
		t.Fatal(err)
	}
	recv(t, p.running, "run")
	if _, err := h.s.Cancel(p.id, "a"); err != nil {
		t.Fatal(err)
	}
	if err := p.wantDone(t); err != interrupted {
		t.Fatalf("Done(%v), want Run's own error", err)
	}
}

func TestOnlyOwnerCancels(t *testing.T) {
	h := newHarness(t, Options{Backends: 1})
	run := h.mustSubmit("a", "run")
	q := h.mustSubmit("a", "queued")
	for _, id := range []string{run.id, q.id} {
		if _, err := h.s.Cancel(id, "mallory"); !errors.Is(err, ErrNotOwner) {
			t.Fatalf("Cancel by another user: %v, want ErrNotOwner", err)
		}
	}
	if _, err := h.s.Cancel("nope", "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Cancel of unknown id: %v, want ErrNotFound", err)
	}
	if n := h.s.Len(); n != 2 {
		t.Fatalf("Len %d after refused cancels, want 2", n)
	}
	run.release <- nil
	q.release <- nil
	for _, p := range []*probe{run, q} {
		if err := p.wantDone(t); err != nil {
			t.Fatalf("job %s: Done(%v)", p.label, err)
		}
	}
}

func TestShutdownCutsQueuedAndInterruptsRunning(t *testing.T) {
	h := newHarness(t, Options{Backends: 1, MaxPerUser: 3})
	r := h.mustSubmit("a", "running")
	q1 := h.mustSubmit("b", "q1")
	q2 := h.mustSubmit("a", "q2")
	recv(t, r.running, "job to run")

	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	cuts, err := h.s.Shutdown(ctx)
	if err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	want := []Cut{{ID: q1.id, User: "b"}, {ID: q2.id, User: "a"}, {ID: r.id, User: "a", Running: true}}
	if !slices.Equal(cuts, want) {
		t.Fatalf("cuts %+v, want %+v", cuts, want)
	}
	// Shutdown waited: every Done has been called already.
	for _, p := range []*probe{q1, q2, r} {
		select {
		case err := <-p.done:
			if !errors.Is(err, ErrShutdown) {
				t.Fatalf("job %s: Done(%v), want ErrShutdown", p.label, err)
			}
		default:
			t.Fatalf("job %s: Shutdown returned before its Done", p.label)
		}
	}
	if _, _, err := h.s.Submit(&Job{User: "c", Run: func(context.Context, int) error { return nil }}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Submit after Shutdown: %v, want ErrClosed", err)
	}
}

func TestShutdownGivesUpOnStuckRun(t *testing.T) {
	h := newHarness(t, Options{Backends: 1})
	p := &probe{label: "stuck"}
	unstick := make(chan struct{})
	p.run = func(context.Context, int) error { <-unstick; return nil } // ignores ctx
	if _, err := h.submitProbe(p, "a"); err != nil {
		t.Fatal(err)
	}
	recv(t, p.running, "run")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	returned := make(chan error, 1)
	go func() {
		_, err := h.s.Shutdown(ctx)
		returned <- err
	}()
	if err := recv(t, returned, "Shutdown to give up"); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), p.id) {
		t.Fatalf("Shutdown: %v, want a deadline error naming %s", err, p.id)
	}
	close(unstick)
	p.wantDone(t)
}

func TestPanicInRunIsRecovered(t *testing.T) {
	h := newHarness(t, Options{Backends: 1})
	bad := &probe{label: "bad"}
	bad.run = func(context.Context, int) error { panic("boom") }
	if _, err := h.submitProbe(bad, "a"); err != nil {
		t.Fatal(err)
	}
	good := h.mustSubmit("b", "good")
	if err := bad.wantDone(t); err == nil || !strings.Contains(err.Error(), "panic: boom") {
		t.Fatalf("Done(%v), want an error describing the panic", err)
	}
	recv(t, good.running, "the next job to run on the same backend")
	good.release <- nil
	if err := good.wantDone(t); err != nil {
		t.Fatal(err)
	}
}

func TestPanicInCallbacksIsRecovered(t *testing.T) {
	h := newHarness(t, Options{Backends: 1})
	ran := make(chan struct{})
	block := make(chan struct{})
	_, _, err := h.s.Submit(&Job{User: "a", Run: func(context.Context, int) error { <-block; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = h.s.Submit(&Job{
		User:       "b",
		Run:        func(context.Context, int) error { close(ran); return nil },
		OnPosition: func(int) { panic("position") },
		Done:       func(error) { panic("done") },
	})
	if err != nil {
		t.Fatal(err)
	}
	close(block)
	recv(t, ran, "the job whose callbacks panic to run")
	after := h.mustSubmit("c", "after")
	recv(t, after.running, "a later job to run")
	after.release <- nil
	after.wantDone(t)
}

func TestJobIDs(t *testing.T) {
	s := New(Options{Logger: quietLogger()})
	seen := map[string]bool{}
	valid := regexp.MustCompile(`^[0-9a-z]{1,20}$`)
	for range 300 {
		id, _, err := s.Submit(&Job{User: "a", Run: func(context.Context, int) error { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		if !valid.MatchString(id) || seen[id] {
			t.Fatalf("id %q invalid or repeated", id)
		}
		seen[id] = true
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if _, err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := formatID("abcdef", ^uint64(0)); len(got) > 20 {
		t.Fatalf("largest id %q has %d characters", got, len(got))
	}
}

func TestSnapshotCounts(t *testing.T) {
	h := newHarness(t, Options{Backends: 2, MaxPerUser: 3})
	ps := []*probe{h.mustSubmit("a", "a1"), h.mustSubmit("a", "a2"), h.mustSubmit("a", "a3"), h.mustSubmit("b", "b1")}
	st := h.s.Snapshot()
	want := Status{Backends: 2, Queued: 2, Running: 2, Users: map[string]UserStatus{
		"a": {Queued: 1, Running: 2}, "b": {Queued: 1},
	}}
	if st.Backends != want.Backends || st.Queued != want.Queued || st.Running != want.Running ||
		len(st.Users) != 2 || st.Users["a"] != want.Users["a"] || st.Users["b"] != want.Users["b"] {
		t.Fatalf("snapshot %+v, want %+v", st, want)
	}
	if h.s.Len() != 4 {
		t.Fatalf("Len %d, want 4", h.s.Len())
	}
	for _, p := range ps {
		p.release <- nil
	}
	for _, p := range ps {
		p.wantDone(t)
	}
}

// Many users submit and cancel at once; every job ends exactly once and no
// backend ever runs two jobs.
func TestConcurrentSubmitCancel(t *testing.T) {
	const backends, users, perUser = 3, 8, 12
	s := New(Options{Backends: backends, MaxPerUser: 4, Logger: quietLogger()})
	var onBackend [backends]atomic.Int32
	var overlap atomic.Bool
	var dones sync.Map // id → *atomic.Int32
	var wg sync.WaitGroup
	var submitted atomic.Int32
	for u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := fmt.Sprint("u", u)
			// One token per ended job of this user: a refused Submit waits
			// for one (stale tokens only make it retry sooner).
			ended := make(chan struct{}, perUser)
			for i := 0; i < perUser; {
				count := new(atomic.Int32)
				work := time.Duration(i%3) * 100 * time.Microsecond
				j := &Job{
					User: user,
					Run: func(ctx context.Context, b int) error {
						if onBackend[b].Add(1) > 1 {
							overlap.Store(true)
						}
						defer onBackend[b].Add(-1)
						select {
						case <-ctx.Done():
						case <-time.After(work):
						}
						return nil
					},
					Done: func(error) { count.Add(1); ended <- struct{}{} },
				}
				id, _, err := s.Submit(j)
				if errors.Is(err, ErrUserLimit) {
					select {
					case <-ended:
					case <-time.After(waitLimit):
						t.Error("no job of a user at the limit ended")
						return
					}
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				submitted.Add(1)
				dones.Store(id, count)
				if i%2 == 1 {
					s.Cancel(id, user)
				}
				i++
			}
		}()
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if _, err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if overlap.Load() {
		t.Fatal("two jobs ran on one backend at once")
	}
	n := 0
	dones.Range(func(k, v any) bool {
		n++
		if c := v.(*atomic.Int32).Load(); c != 1 {
			t.Errorf("job %v: Done called %d times", k, c)
		}
		return true
	})
	if n != int(submitted.Load()) || n != users*perUser {
		t.Fatalf("%d jobs tracked, %d submitted", n, submitted.Load())
	}
}

func TestJobWaitsForABackendItMayUse(t *testing.T) {
	h := newHarness(t, Options{Backends: 2, MaxPerUser: 3})
	onlyB1 := uint64(1 << 1)
	x := h.mustSubmit("x", "x") // any backend: takes 0
	y, err := h.submitProbe(&probe{label: "y", backends: onlyB1}, "y")
	if err != nil {
		t.Fatal(err)
	}
	if bx, by := recv(t, x.running, "x to run"), recv(t, y.running, "y to run"); bx != 0 || by != 1 {
		t.Fatalf("x on %d, y on %d; want 0 and 1", bx, by)
	}
	z, err := h.submitProbe(&probe{label: "z", backends: onlyB1}, "z")
	if err != nil {
		t.Fatal(err)
	}
	w := h.mustSubmit("w", "w") // behind z, but may use any backend

	// Backend 0 frees up: z may not use it, so w, behind it, goes first.
	x.release <- nil
	x.wantDone(t)
	if bw := recv(t, w.running, "w to run on the backend z cannot use"); bw != 0 {
		t.Fatalf("w ran on %d, want 0", bw)
	}
	y.release <- nil
	y.wantDone(t)
	if bz := recv(t, z.running, "z to run once backend 1 is free"); bz != 1 {
		t.Fatalf("z ran on %d, want 1", bz)
	}
	w.release <- nil
	z.release <- nil
	w.wantDone(t)
	z.wantDone(t)
}

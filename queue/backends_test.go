package queue

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestDownBackendGetsNoJobs(t *testing.T) {
	h := newHarness(t, Options{Backends: 2, MaxPerUser: 3})
	h.s.SetUp(0, false)
	a := h.mustSubmit("a", "a")
	b := h.mustSubmit("b", "b")
	c := h.mustSubmit("c", "c")
	if a.firstPos != 0 || b.firstPos != 1 || c.firstPos != 2 {
		t.Fatalf("positions %d %d %d, want 0 1 2", a.firstPos, b.firstPos, c.firstPos)
	}
	if ba := recv(t, a.running, "a to run"); ba != 1 {
		t.Fatalf("a ran on down backend %d", ba)
	}
	a.release <- nil
	a.wantDone(t)
	if bb := recv(t, b.running, "b to run"); bb != 1 {
		t.Fatalf("b ran on %d, want 1 (0 is down)", bb)
	}
	if st := h.s.Backends(); st[0].Up || !st[1].Up || st[0].JobID != "" || st[1].JobID != b.id {
		t.Fatalf("backends %+v", st)
	}
	// Coming up takes the waiting job at once.
	h.s.SetUp(0, true)
	if bc := recv(t, c.running, "c to run once 0 is up"); bc != 0 {
		t.Fatalf("c ran on %d, want 0", bc)
	}
	b.release <- nil
	c.release <- nil
	b.wantDone(t)
	c.wantDone(t)
	if len(a.noServer)+len(b.noServer)+len(c.noServer) != 0 {
		t.Fatal("OnNoServer called while a server was up")
	}
}

// A running job is not touched when its backend is marked down.
func TestDownLeavesRunningJobAlone(t *testing.T) {
	h := newHarness(t, Options{Backends: 1})
	r := h.mustSubmit("a", "r")
	recv(t, r.running, "r to run")
	h.s.SetUp(0, false)
	q := h.mustSubmit("b", "q")
	q.wantNoServer(t, true)
	r.release <- nil
	if err := r.wantDone(t); err != nil {
		t.Fatalf("r: Done(%v)", err)
	}
	if st := h.s.Backends(); st[0].JobID != "" || st[0].Done != 1 {
		t.Fatalf("backend %+v after r, want free with 1 done", st[0])
	}
	if _, err := h.s.Cancel(q.id, "b"); err != nil {
		t.Fatal(err)
	}
	if err := q.wantDone(t); !errors.Is(err, ErrCanceled) {
		t.Fatalf("q: Done(%v), want ErrCanceled", err)
	}
	if q.runs() != 0 {
		t.Fatal("q ran on a down backend")
	}
}

func TestAllDownThenUp(t *testing.T) {
	h := newHarness(t, Options{Backends: 2})
	h.s.SetUp(0, false)
	h.s.SetUp(1, false)
	p := h.mustSubmit("a", "p")
	if p.firstPos != 1 {
		t.Fatalf("Submit position %d, want 1", p.firstPos)
	}
	p.wantNoServer(t, true)
	if js := h.s.UserJobs("a"); len(js) != 1 || !js[0].WaitingForServer || js[0].Running || js[0].Backend != -1 {
		t.Fatalf("UserJobs %+v, want one job waiting for a server", js)
	}
	h.s.SetUp(1, true)
	p.wantNoServer(t, false)
	p.wantPos(t, 0)
	if b := recv(t, p.running, "p to run"); b != 1 {
		t.Fatalf("p ran on %d, want 1", b)
	}
	p.release <- nil
	p.wantDone(t)
}

// A job limited to a backend that is down waits for a server even while
// others are up, and jobs that may use those take them.
func TestNoServerForARestrictedJob(t *testing.T) {
	h := newHarness(t, Options{Backends: 2})
	h.s.SetUp(1, false)
	x := h.mustSubmitProbe(&probe{label: "x", backends: 1 << 1}, "x")
	x.wantNoServer(t, true)
	y := h.mustSubmit("y", "y")
	if b := recv(t, y.running, "y to run"); b != 0 {
		t.Fatalf("y ran on %d, want 0", b)
	}
	h.s.SetUp(1, true)
	x.wantNoServer(t, false)
	if b := recv(t, x.running, "x to run"); b != 1 {
		t.Fatalf("x ran on %d, want 1", b)
	}
	x.release <- nil
	y.release <- nil
	x.wantDone(t)
	y.wantDone(t)
}

func TestNoServerWaitExpires(t *testing.T) {
	h := newHarness(t, Options{Backends: 2, MaxPerUser: 1, NoServerWait: 7 * time.Minute})
	clock := h.withClock()
	h.s.SetUp(0, false)
	h.s.SetUp(1, false)
	p := h.mustSubmit("a", "p")
	p.wantNoServer(t, true)
	if d := recv(t, clock.set, "the no-server timer"); d != 7*time.Minute {
		t.Fatalf("timer of %v, want NoServerWait", d)
	}
	clock.fire(0)
	err := p.wantDone(t)
	if !errors.Is(err, ErrNoServer) {
		t.Fatalf("Done(%v), want ErrNoServer", err)
	}
	if h.s.Len() != 0 {
		t.Fatalf("Len %d after expiry", h.s.Len())
	}
	// Its per-user slot is free again.
	again := h.mustSubmit("a", "again")
	again.wantNoServer(t, true)
	if _, err := h.s.Cancel(again.id, "a"); err != nil {
		t.Fatal(err)
	}
	again.wantDone(t)
}

func TestNoServerDefaultWait(t *testing.T) {
	h := newHarness(t, Options{Backends: 1})
	clock := h.withClock()
	h.s.SetUp(0, false)
	p := h.mustSubmit("a", "p")
	if d := recv(t, clock.set, "the no-server timer"); d != DefaultNoServerWait {
		t.Fatalf("timer of %v, want %v", d, DefaultNoServerWait)
	}
	h.s.SetUp(0, true)
	recv(t, p.running, "p to run")
	if clock.live(0) {
		t.Fatal("timer left running after the job started")
	}
	p.release <- nil
	p.wantDone(t)
}

// The wait restarts when a server comes up: a timer from an earlier spell
// without server does nothing, even if it fires late.
func TestNoServerTimerRestartsWhenServerComesUp(t *testing.T) {
	h := newHarness(t, Options{Backends: 1})
	clock := h.withClock()
	r := h.mustSubmit("r", "r")
	recv(t, r.running, "r to run")
	q := h.mustSubmit("q", "q")

	h.s.SetUp(0, false)
	q.wantNoServer(t, true)
	recv(t, clock.set, "the first timer")
	h.s.SetUp(0, true) // r still runs there: q waits, but not for a server
	q.wantNoServer(t, false)
	if clock.live(0) {
		t.Fatal("first timer not stopped when the server came up")
	}
	h.s.SetUp(0, false)
	q.wantNoServer(t, true)
	recv(t, clock.set, "the second timer")

	clock.fire(0) // stale
	if js := h.s.UserJobs("q"); len(js) != 1 || !js[0].WaitingForServer {
		t.Fatalf("a stale timer ended q: UserJobs %+v", js)
	}
	clock.fire(1)
	if err := q.wantDone(t); !errors.Is(err, ErrNoServer) {
		t.Fatalf("q: Done(%v), want ErrNoServer", err)
	}
	r.release <- nil
	r.wantDone(t)
}

func TestNoServerWaitForever(t *testing.T) {
	h := newHarness(t, Options{Backends: 1, NoServerWait: -1})
	clock := h.withClock()
	h.s.SetUp(0, false)
	p := h.mustSubmit("a", "p")
	p.wantNoServer(t, true)
	if len(clock.set) != 0 {
		t.Fatal("a timer was set with NoServerWait negative")
	}
	h.s.SetUp(0, true)
	recv(t, p.running, "p to run")
	p.release <- nil
	p.wantDone(t)
}

func TestSubmitRefusesJobNoBackendCanRun(t *testing.T) {
	s := New(Options{Backends: 2, Logger: quietLogger()})
	for _, j := range []*Job{
		{User: "a", Backends: 1 << 5},
		{User: "a", Avoid: 0b11},
		{User: "a", Backends: 1 << 1, Avoid: 1 << 1},
	} {
		j.Run = func(context.Context, int) error { return nil }
		if _, _, err := s.Submit(j); !errors.Is(err, ErrNoServer) {
			t.Errorf("Submit(backends %b, avoid %b): %v, want ErrNoServer", j.Backends, j.Avoid, err)
		}
	}
	if s.Len() != 0 {
		t.Fatalf("Len %d after refusals", s.Len())
	}
}

func TestSetIgnoresOutOfRange(t *testing.T) {
	s := New(Options{Backends: 1, Logger: quietLogger()})
	s.SetUp(-1, false)
	s.SetUp(1, false)
	s.SetModels(3, "x", "y")
	if st := s.Backends(); len(st) != 1 || !st[0].Up || st[0].Loaded != "" {
		t.Fatalf("backends %+v", st)
	}
}

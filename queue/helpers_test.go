package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"lorabot/internal/testkit"
)

// waitLimit bounds every wait in these tests; nothing here should come
// near it on a healthy machine.
const waitLimit = 10 * time.Second

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	return testkit.Recv(t, ch, waitLimit, what)
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// harness is a Scheduler whose jobs are probes; at the end of the test it
// shuts the scheduler down and checks every probe's callbacks kept the
// rules: positions only while waiting and never the same twice in a row,
// 0 at most once and only before Run, Done exactly once and last.
type harness struct {
	t      *testing.T
	s      *Scheduler
	mu     sync.Mutex
	probes []*probe
	// started receives the label of each job as its Run begins.
	started chan string
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	h := &harness{t: t, s: New(opts), started: make(chan string, 100)}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		cuts, err := h.s.Shutdown(ctx)
		if err != nil {
			t.Errorf("cleanup shutdown: %v", err)
		}
		if len(cuts) > 0 {
			t.Errorf("test left jobs behind: %+v", cuts)
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, p := range h.probes {
			p.check(t)
		}
	})
	return h
}

// probe records one job's callbacks. Its Run announces itself on the
// harness's started channel and on its own, then returns what is sent on
// release, or the context's cause when cancelled.
type probe struct {
	label      string
	backends   uint64 // Job.Backends
	avoid      uint64 // Job.Avoid
	attempts   int    // Job.Attempts
	checkpoint string // Job.Checkpoint
	givenID    string // Job.ID
	group      string // Job.Group
	groupLimit int    // Job.GroupLimit
	id         string
	firstPos   int // what Submit returned
	pos        chan int
	running    chan int // backend
	release    chan error
	done       chan error
	noServer   chan bool                                    // OnNoServer's reports
	moved      chan int                                     // OnMove's from
	run        func(ctx context.Context, backend int) error // overrides the default Run

	mu     sync.Mutex
	events []string
}

func (p *probe) record(ev string) {
	p.mu.Lock()
	p.events = append(p.events, ev)
	p.mu.Unlock()
}

func (p *probe) log() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.events)
}

// submit submits a probe job for user, labelled label.
func (h *harness) submit(user, label string) (*probe, error) {
	return h.submitProbe(&probe{label: label}, user)
}

func (h *harness) mustSubmit(user, label string) *probe {
	h.t.Helper()
	p, err := h.submit(user, label)
	if err != nil {
		h.t.Fatalf("submit %s: %v", label, err)
	}
	return p
}

func (h *harness) submitProbe(p *probe, user string) (*probe, error) {
	p.pos = make(chan int, 100)
	p.running = make(chan int, 1)
	p.release = make(chan error, 1)
	p.done = make(chan error, 1)
	p.noServer = make(chan bool, 100)
	p.moved = make(chan int, 100)
	j := &Job{
		ID:         p.givenID,
		User:       user,
		Backends:   p.backends,
		Avoid:      p.avoid,
		Attempts:   p.attempts,
		Checkpoint: p.checkpoint,
		Group:      p.group,
		GroupLimit: p.groupLimit,
		Run: func(ctx context.Context, backend int) error {
			p.record("run")
			p.running <- backend
			h.started <- p.label
			if p.run != nil {
				return p.run(ctx, backend)
			}
			select {
			case err := <-p.release:
				return err
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		},
		OnPosition: func(pos int) {
			p.record(fmt.Sprintf("pos:%d", pos))
			select {
			case p.pos <- pos:
			default: // a flood of positions is a failure check() reports; don't hang on it
			}
		},
		OnNoServer: func(waiting bool) {
			p.record(fmt.Sprintf("noserver:%v", waiting))
			select {
			case p.noServer <- waiting:
			default:
			}
		},
		OnMove: func(from int, err error) {
			p.record(fmt.Sprintf("move:%d", from))
			select {
			case p.moved <- from:
			default:
			}
		},
		Done: func(err error) {
			p.record("done")
			p.done <- err
		},
	}
	id, pos, err := h.s.Submit(j)
	if err != nil {
		return nil, err
	}
	p.id, p.firstPos = id, pos
	h.mu.Lock()
	h.probes = append(h.probes, p)
	h.mu.Unlock()
	return p, nil
}

func (p *probe) check(t *testing.T) {
	t.Helper()
	ev := p.log()
	shown := ev
	if len(shown) > 12 {
		shown = append(slices.Clone(shown[:12]), fmt.Sprintf("…(%d events)", len(ev)))
	}
	fail := func(format string, args ...any) {
		t.Errorf("job %s (Submit said %d): %s; events %v", p.label, p.firstPos, fmt.Sprintf(format, args...), shown)
	}
	last := p.firstPos
	phase := 0 // 0 waiting, 1 told 0, 2 running, 3 done
	dones := 0
	noServer := false
	for _, e := range ev {
		switch {
		case strings.HasPrefix(e, "noserver:"):
			if phase > 0 {
				fail("%s after start or end", e)
				return
			}
			v := e == "noserver:true"
			if v == noServer {
				fail("%s repeats the last state", e)
				return
			}
			noServer = v
		case strings.HasPrefix(e, "move:"):
			if phase != 2 {
				fail("%s while not running", e)
				return
			}
			phase, last = 0, -1 // waits again: any place, then 0 before Run
		case strings.HasPrefix(e, "pos:"):
			var n int
			fmt.Sscanf(e, "pos:%d", &n)
			if phase > 0 {
				fail("%s after start or end", e)
				return
			}
			if n == last {
				fail("position %d reported twice in a row", n)
				return
			}
			last = n
			if n == 0 {
				phase = 1
			}
		case e == "run":
			if phase > 1 {
				fail("Run after Done or twice")
				return
			}
			if last != 0 {
				fail("Run without OnPosition(0) first")
				return
			}
			if noServer {
				fail("Run while the last OnNoServer said true")
				return
			}
			phase = 2
		case e == "done":
			dones++
			phase = 3
		}
	}
	if dones != 1 {
		fail("Done called %d times", dones)
	}
}

// nextPos waits for the job's next OnPosition and returns it.
func (p *probe) nextPos(t *testing.T) int {
	t.Helper()
	return recv(t, p.pos, "position of "+p.label)
}

func (p *probe) wantPos(t *testing.T, want int) {
	t.Helper()
	if got := p.nextPos(t); got != want {
		t.Fatalf("job %s: OnPosition(%d), want %d (events %v)", p.label, got, want, p.log())
	}
}

func (p *probe) wantDone(t *testing.T) error {
	t.Helper()
	return recv(t, p.done, "Done of "+p.label)
}

func (p *probe) wantNoServer(t *testing.T, want bool) {
	t.Helper()
	if got := recv(t, p.noServer, "OnNoServer of "+p.label); got != want {
		t.Fatalf("job %s: OnNoServer(%v), want %v (events %v)", p.label, got, want, p.log())
	}
}

func (p *probe) wantMove(t *testing.T, from int) {
	t.Helper()
	if got := recv(t, p.moved, "OnMove of "+p.label); got != from {
		t.Fatalf("job %s: OnMove(%d), want %d (events %v)", p.label, got, from, p.log())
	}
}

// runs counts the job's Run calls so far.
func (p *probe) runs() int {
	n := 0
	for _, e := range p.log() {
		if e == "run" {
			n++
		}
	}
	return n
}

// fakeClock stands in for time.AfterFunc (Scheduler.afterFunc), so tests
// fire the no-server timers themselves.
type fakeClock struct {
	mu     sync.Mutex
	timers []*fakeTimer
	set    chan time.Duration // each timer's duration, as it is set
}

type fakeTimer struct {
	d       time.Duration
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{set: make(chan time.Duration, 100)} }

func (c *fakeClock) afterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	tm := &fakeTimer{d: d, f: f}
	c.timers = append(c.timers, tm)
	c.mu.Unlock()
	c.set <- d
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !tm.stopped
		tm.stopped = true
		return was
	}
}

// fire runs timer i (in the order they were set) as if its time had come,
// whether or not it was stopped: a stopped timer's callback may have been
// on its way already, and must then do nothing.
func (c *fakeClock) fire(i int) {
	c.mu.Lock()
	tm := c.timers[i]
	c.mu.Unlock()
	tm.f()
}

// live reports whether timer i was not stopped.
func (c *fakeClock) live(i int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.timers[i].stopped
}

// withClock makes h's scheduler use a fake clock; call it before the
// first Submit.
func (h *harness) withClock() *fakeClock {
	c := newFakeClock()
	h.s.afterFunc = c.afterFunc
	return c
}

// mustSubmitProbe submits p for user and fails the test on error.
func (h *harness) mustSubmitProbe(p *probe, user string) *probe {
	h.t.Helper()
	if _, err := h.submitProbe(p, user); err != nil {
		h.t.Fatalf("submit %s: %v", p.label, err)
	}
	return p
}

// errDown is what a Run returns when its server goes away; retryDown is an
// Options.Retryable that accepts it.
var errDown = errors.New("a1111: server went away")

func retryDown(err error) bool { return errors.Is(err, errDown) }

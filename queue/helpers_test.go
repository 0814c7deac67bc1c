package queue

import (
	"context"
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
	label    string
	backends uint64 // Job.Backends
	id       string
	firstPos int // what Submit returned
	pos      chan int
	running  chan int // backend
	release  chan error
	done     chan error
	run      func(ctx context.Context, backend int) error // overrides the default Run

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
	j := &Job{
		User:     user,
		Backends: p.backends,
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
	for _, e := range ev {
		switch {
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

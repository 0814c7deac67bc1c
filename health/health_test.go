package health

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"
)

var errRefused = errors.New("connection refused")

// prober answers what it is told and counts its probes.
type prober struct {
	mu    sync.Mutex
	err   error
	calls int
	seen  chan struct{} // one token per probe
}

func newProber(err error) *prober { return &prober{err: err, seen: make(chan struct{}, 100)} }

func (p *prober) Ping(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	select {
	case p.seen <- struct{}{}:
	default:
	}
	return p.err
}

func (p *prober) set(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.err = err
}

type change struct {
	server int
	up     bool
}

var quiet = slog.New(slog.DiscardHandler)

func fault(err error) bool { return errors.Is(err, errRefused) }

func track(t *testing.T, opts Options, probers ...*prober) (*Tracker, chan change) {
	t.Helper()
	changes := make(chan change, 100)
	opts.Fault = fault
	opts.Logger = slog.New(slog.DiscardHandler)
	opts.OnChange = func(i int, up bool) { changes <- change{i, up} }
	ps := make([]Prober, len(probers))
	for i, p := range probers {
		ps[i] = p
	}
	tr := New(ps, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { tr.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
	return tr, changes
}

func next(t *testing.T, ch <-chan change) change {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no health change within 5s")
		return change{}
	}
}

func TestFirstProbeSettlesEveryServer(t *testing.T) {
	good, dead := newProber(nil), newProber(errRefused)
	tr, changes := track(t, Options{ProbeMin: time.Hour}, good, dead)
	got := map[int]bool{}
	for range 2 {
		c := next(t, changes)
		got[c.server] = c.up
	}
	if !got[0] || got[1] {
		t.Fatalf("after the first probes: %v, want server 0 up and server 1 down", got)
	}
	if tr.Up(1) || !tr.Up(0) || !tr.AnyUp() {
		t.Fatalf("Up disagrees with the changes: 0=%v 1=%v", tr.Up(0), tr.Up(1))
	}
	if st := tr.Status(1); st.State != Down || !errors.Is(st.Err, errRefused) {
		t.Fatalf("status of the dead server: %+v", st)
	}
}

func TestDownServerRejoinsWhenItAnswers(t *testing.T) {
	p := newProber(errRefused)
	tr, changes := track(t, Options{ProbeMin: 5 * time.Millisecond, ProbeMax: 20 * time.Millisecond, Every: time.Hour}, p)
	if c := next(t, changes); c.up {
		t.Fatal("a refusing server was marked up")
	}
	// Several failed probes, then it comes back.
	for range 3 {
		select {
		case <-p.seen:
		case <-time.After(5 * time.Second):
			t.Fatal("a down server is not probed again")
		}
	}
	p.set(nil)
	if c := next(t, changes); !c.up || c.server != 0 {
		t.Fatalf("change %+v, want server 0 up", c)
	}
	if !tr.Up(0) {
		t.Fatal("server answered but is not up")
	}
}

func TestBackoffDoublesToTheCap(t *testing.T) {
	p := newProber(errRefused)
	tr := New([]Prober{p}, Options{ProbeMin: 2 * time.Second, ProbeMax: 10 * time.Second, Fault: fault, Logger: quiet})
	ctx := context.Background()
	var delays []time.Duration
	for range 5 {
		tr.probe(ctx, 0)
		tr.mu.Lock()
		delays = append(delays, tr.servers[0].delay)
		tr.mu.Unlock()
	}
	want := []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for i := range want {
		if delays[i] != want[i] {
			t.Fatalf("waits between probes %v, want %v", delays, want)
		}
	}
}

func TestFailedGenerationHoldsTheServerOutWhileProbesAnswer(t *testing.T) {
	p := newProber(nil)
	tr := New([]Prober{p}, Options{ProbeMin: time.Hour, Fault: fault, Logger: quiet})
	ctx := context.Background()
	tr.probe(ctx, 0)
	if !tr.Up(0) {
		t.Fatal("a server that answers should be up")
	}
	tr.ReportGeneration(0, errRefused)
	tr.probe(ctx, 0) // /ping answers, txt2img did not
	if tr.Up(0) {
		t.Fatal("a server whose generation just died rejoined on a probe")
	}
	// A generation that works (e.g. a retry the operator forced) clears it.
	tr.ReportGeneration(0, nil)
	if !tr.Up(0) {
		t.Fatal("a good generation should bring the server back")
	}
}

func TestJobsOwnErrorsSayNothingOfTheServer(t *testing.T) {
	p := newProber(nil)
	tr := New([]Prober{p}, Options{Fault: fault, Logger: quiet})
	tr.Report(0, nil)
	tr.ReportGeneration(0, errors.New("422: steps is not an integer"))
	tr.Report(0, errors.New("500 CUDA out of memory"))
	if !tr.Up(0) {
		t.Fatal("a request error marked the server down")
	}
	tr.Report(0, errRefused)
	if tr.Up(0) {
		t.Fatal("a refused connection left the server up")
	}
	// A success from another call does not override the probes' say.
	tr.Report(0, nil)
	if tr.Up(0) {
		t.Fatal("one answered call rejoined a down server without a probe")
	}
}

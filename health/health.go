// Package health knows which A1111 servers are up. Each server is unknown
// until first heard from, then up or down. A refused connection, a
// timeout, a proxy's 502/503 or a failed probe marks a server down; a down
// server is probed again with back-off and rejoins when it answers. A
// generation that failed for the server's sake (it died or hung mid-job)
// keeps the server out for at least the back-off even if probes answer,
// because a server that answers /ping but not txt2img is down for what the
// bot needs it for.
//
// The package knows nothing of Discord or of the queue: it tells a
// listener (OnChange) and answers questions.
package health

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// State is what the bot believes of one server.
type State int8

const (
	Unknown State = iota // not heard from yet: it may take jobs
	Up
	Down
)

func (s State) String() string {
	switch s {
	case Up:
		return "up"
	case Down:
		return "down"
	}
	return "unknown"
}

// Prober asks one server whether it answers; the a1111 client's Ping does.
type Prober interface {
	Ping(ctx context.Context) error
}

// Options tune a Tracker. Zero values take the defaults.
type Options struct {
	// ProbeMin is the first wait before probing a server that went down;
	// each failed probe doubles it, up to ProbeMax. Defaults 2 s and 60 s.
	ProbeMin, ProbeMax time.Duration
	// ProbeTimeout bounds one probe; default 5 s.
	ProbeTimeout time.Duration
	// Every is how often a server that is up is probed, so that one that
	// died or hung while idle is found before a job lands on it; default
	// 30 s.
	Every time.Duration
	// Fault reports whether an error means the server is unavailable
	// rather than the request bad (a1111.ServerFault). Required.
	Fault func(error) bool
	// OnChange hears every change between up and down (unknown → up is
	// a change too), on the tracker's goroutines, one call at a time. It
	// must not call back into the Tracker's Report methods.
	OnChange func(server int, up bool)
	// Names label the servers in logs (host:port); index when missing.
	Names  []string
	Logger *slog.Logger
}

// Tracker follows the health of a fixed list of servers. Its methods are
// safe for concurrent use.
type Tracker struct {
	probers []Prober
	opts    Options
	log     *slog.Logger

	notify sync.Mutex // serialises OnChange calls in the order of changes

	mu      sync.Mutex
	servers []*server
}

type server struct {
	state State
	since time.Time
	err   error // the last fault, while down
	// delay is the wait before the next probe while down.
	delay time.Duration
	// holdUntil: a failed generation keeps the server down until then,
	// whatever the probes say.
	holdUntil time.Time
	// genFaults counts generations failed for the server's sake since its
	// last good one; the hold doubles with each.
	genFaults int
	wake      chan struct{} // poked when the server goes down, to probe on the down schedule
}

// New returns a tracker over probers (in A1111_URL order). Call Run to
// start probing.
func New(probers []Prober, opts Options) *Tracker {
	if opts.ProbeMin <= 0 {
		opts.ProbeMin = 2 * time.Second
	}
	if opts.ProbeMax < opts.ProbeMin {
		opts.ProbeMax = max(60*time.Second, opts.ProbeMin)
	}
	if opts.ProbeTimeout <= 0 {
		opts.ProbeTimeout = 5 * time.Second
	}
	if opts.Every <= 0 {
		opts.Every = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Fault == nil {
		opts.Fault = func(error) bool { return false }
	}
	t := &Tracker{probers: probers, opts: opts, log: opts.Logger}
	for range probers {
		t.servers = append(t.servers, &server{wake: make(chan struct{}, 1)})
	}
	return t
}

// Len is how many servers the tracker follows.
func (t *Tracker) Len() int { return len(t.servers) }

// Status is one server's health as /status shows it.
type Status struct {
	State State
	Since time.Time // when it entered State; zero while Unknown
	Err   error     // why it is down; nil otherwise
}

// Status returns server i's health.
func (t *Tracker) Status(i int) Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.servers[i]
	return Status{State: s.state, Since: s.since, Err: s.err}
}

// Up reports whether server i may take jobs (up or not yet known).
func (t *Tracker) Up(i int) bool { return t.Status(i).State != Down }

// AnyUp reports whether some server may take jobs.
func (t *Tracker) AnyUp() bool {
	for i := range t.servers {
		if t.Up(i) {
			return true
		}
	}
	return false
}

// Report tells the tracker how a call to server i went (a refresh, a
// probe, a progress poll). A fault marks the server down; a success says
// nothing more than that the server answered that one call, so it marks
// an unknown server up but leaves rejoining a down one to the probes.
func (t *Tracker) Report(i int, err error) {
	switch {
	case err != nil && t.opts.Fault(err):
		t.down(i, err, false)
	case err == nil:
		t.up(i, false)
	}
}

// ReportGeneration tells the tracker how a generation on server i ended.
// A fault marks it down and holds it down for a back-off that doubles with
// each such failure in a row, even while probes answer; a success clears
// that count. An error that is the job's own (a bad request, the time
// limit) says nothing about the server.
func (t *Tracker) ReportGeneration(i int, err error) {
	switch {
	case err != nil && t.opts.Fault(err):
		t.down(i, err, true)
	case err == nil:
		t.mu.Lock()
		t.servers[i].genFaults = 0
		t.servers[i].holdUntil = time.Time{}
		t.mu.Unlock()
		t.up(i, true) // a finished generation is the best proof there is
	}
}

func (t *Tracker) down(i int, err error, generation bool) {
	t.mu.Lock()
	s := t.servers[i]
	if generation {
		s.genFaults++
		hold := t.opts.ProbeMin << min(s.genFaults-1, 16)
		s.holdUntil = time.Now().Add(min(hold, t.opts.ProbeMax))
	}
	s.err = err
	if s.state == Down {
		t.mu.Unlock()
		return
	}
	s.state, s.since, s.delay = Down, time.Now(), t.opts.ProbeMin
	t.notify.Lock()
	t.mu.Unlock()
	defer t.notify.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	t.log.Warn("image server is down; no jobs go there until it answers again", "server", t.name(i), "err", err)
	if t.opts.OnChange != nil {
		t.opts.OnChange(i, false)
	}
}

// up marks server i up. From the probe loop (probed) it may rejoin a down
// server once any hold has passed; from Report it only settles Unknown.
func (t *Tracker) up(i int, probed bool) {
	t.mu.Lock()
	s := t.servers[i]
	switch {
	case s.state == Up:
		t.mu.Unlock()
		return
	case s.state == Down && (!probed || time.Now().Before(s.holdUntil)):
		t.mu.Unlock()
		return
	}
	was := s.state
	s.state, s.since, s.err, s.delay = Up, time.Now(), nil, t.opts.ProbeMin
	t.notify.Lock()
	t.mu.Unlock()
	defer t.notify.Unlock()
	if was == Down {
		t.log.Info("image server is back; it takes jobs again", "server", t.name(i))
	}
	if t.opts.OnChange != nil {
		t.opts.OnChange(i, true)
	}
}

func (t *Tracker) name(i int) string {
	if i < len(t.opts.Names) {
		return t.opts.Names[i]
	}
	return fmt.Sprint(i)
}

// Run probes every server at once, then keeps probing: down servers with
// back-off, up ones every Options.Every. It returns when ctx ends.
func (t *Tracker) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for i := range t.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.loop(ctx, i)
		}()
	}
	wg.Wait()
}

func (t *Tracker) loop(ctx context.Context, i int) {
	timer := time.NewTimer(0) // the first probe at once
	defer timer.Stop()
	s := t.servers[i]
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
			// Went down: from now on the down schedule applies.
			t.mu.Lock()
			wait := s.delay
			t.mu.Unlock()
			timer.Reset(wait)
			continue
		case <-timer.C:
		}
		t.probe(ctx, i)
		if ctx.Err() != nil {
			return
		}
		t.mu.Lock()
		wait := t.opts.Every
		if s.state == Down {
			wait = s.delay
			if hold := time.Until(s.holdUntil); hold > wait {
				wait = hold
			}
		}
		t.mu.Unlock()
		timer.Reset(wait)
	}
}

func (t *Tracker) probe(ctx context.Context, i int) {
	pctx, cancel := context.WithTimeout(ctx, t.opts.ProbeTimeout)
	err := t.probers[i].Ping(pctx)
	cancel()
	if ctx.Err() != nil {
		return
	}
	if err == nil {
		t.up(i, true)
		return
	}
	if !t.opts.Fault(err) {
		// It answered, if not as hoped (a 401 on a probe, a 500): that is
		// for `lorabot check` to explain; for the queue it is there.
		t.up(i, true)
		return
	}
	t.mu.Lock()
	s := t.servers[i]
	if s.state == Down {
		s.err = err
		s.delay = min(s.delay*2, t.opts.ProbeMax)
		t.mu.Unlock()
		t.log.Debug("image server still down", "server", t.name(i), "next_probe", s.delay, "err", err)
		return
	}
	t.mu.Unlock()
	t.down(i, err, false)
}

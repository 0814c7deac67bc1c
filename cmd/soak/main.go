// Command soak runs the real bot (app.Run, production timings) against the
// fake Discord and the fake A1111 on 127.0.0.1 for a long while, and
// reports what a bot meant to run for months must keep: no job lost, no
// interaction answered after Discord's 3 seconds, and a heap, RSS and
// goroutine count that stay flat once warm (issue 9, item 6). It is not
// part of CI; docs/reliability.md has the figures of a full run.
//
//	go run ./cmd/soak                                          # the full run, about 6 minutes
//	go run ./cmd/soak -duration 30s -jobs 50 -autocomplete 5000 # a short one
//
// The run: a warm-up (10 jobs and 1,000 autocompletes); then, for
// -duration, 50 users' -jobs /imagine jobs spread evenly (a short
// generation: -steps × -step) and -rate autocomplete queries a second;
// then -autocomplete autocomplete interactions as fast as the bot answers,
// -concurrency at a time. The bot runs in a child process (this program
// again), so that its memory is its own: the fakes keep every interaction
// they served. -inprocess runs it in this process instead, as the e2e
// harness does (its figures then include the fakes).
//
// Every loop here is bounded in count and in time, and every address is
// 127.0.0.1. The exit status is 1 when a "must" does not hold.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"lorabot/a1111/a1111test"
	"lorabot/app"
	"lorabot/bot/discordtest"
	"lorabot/config"
)

func main() {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(runChild(spec))
	}
	os.Exit(run())
}

type options struct {
	duration     time.Duration
	jobs, users  int
	rate         float64
	autocomplete int
	concurrency  int
	steps        int
	stepTime     time.Duration
	loras        int
	inProcess    bool
	heapProfile  string
	cpuProfile   string
	keep         bool
}

// deadline is Discord's: an interaction not answered within 3 seconds
// of its dispatch fails for the user.
const deadline = 3 * time.Second

func run() int {
	var o options
	flag.DurationVar(&o.duration, "duration", 5*time.Minute, "length of the steady phase (jobs and paced autocomplete)")
	flag.IntVar(&o.jobs, "jobs", 500, "jobs in the steady phase, spread evenly over -duration")
	flag.IntVar(&o.users, "users", 50, "users the jobs and queries come from")
	flag.Float64Var(&o.rate, "rate", 20, "autocomplete queries a second in the steady phase")
	flag.IntVar(&o.autocomplete, "autocomplete", 100_000, "autocomplete interactions in the burst after the steady phase")
	flag.IntVar(&o.concurrency, "concurrency", 16, "autocomplete interactions in flight during the burst")
	flag.IntVar(&o.steps, "steps", 10, "sampling steps per job")
	flag.DurationVar(&o.stepTime, "step", 5*time.Millisecond, "the fake A1111's time per sampling step")
	flag.IntVar(&o.loras, "loras", 2000, "LoRAs in the fake A1111's catalog")
	flag.BoolVar(&o.inProcess, "inprocess", false, "run the bot in this process (figures include the fakes)")
	flag.StringVar(&o.heapProfile, "heapprofile", "", "write the bot's heap profile here at the end (go tool pprof)")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write the bot's CPU profile over the burst here (go tool pprof)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (the bot's log and database) even when all is well")
	flag.Parse()
	if o.duration <= 0 || o.jobs < 0 || o.users < 1 || o.rate < 0 || o.autocomplete < 0 || o.concurrency < 1 || o.steps < 1 || o.loras < 1 {
		fmt.Fprintln(os.Stderr, "soak: -duration, -users, -concurrency, -steps and -loras must be positive; -jobs, -rate and -autocomplete not negative")
		return 2
	}
	s, err := soak(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "soak: %v\n", err)
		return 1
	}
	if !s.ok {
		return 1
	}
	return 0
}

// point is one measurement of the bot, with how far the run was.
type point struct {
	label        string
	at           time.Duration
	interactions int64
	sample
}

// result is what the report prints.
type result struct {
	o       options
	started time.Time
	points  []point
	load    *load
	burst   time.Duration
	late    []string // the fake's deadline violations
	other   []string // the fake's other findings
	logPath string
	ok      bool
}

func soak(o options) (*result, error) {
	dir, err := os.MkdirTemp("", "lorabot-soak-")
	if err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	res := &result{o: o, started: time.Now(), logPath: filepath.Join(dir, "bot.log")}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Everything is bounded: the phases, plus generous slack for the
	// start, the drain and the shutdown.
	ctx, cancel := context.WithTimeout(ctx, 2*o.duration+30*time.Minute)
	defer cancel()

	tb := newSoakTB(dir)
	defer tb.close()
	dc := discordtest.New(tb, discordtest.Options{HeartbeatInterval: 5 * time.Second})
	catalog := a1111test.LoRAsJSON(o.loras)
	sd := a1111test.NewServer(a1111test.Options{StepTime: o.stepTime, LoRAsJSON: catalog})
	defer sd.Close()
	queries, err := a1111test.TypedQueries(catalog, 2000, 9, 2026)
	if err != nil {
		return nil, err
	}
	spec := childSpec{
		Config: config.Config{
			DiscordToken: dc.Token(), GuildID: discordtest.DefaultGuildID, DiscordAPIURL: dc.APIURL(),
			A1111URLs: []string{sd.URL()}, A1111Timeout: time.Minute,
			DBPath: filepath.Join(dir, "bot.db"), MaxQueuePerUser: 3,
		},
		Timings: app.DefaultTimings,
	}
	start := startChild
	if o.inProcess {
		start = startInProcess
	}
	proc, err := start(spec, res.logPath)
	if err != nil {
		return nil, err
	}
	stopped := false
	stopBot := func() error {
		if stopped {
			return nil
		}
		stopped = true
		// A discordgo session closed before its first heartbeat can leave
		// a reconnect loop behind (see discordtest's doc).
		hctx, hcancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer hcancel()
		_ = dc.WaitHeartbeat(hctx)
		return proc.Stop(30 * time.Second)
	}
	defer func() { _ = stopBot() }()
	rctx, rcancel := context.WithTimeout(ctx, time.Minute)
	_, err = dc.WaitCommands(rctx)
	rcancel()
	if err != nil {
		return nil, fmt.Errorf("the bot did not register its commands (log: %s): %w", res.logPath, err)
	}

	l := newLoad(dc, o, queries)
	mark := func(label string) error {
		s, err := proc.Measure()
		if err != nil {
			return err
		}
		p := point{label: label, at: time.Since(res.started), interactions: l.sent.Load(), sample: s}
		res.points = append(res.points, p)
		fmt.Fprintf(os.Stderr, "soak: %-34s heap %s, RSS %s, %d goroutines, %d interactions\n", label, mb(p.HeapAlloc), mb(p.RSS), p.Goroutines, p.interactions)
		return nil
	}
	if err := mark("ready"); err != nil {
		return nil, err
	}

	fmt.Fprintln(os.Stderr, "soak: warming up")
	var wg sync.WaitGroup
	for i := range min(10, o.jobs) {
		wg.Go(func() { l.job(ctx, i, time.Now().Add(2*time.Minute)) })
	}
	l.burst(ctx, "warm-up", min(1000, max(o.autocomplete/10, 100)), 8)
	wg.Wait()
	if err := mark("start (after warm-up)"); err != nil {
		return nil, err
	}

	fmt.Fprintf(os.Stderr, "soak: steady phase, %v: %d jobs, %g autocompletes/s\n", o.duration, o.jobs, o.rate)
	var midErr error
	l.steady(ctx, func() { midErr = mark("steady, half way") })
	if midErr != nil {
		return nil, midErr
	}
	if err := mark(fmt.Sprintf("middle (after %v)", o.duration)); err != nil {
		return nil, err
	}

	fmt.Fprintf(os.Stderr, "soak: burst of %d autocompletes, %d at a time\n", o.autocomplete, o.concurrency)
	if o.cpuProfile != "" {
		path, err := filepath.Abs(o.cpuProfile)
		if err == nil {
			err = proc.CPUProfile(path)
		}
		if err != nil {
			return nil, err
		}
	}
	res.burst = l.burst(ctx, "burst", o.autocomplete, o.concurrency)
	if o.cpuProfile != "" {
		if err := proc.CPUProfile(""); err != nil {
			fmt.Fprintf(os.Stderr, "soak: cpu profile: %v\n", err)
		}
	}
	if err := mark(fmt.Sprintf("end (after %d more)", o.autocomplete)); err != nil {
		return nil, err
	}
	if o.heapProfile != "" {
		path, err := filepath.Abs(o.heapProfile)
		if err == nil {
			err = proc.HeapProfile(path)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "soak: heap profile: %v\n", err)
		}
	}
	select {
	case <-proc.Exited():
		return nil, fmt.Errorf("the bot exited during the run (log: %s)", res.logPath)
	default:
	}
	stopErr := stopBot()
	if ctx.Err() != nil {
		fmt.Fprintf(os.Stderr, "soak: cut short (%v); the figures cover what ran\n", context.Cause(ctx))
	}
	for _, v := range dc.Violations() {
		if strings.Contains(v, "deadline") || strings.Contains(v, "no response within") {
			res.late = append(res.late, v)
		} else {
			res.other = append(res.other, v)
		}
	}
	for _, e := range tb.Errors() {
		if !strings.Contains(e, "violation") { // violations are counted above
			res.other = append(res.other, e)
		}
	}
	if stopErr != nil {
		res.other = append(res.other, "shutdown: "+stopErr.Error())
	}
	res.load = l
	res.ok = res.report(os.Stdout)
	if res.ok && !o.keep {
		_ = os.RemoveAll(dir)
	} else {
		fmt.Fprintf(os.Stderr, "soak: the bot's log and database are in %s\n", dir)
	}
	return res, nil
}

// load acts as the users and counts what happened.
type load struct {
	dc      *discordtest.Server
	o       options
	users   []discordtest.User
	queries []string
	sent    atomic.Int64 // interactions sent

	mu         sync.Mutex
	latency    map[string][]time.Duration // autocomplete, by phase
	lateSeen   int                        // answers the driver saw after the deadline
	unanswered int                        // autocompletes with no answer within 10 s
	skipped    int                        // paced queries not sent: too many in flight
	jobs       jobCounts
}

type jobCounts struct {
	submitted, results                    int
	noAnswer, refused, failed, unfinished int
	samples                               []string // a few outcomes that were not results
}

func (j jobCounts) lost() int { return j.submitted - j.results }

func newLoad(dc *discordtest.Server, o options, queries []string) *load {
	l := &load{dc: dc, o: o, queries: queries, latency: map[string][]time.Duration{}}
	for i := range o.users {
		l.users = append(l.users, discordtest.User{ID: strconv.FormatInt(300000000000001000+int64(i), 10), Name: fmt.Sprintf("soak%02d", i)})
	}
	return l
}

// autocomplete types query i in one of /imagine's LoRA options and waits
// (at most 10 s) for the choices.
func (l *load) autocomplete(ctx context.Context, phase string, i int) {
	focus := []string{"lora", "lora2", "lora3"}[i%3]
	it := l.dc.SendAutocomplete(discordtest.CommandSpec{User: l.users[i%len(l.users)], Name: "imagine", Options: []discordtest.Option{
		discordtest.String("prompt", "a cat"), discordtest.String(focus, l.queries[i%len(l.queries)]).Focus(),
	}})
	l.sent.Add(1)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cb, err := it.WaitResponse(wctx)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err != nil && ctx.Err() == nil:
		l.unanswered++
	case err != nil:
	default:
		// The bot's own latency, from the event's write to the socket to
		// the callback's arrival. The fake's Callback.Latency runs from the
		// interaction's creation (Discord's clock, the one its deadline
		// keeps), which adds the fake's own work and the millisecond the
		// ID is truncated to; older fakes ran it from the dispatch.
		l.latency[phase] = append(l.latency[phase], cb.At.Sub(it.Dispatched()))
		if cb.Latency > deadline {
			l.lateSeen++
		}
	}
}

// job runs /imagine i to its outcome, waiting until by at most.
func (l *load) job(ctx context.Context, i int, by time.Time) {
	it := l.dc.SendCommand(discordtest.CommandSpec{User: l.users[i%len(l.users)], Name: "imagine", Options: []discordtest.Option{
		discordtest.String("prompt", fmt.Sprintf("soak job %d: a lighthouse at dusk", i)),
		discordtest.Int("steps", int64(l.o.steps)), discordtest.Int("seed", int64(i)),
	}})
	l.sent.Add(1)
	wctx, cancel := context.WithDeadline(ctx, by)
	defer cancel()
	cb, err := it.WaitResponse(wctx)
	outcome := func(f func(j *jobCounts), what string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.jobs.submitted++
		f(&l.jobs)
		if what != "" && len(l.jobs.samples) < 5 {
			l.jobs.samples = append(l.jobs.samples, fmt.Sprintf("job %d: %s", i, what))
		}
	}
	if err != nil {
		outcome(func(j *jobCounts) { j.noAnswer++ }, "no answer: "+err.Error())
		return
	}
	if cb.Latency > deadline {
		l.mu.Lock()
		l.lateSeen++
		l.mu.Unlock()
	}
	if cb.Ephemeral() {
		outcome(func(j *jobCounts) { j.refused++ }, "refused: "+cb.Content)
		return
	}
	m, err := it.WaitOriginal(wctx, func(m discordtest.Message) bool {
		return len(m.Attachments) > 0 || strings.HasPrefix(m.Content, "⚠️") || strings.HasPrefix(m.Content, "✖️")
	})
	switch {
	case err != nil:
		outcome(func(j *jobCounts) { j.unfinished++ }, fmt.Sprintf("unfinished (%q): %v", it.Original().Content, err))
	case len(m.Attachments) > 0:
		outcome(func(j *jobCounts) { j.results++ }, "")
	default:
		outcome(func(j *jobCounts) { j.failed++ }, m.Content)
	}
}

// steady runs the steady phase: the jobs spread evenly over the duration
// and the paced autocomplete, then waits for the jobs' outcomes (at most
// two minutes past the phase). half runs half way through.
func (l *load) steady(ctx context.Context, half func()) {
	o := l.o
	end := time.Now().Add(o.duration)
	var wg sync.WaitGroup
	if o.jobs > 0 {
		wg.Go(func() {
			tick := time.NewTicker(o.duration / time.Duration(o.jobs))
			defer tick.Stop()
			var jobs sync.WaitGroup
			for i := range o.jobs {
				if i > 0 {
					select {
					case <-tick.C:
					case <-ctx.Done():
						jobs.Wait()
						return
					}
				}
				// Numbered after the warm-up's, so that seeds differ.
				jobs.Go(func() { l.job(ctx, 10+i, end.Add(2*time.Minute)) })
			}
			jobs.Wait()
		})
	}
	if n := int(o.rate * o.duration.Seconds()); n > 0 {
		wg.Go(func() {
			tick := time.NewTicker(time.Duration(float64(time.Second) / o.rate))
			defer tick.Stop()
			inflight := make(chan struct{}, 200)
			var queries sync.WaitGroup
			for i := range n {
				select {
				case <-tick.C:
				case <-ctx.Done():
					queries.Wait()
					return
				}
				select {
				case inflight <- struct{}{}:
				default:
					l.mu.Lock()
					l.skipped++
					l.mu.Unlock()
					continue
				}
				queries.Go(func() {
					defer func() { <-inflight }()
					l.autocomplete(ctx, "steady", i)
				})
			}
			queries.Wait()
		})
	}
	wg.Go(func() {
		t := time.NewTimer(o.duration / 2)
		defer t.Stop()
		select {
		case <-t.C:
			half()
		case <-ctx.Done():
		}
	})
	wg.Wait()
}

// burst sends n autocompletes, conc at a time, each as soon as the one
// before it on its worker was answered, and returns how long it took.
func (l *load) burst(ctx context.Context, phase string, n, conc int) time.Duration {
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				l.autocomplete(ctx, phase, i)
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// Flat, after warm-up: the heap may move by GC noise and caches that fill
// once (2 MiB or 5 %, whichever is more), goroutines by a few timers.
const (
	flatHeapSlack     = 2 << 20
	flatHeapFraction  = 0.05
	flatGoroutineDiff = 10
)

// report prints the figures as Markdown tables and says whether every
// "must" held.
func (r *result) report(w *os.File) bool {
	o, l := r.o, r.load
	where := "a child process"
	if o.inProcess {
		where = "this process (figures include the fakes)"
	}
	fmt.Fprintf(w, "\n## lorabot soak, %s\n\n", r.started.Format("2006-01-02 15:04"))
	fmt.Fprintf(w, "`%s` · %s/%s, %d CPUs, %s · bot in %s · catalog %d LoRAs · jobs %d steps × %v\n\n",
		commandLine(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), where, o.loras, o.steps, o.stepTime)
	fmt.Fprintln(w, "| point | time | interactions | heap (live) | heap objects | RSS | goroutines |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	for _, p := range r.points {
		fmt.Fprintf(w, "| %s | %s | %d | %s | %d | %s | %d |\n", p.label, p.at.Round(time.Second), p.interactions, mb(p.HeapAlloc), p.HeapObjects, mb(p.RSS), p.Goroutines)
	}
	ok := true
	must := func(good bool) string {
		if good {
			return "✓"
		}
		ok = false
		return "✗"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	j := l.jobs
	fmt.Fprintln(w, "\n| figure | value | must |")
	fmt.Fprintln(w, "|---|---:|---|")
	fmt.Fprintf(w, "| jobs submitted (warm-up + steady) | %d | |\n", j.submitted)
	fmt.Fprintf(w, "| jobs lost | %d (no answer %d, refused %d, failed %d, unfinished %d) | 0 %s |\n",
		j.lost(), j.noAnswer, j.refused, j.failed, j.unfinished, must(j.lost() == 0 && j.submitted > 0))
	lateN := max(len(r.late), l.lateSeen)
	fmt.Fprintf(w, "| interactions answered late (> 3 s) | %d | 0 %s |\n", lateN, must(lateN == 0))
	fmt.Fprintf(w, "| autocompletes unanswered | %d | 0 %s |\n", l.unanswered, must(l.unanswered == 0))
	fmt.Fprintf(w, "| other findings of the fake Discord | %d | 0 %s |\n", len(r.other), must(len(r.other) == 0))
	if l.skipped > 0 {
		fmt.Fprintf(w, "| paced queries skipped (200 in flight) | %d | |\n", l.skipped)
	}
	for _, phase := range []string{"steady", "burst"} {
		lat := slices.Clone(l.latency[phase])
		if len(lat) == 0 {
			continue
		}
		slices.Sort(lat)
		fmt.Fprintf(w, "| autocomplete %s, dispatch → answer: p50 / p99 / max | %s / %s / %s (%d) | |\n", phase,
			ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100]), ms(lat[len(lat)-1]), len(lat))
	}
	if r.burst > 0 && o.autocomplete > 0 {
		fmt.Fprintf(w, "| burst rate | %.0f interactions/s | |\n", float64(len(l.latency["burst"]))/r.burst.Seconds())
	}
	if p, first, mid, last := r.points, r.at("start"), r.at("middle"), r.at("end"); len(p) > 0 && first != nil && last != nil {
		grow := int64(last.HeapAlloc) - int64(first.HeapAlloc)
		flat := float64(grow) <= max(flatHeapSlack, flatHeapFraction*float64(first.HeapAlloc))
		fmt.Fprintf(w, "| heap, start → end | %s → %s (%+.1f MB) | flat %s |\n", mb(first.HeapAlloc), mb(last.HeapAlloc), float64(grow)/(1<<20), must(flat))
		if mid != nil && last.interactions > mid.interactions {
			n := float64(last.interactions - mid.interactions)
			fmt.Fprintf(w, "| heap growth per burst interaction | %.0f B, %.2f objects | |\n",
				float64(int64(last.HeapAlloc)-int64(mid.HeapAlloc))/n, float64(int64(last.HeapObjects)-int64(mid.HeapObjects))/n)
			fmt.Fprintf(w, "| bot CPU per burst interaction | %.0f µs | |\n", float64((last.CPU-mid.CPU).Microseconds())/n)
		}
		fmt.Fprintf(w, "| RSS, start → end | %s → %s | |\n", mb(first.RSS), mb(last.RSS))
		fmt.Fprintf(w, "| goroutines, start → end | %d → %d | flat %s |\n", first.Goroutines, last.Goroutines, must(last.Goroutines-first.Goroutines <= flatGoroutineDiff))
	}
	for _, s := range j.samples {
		fmt.Fprintf(w, "\n- %s", s)
	}
	for i, v := range append(slices.Clone(r.late), r.other...) {
		if i == 10 {
			fmt.Fprintf(w, "\n- … and %d more", len(r.late)+len(r.other)-10)
			break
		}
		fmt.Fprintf(w, "\n- %s", v)
	}
	verdict := "every must held"
	if !ok {
		verdict = "a must did not hold"
	}
	fmt.Fprintf(w, "\n\n%s.\n", verdict)
	return ok
}

// at is the first point whose label starts with prefix.
func (r *result) at(prefix string) *point {
	for i := range r.points {
		if strings.HasPrefix(r.points[i].label, prefix) {
			return &r.points[i]
		}
	}
	return nil
}

func commandLine() string {
	args := []string{"go run ./cmd/soak"}
	flag.Visit(func(f *flag.Flag) { args = append(args, "-"+f.Name+"="+f.Value.String()) })
	return strings.Join(args, " ")
}

func mb(b uint64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

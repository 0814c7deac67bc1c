package e2e

// Benchmarks for the several-servers figures (docs/benchmarks.md, "Several
// A1111 servers"):
//
//	go test -run='^$' -bench=ServersThroughput40Jobs -benchtime=1x -count=2 ./e2e/
//	go test -run='^$' -bench=ServerKilledMidRun -benchtime=1x -count=2 ./e2e/
//	go test -run='^$' -bench=Placement3Checkpoints -benchtime=1x -count=2 ./e2e/
//
// Each iteration runs the real bot (app.Run, production timings) once per
// configuration it compares, each time against a fresh fake Discord and
// fresh fake A1111s, and sends the same 40 jobs from 8 users (5 each,
// MAX_QUEUE_PER_USER=5) in rounds: every user's first job, then every
// second one, and so on. Each /imagine is answered (queued) before the next
// is sent, so the queue sees them in that order.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"lorabot/a1111/a1111test"
	"lorabot/app"
	"lorabot/bot/discordtest"
	"lorabot/internal/testkit"
	"lorabot/queue"
)

const (
	fleetUsers, fleetPerUser = 8, 5
	fleetSteps               = 20
	// fleetRunLimit bounds one run of the 40 jobs; the slowest (one
	// server, or two with a load per job) takes about 20 s.
	fleetRunLimit = 3 * time.Minute
)

// arrival is one txt2img as a fake A1111 served it, timed by the front
// the bot talks to.
type arrival struct {
	server     int
	tag        string // the prompt's first word: the job's name
	start, end time.Time
}

// arrivalLog records the txt2img requests of every fake of a run.
type arrivalLog struct {
	mu   sync.Mutex
	list []arrival
}

func (l *arrivalLog) wrap(server int, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/sdapi/v1/txt2img" {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var req struct {
			Prompt string `json:"prompt"`
		}
		_ = json.Unmarshal(body, &req)
		tag := ""
		if f := strings.Fields(req.Prompt); len(f) > 0 {
			tag = f[0]
		}
		next.ServeHTTP(w, r)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		end := time.Now()
		l.mu.Lock()
		l.list = append(l.list, arrival{server, tag, start, end})
		l.mu.Unlock()
	})
}

func (l *arrivalLog) all() []arrival {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.list)
}

// fleetRun is one bot over several fake A1111s.
type fleetRun struct {
	dc       *discordtest.Server
	sds      []*a1111test.Server
	arrivals *arrivalLog // nil when the bot talks to the fakes directly
	logs     *testkit.LogBuffer
	stop     func()
}

// startFleet starts a fake Discord, one fake A1111 per entry of servers
// and the bot over them. With front, the bot reaches each fake through a
// handler in this process that times its txt2img answers (arrivals); a
// fake put in ModeDown then still has a listening front, so a benchmark
// that takes a server down passes front false.
func startFleet(b *testing.B, servers []a1111test.Options, tm app.Timings, front bool) *fleetRun {
	b.Helper()
	f := &fleetRun{logs: &testkit.LogBuffer{}}
	f.dc = discordtest.New(b, discordtest.Options{HeartbeatInterval: 100 * time.Millisecond})
	if front {
		f.arrivals = &arrivalLog{}
	}
	var urls []string
	for i, o := range servers {
		sd := a1111test.Start(b, o)
		f.sds = append(f.sds, sd)
		if !front {
			urls = append(urls, sd.URL())
			continue
		}
		fr := httptest.NewServer(f.arrivals.wrap(i, sd))
		b.Cleanup(fr.Close)
		urls = append(urls, fr.URL)
	}
	f.stop = runApp(b, f.dc, urls, fleetPerUser, tm, f.logs)
	return f
}

// fleetJob is one /imagine of the workload.
type fleetJob struct {
	user       discordtest.User
	tag        string // first word of its prompt, unique
	checkpoint string // "" for none
}

// fleetWorkload is 8 users × 5 jobs in rounds. With checkpoints, each job
// names one of them, drawn with a fixed seed, so every run and every
// configuration gets the same mixed sequence.
func fleetWorkload(checkpoints []string) []fleetJob {
	rng := rand.New(rand.NewPCG(5, 40))
	var out []fleetJob
	for r := range fleetPerUser {
		for u := range fleetUsers {
			j := fleetJob{
				user: discordtest.User{ID: strconv.Itoa(300000000000000200 + u), Name: fmt.Sprintf("user%d", u)},
				tag:  fmt.Sprintf("u%dr%d", u, r),
			}
			if len(checkpoints) > 0 {
				j.checkpoint = checkpoints[rng.IntN(len(checkpoints))]
			}
			out = append(out, j)
		}
	}
	return out
}

// fleetSent is a job as sent, with when the bot answered it (it was in
// the queue by then) and how it ended.
type fleetSent struct {
	fleetJob
	it     *discordtest.Interaction
	queued time.Time
	final  discordtest.Message // zero if it never ended
}

func (s *fleetSent) delivered() bool { return len(s.final.Attachments) == 1 }

// submit sends the jobs one after another, each once the previous was
// answered, and returns when the first was sent.
func (f *fleetRun) submit(b *testing.B, jobs []fleetJob) (time.Time, []*fleetSent) {
	b.Helper()
	began := time.Now()
	var out []*fleetSent
	for _, j := range jobs {
		opts := []discordtest.Option{
			discordtest.String("prompt", j.tag+" a lighthouse at dusk"), discordtest.Int("steps", fleetSteps),
			discordtest.String("size", "512x512"),
		}
		if j.checkpoint != "" {
			opts = append(opts, discordtest.String("checkpoint", j.checkpoint))
		}
		it := f.dc.SendCommand(discordtest.CommandSpec{User: j.user, Name: "imagine", Options: opts})
		cb, err := it.WaitResponse(benchCtx(b))
		if err != nil {
			b.Fatalf("no answer to %s's /imagine: %v\nlogs:\n%s", j.tag, err, f.logs)
		}
		if cb.Ephemeral() {
			b.Fatalf("job %s was refused: %q", j.tag, cb.Content)
		}
		out = append(out, &fleetSent{fleetJob: j, it: it, queued: time.Now()})
	}
	return began, out
}

func ended(m discordtest.Message) bool {
	return len(m.Attachments) > 0 || strings.HasPrefix(m.Content, "⚠️") || strings.HasPrefix(m.Content, "✖️")
}

// await waits until every job's message shows its outcome (or the run's
// limit passes), calling each with the number ended so far as they end,
// and returns when the last outcome reached the fake Discord.
func (f *fleetRun) await(b *testing.B, sent []*fleetSent, each func(ended int)) time.Time {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), fleetRunLimit)
	defer cancel()
	type result struct {
		i int
		m discordtest.Message
	}
	results := make(chan result, len(sent))
	for i, s := range sent {
		go func() {
			m, _ := s.it.WaitOriginal(ctx, ended)
			results <- result{i, m}
		}()
	}
	var last time.Time
	n := 0
	for range sent {
		r := <-results
		if !ended(r.m) {
			continue // the limit passed
		}
		sent[r.i].final = r.m
		if r.m.Edited.After(last) {
			last = r.m.Edited
		}
		n++
		if each != nil {
			each(n)
		}
	}
	if n < len(sent) {
		b.Errorf("%d of %d jobs did not end within %v", len(sent)-n, len(sent), fleetRunLimit)
	}
	return last
}

// run sends the workload, waits for its outcomes and stops the bot.
func (f *fleetRun) run(b *testing.B, jobs []fleetJob, each func(ended int)) (wall time.Duration, sent []*fleetSent) {
	b.Helper()
	began, sent := f.submit(b, jobs)
	last := f.await(b, sent, each)
	f.stop()
	for i, sd := range f.sds {
		if n := sd.MaxConcurrent(); n > 1 {
			b.Errorf("server %d held %d generations at once; the bot must keep each at 1", i+1, n)
		}
	}
	return last.Sub(began), sent
}

func (f *fleetRun) perServer() []int {
	out := make([]int, len(f.sds))
	for i, sd := range f.sds {
		out[i] = len(sd.Jobs())
	}
	return out
}

func (f *fleetRun) modelLoads() int {
	n := 0
	for _, sd := range f.sds {
		n += sd.ModelLoads()
	}
	return n
}

func countDelivered(sent []*fleetSent) int {
	n := 0
	for _, s := range sent {
		if s.delivered() {
			n++
		}
	}
	return n
}

func servers(n int, o a1111test.Options) []a1111test.Options {
	out := make([]a1111test.Options, n)
	for i := range out {
		out[i] = o
	}
	return out
}

// BenchmarkServersThroughput40Jobs: the 40 jobs, 20 steps × 15 ms (300 ms
// of sampling each), on 1, 2 and 4 fake servers. Per server count: wall
// time from the first /imagine to the last image received by the fake
// Discord; speedup = wall on 1 server ÷ wall on N (measured in the same
// iteration), aim ≥ 0.95 × N; busy = the fakes' txt2img service time ÷ (N
// × wall), how much of the time the servers were generating.
func BenchmarkServersThroughput40Jobs(b *testing.B) {
	const stepTime = 15 * time.Millisecond
	counts := []int{1, 2, 4}
	wall := make([]time.Duration, len(counts))
	busy := make([]float64, len(counts))
	jobs := fleetWorkload(nil)
	iters := 0
	for b.Loop() {
		for k, n := range counts {
			f := startFleet(b, servers(n, a1111test.Options{StepTime: stepTime}), app.DefaultTimings, true)
			w, sent := f.run(b, jobs, nil)
			if d := countDelivered(sent); d != len(sent) {
				b.Fatalf("%d servers: %d of %d jobs delivered their image", n, d, len(sent))
			}
			var served time.Duration
			for _, a := range f.arrivals.all() {
				served += a.end.Sub(a.start)
			}
			wall[k] += w
			busy[k] += served.Seconds() / (float64(n) * w.Seconds())
			b.Logf("%d servers: wall %v, generations per server %v", n, w.Round(time.Millisecond), f.perServer())
		}
		iters++
	}
	nominal := float64(len(jobs)) * fleetSteps * stepTime.Seconds()
	for k, n := range counts {
		w := wall[k].Seconds() / float64(iters)
		b.ReportMetric(w, fmt.Sprintf("%dsrv-wall-s", n))
		b.ReportMetric(float64(len(jobs))/w, fmt.Sprintf("%dsrv-jobs/s", n))
		b.ReportMetric(busy[k]/float64(iters), fmt.Sprintf("%dsrv-busy", n))
		b.ReportMetric(nominal/float64(n)/w, fmt.Sprintf("%dsrv-of-nominal", n))
		if k > 0 {
			speedup := wall[0].Seconds() / wall[k].Seconds()
			b.ReportMetric(speedup, fmt.Sprintf("%dsrv-speedup", n))
			b.ReportMetric(speedup/float64(n), fmt.Sprintf("%dsrv-speedup/N", n))
		}
	}
}

// BenchmarkServerKilledMidRun: the 40 jobs (20 steps × 15 ms) on 2 fake
// servers, undisturbed and then with server 2 put in ModeDown (its port
// refuses connections; its running generation dies) once 13 jobs have
// ended; it stays down. The bot reaches the fakes directly, with production
// timings, the health tracker's included. lost = jobs that did not deliver
// their image (aim 0); extra-s = killed wall − undisturbed wall;
// expected-extra-s is what one server fewer must cost: the jobs not ended
// at the kill (27) run on one server instead of two, left × T ÷ 2, with T
// a job's time on a server in the undisturbed run (its wall ÷ 20). The
// two jobs running at the kill make it uncertain by ± T ÷ 2: the one on
// the surviving server was partly done, the one on the killed server
// starts again.
func BenchmarkServerKilledMidRun(b *testing.B) {
	const (
		stepTime = 15 * time.Millisecond
		killAt   = 13 // of 40 ended: about a third
	)
	jobs := fleetWorkload(nil)
	var undisturbed, killed, expectedExtra time.Duration
	var lost, moved, generations, iters int
	for b.Loop() {
		f := startFleet(b, servers(2, a1111test.Options{StepTime: stepTime}), app.DefaultTimings, false)
		w, sent := f.run(b, jobs, nil)
		if d := countDelivered(sent); d != len(sent) {
			b.Fatalf("undisturbed: %d of %d jobs delivered their image", d, len(sent))
		}
		undisturbed += w
		perJob := w * 2 / time.Duration(len(jobs))

		f = startFleet(b, servers(2, a1111test.Options{StepTime: stepTime}), app.DefaultTimings, false)
		var killedAt time.Time
		w, sent = f.run(b, jobs, func(n int) {
			if n == killAt {
				f.sds[1].SetMode(a1111test.ModeDown)
				killedAt = time.Now()
			}
		})
		killed += w
		expectedExtra += time.Duration(len(jobs)-killAt) * perJob / 2
		l := len(sent) - countDelivered(sent)
		lost += l
		for _, s := range sent {
			if s.final.Showed("moved to another server") {
				moved++
			}
			if !s.delivered() && ended(s.final) {
				b.Logf("job %s ended %q", s.tag, s.final.Content)
			}
		}
		per := f.perServer()
		generations += per[0] + per[1]
		b.Logf("killed: wall %v, server 2 down %v after the first /imagine, generations per server %v, lost %d",
			w.Round(time.Millisecond), killedAt.Sub(sent[0].queued).Round(time.Millisecond), per, l)
		iters++
	}
	it := float64(iters)
	b.ReportMetric(undisturbed.Seconds()/it, "undisturbed-wall-s")
	b.ReportMetric(killed.Seconds()/it, "killed-wall-s")
	b.ReportMetric((killed-undisturbed).Seconds()/it, "extra-s")
	b.ReportMetric(expectedExtra.Seconds()/it, "expected-extra-s")
	b.ReportMetric(float64(lost)/it, "lost")
	b.ReportMetric(float64(moved)/it, "moved")
	b.ReportMetric(float64(generations)/it, "generations")
}

// fairLine replays the queue's rotation (queue/rotation.go) from outside,
// from the order jobs were queued and started in. Every job here may use
// every server.
type fairLine struct {
	users      []string            // waiting users, next first
	fifo       map[string][]string // their waiting jobs' tags
	last       string
	lastAtTail bool
}

func (l *fairLine) push(user, tag string) {
	if q, ok := l.fifo[user]; ok {
		l.fifo[user] = append(q, tag)
		return
	}
	l.fifo[user] = []string{tag}
	switch {
	case user == l.last:
		l.users = append(l.users, user)
		l.lastAtTail = true
	case l.lastAtTail:
		l.users = slices.Insert(l.users, len(l.users)-1, user)
	default:
		l.users = append(l.users, user)
	}
}

// pop takes tag, user's job, out of the line and returns the heads it
// went ahead of (their tags), or ok false if tag was not the head of its
// user's line (the queue keeps a user's jobs in order).
func (l *fairLine) pop(user, tag string) (passed []string, ok bool) {
	i := slices.Index(l.users, user)
	if i < 0 || l.fifo[user][0] != tag {
		return nil, false
	}
	for _, u := range l.users[:i] {
		passed = append(passed, l.fifo[u][0])
	}
	l.users = slices.Delete(l.users, i, i+1)
	l.fifo[user] = l.fifo[user][1:]
	l.last = user
	if len(l.fifo[user]) > 0 {
		l.users = append(l.users, user)
		l.lastAtTail = true
	} else {
		delete(l.fifo, user)
		l.lastAtTail = false
	}
	return passed, true
}

// replayState is the line and each job's counts, as pickLocked keeps
// them: a job that is not due (overtaken fewer than bound times) starting
// ahead of earlier heads overtakes each once; a due job starting ahead of
// them (step 1 of placement.go) does not count; passed counts both. In
// plain fair order every job is due: bound 0.
type replayState struct {
	bound           int
	line            fairLine
	counted, passed map[string]int
}

func (r *replayState) clone() *replayState {
	c := &replayState{bound: r.bound, line: r.line, counted: maps.Clone(r.counted), passed: maps.Clone(r.passed)}
	c.line.users = slices.Clone(r.line.users)
	c.line.fifo = map[string][]string{}
	for u, q := range r.line.fifo {
		c.line.fifo[u] = slices.Clone(q)
	}
	return c
}

// start applies s's start and returns its counts then; wrong when the
// queue's rules forbid it: s was not its user's first waiting job, or it
// went ahead of a due job.
func (r *replayState) start(s *fleetSent) (overtakes, passed int, wrong bool) {
	overtakes, passed = r.counted[s.tag], r.passed[s.tag]
	ahead, ok := r.line.pop(s.user.ID, s.tag)
	if !ok {
		return overtakes, passed, true
	}
	due := overtakes >= r.bound
	for _, t := range ahead {
		if r.counted[t] >= r.bound {
			wrong = true
		}
		r.passed[t]++
		if !due {
			r.counted[t]++
		}
	}
	return overtakes, passed, wrong
}

// placementStats is what one run of the mixed workload showed.
type placementStats struct {
	wall          time.Duration
	loads         int
	waits         map[string]time.Duration // tag: from queued to its txt2img reaching a server
	maxWait       time.Duration
	sumWait       time.Duration
	maxOvertakes  int // the queue's own count (passes by a job not yet due)
	maxPassed     int // all passes, also by due jobs
	broken        int // starts against the queue's rules (see replayState.start)
	ties          int // near-simultaneous picks the replay ordered by the rules
	perServer     []int
	perCheckpoint map[string]int
}

// pickTie is how close two picks on different servers must be for the
// replay not to trust their order (see replay).
const pickTie = 5 * time.Millisecond

// replay orders the queued and started events of a run, replays the
// line with MaxOvertakes bound and reports the largest counts a job had
// when it started.
func replay(sent []*fleetSent, arrivals []arrival, bound int) (st placementStats) {
	type event struct {
		at    time.Time
		start bool
		s     *fleetSent
	}
	byTag := map[string]*fleetSent{}
	var evs []event
	for _, s := range sent {
		byTag[s.tag] = s
		evs = append(evs, event{s.queued, false, s})
	}
	st.waits = map[string]time.Duration{}
	// The queue picks a job when its server frees up (or when the job is
	// queued, if the server was idle): right after the server's previous
	// answer. The request reaches the server later, after the job's
	// goroutine, its bbolt record and a connection; two picks a few
	// milliseconds apart may arrive in the other order, so the replay
	// orders them by when their servers freed up.
	freed := map[int]time.Time{}
	slices.SortStableFunc(arrivals, func(x, y arrival) int { return x.start.Compare(y.start) })
	for _, a := range arrivals {
		s := byTag[a.tag]
		if s == nil {
			continue
		}
		picked := maxTime(freed[a.server], s.queued)
		freed[a.server] = a.end
		if _, again := st.waits[a.tag]; again {
			continue // a retry (none expected here)
		}
		w := a.start.Sub(s.queued)
		st.waits[a.tag] = w
		st.maxWait = max(st.maxWait, w)
		st.sumWait += w
		evs = append(evs, event{picked, true, s})
	}
	slices.SortStableFunc(evs, func(x, y event) int {
		if c := x.at.Compare(y.at); c != 0 {
			return c
		}
		if x.start != y.start {
			if !x.start {
				return -1
			}
			return 1
		}
		return 0
	})
	r := &replayState{bound: bound, line: fairLine{fifo: map[string][]string{}}, counted: map[string]int{}, passed: map[string]int{}}
	for k := 0; k < len(evs); k++ {
		e := evs[k]
		if !e.start {
			r.line.push(e.s.user.ID, e.s.tag)
			continue
		}
		// Servers that started together on equal jobs free up together,
		// within a millisecond: which of the two picks came first is not
		// known from outside. Take the order the queue's rules allow.
		if k+1 < len(evs) && evs[k+1].start && evs[k+1].at.Sub(e.at) <= pickTie {
			if _, _, wrong := r.clone().start(e.s); wrong {
				alt := r.clone()
				_, _, w1 := alt.start(evs[k+1].s)
				_, _, w2 := alt.start(e.s)
				if !w1 && !w2 {
					evs[k], evs[k+1] = evs[k+1], evs[k]
					e = evs[k]
					st.ties++
				}
			}
		}
		o, p, wrong := r.start(e.s)
		st.maxOvertakes = max(st.maxOvertakes, o)
		st.maxPassed = max(st.maxPassed, p)
		if wrong {
			st.broken++
		}
	}
	return st
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// BenchmarkPlacement3Checkpoints: the 40 jobs on 2 fake servers, each job
// naming one of 3 checkpoints (SD 1.5, loaded on both at start; SD 2.1;
// SDXL), drawn at random with a fixed seed, so a user's jobs switch
// checkpoints. A load takes 500 ms and sampling 20 steps × 15 ms = 300 ms:
// the 5 s load scaled down 10×, with a 3 s generation. Run once
// with the placement (MaxOvertakes = queue.DefaultMaxOvertakes) and once
// in plain fair order (app.Timings.PlainRoundRobin), same jobs, same order.
// Reported per mode: wall time; model loads (ModelLoads over both fakes);
// the largest and the mean wait from queued to reaching a server; from a
// replay of the line (replay), the largest number of overtakes a job had
// when it started (the queue's own count, bound MaxOvertakes = 3), of
// passes (also by due jobs, which the queue does not count), starts
// against the queue's rules (aim 0) and near-ties the replay had to order.
// For the placement against plain fair order: wall-saved (aim ≥ 0.30),
// how much longer than in plain order the worst job waited, and how many
// of the 40 waited longer at all.
func BenchmarkPlacement3Checkpoints(b *testing.B) {
	const (
		stepTime = 15 * time.Millisecond
		load     = 500 * time.Millisecond
	)
	checkpoints := []string{"v1-5-pruned-emaonly", "v2-1_768-ema-pruned", "sd_xl_base_1.0"}
	jobs := fleetWorkload(checkpoints)
	modes := []struct {
		name  string
		plain bool
	}{{"placed", false}, {"plain", true}}
	sum := map[string]*placementStats{}
	var extraWait time.Duration
	var laterJobs, iters int
	for b.Loop() {
		got := map[string]placementStats{}
		for _, m := range modes {
			tm := app.DefaultTimings
			tm.PlainRoundRobin = m.plain
			f := startFleet(b, servers(2, a1111test.Options{StepTime: stepTime, ModelSwitchTime: load}), tm, true)
			w, sent := f.run(b, jobs, nil)
			if d := countDelivered(sent); d != len(sent) {
				b.Fatalf("%s: %d of %d jobs delivered their image", m.name, d, len(sent))
			}
			bound := queue.DefaultMaxOvertakes
			if m.plain {
				bound = 0
			}
			st := replay(sent, f.arrivals.all(), bound)
			st.wall, st.loads, st.perServer = w, f.modelLoads(), f.perServer()
			st.perCheckpoint = map[string]int{}
			for _, sd := range f.sds {
				for _, j := range sd.Jobs() {
					st.perCheckpoint[j.Checkpoint]++
				}
			}
			b.Logf("%s: wall %v, loads %d, generations per server %v, max overtakes %d, max passed %d, against the rules %d, ties ordered %d",
				m.name, w.Round(time.Millisecond), st.loads, st.perServer, st.maxOvertakes, st.maxPassed, st.broken, st.ties)
			got[m.name] = st
			acc := sum[m.name]
			if acc == nil {
				acc = &placementStats{}
				sum[m.name] = acc
			}
			acc.wall += st.wall
			acc.loads += st.loads
			acc.maxOvertakes = max(acc.maxOvertakes, st.maxOvertakes)
			acc.maxPassed = max(acc.maxPassed, st.maxPassed)
			acc.broken += st.broken
			acc.ties += st.ties
			acc.maxWait = max(acc.maxWait, st.maxWait)
			acc.sumWait += st.sumWait
		}
		var worst time.Duration
		for tag, wt := range got["placed"].waits {
			d := wt - got["plain"].waits[tag]
			worst = max(worst, d)
			if d > 0 {
				laterJobs++
			}
		}
		extraWait = max(extraWait, worst)
		b.Logf("checkpoints run: %v", got["placed"].perCheckpoint)
		iters++
	}
	it := float64(iters)
	for _, m := range modes {
		st := sum[m.name]
		b.ReportMetric(st.wall.Seconds()/it, m.name+"-wall-s")
		b.ReportMetric(float64(st.loads)/it, m.name+"-loads")
		b.ReportMetric(st.maxWait.Seconds(), m.name+"-max-wait-s")
		b.ReportMetric(st.sumWait.Seconds()/float64(len(jobs))/it, m.name+"-mean-wait-s")
		b.ReportMetric(float64(st.maxOvertakes), m.name+"-max-overtakes")
		b.ReportMetric(float64(st.maxPassed), m.name+"-max-passed")
		b.ReportMetric(float64(st.broken)/it, m.name+"-against-rules")
		b.ReportMetric(float64(st.ties)/it, m.name+"-ties")
	}
	b.ReportMetric(1-sum["placed"].wall.Seconds()/sum["plain"].wall.Seconds(), "wall-saved")
	b.ReportMetric(extraWait.Seconds(), "max-extra-wait-s")
	b.ReportMetric(float64(laterJobs)/it, "jobs-waiting-longer")
}

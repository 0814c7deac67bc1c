package e2e

// Benchmarks for the figures of issue 3 (docs/benchmarks.md):
//
//	go test -run='^$' -bench=Overhead20Jobs -benchtime=3x ./e2e/
//	go test -run='^$' -bench=Upload4x1024 -benchtime=10x ./e2e/
//	go test -run='^$' -bench=Autocomplete10k -benchtime=2000x ./e2e/
//	go test -run='^$' -bench=AutocompleteMetrics -benchtime=2000x -count=3 ./e2e/
//
// They run the real bot with production timings (app.DefaultTimings)
// against the fakes over 127.0.0.1; the upload benchmark runs it as a
// separate process, built from the main package, to read its peak RSS.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"lorabot/a1111/a1111test"
	"lorabot/app"
	"lorabot/bot/discordtest"
	"lorabot/config"
	"lorabot/internal/testkit"
)

// span is one txt2img as the fake A1111 served it: from the request's
// arrival to the last byte of its answer handed to the socket.
type span struct{ start, end time.Time }

// answerLog sits in front of the fake A1111 and times its txt2img answers;
// the bot talks to the fake through it.
type answerLog struct {
	mu      sync.Mutex
	spans   []span
	changed chan struct{} // closed and replaced on each new span
}

func newAnswerLog() *answerLog { return &answerLog{changed: make(chan struct{})} }

func (l *answerLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/sdapi/v1/txt2img" {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		next.ServeHTTP(w, r)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		end := time.Now()
		l.mu.Lock()
		l.spans = append(l.spans, span{start, end})
		close(l.changed)
		l.changed = make(chan struct{})
		l.mu.Unlock()
	})
}

// wait returns the spans once there are at least n.
func (l *answerLog) wait(b *testing.B, n int) []span {
	b.Helper()
	timeout := time.After(wait)
	for {
		l.mu.Lock()
		spans, changed := slices.Clone(l.spans), l.changed
		l.mu.Unlock()
		if len(spans) >= n {
			return spans
		}
		select {
		case <-changed:
		case <-timeout:
			b.Fatalf("the fake A1111 answered %d txt2img requests, want %d", len(spans), n)
		}
	}
}

func (l *answerLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.spans)
}

// benchFakes are the fake Discord and the fake A1111 (behind its timer).
type benchFakes struct {
	dc      *discordtest.Server
	sd      *a1111test.Server
	answers *answerLog
	sdURL   string // what the bot is given as A1111_URL
}

func startFakes(b *testing.B, sd a1111test.Options) *benchFakes {
	b.Helper()
	f := &benchFakes{answers: newAnswerLog()}
	f.dc = discordtest.New(b, discordtest.Options{HeartbeatInterval: 100 * time.Millisecond})
	f.sd = a1111test.Start(b, sd)
	front := httptest.NewServer(f.answers.wrap(f.sd))
	b.Cleanup(front.Close)
	f.sdURL = front.URL
	return f
}

// runBot runs app.Run in this process with production timings until the
// benchmark ends.
func (f *benchFakes) runBot(b *testing.B, maxPerUser int) *testkit.LogBuffer {
	b.Helper()
	logs := &testkit.LogBuffer{}
	runApp(b, f.dc, []string{f.sdURL}, maxPerUser, app.DefaultTimings, logs)
	return logs
}

// runApp runs app.Run in this process against the fake Discord dc and the
// A1111s at urls, logging at Info into logs, until stop is called or the
// benchmark ends.
func runApp(b *testing.B, dc *discordtest.Server, urls []string, maxPerUser int, tm app.Timings, logs *testkit.LogBuffer) (stop func()) {
	b.Helper()
	return runAppWith(b, dc, urls, maxPerUser, tm, logs, nil)
}

// runAppWith is runApp with the settings changed by tweak (nil: none).
func runAppWith(b *testing.B, dc *discordtest.Server, urls []string, maxPerUser int, tm app.Timings, logs *testkit.LogBuffer, tweak func(*config.Config)) (stop func()) {
	b.Helper()
	cfg := config.Config{
		DiscordToken:    dc.Token(),
		GuildID:         discordtest.DefaultGuildID,
		DiscordAPIURL:   dc.APIURL(),
		A1111URLs:       urls,
		A1111Timeout:    time.Minute,
		DBPath:          filepath.Join(b.TempDir(), "bot.db"),
		MaxQueuePerUser: maxPerUser,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	log := slog.New(slog.NewTextHandler(logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, cfg, tm, log, ready) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		b.Fatalf("bot stopped before it was ready: %v\nlogs:\n%s", err, logs)
	case <-time.After(wait):
		cancel()
		b.Fatalf("bot not ready after %v\nlogs:\n%s", wait, logs)
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		hctx, hcancel := context.WithTimeout(context.Background(), wait)
		defer hcancel()
		_ = dc.WaitHeartbeat(hctx) // see harness_test.go's stop
		cancel()
		select {
		case err := <-done:
			if err != nil {
				b.Errorf("bot stopped with an error: %v", err)
			}
		case <-time.After(wait):
			b.Errorf("bot did not stop within %v", wait)
		}
	}
	b.Cleanup(stop)
	return stop
}

func benchCtx(b *testing.B) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	b.Cleanup(cancel)
	return ctx
}

// waitImages waits until the job's message carries n images.
func waitImages(b *testing.B, it *discordtest.Interaction, n int, logs fmt.Stringer) discordtest.Message {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	m, err := it.WaitOriginal(ctx, func(m discordtest.Message) bool {
		return len(m.Attachments) > 0 || strings.HasPrefix(m.Content, "⚠️") || strings.HasPrefix(m.Content, "✖️")
	})
	if err != nil {
		b.Fatalf("job did not finish: %v\nmessage: %+v\nlogs:\n%s", err, it.Original(), logs)
	}
	if len(m.Attachments) != n {
		b.Fatalf("want %d images, got %d: %q\nlogs:\n%s", n, len(m.Attachments), m.Content, logs)
	}
	return m
}

// BenchmarkOverhead20Jobs5Users: 20 jobs (4 from each of 5 users) on one
// backend whose every job takes 20 steps × 5 ms. overhead-ratio is the wall
// time from the first /imagine to the last posted image over the sum of
// the fake A1111's service times (request in to answer written); aim ≤ 1.02.
// nominal-ratio divides by 20 × 100 ms of sampling instead.
func BenchmarkOverhead20Jobs5Users(b *testing.B) {
	const (
		users, perUser, steps = 5, 4, 20
		stepTime              = 5 * time.Millisecond
	)
	f := startFakes(b, a1111test.Options{StepTime: stepTime})
	logs := f.runBot(b, perUser)
	var who []discordtest.User
	for i := range users {
		who = append(who, discordtest.User{ID: strconv.Itoa(300000000000000100 + i), Name: fmt.Sprintf("user%d", i)})
	}

	var wall, served time.Duration
	var jobs int
	for b.Loop() {
		first := f.answers.count()
		start := time.Now()
		var its []*discordtest.Interaction
		for r := range perUser {
			for _, u := range who {
				its = append(its, f.dc.SendCommand(discordtest.CommandSpec{User: u, Name: "imagine", Options: []discordtest.Option{
					discordtest.String("prompt", fmt.Sprintf("a lighthouse, take %d", r)), discordtest.Int("steps", steps),
				}}))
			}
		}
		var last time.Time
		for _, it := range its {
			m := waitImages(b, it, 1, logs)
			if m.Edited.After(last) {
				last = m.Edited
			}
		}
		// The last answer may be posted before its timer has noted it.
		spans := f.answers.wait(b, first+len(its))[first:]
		if len(spans) != len(its) {
			b.Fatalf("A1111 served %d requests for %d jobs", len(spans), len(its))
		}
		for _, s := range spans {
			served += s.end.Sub(s.start)
		}
		wall += last.Sub(start)
		jobs += len(its)
	}
	if n := f.sd.MaxConcurrent(); n > 1 {
		b.Errorf("A1111 saw %d requests at once; the queue allows one per backend", n)
	}
	b.ReportMetric(wall.Seconds()/served.Seconds(), "overhead-ratio")
	b.ReportMetric(wall.Seconds()/(float64(jobs)*steps*stepTime.Seconds()), "nominal-ratio")
	b.ReportMetric(float64(wall-served)/float64(jobs)/1e6, "overhead-ms/job")
}

// buildBot builds the main package into a temporary directory.
func buildBot(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "lorabot")
	cmd := exec.Command("go", "build", "-o", bin, "lorabot")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build lorabot: %v\n%s", err, out)
	}
	return bin
}

// vmHWM reads a process's peak resident set size in bytes.
func vmHWM(pid int) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM line")
}

// BenchmarkUpload4x1024 runs the built bot as its own process and asks for
// 4 images of 1024×1024 (photo-like PNGs, ~1.3 MB each) per iteration.
// ms/upload is the median, over iterations, of the time from the fake
// A1111 having written its answer to the fake Discord having received the
// whole edit with the 4 files; aim < 100 ms. peak-RSS-MB is the bot's
// VmHWM after all jobs; aim < 150 MB. RSS-growth-MB/job is how much that
// peak grew per job after the first.
func BenchmarkUpload4x1024(b *testing.B) {
	bin := buildBot(b)
	f := startFakes(b, a1111test.Options{StepTime: time.Millisecond, NoisyImages: true})
	dir := b.TempDir()
	var stderr testkit.LogBuffer
	cmd := exec.Command(bin)
	cmd.Dir = dir // no .env there
	cmd.Env = append(os.Environ(),
		"DISCORD_API_URL="+f.dc.APIURL(),
		"DISCORD_TOKEN="+f.dc.Token(),
		"DISCORD_GUILD_ID="+discordtest.DefaultGuildID,
		"A1111_URL="+f.sdURL,
		"DB_PATH="+filepath.Join(dir, "bot.db"),
		"LORA_DIR=", "A1111_TIMEOUT=", "MAX_QUEUE_PER_USER=",
	)
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				b.Errorf("bot exited with %v after SIGTERM\n%s", err, &stderr)
			}
		case <-time.After(wait):
			_ = cmd.Process.Kill()
			b.Errorf("bot did not exit within %v of SIGTERM", wait)
		}
	}
	b.Cleanup(stop)
	if _, err := f.dc.WaitCommands(benchCtx(b)); err != nil {
		b.Fatalf("bot did not register its commands: %v\n%s", err, &stderr)
	}

	var lat []time.Duration
	var bytesUp, firstRSS int64
	for i := 0; b.Loop(); i++ {
		first := f.answers.count()
		it := f.dc.SendCommand(discordtest.CommandSpec{User: alice, Name: "imagine", Options: []discordtest.Option{
			discordtest.String("prompt", "a harbour at dusk"), discordtest.String("size", "1024x1024"),
			discordtest.Int("count", 4), discordtest.Int("steps", 20), discordtest.Int("seed", int64(i)),
		}})
		m := waitImages(b, it, 4, &stderr)
		spans := f.answers.wait(b, first+1)[first:]
		if len(spans) != 1 {
			b.Fatalf("want one txt2img for the job, got %d", len(spans))
		}
		for _, a := range m.Attachments {
			cfg, err := png.DecodeConfig(bytes.NewReader(a.Data))
			if err != nil || cfg.Width != 1024 || cfg.Height != 1024 {
				b.Fatalf("attachment %s: want a 1024×1024 PNG, got %dx%d (%v)", a.Filename, cfg.Width, cfg.Height, err)
			}
			bytesUp += a.Size
		}
		lat = append(lat, m.Edited.Sub(spans[0].end))
		if i == 0 {
			var err error
			if firstRSS, err = vmHWM(cmd.Process.Pid); err != nil {
				b.Fatalf("read the bot's VmHWM: %v", err)
			}
		}
	}
	rss, err := vmHWM(cmd.Process.Pid)
	if err != nil {
		b.Fatalf("read the bot's VmHWM: %v", err)
	}
	stop()
	if len(lat) > 1 {
		// A bot that lets go of each job's images stays flat here.
		b.ReportMetric(float64(rss-firstRSS)/float64(len(lat)-1)/(1<<20), "RSS-growth-MB/job")
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "ms/upload")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms/upload")
	b.ReportMetric(float64(bytesUp)/float64(len(lat))/(1<<20), "MB-uploaded/job")
	b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MB")
}

// BenchmarkAutocomplete10kLoRAs: autocomplete of the lora option with a
// 10,000-LoRA catalog, timed by the fake Discord from the gateway dispatch
// to the callback's arrival. Aim: p99 < 20 ms on loopback.
func BenchmarkAutocomplete10kLoRAs(b *testing.B) {
	benchAutocomplete(b, nil)
}

// BenchmarkAutocompleteMetrics is the same with METRICS_ADDR off and on,
// and a scrape of /metrics every 100 queries while on: the cost of the
// instrumentation on the hot path (docs/benchmarks.md, issue 14).
func BenchmarkAutocompleteMetrics(b *testing.B) {
	b.Run("metrics=off", func(b *testing.B) { benchAutocomplete(b, nil) })
	b.Run("metrics=on", func(b *testing.B) {
		addr := freeAddr(b)
		benchAutocomplete(b, &addr)
	})
}

// benchAutocomplete runs the autocomplete benchmark; with metricsAddr the
// bot serves metrics there, and they are scraped every 100 queries.
func benchAutocomplete(b *testing.B, metricsAddr *string) {
	catalog := a1111test.LoRAsJSON(10_000)
	queries, err := a1111test.TypedQueries(catalog, 1000, 3, 10000)
	if err != nil {
		b.Fatal(err)
	}
	f := startFakes(b, a1111test.Options{LoRAsJSON: catalog})
	logs := &testkit.LogBuffer{}
	var tweak func(*config.Config)
	if metricsAddr != nil {
		tweak = func(c *config.Config) { c.MetricsAddr = *metricsAddr }
	}
	runAppWith(b, f.dc, []string{f.sdURL}, 3, app.DefaultTimings, logs, tweak)
	scrape := func() {
		resp, err := http.Get("http://" + *metricsAddr + "/metrics")
		if err != nil {
			b.Fatalf("scrape: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	focus := []string{"lora", "lora2", "lora3"}
	var lat, missed []time.Duration
	for i := 0; b.Loop(); i++ {
		if metricsAddr != nil && i%100 == 99 {
			scrape()
		}
		q := queries[i%len(queries)]
		it := f.dc.SendAutocomplete(discordtest.CommandSpec{User: alice, Name: "imagine", Options: []discordtest.Option{
			discordtest.String("prompt", "a cat"), discordtest.String(focus[i%len(focus)], q).Focus(),
		}})
		cb, err := it.WaitResponse(benchCtx(b))
		if err != nil {
			b.Fatalf("no answer to autocomplete %q: %v\nlogs:\n%s", q, err, logs)
		}
		if cb.Type != discordgo.InteractionApplicationCommandAutocompleteResult {
			b.Fatalf("autocomplete %q answered with type %d", q, cb.Type)
		}
		if len(cb.Choices) == 0 {
			missed = append(missed, cb.Latency)
		}
		lat = append(lat, cb.Latency)
	}
	if len(missed) == len(lat) {
		b.Fatalf("no autocomplete offered any LoRA\nlogs:\n%s", logs)
	}
	slices.Sort(lat)
	slices.Sort(missed)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
	b.ReportMetric(float64(len(missed))/float64(len(lat)), "no-match-fraction")
	if len(missed) > 0 {
		// A query that matches nothing scans the whole catalog for typos.
		b.ReportMetric(ms(missed[len(missed)/2]), "no-match-p50-ms")
	}
}

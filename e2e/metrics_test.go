package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"lorabot/a1111/a1111test"
	"lorabot/app"
	"lorabot/bot/discordtest"
	"lorabot/config"
	"lorabot/metrics/metricstest"
)

// freeAddr is a loopback address with a port nobody listens on now, for
// METRICS_ADDR (which takes no port 0).
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func startWithMetrics(t *testing.T, s setup) *env {
	t.Helper()
	tweak := s.tweak
	s.tweak = func(c *config.Config) {
		c.MetricsAddr = freeAddr(t)
		if tweak != nil {
			tweak(c)
		}
	}
	return startGlobal(t, s)
}

func (e *env) get(path string) (int, string) {
	e.t.Helper()
	resp, err := http.Get("http://" + e.cfg.MetricsAddr + path)
	if err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(body)
}

// scrape reads /metrics and parses it with Prometheus's own text parser.
func (e *env) scrape() metricstest.Scrape {
	e.t.Helper()
	code, body := e.get("/metrics")
	if code != http.StatusOK {
		e.t.Fatalf("/metrics: status %d\n%s", code, body)
	}
	s, err := metricstest.Parse(strings.NewReader(body))
	if err != nil {
		e.t.Fatalf("%v\n%s", err, body)
	}
	return s
}

// metricsSettle scrapes until check finds nothing wrong, and returns that
// scrape; past the harness's wait it fails the test with what is still
// wrong.
func (e *env) metricsSettle(check func(metricstest.Scrape) []string) metricstest.Scrape {
	e.t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(wait)
	for {
		s := e.scrape()
		bad := check(s)
		if len(bad) == 0 {
			return s
		}
		select {
		case <-tick.C:
		case <-deadline:
			e.t.Fatalf("the metrics never said what happened:\n%s", strings.Join(bad, "\n"))
		}
	}
}

// readyIs waits until /readyz answers ready (200) or not (503), and
// returns the last body.
func (e *env) readyIs(ready bool) string {
	e.t.Helper()
	want := http.StatusServiceUnavailable
	if ready {
		want = http.StatusOK
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(wait)
	for {
		code, body := e.get("/readyz")
		if code == want {
			return body
		}
		select {
		case <-tick.C:
		case <-deadline:
			e.t.Fatalf("/readyz still answers %d %q after %v; want %d\nlogs:\n%s", code, body, wait, want, e.logs)
		}
	}
}

// The operator's view: after jobs in two servers, a failure and an
// autocomplete, /metrics parses and its counters and gauges say what
// happened; /readyz follows the image servers going down and coming back.
func TestMetricsAndReadiness(t *testing.T) {
	step := a1111test.Options{StepTime: 2 * time.Millisecond}
	e := startWithMetrics(t, setup{a1111: step, more: []a1111test.Options{step}, timings: fastHealth(func(t *app.Timings) { t.NoServerWait = time.Minute })})
	if code, body := e.get("/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	e.readyIs(true)

	// Three jobs that give images, in two servers, then one whose server
	// answers with an error of its own (not retried): a failure.
	var done []*discordtest.Interaction
	for _, spec := range []discordtest.CommandSpec{at(guildA, chanA, alice), at(guildB, chanB, bob), at(guildB, chanB2, alice)} {
		spec.Name, spec.Options = "imagine", []discordtest.Option{discordtest.String("prompt", "a lighthouse at dusk"), discordtest.Int("steps", 5)}
		it := e.dc.SendCommand(spec)
		if cb := e.response(it); cb.Ephemeral() {
			t.Fatalf("job refused: %q", cb.Content)
		}
		done = append(done, it)
	}
	for _, it := range done {
		if m := e.finished(it); len(m.Attachments) != 1 {
			t.Fatalf("job ended %q; want its image", m.Content)
		}
	}
	for _, sd := range e.sds {
		sd.SetRouteMode("/sdapi/v1/txt2img", a1111test.Mode500)
	}
	spec := at(guildA, chanA, carol)
	spec.Name, spec.Options = "imagine", []discordtest.Option{discordtest.String("prompt", "a secret prompt"), discordtest.Int("steps", 5)}
	failed := e.dc.SendCommand(spec)
	e.response(failed)
	if m := e.finished(failed); !strings.HasPrefix(m.Content, "⚠️") {
		t.Fatalf("the job on a failing server ended %q; want a failure", m.Content)
	}
	for _, sd := range e.sds {
		sd.SetRouteMode("/sdapi/v1/txt2img", a1111test.ModeOK)
	}
	ac := e.dc.SendAutocomplete(discordtest.CommandSpec{User: alice, GuildID: guildA, ChannelID: chanA, Name: "imagine", Options: []discordtest.Option{
		discordtest.String("prompt", "a cat"), discordtest.String("lora", "a").Focus()}})
	if _, err := ac.WaitResponse(ctxT(t)); err != nil {
		t.Fatal(err)
	}

	// The fake Discord has each answer before the bot's HTTP client
	// returns and counts it: wait (bounded) until the scrape settles.
	s := e.metricsSettle(func(s metricstest.Scrape) []string {
		bad := s.Check([]metricstest.Want{
			metricstest.Expect("lorabot_jobs_total", 3, "outcome", "done"),
			metricstest.Expect("lorabot_jobs_total", 1, "outcome", "failed"),
			metricstest.Expect("lorabot_jobs_total", 0, "outcome", "cancelled"),
			metricstest.Expect("lorabot_job_wait_seconds", 4),
			metricstest.Expect("lorabot_generation_seconds", 3), // those that gave images
			metricstest.Expect("lorabot_server_jobs_done_total", 3),
			metricstest.Expect("lorabot_queue_jobs", 0, "state", "queued"),
			metricstest.Expect("lorabot_queue_jobs", 0, "state", "running"),
			metricstest.Expect("lorabot_server_up", 2),
			metricstest.Expect("lorabot_discord_gateway_connected", 1),
			metricstest.Expect("lorabot_discord_rate_limited_total", 0),
			metricstest.Expect("lorabot_interactions_late_total", 0),
			metricstest.Expect("lorabot_interaction_answer_seconds", 1, "kind", "autocomplete"),
			metricstest.Expect("lorabot_interaction_answer_seconds", 4, "kind", "command"),
		})
		// Every /imagine and the autocomplete were answered through the
		// callback route; every job's message was edited at least once.
		if n, _ := s.Sum("lorabot_discord_requests_total", "route", "interaction_callback", "status", "204"); n < 5 {
			bad = append(bad, fmt.Sprintf("callbacks answered 204: %v, want at least the 5 interactions", n))
		}
		if n, _ := s.Sum("lorabot_discord_requests_total", "route", "interaction_edit"); n < 4 {
			bad = append(bad, fmt.Sprintf("edits of job messages: %v, want at least one per job", n))
		}
		if n, _ := s.Sum("lorabot_server_model_info", "model", "v1-5-pruned-emaonly.safetensors"); n < 1 {
			bad = append(bad, "no server shows the checkpoint it has loaded:\n"+s.Lines("lorabot_server_model_info"))
		}
		return bad
	})
	for _, secret := range []string{e.cfg.DiscordToken, alice.ID, bob.ID, carol.ID, "lighthouse", "secret prompt"} {
		if strings.Contains(s.Text, secret) {
			t.Errorf("/metrics carries %q", secret)
		}
	}

	// One line per job at its end, with what an operator needs.
	var lines []string
	for _, l := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(l, `msg="job ended"`) {
			lines = append(lines, l)
		}
	}
	if len(lines) != 4 {
		t.Fatalf("%d 'job ended' lines, want one per job:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	guilds := map[string]int{}
	for _, l := range lines {
		for _, field := range []string{"job=", "server=127.0.0.1:", "wait=", "generation=", "outcome="} {
			if !strings.Contains(l, field) {
				t.Errorf("job line lacks %s: %s", field, l)
			}
		}
		if strings.Contains(l, "lighthouse") || strings.Contains(l, "secret prompt") {
			t.Errorf("job line carries the prompt: %s", l)
		}
		for _, g := range []string{guildA, guildB} {
			if strings.Contains(l, "guild="+g) {
				guilds[g]++
			}
		}
	}
	if guilds[guildA] != 2 || guilds[guildB] != 2 {
		t.Errorf("job lines by guild %v; want 2 in each", guilds)
	}
	if n := strings.Count(strings.Join(lines, "\n"), "outcome=failed"); n != 1 {
		t.Errorf("%d failed job lines, want 1", n)
	}

	// Both image servers go down: not ready, naming why; one comes back:
	// ready again.
	for _, sd := range e.sds {
		sd.SetMode(a1111test.ModeDown)
	}
	if body := e.readyIs(false); !strings.Contains(body, "a1111") || strings.Contains(body, "discord") {
		t.Errorf("/readyz with both servers down says %q; want the image servers named, and nothing else", body)
	}
	if n, _ := e.scrape().Sum("lorabot_server_up"); n != 0 {
		t.Errorf("both servers down, yet lorabot_server_up sums to %v", n)
	}
	e.sds[1].SetMode(a1111test.ModeOK)
	e.readyIs(true)
	s = e.scrape()
	for _, bad := range s.Check([]metricstest.Want{metricstest.Expect("lorabot_server_up", 1, "server", e.sds[1].Addr()), metricstest.Expect("lorabot_server_up", 1)}) {
		t.Errorf("server 2 is back: %s\n%s", bad, s.Lines("lorabot_server_up"))
	}

	// Stopped, the listener is gone with the bot.
	e.stop()
	if _, err := http.Get("http://" + e.cfg.MetricsAddr + "/healthz"); err == nil {
		t.Error("/healthz still answers after the bot stopped")
	}
}

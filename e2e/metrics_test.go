package e2e

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"lorabot/a1111/a1111test"
	"lorabot/app"
	"lorabot/bot/discordtest"
	"lorabot/config"
)

// freeAddr is a loopback address with a port nobody listens on now, for
// METRICS_ADDR (which takes no port 0).
func freeAddr(t *testing.T) string {
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
func (e *env) scrape() scraped {
	e.t.Helper()
	code, body := e.get("/metrics")
	if code != http.StatusOK {
		e.t.Fatalf("/metrics: status %d\n%s", code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		e.t.Fatalf("/metrics does not parse: %v\n%s", err, body)
	}
	return scraped{fams, body}
}

type scraped struct {
	fams map[string]*dto.MetricFamily
	text string
}

// sum adds up the samples of family name whose labels include want
// (name, value pairs): a counter's or gauge's value, a histogram's count.
func (s scraped) sum(name string, want ...string) float64 {
	total := 0.0
	f := s.fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(want); i += 2 {
			if have[want[i]] != want[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	return total
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

	s := e.scrape()
	for _, c := range []struct {
		what string
		got  float64
		want float64
	}{
		{"jobs done", s.sum("lorabot_jobs_total", "outcome", "done"), 3},
		{"jobs failed", s.sum("lorabot_jobs_total", "outcome", "failed"), 1},
		{"jobs cancelled", s.sum("lorabot_jobs_total", "outcome", "cancelled"), 0},
		{"waits timed", s.sum("lorabot_job_wait_seconds"), 4},
		{"generations timed (those that gave images)", s.sum("lorabot_generation_seconds"), 3},
		{"jobs done per server, summed", s.sum("lorabot_server_jobs_done_total"), 3},
		{"queued now", s.sum("lorabot_queue_jobs", "state", "queued"), 0},
		{"running now", s.sum("lorabot_queue_jobs", "state", "running"), 0},
		{"servers up", s.sum("lorabot_server_up"), 2},
		{"gateway connected", s.sum("lorabot_discord_gateway_connected"), 1},
		{"429s", s.sum("lorabot_discord_rate_limited_total"), 0},
		{"late answers", s.sum("lorabot_interactions_late_total"), 0},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
		}
	}
	// Every /imagine and the autocomplete were answered through the
	// callback route, and their latency timed by kind.
	if n := s.sum("lorabot_discord_requests_total", "route", "interaction_callback", "status", "204"); n < 5 {
		t.Errorf("callbacks answered 204: %v, want at least the 5 interactions", n)
	}
	if n := s.sum("lorabot_discord_requests_total", "route", "interaction_edit"); n < 4 {
		t.Errorf("edits of job messages: %v, want at least one per job", n)
	}
	if n := s.sum("lorabot_interaction_answer_seconds", "kind", "autocomplete"); n != 1 {
		t.Errorf("autocomplete answers timed: %v, want 1", n)
	}
	if n := s.sum("lorabot_interaction_answer_seconds", "kind", "command"); n != 4 {
		t.Errorf("command answers timed: %v, want 4", n)
	}
	if s.sum("lorabot_server_model_info", "model", "v1-5-pruned-emaonly.safetensors") < 1 {
		t.Errorf("no server shows the checkpoint it has loaded:\n%s", grepLines(s.text, "lorabot_server_model_info"))
	}
	for _, secret := range []string{e.cfg.DiscordToken, alice.ID, bob.ID, carol.ID, "lighthouse", "secret prompt"} {
		if strings.Contains(s.text, secret) {
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
	if s := e.scrape(); s.sum("lorabot_server_up") != 0 {
		t.Errorf("both servers down, yet lorabot_server_up sums to %v", s.sum("lorabot_server_up"))
	}
	e.sds[1].SetMode(a1111test.ModeOK)
	e.readyIs(true)
	if s := e.scrape(); s.sum("lorabot_server_up", "server", e.sds[1].Addr()) != 1 || s.sum("lorabot_server_up") != 1 {
		t.Errorf("server 2 is back: up per server\n%s", grepLines(s.text, "lorabot_server_up"))
	}

	// Stopped, the listener is gone with the bot.
	e.stop()
	if _, err := http.Get("http://" + e.cfg.MetricsAddr + "/healthz"); err == nil {
		t.Error("/healthz still answers after the bot stopped")
	}
}

func grepLines(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

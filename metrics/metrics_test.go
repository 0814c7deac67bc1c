package metrics

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"lorabot/bot"
	"lorabot/health"
	"lorabot/queue"
)

// scrape reads /metrics from h and parses it as Prometheus does.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: status %d: %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return fams
}

// value finds the sample of family name whose labels include want
// (name=value pairs); ok is false when there is none.
func value(fams map[string]*dto.MetricFamily, name string, want ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
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
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func TestHooksMoveTheirMetrics(t *testing.T) {
	m := New()
	obs := m.QueueObserver()
	obs.Started(0, 2*time.Second)
	obs.Started(1, 0)
	obs.Ended(queue.OutcomeDone)
	obs.Ended(queue.OutcomeDone)
	obs.Ended(queue.OutcomeFailed)
	m.Generated("gpu1:7860", 4*time.Second)
	m.DiscordRequest(bot.RouteEdit, 200)
	m.DiscordRequest(bot.RouteEdit, 429)
	m.DiscordRequest(bot.RouteCallback, 204)
	m.Answered("autocomplete", 3*time.Millisecond)
	m.Answered("unknown", time.Second) // not a kind the router names: ignored
	fams := scrape(t, m.Handler(nil))
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"lorabot_jobs_total", []string{"outcome", "done"}, 2},
		{"lorabot_jobs_total", []string{"outcome", "failed"}, 1},
		{"lorabot_jobs_total", []string{"outcome", "no_server"}, 0}, // shown before it happens
		{"lorabot_job_wait_seconds", nil, 2},
		{"lorabot_generation_seconds", []string{"server", "gpu1:7860"}, 1},
		{"lorabot_discord_requests_total", []string{"route", bot.RouteEdit, "status", "429"}, 1},
		{"lorabot_discord_requests_total", []string{"route", bot.RouteEdit, "status", "200"}, 1},
		{"lorabot_discord_rate_limited_total", []string{"route", bot.RouteEdit}, 1},
		{"lorabot_discord_rate_limited_total", []string{"route", bot.RouteCallback}, 0},
		{"lorabot_interaction_answer_seconds", []string{"kind", "autocomplete"}, 1},
	} {
		got, ok := value(fams, tc.name, tc.labels...)
		if !ok || got != tc.want {
			t.Errorf("%s%v = %v (present %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	if f := fams["lorabot_job_wait_seconds"]; f.GetType() != dto.MetricType_HISTOGRAM || f.Metric[0].Histogram.GetSampleSum() != 2 {
		t.Errorf("wait histogram: %v", f)
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("Go's runtime metrics are missing")
	}
}

func TestViewsAreReadAtEachScrape(t *testing.T) {
	m := New()
	var up atomic.Bool
	var st atomic.Int64
	m.Watch(Views{
		Servers: []string{"gpu1:7860", "gpu2:7860"},
		Health: func(i int) health.State {
			if i == 0 && up.Load() {
				return health.Up
			}
			return health.Down
		},
		Backends: func() []queue.BackendStatus {
			return []queue.BackendStatus{{Loaded: "sd_xl_base_1.0.safetensors", Done: 3}, {Done: 0}}
		},
		Queue:   func() queue.Status { return queue.Status{Queued: int(st.Load()), Running: 1} },
		Gateway: up.Load,
		Router:  func() bot.RouterStats { return bot.RouterStats{Late: 2, TooOld: 1} },
	})
	h := m.Handler(nil)
	fams := scrape(t, h)
	if v, _ := value(fams, "lorabot_server_up", "server", "gpu1:7860"); v != 0 {
		t.Errorf("server down: up = %v", v)
	}
	if v, _ := value(fams, "lorabot_discord_gateway_connected"); v != 0 {
		t.Errorf("gateway down: connected = %v", v)
	}
	up.Store(true)
	st.Store(4)
	fams = scrape(t, h)
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"lorabot_server_up", []string{"server", "gpu1:7860"}, 1},
		{"lorabot_server_up", []string{"server", "gpu2:7860"}, 0},
		{"lorabot_server_model_info", []string{"server", "gpu1:7860", "model", "sd_xl_base_1.0.safetensors"}, 1},
		{"lorabot_server_jobs_done_total", []string{"server", "gpu1:7860"}, 3},
		{"lorabot_server_jobs_done_total", []string{"server", "gpu2:7860"}, 0},
		{"lorabot_queue_jobs", []string{"state", "queued"}, 4},
		{"lorabot_queue_jobs", []string{"state", "running"}, 1},
		{"lorabot_discord_gateway_connected", nil, 1},
		{"lorabot_interactions_late_total", []string{"reason", "answered_late"}, 2},
		{"lorabot_interactions_late_total", []string{"reason", "arrived_too_old"}, 1},
	} {
		got, ok := value(fams, tc.name, tc.labels...)
		if !ok || got != tc.want {
			t.Errorf("%s%v = %v (present %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	if _, ok := value(fams, "lorabot_server_model_info", "server", "gpu2:7860"); ok {
		t.Error("a server whose model is unknown shows a model")
	}
}

func TestHealthAndReadiness(t *testing.T) {
	m := New()
	var dbErr atomic.Pointer[error]
	h := m.Handler([]Check{
		{Name: "discord", OK: func() error { return nil }},
		{Name: "database", OK: func() error {
			if p := dbErr.Load(); p != nil {
				return *p
			}
			return nil
		}},
	})
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		body, _ := io.ReadAll(rec.Body)
		return rec.Code, string(body)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d", code)
	}
	if code, body := get("/readyz"); code != http.StatusOK || !strings.HasPrefix(body, "ready") {
		t.Errorf("/readyz with every check holding: %d %q", code, body)
	}
	closed := errors.New("database not open")
	dbErr.Store(&closed)
	code, body := get("/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "database: database not open") || strings.Contains(body, "discord") {
		t.Errorf("/readyz with the database closed: %d %q; want 503 naming the database alone", code, body)
	}
	if code, _ := get("/nothing"); code != http.StatusNotFound {
		t.Errorf("unknown path: %d", code)
	}
}

func TestServeRefusesATakenPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	stop, err := Serve(ln.Addr().String(), New().Handler(nil), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		stop(context.Background())
		t.Fatal("Serve on a port in use did not fail")
	}
	if !strings.Contains(err.Error(), "METRICS_ADDR") {
		t.Errorf("error %q should name METRICS_ADDR", err)
	}
}

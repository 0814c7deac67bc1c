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

	"lorabot/bot"
	"lorabot/health"
	"lorabot/metrics/metricstest"
	"lorabot/queue"
)

// scrape reads /metrics from h and parses it as Prometheus does.
func scrape(t *testing.T, h http.Handler) metricstest.Scrape {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: status %d: %s", rec.Code, rec.Body)
	}
	s, err := metricstest.Parse(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func expect(t *testing.T, s metricstest.Scrape, wants []metricstest.Want) {
	t.Helper()
	for _, bad := range s.Check(wants) {
		t.Error(bad)
	}
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
	sc := scrape(t, m.Handler(nil))
	expect(t, sc, []metricstest.Want{
		metricstest.Expect("lorabot_jobs_total", 2, "outcome", "done"),
		metricstest.Expect("lorabot_jobs_total", 1, "outcome", "failed"),
		metricstest.Expect("lorabot_jobs_total", 0, "outcome", "no_server"), // shown before it happens
		metricstest.Expect("lorabot_job_wait_seconds", 2),
		metricstest.Expect("lorabot_generation_seconds", 1, "server", "gpu1:7860"),
		metricstest.Expect("lorabot_discord_requests_total", 1, "route", bot.RouteEdit, "status", "429"),
		metricstest.Expect("lorabot_discord_requests_total", 1, "route", bot.RouteEdit, "status", "200"),
		metricstest.Expect("lorabot_discord_rate_limited_total", 1, "route", bot.RouteEdit),
		metricstest.Expect("lorabot_discord_rate_limited_total", 0, "route", bot.RouteCallback),
		metricstest.Expect("lorabot_interaction_answer_seconds", 1, "kind", "autocomplete"),
	})
	if f := sc.Families["lorabot_job_wait_seconds"]; f.GetType() != dto.MetricType_HISTOGRAM || f.Metric[0].Histogram.GetSampleSum() != 2 {
		t.Errorf("wait histogram: %v", f)
	}
	if _, ok := sc.Families["go_goroutines"]; !ok {
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
	expect(t, scrape(t, h), []metricstest.Want{
		metricstest.Expect("lorabot_server_up", 0, "server", "gpu1:7860"),
		metricstest.Expect("lorabot_discord_gateway_connected", 0),
	})
	up.Store(true)
	st.Store(4)
	sc := scrape(t, h)
	expect(t, sc, []metricstest.Want{
		metricstest.Expect("lorabot_server_up", 1, "server", "gpu1:7860"),
		metricstest.Expect("lorabot_server_up", 0, "server", "gpu2:7860"),
		metricstest.Expect("lorabot_server_model_info", 1, "server", "gpu1:7860", "model", "sd_xl_base_1.0.safetensors"),
		metricstest.Expect("lorabot_server_jobs_done_total", 3, "server", "gpu1:7860"),
		metricstest.Expect("lorabot_server_jobs_done_total", 0, "server", "gpu2:7860"),
		metricstest.Expect("lorabot_queue_jobs", 4, "state", "queued"),
		metricstest.Expect("lorabot_queue_jobs", 1, "state", "running"),
		metricstest.Expect("lorabot_discord_gateway_connected", 1),
		metricstest.Expect("lorabot_interactions_late_total", 2, "reason", "answered_late"),
		metricstest.Expect("lorabot_interactions_late_total", 1, "reason", "arrived_too_old"),
	})
	if _, ok := sc.Sum("lorabot_server_model_info", "server", "gpu2:7860"); ok {
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

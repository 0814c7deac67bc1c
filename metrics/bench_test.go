package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"lorabot/bot"
	"lorabot/queue"
)

// What one event costs the goroutine that reports it (docs/benchmarks.md):
//
//	go test -run='^$' -bench=. -benchmem ./metrics/

func BenchmarkAnswered(b *testing.B) {
	m := New()
	for b.Loop() {
		m.Answered("autocomplete", 3*time.Millisecond)
	}
}

func BenchmarkDiscordRequest(b *testing.B) {
	m := New()
	for b.Loop() {
		m.DiscordRequest(bot.RouteEdit, 200)
	}
}

func BenchmarkJobStartedEnded(b *testing.B) {
	obs := New().QueueObserver()
	for b.Loop() {
		obs.Started(0, time.Second)
		obs.Ended(queue.OutcomeDone)
	}
}

// A scrape of everything, with two servers' views, as Prometheus does it.
func BenchmarkScrape(b *testing.B) {
	m := New()
	m.Watch(Views{Servers: []string{"gpu1:7860", "gpu2:7860"},
		Backends: func() []queue.BackendStatus { return make([]queue.BackendStatus, 2) },
		Queue:    func() queue.Status { return queue.Status{} },
		Gateway:  func() bool { return true },
		Router:   func() bot.RouterStats { return bot.RouterStats{} }})
	for _, r := range bot.RouteClasses {
		m.DiscordRequest(r, 200)
	}
	h := m.Handler(nil)
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		_, _ = io.Copy(io.Discard, rec.Body)
	}
}

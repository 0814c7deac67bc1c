package civitai_test

import (
	"context"
	"testing"
	"time"

	"log/slog"
	"lorabot/civitai"
	"lorabot/civitai/civitaitest"
)

// BenchmarkLookup1000LoRAs is the background lookup of a 1,000-LoRA
// catalog against the fake Civitai (half of the hashes known, half 404),
// at an interval of 2 ms so that the run is short; at the default interval
// (500 ms) the same pass is paced to 2 requests a second. It reports the
// rate the looker kept (requests over the time from the first to the last)
// and the time until everything was known.
func BenchmarkLookup1000LoRAs(b *testing.B) {
	const n = 1000
	const every = 2 * time.Millisecond
	for b.Loop() {
		b.StopTimer()
		fake := civitaitest.Start(b, civitaitest.Options{})
		wants := make([]civitai.Want, n)
		for i := range n {
			h := hashN(i + 1)
			if i%2 == 0 {
				fake.Add(h, civitaitest.LoRA(h, int64(i+1), int64(i+10000), "model", "SDXL 1.0", []string{"word"}, 1))
			}
			wants[i] = civitai.Want{Name: h, Hash: h}
		}
		c, _ := civitai.New(fake.URL(), "", nil)
		done := make(chan struct{})
		var once bool
		l := civitai.NewLooker(c, &memStore{}, civitai.LookerOptions{Interval: every, Logger: slog.New(slog.DiscardHandler),
			OnUpdate: func(m map[string]civitai.Info) {
				if len(m) == n/2 && !once {
					once = true
					close(done)
				}
			}})
		ctx, cancel := context.WithCancel(context.Background())
		go l.Run(ctx)
		b.StartTimer()
		start := time.Now()
		l.Want(wants)
		select {
		case <-done:
		case <-time.After(time.Minute):
			b.Fatalf("not everything known after a minute: %d requests", fake.Requests())
		}
		total := time.Since(start)
		b.StopTimer()
		cancel()
		times := fake.Times()
		span := times[len(times)-1].Sub(times[0])
		b.ReportMetric(float64(len(times)-1)/span.Seconds(), "req/s")
		b.ReportMetric(1/every.Seconds(), "limit-req/s")
		b.ReportMetric(total.Seconds(), "total-s")
		b.ReportMetric(float64(len(times)), "requests")
		b.StartTimer()
	}
}

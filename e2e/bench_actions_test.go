package e2e

// Benchmarks for the figures of the result actions (docs/benchmarks.md):
//
//	go test -run='^$' -bench=PressToFirstProgress -benchtime=10x ./e2e/
//	go test -run='^$' -bench=UpscaleBytes -benchtime=3x ./e2e/
//
// The real bot with production timings (1 s progress polls, 1 s edits)
// against the fakes over 127.0.0.1.

import (
	"bytes"
	"image"
	_ "image/jpeg"
	"slices"
	"strings"
	"testing"
	"time"

	"lorabot/a1111/a1111test"
	"lorabot/bot/discordtest"
)

// BenchmarkPressToFirstProgress: the time from a press on Reroll to the
// new job's message first showing its generation's progress ("step k/n"),
// as the user presses it: the defer, the record read, the plan, the queue,
// A1111 starting, the first progress poll and the first edit. Each job is
// 60 steps × 20 ms, so that a progress poll lands in it.
func BenchmarkPressToFirstProgress(b *testing.B) {
	f := startFakes(b, a1111test.Options{StepTime: 20 * time.Millisecond})
	logs := f.runBot(b, 3)
	first := f.dc.SendCommand(discordtest.CommandSpec{User: alice, Name: "imagine", Options: []discordtest.Option{
		discordtest.String("prompt", "a lighthouse"), discordtest.Int("steps", 60), discordtest.String("size", "256x256")}})
	m := waitImages(b, first, 1, logs)
	btn, ok := m.FindButton("Reroll")
	if !ok {
		b.Fatalf("no Reroll on the result")
	}
	var took, answered []time.Duration
	b.ResetTimer()
	for i := range b.N {
		user := []discordtest.User{alice, bob}[i%2]
		start := time.Now()
		it := f.dc.ClickButton(m, btn.CustomID, user)
		if _, err := it.WaitOriginal(benchCtx(b), func(m discordtest.Message) bool { return strings.Contains(m.Content, "step ") }); err != nil {
			b.Fatalf("no progress on the reroll: %v\n%s", err, logs)
		}
		took = append(took, time.Since(start))
		cb, _ := it.Response()
		answered = append(answered, cb.Latency)
		waitImages(b, it, 1, logs)
	}
	b.StopTimer()
	slices.Sort(took)
	slices.Sort(answered)
	b.ReportMetric(float64(took[len(took)/2].Milliseconds()), "median-ms")
	b.ReportMetric(float64(took[len(took)-1].Milliseconds()), "max-ms")
	b.ReportMetric(float64(answered[len(answered)/2].Microseconds())/1000, "median-answer-ms")
}

// BenchmarkUpscaleBytes: a photo-like 1024×1024 result upscaled 2× to
// 2048×2048. Reports the bytes posted against Discord's 10 MiB (the bot
// re-encodes only what is over it, as TestUpscale's sibling tests of
// fitImage show), and the time from the press to the posted upscale.
func BenchmarkUpscaleBytes(b *testing.B) {
	f := startFakes(b, a1111test.Options{NoisyImages: true})
	logs := f.runBot(b, 3)
	first := f.dc.SendCommand(discordtest.CommandSpec{User: alice, Name: "imagine", Options: []discordtest.Option{
		discordtest.String("prompt", "a lighthouse"), discordtest.String("size", "1024x1024")}})
	m := waitImages(b, first, 1, logs)
	btn, ok := m.FindButton("Upscale 2×")
	if !ok {
		b.Fatalf("no Upscale on the result")
	}
	const limit = 10 << 20
	var posted int
	var took time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		up := waitImages(b, f.dc.ClickButton(m, btn.CustomID, bob), 1, logs)
		took += time.Since(start)
		a := up.Attachments[0]
		posted = len(a.Data)
		cfg, _, err := image.DecodeConfig(bytes.NewReader(a.Data))
		if err != nil || cfg.Width != 2048 || posted > limit {
			b.Fatalf("upscale posted %d bytes (%v, %dx%d); want 2048 wide within %d", posted, err, cfg.Width, cfg.Height, limit)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(posted), "posted-bytes")
	b.ReportMetric(float64(posted)/limit, "of-limit")
	b.ReportMetric(float64(took.Milliseconds())/float64(b.N), "ms/upscale")
}

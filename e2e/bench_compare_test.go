package e2e

// The overhead of /compare (issue 12, docs/benchmarks.md):
//
//	go test -run='^$' -bench=Compare4Cells -benchtime=5x ./e2e/

import (
	"testing"
	"time"

	"lorabot/a1111/a1111test"
	"lorabot/bot/discordtest"
)

// BenchmarkCompare4Cells: a 4-cell /compare against four /imagine jobs of
// the same prompt and size, one user, one backend whose every generation
// takes 20 steps × 5 ms, the bot with production timings. wall-ms is from
// the command to the last result posted; served-ms the sum of the fake
// A1111's service times (request in to answer written); overhead-ms the
// difference: the bot's own time (queueing, Discord, decoding, the grid).
func BenchmarkCompare4Cells(b *testing.B) {
	const stepTime = 5 * time.Millisecond
	for _, mode := range []string{"compare", "four-jobs"} {
		b.Run(mode, func(b *testing.B) {
			f := startFakes(b, a1111test.Options{StepTime: stepTime})
			logs := f.runBot(b, 4)
			var wall, served time.Duration
			n := 0
			for b.Loop() {
				first := f.answers.count()
				start := time.Now()
				var last time.Time
				if mode == "compare" {
					it := f.dc.SendCommand(discordtest.CommandSpec{User: alice, Name: "compare", Options: []discordtest.Option{
						discordtest.String("prompt", "a lighthouse"), discordtest.String("lora", "add_detail"),
						discordtest.String("weights", "0, 0.5, 0.8, 1"), discordtest.String("size", "512x512"), discordtest.Int("seed", 3),
					}})
					last = waitImages(b, it, 1, logs).Edited
				} else {
					var its []*discordtest.Interaction
					for _, w := range []float64{0, 0.5, 0.8, 1} {
						its = append(its, f.dc.SendCommand(discordtest.CommandSpec{User: alice, Name: "imagine", Options: []discordtest.Option{
							discordtest.String("prompt", "a lighthouse"), discordtest.String("lora", "add_detail"), discordtest.Number("weight", w),
							discordtest.String("size", "512x512"), discordtest.Int("seed", 3),
						}}))
					}
					for _, it := range its {
						if m := waitImages(b, it, 1, logs); m.Edited.After(last) {
							last = m.Edited
						}
					}
				}
				spans := f.answers.wait(b, first+4)[first:]
				if len(spans) != 4 {
					b.Fatalf("A1111 served %d requests, want 4", len(spans))
				}
				for _, s := range spans {
					served += s.end.Sub(s.start)
				}
				wall += last.Sub(start)
				n++
			}
			b.ReportMetric(float64(wall.Milliseconds())/float64(n), "wall-ms")
			b.ReportMetric(float64(served.Milliseconds())/float64(n), "served-ms")
			b.ReportMetric(float64((wall-served).Milliseconds())/float64(n), "overhead-ms")
		})
	}
}

package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"lorabot/a1111"
	"lorabot/a1111/a1111test"
	"lorabot/app"
	"lorabot/bot/discordtest"
	"lorabot/config"
	"lorabot/internal/testkit"
)

// BenchmarkLoRAInfoWithPreview is /loras info on a LoRA whose 1024×1024
// preview sits in LORA_DIR: found, read, scaled to a thumbnail and
// attached, timed from the interaction's creation to its answer.
func BenchmarkLoRAInfoWithPreview(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pixel-art-xl.png"), testPNG(b, 1024, 1024), 0o644); err != nil {
		b.Fatal(err)
	}
	f := startFakes(b, a1111test.Options{LoRAsJSON: a1111test.MarshalLoRAs([]a1111.LoRA{{Name: "pixel-art-xl", Meta: a1111.LoRAMeta{BaseModelVersion: "sdxl_base_v1-0"}}})})
	logs := &testkit.LogBuffer{}
	runAppWith(b, f.dc, []string{f.sdURL}, 3, app.DefaultTimings, logs, func(c *config.Config) { c.LoRADir = dir })
	var lat []time.Duration
	for b.Loop() {
		it := f.dc.SendCommand(discordtest.CommandSpec{User: alice, Name: "loras", Options: []discordtest.Option{
			discordtest.Subcommand("info", discordtest.String("name", "pixel-art-xl"))}})
		cb, err := it.WaitResponse(benchCtx(b))
		if err != nil || len(cb.Files) != 1 {
			b.Fatalf("no card with a preview: %v %+v\nlogs:\n%s", err, cb, logs)
		}
		lat = append(lat, cb.Latency)
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
}

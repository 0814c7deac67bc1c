package lora

import (
	"bytes"
	"context"
	"runtime"
	"testing"

	"lorabot/a1111"
	"lorabot/a1111/a1111test"
)

// answerSource decodes a stored /sdapi/v1/loras answer on every call, as
// the HTTP client does with a live one.
type answerSource struct{ body []byte }

func (s answerSource) LoRAs(context.Context) ([]a1111.LoRA, error) {
	return a1111.DecodeLoRAs(bytes.NewReader(s.body))
}

// BenchmarkLoad10k measures loading a 10,000-LoRA answer with realistic
// metadata (cover images included) into a catalog: decode, reduce, index.
// retained-MB is the heap the catalog keeps after a GC.
func BenchmarkLoad10k(b *testing.B) {
	body := a1111test.LoRAsJSON(10_000)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var retained float64
	var c *Catalog
	for b.Loop() {
		b.StopTimer()
		c = nil
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()

		c = NewCatalog([]Source{answerSource{body}}, CatalogOptions{Logger: discard()})
		if _, err := c.Refresh(context.Background()); err != nil {
			b.Fatal(err)
		}

		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		retained = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20)
		if c.Index().Len() != 10_000 {
			b.Fatalf("loaded %d LoRAs", c.Index().Len())
		}
		b.StartTimer()
	}
	runtime.KeepAlive(c)
	b.ReportMetric(retained, "retained-MB")
	b.ReportMetric(float64(len(body))/(1<<20), "answer-MB")
}

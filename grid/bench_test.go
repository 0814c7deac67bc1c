package grid

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"lorabot/a1111/a1111test"
)

// The benchmarks compose a 3×3 grid of 1024×1024 cells, /compare at its
// largest, from the fake A1111's noisy PNGs (about 1.2 MB each, with the
// noise of a photograph's low bits). peak-MB is the most heap in use
// during one operation over what was in use before it (a GC runs between
// operations, off the clock), uncollected garbage included.

func cells3x3(b *testing.B) ([][]byte, Labels) {
	cells := make([][]byte, 9)
	for i := range cells {
		cells[i] = a1111test.NoisyPNG(1024, 1024, int64(i+1))
	}
	return cells, Labels{Title: "add_detail × style", Cols: []string{"0", "0.5", "1"}, Rows: []string{"style 0", "style 0.5", "style 1"}}
}

var budgets = []struct {
	name   string
	budget int64
}{
	{"discord-10MiB", 10 << 20},  // Discord's default per file: fits at full size
	{"scaled-300KiB", 300 << 10}, // a small limit: cells scaled down
}

// BenchmarkCompose3x3 is the whole composition: decoding the nine cells,
// drawing them, the labels, and the JPEG.
func BenchmarkCompose3x3(b *testing.B) {
	cells, labels := cells3x3(b)
	for _, bc := range budgets {
		b.Run(bc.name, func(b *testing.B) {
			var res Result
			measure(b, nil, func() {
				var err error
				if res, err = Compose(cells, 3, 3, labels, bc.budget); err != nil {
					b.Fatal(err)
				}
			})
			b.ReportMetric(res.Scale, "scale")
			b.ReportMetric(float64(len(res.JPEG))/(1<<20), "JPEG-MB")
		})
	}
}

// BenchmarkEncode3x3 is what is left when the last cell arrives: /compare
// puts each cell in the canvas as it comes (its decoding overlaps the next
// cell's generation), so the grid's own delay is Encode.
func BenchmarkEncode3x3(b *testing.B) {
	cells, labels := cells3x3(b)
	for _, bc := range budgets {
		b.Run(bc.name, func(b *testing.B) {
			var res Result
			var c *Canvas
			measure(b, func() {
				var err error
				if c, err = NewCanvas(3, 3, labels); err != nil {
					b.Fatal(err)
				}
				for i, data := range cells {
					if err := c.PutEncoded(i, data); err != nil {
						b.Fatal(err)
					}
				}
			}, func() {
				var err error
				if res, err = c.Encode(bc.budget); err != nil {
					b.Fatal(err)
				}
			})
			b.ReportMetric(res.Scale, "scale")
		})
	}
}

// measure runs setup (if any) and then op b.N times, with a GC before
// each op, both off the clock, and reports the largest rise of the heap in
// use during one op.
func measure(b *testing.B, setup, op func()) {
	b.ReportAllocs()
	var worst uint64
	for b.Loop() {
		b.StopTimer()
		if setup != nil {
			setup()
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := ms.HeapInuse
		var peak atomic.Uint64
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			t := time.NewTicker(time.Millisecond)
			defer t.Stop()
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
		b.StartTimer()
		op()
		b.StopTimer()
		close(stop)
		<-done
		if p := peak.Load(); p > base {
			worst = max(worst, p-base)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(worst)/(1<<20), "peak-MB")
}

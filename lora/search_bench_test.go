package lora

import (
	"slices"
	"testing"
	"time"
)

// benchQueries are what people type: fragments, whole names, typos,
// several words, non-Latin text, single letters and misses.
func benchQueries(ix *Index) []string {
	qs := []string{
		"a", "s", "x", "an", "anime", "pix", "pixel art", "portrait", "watercolor", "oil painting",
		"cyber", "steampunk_", "scape", "light", "v1.5", "xl", "_lora", "000010",
		"portriat", "watercolr", "cyberpnuk", "lanscape", "ghilbi", "kimnoo", "steampnuk style",
		"東方", "ブルー", "初音", "鬼滅の刃_", "qwertyuiop", "zzzz", "dark gothic castle night",
	}
	all := ix.All()
	for i := 0; i < len(all); i += len(all)/16 + 1 {
		qs = append(qs, all[i].Name) // exact names
	}
	return qs
}

func benchSearch(b *testing.B, n int) {
	ix := NewIndex(synthLoRAs(n, 42))
	qs := benchQueries(ix)
	durs := make([]time.Duration, 0, 1<<16)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		q := qs[i%len(qs)]
		i++
		t0 := time.Now()
		ix.Search(q, SearchOptions{Prefer: FamilySDXL})
		if len(durs) < cap(durs) {
			durs = append(durs, time.Since(t0))
		}
	}
	slices.Sort(durs)
	if len(durs) > 0 {
		b.ReportMetric(float64(durs[len(durs)/2].Nanoseconds()), "median-ns/query")
		b.ReportMetric(float64(durs[len(durs)*99/100].Nanoseconds()), "p99-ns/query")
	}
}

func BenchmarkSearch10k(b *testing.B)  { benchSearch(b, 10_000) }
func BenchmarkSearch100k(b *testing.B) { benchSearch(b, 100_000) }

func BenchmarkResolve10k(b *testing.B) {
	ix := NewIndex(synthLoRAs(10_000, 42))
	all := ix.All()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := ix.Resolve(all[i%len(all)].Name); err != nil {
			b.Fatal(err)
		}
		i += 7
	}
}

func BenchmarkNewIndex10k(b *testing.B) {
	ls := synthLoRAs(10_000, 42)
	b.ReportAllocs()
	for b.Loop() {
		NewIndex(ls)
	}
}

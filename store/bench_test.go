package store

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"lorabot/gen"
)

// fullUser gives user gen.MaxPresetsPerUser realistic presets.
func fullUser(b *testing.B, db *DB, user string) {
	b.Helper()
	for i := range gen.MaxPresetsPerUser {
		p := gen.Preset{Name: fmt.Sprintf("Style %02d anime portrait", i), Options: fullOptions()}
		if err := db.SavePreset(user, p); err != nil {
			b.Fatal(err)
		}
	}
}

// timed runs op b.N times and reports the median and 99th percentile, which
// for fsync-bound writes say more than the mean.
func timed(b *testing.B, op func(i int)) {
	b.Helper()
	durs := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		t := time.Now()
		op(i)
		durs = append(durs, time.Since(t))
	}
	b.StopTimer()
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(durs[len(durs)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkSavePreset replaces presets of a user at the limit: one bbolt
// transaction with its fsync per save.
func BenchmarkSavePreset(b *testing.B) {
	db := openTemp(b)
	fullUser(b, db, "111")
	timed(b, func(i int) {
		p := gen.Preset{Name: fmt.Sprintf("Style %02d anime portrait", i%gen.MaxPresetsPerUser), Options: fullOptions()}
		if err := db.SavePreset("111", p); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkPreset(b *testing.B) {
	db := openTemp(b)
	fullUser(b, db, "111")
	timed(b, func(i int) {
		if _, err := db.Preset("111", fmt.Sprintf("style %02d ANIME portrait", i%gen.MaxPresetsPerUser)); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkPresets50(b *testing.B) {
	db := openTemp(b)
	fullUser(b, db, "111")
	timed(b, func(int) {
		if ps, err := db.Presets("111"); err != nil || len(ps) != gen.MaxPresetsPerUser {
			b.Fatal(len(ps), err)
		}
	})
}

// BenchmarkAutocomplete50 is one autocomplete answer for a preset option:
// load the user's 50 presets and rank them against what they typed.
func BenchmarkAutocomplete50(b *testing.B) {
	db := openTemp(b)
	fullUser(b, db, "111")
	timed(b, func(int) {
		ps, err := db.Presets("111")
		if err != nil {
			b.Fatal(err)
		}
		if got := gen.MatchPresets(ps, "port", 25); len(got) != 25 {
			b.Fatal(len(got))
		}
	})
}

package store

import (
	"fmt"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"lorabot/gen"
	"lorabot/jobs"
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

// fillJobs stores final and pending job records in one transaction (a
// setup shortcut: the bot writes one record per transaction), final ones
// first, so that pending ones are the newest.
func fillJobs(b *testing.B, db *DB, final, pending int) {
	b.Helper()
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		for i := range final + pending {
			s := jobs.Done
			if i >= final {
				s = jobs.Queued
			}
			r := testJob(fmt.Sprintf("fill-%06d", i), s, jobEpoch.Add(time.Duration(i)*time.Second))
			if err := db.putJob(tx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPutJob is one change of state (queued, running, done, in
// turn, over new jobs) in a file of 2000 final and 10 pending records: one
// bbolt transaction with its fsync per change.
func BenchmarkPutJob(b *testing.B) {
	db := openTemp(b)
	fillJobs(b, db, 2000, 10)
	states := []jobs.State{jobs.Queued, jobs.Running, jobs.Done}
	timed(b, func(i int) {
		r := testJob(fmt.Sprintf("bench-%06d", i/3), states[i%3], jobEpoch)
		if err := db.PutJob(r); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkPendingJobs is a restart's read of the pending records among
// 2000 final ones kept for their buttons.
func BenchmarkPendingJobs(b *testing.B) {
	for _, pending := range []int{10, 1000} {
		b.Run(fmt.Sprintf("pending=%d/final=2000", pending), func(b *testing.B) {
			db := openTemp(b)
			fillJobs(b, db, 2000, pending)
			timed(b, func(int) {
				if rs, err := db.PendingJobs(); err != nil || len(rs) != pending {
					b.Fatal(len(rs), err)
				}
			})
		})
	}
}

// BenchmarkPruneJobs prunes a file of 2000 final and 10 pending records
// that has nothing to remove: by count alone (keys only), and by age too
// (every final record's head decoded). Each is one write transaction.
func BenchmarkPruneJobs(b *testing.B) {
	for _, c := range []struct {
		name      string
		olderThan time.Time
	}{{"count", time.Time{}}, {"count+age", jobEpoch.Add(-time.Hour)}} {
		b.Run(c.name, func(b *testing.B) {
			db := openTemp(b)
			fillJobs(b, db, 2000, 10)
			timed(b, func(int) {
				if n, err := db.PruneJobs(c.olderThan, 2000, jobEpoch.Add(-time.Hour)); err != nil || n != 0 {
					b.Fatal(n, err)
				}
			})
		})
	}
}

package queue

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"
)

// BenchmarkOverhead: 20 jobs from 5 users on one backend, each Run taking
// about 2ms. overhead-ratio is (wall time from the first Submit to the last
// Done) / (sum of the measured Run durations): 1.00 means the backend never
// idled between jobs. gap-us/job is the idle time per job.
func BenchmarkOverhead(b *testing.B) {
	const users, perUser, work = 5, 4, 2 * time.Millisecond
	var wall, busy time.Duration
	for b.Loop() {
		s := New(Options{Backends: 1, MaxPerUser: perUser, Logger: quietLogger()})
		var mu sync.Mutex
		var sum time.Duration
		var wg sync.WaitGroup
		wg.Add(users * perUser)
		start := time.Now()
		for i := range users * perUser {
			_, _, err := s.Submit(&Job{
				User: fmt.Sprint("u", i%users),
				Run: func(ctx context.Context, _ int) error {
					t0 := time.Now()
					timer := time.NewTimer(work)
					defer timer.Stop()
					select {
					case <-timer.C:
					case <-ctx.Done():
					}
					d := time.Since(t0)
					mu.Lock()
					sum += d
					mu.Unlock()
					return nil
				},
				OnPosition: func(int) {},
				Done:       func(error) { wg.Done() },
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		wg.Wait()
		wall += time.Since(start)
		busy += sum
		if _, err := s.Shutdown(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(wall)/float64(busy), "overhead-ratio")
	b.ReportMetric(float64(wall-busy)/float64(time.Microsecond)/float64(b.N*users*perUser), "gap-us/job")
}

// BenchmarkSubmitCancel1000Queued: with 1000 jobs waiting (200 users × 5)
// behind a running one, one op is a Submit by a new user (which moves the
// jobs of every later round back one place) plus its Cancel (which moves
// them forward again): two position recomputes over 1000 jobs, and the
// wake-ups of the jobs whose place changed. "watched" jobs have an
// OnPosition (each change wakes the job's goroutine to report it);
// "unwatched" ones have none, which leaves the bookkeeping alone.
func BenchmarkSubmitCancel1000Queued(b *testing.B) {
	b.Run("watched", func(b *testing.B) { benchSubmitCancel(b, func(int) {}) })
	b.Run("unwatched", func(b *testing.B) { benchSubmitCancel(b, nil) })
}

func benchSubmitCancel(b *testing.B, onPos func(int)) {
	const users, perUser = 200, 5
	s := New(Options{Backends: 1, MaxPerUser: perUser, Logger: quietLogger()})
	block := make(chan struct{})
	started := make(chan struct{})
	if _, _, err := s.Submit(&Job{User: "runner", Run: func(context.Context, int) error {
		close(started)
		<-block
		return nil
	}}); err != nil {
		b.Fatal(err)
	}
	<-started
	noop := func(context.Context, int) error { return nil }
	for i := range users * perUser {
		if _, _, err := s.Submit(&Job{User: fmt.Sprint("u", i%users), Run: noop, OnPosition: onPos}); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		id, _, err := s.Submit(&Job{User: "newcomer", Run: noop, OnPosition: onPos})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Cancel(id, "newcomer"); err != nil {
			b.Fatal(err)
		}
	}
	close(block)
	if _, err := s.Shutdown(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPick: one placement decision for a free backend with 1000 jobs
// waiting (200 users × 5) over 4 backends. "nomatch": no head matches the
// free backend, so every step scans all 200 heads (the worst case);
// "match": the last head matches (step 2 scans to it and counts the
// overtakes of the 199 before it). MaxOvertakes is huge so that no job
// becomes due while the benchmark repeats the same pick.
func BenchmarkPick(b *testing.B) {
	for _, name := range []string{"nomatch", "match"} {
		b.Run(name, func(b *testing.B) {
			const users, perUser = 200, 5
			s := New(Options{Backends: 4, MaxOvertakes: math.MaxInt, Logger: quietLogger()})
			for i := 1; i < 4; i++ {
				s.busy[i] = &entry{id: "busy"}
			}
			s.backends[0].loaded = "A"
			for u := range users {
				for range perUser {
					ck := "B"
					if name == "match" && u == users-1 {
						ck = "A"
					}
					s.line.push(&entry{job: Job{User: fmt.Sprint("u", u), Checkpoint: ck}})
				}
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			for b.Loop() {
				if _, _, ok := s.pickLocked(); !ok {
					b.Fatal("no pick")
				}
			}
		})
	}
}

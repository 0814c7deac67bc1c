package queue

import (
	"context"
	"fmt"
	"slices"
)

// Cut is a job Shutdown cut off, so the bot can tell its user.
type Cut struct {
	ID   string
	User string
	// Running: the job held a backend and its context was cancelled; its
	// Done gets what Run returned (possibly success, if Run finished
	// anyway), or an error wrapping ErrShutdown if Run had not been called
	// yet. Otherwise the job was waiting (never started, or waiting again
	// after a failover) and its Done gets an error wrapping ErrShutdown.
	Running bool
}

// Shutdown stops accepting jobs (Submit returns ErrClosed), ends every
// queued job with ErrShutdown, cancels running jobs' contexts with cause
// ErrShutdown (so none fails over), and waits until every job's goroutine
// has finished (Run returned and Done called) or ctx ends. It returns the
// jobs it cut off, queued ones first in line order, then running ones by
// backend; the error is non-nil when ctx ended first. Calling it again
// cuts nothing and waits again.
func (s *Scheduler) Shutdown(ctx context.Context) ([]Cut, error) {
	s.mu.Lock()
	var cuts []Cut
	if !s.closed {
		s.closed = true
		for _, e := range s.line.drain() {
			cuts = append(cuts, Cut{ID: e.id, User: e.job.User})
			s.endLocked(e, fmt.Errorf("job %s: %w", e.id, ErrShutdown))
		}
		for _, e := range s.busy {
			if e != nil {
				cuts = append(cuts, Cut{ID: e.id, User: e.job.User, Running: true})
				e.cancel(ErrShutdown)
			}
		}
	}
	s.mu.Unlock()

	finished := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(finished)
	}()
	select {
	case <-finished:
		return cuts, nil
	case <-ctx.Done():
		s.mu.Lock()
		var stuck []string
		for _, e := range s.busy {
			if e != nil {
				stuck = append(stuck, e.id)
			}
		}
		s.mu.Unlock()
		slices.Sort(stuck)
		s.log.Warn("queue: shutdown gave up waiting for jobs", "running", stuck, "err", ctx.Err())
		return cuts, fmt.Errorf("queue: shutdown: jobs still finishing (running: %v): %w", stuck, ctx.Err())
	}
}

package queue

import (
	"context"
	"fmt"
	"runtime/debug"
)

// Job is one unit of work a user asked for.
//
// The callbacks are called on a goroutine of the job's own, never with the
// scheduler's lock held, and in this order: OnPosition zero or more times,
// then Run (unless the job was cancelled or cut off before starting), then
// Done exactly once. They may start before Submit returns.
type Job struct {
	// User owns the job: the per-user limit, fairness and Cancel go by it.
	User string
	// Run does the work on backend (in [0, Backends)). It must return soon
	// after ctx is cancelled (Cancel, Shutdown); context.Cause(ctx) then
	// says which (ErrCanceled or ErrShutdown). Required.
	Run func(ctx context.Context, backend int) error
	// Backends limits the job to these backends: bit i set allows backend
	// i. Zero allows any. A job waits for an allowed backend while jobs
	// behind it take the others, so a backend never idles while someone
	// could use it; places in line assume any backend and are then only
	// an estimate.
	Backends uint64
	// OnPosition, if set, hears the job's place in line (1 = next to start)
	// each time it changes while the job waits, and 0 right before Run.
	// The position Submit returned is not repeated. When places change
	// faster than OnPosition returns, only the latest is reported, so a
	// slow edit never queues stale ones.
	OnPosition func(pos int)
	// NotifyInitial makes OnPosition also hear the position Submit
	// returned, as its first call. A caller that renders the job's state
	// only from callbacks uses it, so its first render cannot race a later
	// one made from Submit's return value.
	NotifyInitial bool
	// Done, if set, is called once at the end: with Run's result, or an
	// error wrapping ErrCanceled or ErrShutdown if the job never started.
	// The job's slot (per-user limit, backend) is free before Done is
	// called.
	Done func(err error)
}

type state int

const (
	stateQueued state = iota
	stateRunning
	stateEnded // never started: cancelled or cut off; err says which
)

// entry is the scheduler's record of a submitted job.
type entry struct {
	id     string
	job    Job
	ctx    context.Context
	cancel context.CancelCauseFunc
	// wake has room for one token: a change of state or position made
	// under the lock leaves a token, so the job's goroutine never misses
	// one between reading the state and waiting.
	wake chan struct{}

	// Guarded by Scheduler.mu.
	state   state
	pos     int // place in line; 0 once running
	backend int
	err     error // for stateEnded
}

func (e *entry) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// follow is the job's goroutine: the only caller of the job's callbacks,
// which is what keeps them in order.
func (s *Scheduler) follow(e *entry, reported int) {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		st, pos, err := e.state, e.pos, e.err
		s.mu.Unlock()
		switch st {
		case stateQueued:
			if pos != reported {
				reported = pos
				s.position(e, pos)
				continue
			}
			<-e.wake
		case stateRunning:
			if reported != 0 && e.ctx.Err() == nil {
				s.position(e, 0)
			}
			err := s.execute(e)
			s.finish(e)
			s.done(e, err)
			return
		case stateEnded:
			s.done(e, err)
			return
		}
	}
}

// execute runs the job, turning a panic into an error so that the backend
// is freed and the scheduler lives on.
func (s *Scheduler) execute(e *entry) (err error) {
	if e.ctx.Err() != nil {
		// Cancelled between dispatch and start: skip the request A1111
		// would only be told to interrupt.
		return fmt.Errorf("job %s cancelled before it started: %w", e.id, context.Cause(e.ctx))
	}
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("queue: job panicked", "job", e.id, "user", e.job.User,
				"backend", e.backend, "panic", v, "stack", string(debug.Stack()))
			err = fmt.Errorf("job %s failed: internal error (panic: %v)", e.id, v)
		}
	}()
	return e.job.Run(e.ctx, e.backend)
}

func (s *Scheduler) position(e *entry, pos int) {
	if e.job.OnPosition == nil {
		return
	}
	defer s.recoverCallback(e, "OnPosition")
	e.job.OnPosition(pos)
}

func (s *Scheduler) done(e *entry, err error) {
	if e.job.Done == nil {
		return
	}
	defer s.recoverCallback(e, "Done")
	e.job.Done(err)
}

func (s *Scheduler) recoverCallback(e *entry, name string) {
	if v := recover(); v != nil {
		s.log.Error("queue: job callback panicked", "job", e.id, "user", e.job.User,
			"callback", name, "panic", v, "stack", string(debug.Stack()))
	}
}

package queue

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"
)

// Job is one unit of work a user asked for.
//
// The callbacks are called on a goroutine of the job's own, never with the
// scheduler's lock held, and in this order: OnNoServer and OnPosition zero
// or more times while the job waits, then Run (unless the job was
// cancelled or cut off before starting); after a failover, OnMove and
// again the waiting callbacks and Run; then Done exactly once. They may
// start before Submit returns.
type Job struct {
	// ID, if set, is the job's id instead of a generated one: a job resumed
	// after a restart keeps its id, so buttons on its old message still
	// work. It must pass ValidID and not be the id of a job queued or
	// running (Submit refuses it with ErrBadID or ErrDuplicateID). Empty:
	// Submit generates one.
	ID string
	// User owns the job: the per-user limit, fairness and Cancel go by it.
	User string
	// Group is where the job was asked for (a Discord server; "" for
	// none), for GroupLimit.
	Group string
	// GroupLimit, when above 0, is how many jobs User may have queued or
	// running in Group, this one included: a server's own limit, tighter
	// than Options.MaxPerUser, which still applies. Submit refuses the job
	// with a *LimitError (Group set) when User already has that many
	// there. A job resumed after a restart leaves it 0: it was accepted
	// once.
	GroupLimit int
	// Run does the work on backend (in [0, Backends)). It must return soon
	// after ctx is cancelled (Cancel, Shutdown); context.Cause(ctx) then
	// says which (ErrCanceled or ErrShutdown). Required. After a failover
	// (see Options.Retryable) it is called again with another backend; it
	// is never called twice at once.
	Run func(ctx context.Context, backend int) error
	// Backends limits the job to these backends: bit i set allows backend
	// i. Zero allows any. A job waits for an allowed backend while jobs
	// behind it take the others, so a backend never idles while someone
	// could use it; places in line assume any backend and are then only
	// an estimate.
	Backends uint64
	// Avoid names backends the job must not run on (bit i: backend i),
	// on top of Backends: those it already failed on. The scheduler adds
	// to it at each failover; a caller resuming a job after a restart sets
	// it to the servers the job failed on before. Like Backends it can
	// name only backends 0 to 63.
	Avoid uint64
	// Attempts is how many backends the job already failed on (see
	// Options.MaxAttempts); a resumed job sets it, others leave it 0. A job
	// submitted with Attempts at or above MaxAttempts still runs once but
	// is not moved again.
	Attempts int
	// Checkpoint is the checkpoint file the job loads, as SetModels names
	// them; "" means each backend's default. The scheduler places the job,
	// where it can, on a backend that has it loaded already.
	Checkpoint string
	// OnPosition, if set, hears the job's place in line (1 = next to start)
	// each time it changes while the job waits, and 0 right before Run.
	// The position Submit returned is not repeated. When places change
	// faster than OnPosition returns, only the latest is reported, so a
	// slow edit never queues stale ones. Places follow the fair order and
	// are an estimate: a job may be overtaken (see Options.MaxOvertakes).
	OnPosition func(pos int)
	// NotifyInitial makes OnPosition also hear the position Submit
	// returned, as its first call. A caller that renders the job's state
	// only from callbacks uses it, so its first render cannot race a later
	// one made from Submit's return value.
	NotifyInitial bool
	// OnNoServer, if set, hears true when the job starts waiting only
	// because no backend it may use is up, and false when one comes up
	// again (also right before Run, if it last heard true). Like
	// OnPosition, only the latest state is reported. A job that waits
	// Options.NoServerWait with no server ends with ErrNoServer.
	OnNoServer func(waiting bool)
	// OnMove, if set, hears that Run failed on backend from with err (an
	// error Options.Retryable accepts) and the job is back at the head of
	// the line to be tried on another backend. It is called before the
	// job's next OnPosition.
	OnMove func(from int, err error)
	// Done, if set, is called once at the end: with Run's result, or an
	// error wrapping ErrCanceled, ErrShutdown or ErrNoServer if the job
	// never started (or was waiting again after a failover). The job's
	// slot (per-user limit, backend) is free before Done is called.
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
	err     error     // for stateEnded
	queued  time.Time // when it last joined the line (Observer.Started)

	avoid     uint64 // Job.Avoid plus the backends it failed on since
	attempts  int    // backends it failed on (retryable errors)
	unreached int    // returns from backends it never reached (Options.Unreached)
	// overtakes counts jobs started ahead of it, out of fair order, on a
	// backend it could have used, since it last started.
	overtakes int
	// due: a failed-over job; the next backend it may use takes it.
	due bool
	// noServer: waiting only because no backend it may use is up.
	noServer bool
	// noServerGen tells the current no-server timer from stale ones;
	// stopTimer stops the current one (nil when none).
	noServerGen uint64
	stopTimer   func() bool
}

func (e *entry) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// allows reports whether the job may ever run on backend b, whether b is up
// or not: Backends allows it and Avoid does not exclude it.
func (e *entry) allows(b int) bool {
	m := e.job.Backends
	if b >= 64 {
		return m == 0 // a mask cannot name it, so only "any" allows it
	}
	return (m == 0 || m&(1<<b) != 0) && e.avoid&(1<<b) == 0
}

// follow is the job's goroutine: the only caller of the job's callbacks,
// which is what keeps them in order.
func (s *Scheduler) follow(e *entry, reported int) {
	defer s.wg.Done()
	noServer := false // as last reported
	for {
		s.mu.Lock()
		st, pos, err, ns := e.state, e.pos, e.err, e.noServer
		s.mu.Unlock()
		switch st {
		case stateQueued:
			if ns != noServer {
				noServer = ns
				s.noServer(e, ns)
				continue
			}
			if pos != reported {
				reported = pos
				s.position(e, pos)
				continue
			}
			<-e.wake
		case stateRunning:
			s.started(e)
			if noServer {
				noServer = false
				s.noServer(e, false)
			}
			if reported != 0 && e.ctx.Err() == nil {
				s.position(e, 0)
			}
			ran, err := s.execute(e)
			if from, moved := s.afterRun(e, ran, err); moved {
				s.move(e, from, err)
				reported = -1 // report the new place, and 0 again before Run
				continue
			}
			s.done(e, err)
			return
		case stateEnded:
			s.done(e, err)
			return
		}
	}
}

// execute runs the job, turning a panic into an error so that the backend
// is freed and the scheduler lives on. ran is false when Run was not
// called.
func (s *Scheduler) execute(e *entry) (ran bool, err error) {
	if e.ctx.Err() != nil {
		// Cancelled between dispatch and start: skip the request A1111
		// would only be told to interrupt.
		return false, fmt.Errorf("job %s cancelled before it started: %w", e.id, context.Cause(e.ctx))
	}
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("queue: job panicked", "job", e.id, "user", e.job.User,
				"backend", e.backend, "panic", v, "stack", string(debug.Stack()))
			err = fmt.Errorf("job %s failed: internal error (panic: %v)", e.id, v)
		}
	}()
	return true, e.job.Run(e.ctx, e.backend)
}

func (s *Scheduler) position(e *entry, pos int) {
	if e.job.OnPosition == nil {
		return
	}
	defer s.recoverCallback(e, "OnPosition")
	e.job.OnPosition(pos)
}

func (s *Scheduler) noServer(e *entry, waiting bool) {
	if e.job.OnNoServer == nil {
		return
	}
	defer s.recoverCallback(e, "OnNoServer")
	e.job.OnNoServer(waiting)
}

func (s *Scheduler) move(e *entry, from int, err error) {
	if e.job.OnMove == nil {
		return
	}
	defer s.recoverCallback(e, "OnMove")
	e.job.OnMove(from, err)
}

// started tells the observer that e left the line.
func (s *Scheduler) started(e *entry) {
	if s.observer.Started == nil {
		return
	}
	s.mu.Lock()
	b, waited := e.backend, time.Since(e.queued)
	s.mu.Unlock()
	s.observer.Started(b, waited)
}

func (s *Scheduler) done(e *entry, err error) {
	if s.observer.Ended != nil {
		s.observer.Ended(OutcomeOf(err))
	}
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

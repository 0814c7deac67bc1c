package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// Defaults for the Options left zero.
const (
	DefaultNoServerWait = 5 * time.Minute
	DefaultMaxAttempts  = 3
	DefaultMaxOvertakes = 4
)

// Options configure a Scheduler.
type Options struct {
	// Backends is how many A1111 servers there are (values below 1 mean 1).
	// Jobs get backend indexes in [0, Backends).
	Backends int
	// MaxPerUser is how many jobs one user may have queued or running at
	// once (MAX_QUEUE_PER_USER); 0 or less means no limit. A job that
	// failed over keeps its count while it waits again.
	MaxPerUser int
	// NoServerWait is how long a job may wait while no backend it may use
	// is up before it ends with ErrNoServer; the wait starts again each
	// time it begins waiting for a server. 0 means DefaultNoServerWait;
	// negative means for ever.
	NoServerWait time.Duration
	// Retryable tells the errors of Run that are the server's fault (it
	// went down, hung, died mid-generation) from the job's: after one, the
	// job fails over to another backend (see MaxAttempts). nil: no error
	// is retried. It is called without the scheduler's lock (it may call
	// SetUp), and not for a Run whose context was cancelled; a job
	// cancelled (Cancel, Shutdown) is never moved, whatever it says.
	Retryable func(err error) bool
	// Unreached tells, among retryable errors, those that show the job
	// never reached the backend (its connection was refused): the job goes
	// back to the head of the line without counting an attempt or avoiding
	// that backend, and waits for one that is up (the caller marks the
	// refusing one down with SetUp before Run returns). So a job sent to a
	// server that had just died waits for one to come back, up to
	// NoServerWait, instead of failing once every server refused it. At
	// most MaxUnreached such returns per job are free; later ones count as
	// attempts. nil: none.
	Unreached func(err error) bool
	// MaxAttempts bounds failover: after a retryable error the job is
	// moved only if it has failed on fewer than MaxAttempts backends and
	// some backend it may use has not failed it; otherwise Done gets the
	// error. 0 or less means DefaultMaxAttempts.
	MaxAttempts int
	// MaxOvertakes bounds placement (see Job.Checkpoint): a job passed over
	// this many times for jobs that match a backend's loaded checkpoint is
	// taken by the next backend it may use. 0 means DefaultMaxOvertakes;
	// negative means no job is ever passed over (jobs start in fair order;
	// a job only picks, among several free backends, one it matches).
	MaxOvertakes int
	// Logger receives panics and shutdown notes; nil means slog.Default().
	Logger *slog.Logger
	// Observer hears jobs start and end (metrics); its zero value hears
	// nothing.
	Observer Observer
}

// groupKey counts one user's jobs in one group (Job.GroupLimit).
type groupKey struct{ group, user string }

// Scheduler runs jobs fairly across users, one at a time per backend.
// Its methods are safe for concurrent use.
type Scheduler struct {
	maxPerUser   int
	maxAttempts  int
	maxOvertakes int
	noServerWait time.Duration // negative: for ever
	retryable    func(error) bool
	unreached    func(error) bool
	log          *slog.Logger
	observer     Observer
	idPrefix     string
	wg           sync.WaitGroup // one per job goroutine
	// afterFunc starts the no-server timers (time.AfterFunc's Stop).
	afterFunc func(time.Duration, func()) func() bool

	mu          sync.Mutex
	closed      bool
	seq         uint64
	busy        []*entry // running job per backend, nil when free
	backends    []backend
	line        rotation
	jobs        map[string]*entry // queued or running, by id
	active      map[string]int    // per user: queued + running
	inGroup     map[groupKey]int  // per user and group: queued + running
	freeScratch []int             // reused by pickLocked
}

// New returns a Scheduler ready for Submit, with every backend up and
// nothing known of their checkpoints.
func New(opts Options) *Scheduler {
	if opts.Backends < 1 {
		opts.Backends = 1
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.NoServerWait == 0 {
		opts.NoServerWait = DefaultNoServerWait
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.MaxOvertakes == 0 {
		opts.MaxOvertakes = DefaultMaxOvertakes
	}
	s := &Scheduler{
		maxPerUser:   opts.MaxPerUser,
		maxAttempts:  opts.MaxAttempts,
		maxOvertakes: opts.MaxOvertakes,
		noServerWait: opts.NoServerWait,
		retryable:    opts.Retryable,
		unreached:    opts.Unreached,
		log:          opts.Logger,
		observer:     opts.Observer,
		idPrefix:     newIDPrefix(),
		afterFunc:    afterFunc,
		busy:         make([]*entry, opts.Backends),
		backends:     make([]backend, opts.Backends),
		line:         newRotation(),
		jobs:         make(map[string]*entry),
		active:       make(map[string]int),
		inGroup:      make(map[groupKey]int),
	}
	for b := range s.backends {
		s.backends[b].up = true
	}
	return s
}

// Submit queues j and returns its id (j.ID if set, else a generated one;
// see ValidID) and its place in line: 0 if it starts at once, 1 if it is
// next, and so on. Errors: ErrUserLimit (as a *LimitError) when the user
// is at the per-user limit, or at j.GroupLimit in j.Group; ErrClosed after
// Shutdown began; ErrBadID or ErrDuplicateID for a j.ID it cannot take;
// ErrNoServer (wrapped) when j.Backends and j.Avoid leave no backend that
// could ever run it. A job whose backends are merely down is queued and
// waits (see Job.OnNoServer).
func (s *Scheduler) Submit(j *Job) (id string, pos int, err error) {
	if j == nil || j.Run == nil {
		return "", 0, errors.New("queue: submit: job has no Run")
	}
	if j.ID != "" && !ValidID(j.ID) {
		return "", 0, fmt.Errorf("queue: submit %q: %w", j.ID, ErrBadID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", 0, ErrClosed
	}
	if j.ID != "" && s.jobs[j.ID] != nil {
		return "", 0, fmt.Errorf("queue: submit %s: %w", j.ID, ErrDuplicateID)
	}
	if s.maxPerUser > 0 && s.active[j.User] >= s.maxPerUser {
		return "", 0, &LimitError{Limit: s.maxPerUser}
	}
	gk := groupKey{j.Group, j.User}
	if j.GroupLimit > 0 && s.inGroup[gk] >= j.GroupLimit {
		return "", 0, &LimitError{Limit: j.GroupLimit, Group: j.Group}
	}
	e := &entry{
		job:      *j,
		wake:     make(chan struct{}, 1),
		avoid:    j.Avoid,
		attempts: max(j.Attempts, 0),
		backend:  -1,
		queued:   time.Now(),
	}
	if !s.reachableLocked(e) {
		return "", 0, fmt.Errorf("queue: submit: no backend may run the job (backends %#x, avoid %#x): %w",
			j.Backends, j.Avoid, ErrNoServer)
	}
	e.id = j.ID
	for e.id == "" || s.jobs[e.id] != nil { // a given id may sit where a generated one would
		s.seq++
		e.id = formatID(s.idPrefix, s.seq)
	}
	e.ctx, e.cancel = context.WithCancelCause(context.Background())
	s.jobs[e.id] = e
	s.active[j.User]++
	s.inGroup[gk]++
	s.line.push(e)
	s.checkServerLocked(e)
	s.advanceLocked()

	reported := e.pos
	if j.NotifyInitial {
		reported = -1
	}
	s.wg.Add(1)
	go s.follow(e, reported)
	return e.id, e.pos, nil
}

// Cancel cancels job id on behalf of user. A queued job (also one waiting
// again after a failover) leaves the line at once and its Done gets an
// error wrapping ErrCanceled. A running job's context is cancelled with
// cause ErrCanceled and wasRunning is true; its Done gets whatever Run
// returns (or an error wrapping ErrCanceled if Run had not been called
// yet), and it is not moved whatever Run returns. Errors: ErrNotFound for
// an unknown or finished id, ErrNotOwner when user does not own the job.
func (s *Scheduler) Cancel(id, user string) (wasRunning bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.jobs[id]
	if e == nil {
		return false, fmt.Errorf("cancel %s: %w", id, ErrNotFound)
	}
	if e.job.User != user {
		return false, fmt.Errorf("cancel %s: %w", id, ErrNotOwner)
	}
	if e.state == stateRunning {
		e.cancel(ErrCanceled)
		return true, nil
	}
	s.line.remove(e)
	s.endLocked(e, fmt.Errorf("job %s: %w", id, ErrCanceled))
	s.repositionLocked()
	return false, nil
}

// endLocked retires a waiting job (out of the line already).
func (s *Scheduler) endLocked(e *entry, err error) {
	e.state = stateEnded
	e.err = err
	e.cancel(err)
	s.stopNoServerTimerLocked(e)
	s.forgetLocked(e)
	e.poke()
}

func (s *Scheduler) forgetLocked(e *entry) {
	delete(s.jobs, e.id)
	if s.active[e.job.User]--; s.active[e.job.User] <= 0 {
		delete(s.active, e.job.User)
	}
	gk := groupKey{e.job.Group, e.job.User}
	if s.inGroup[gk]--; s.inGroup[gk] <= 0 {
		delete(s.inGroup, gk)
	}
}

// afterRun frees the job's backend after Run (or its skipping, ran false)
// and either retires the job or, when err is retryable and the job may
// still try elsewhere, puts it back at the head of the line (moved true,
// from the backend it failed on). Then it starts waiting jobs on free
// backends.
func (s *Scheduler) afterRun(e *entry, ran bool, err error) (from int, moved bool) {
	retry := ran && err != nil && s.retryable != nil && e.ctx.Err() == nil && s.isRetryable(e, err)
	free := retry && s.unreached != nil && e.unreached < MaxUnreached && s.unreached(err)
	s.mu.Lock()
	defer s.mu.Unlock()
	b := e.backend
	s.busy[b] = nil
	if ran {
		if err == nil {
			s.backends[b].loaded = s.checkpointOnLocked(e, b)
			s.backends[b].done++
		} else {
			s.backends[b].loaded = "" // it may have loaded the job's, or restarted
		}
	}
	if retry && !s.closed && e.ctx.Err() == nil {
		if free {
			e.unreached++
		} else {
			if b < 64 {
				e.avoid |= 1 << b
			}
			e.attempts++
		}
		if (free || e.attempts < s.maxAttempts) && s.reachableLocked(e) {
			e.state = stateQueued
			e.backend = -1
			e.due = true
			e.queued = time.Now()
			s.line.pushFront(e)
			s.checkServerLocked(e)
			s.advanceLocked()
			return b, true
		}
	}
	s.forgetLocked(e)
	e.cancel(nil) // release the context's resources
	if !s.closed {
		s.advanceLocked()
	}
	return b, false
}

// isRetryable asks Options.Retryable, treating a panic as "no".
func (s *Scheduler) isRetryable(e *entry, err error) (retry bool) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("queue: Retryable panicked", "job", e.id, "err", err,
				"panic", v, "stack", string(debug.Stack()))
			retry = false
		}
	}()
	return s.retryable(err)
}

// advanceLocked starts waiting jobs on free backends (see pickLocked for
// which job goes where), then updates everyone's place in line.
func (s *Scheduler) advanceLocked() {
	var started [4]*entry // usually one; more only on a multi-backend start
	n := 0
	for s.line.len() > 0 {
		i, b, ok := s.pickLocked()
		if !ok {
			break // no free backend, or none a waiting job may use
		}
		e := s.line.popAt(i)
		e.state = stateRunning
		e.pos = 0
		e.backend = b
		e.overtakes = 0
		e.due = false
		e.noServer = false // it is on an up backend
		s.stopNoServerTimerLocked(e)
		s.busy[b] = e
		if n < len(started) {
			started[n] = e
			n++
		} else {
			e.poke()
		}
	}
	s.repositionLocked()
	// Wake the started jobs last: Go runs the goroutine readied last
	// first, and the backend should not idle behind position reports.
	for _, e := range started[:n] {
		e.poke()
	}
}

// repositionLocked recomputes every waiting job's place and wakes the jobs
// whose place changed.
func (s *Scheduler) repositionLocked() {
	s.line.each(func(e *entry, pos int) {
		if e.pos == pos {
			return
		}
		e.pos = pos
		if e.job.OnPosition != nil {
			e.poke()
		}
	})
}

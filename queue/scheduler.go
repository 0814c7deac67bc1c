package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
)

// Options configure a Scheduler.
type Options struct {
	// Backends is how many A1111 servers there are (values below 1 mean 1).
	// Jobs get backend indexes in [0, Backends).
	Backends int
	// MaxPerUser is how many jobs one user may have queued or running at
	// once (MAX_QUEUE_PER_USER); 0 or less means no limit.
	MaxPerUser int
	// Logger receives panics and shutdown notes; nil means slog.Default().
	Logger *slog.Logger
}

// Scheduler runs jobs fairly across users, one at a time per backend.
// Its methods are safe for concurrent use.
type Scheduler struct {
	maxPerUser int
	log        *slog.Logger
	idPrefix   string
	wg         sync.WaitGroup // one per job goroutine

	mu     sync.Mutex
	closed bool
	seq    uint64
	busy   []*entry // running job per backend, nil when free
	line   rotation
	jobs   map[string]*entry // queued or running, by id
	active map[string]int    // per user: queued + running
}

// New returns a Scheduler ready for Submit.
func New(opts Options) *Scheduler {
	if opts.Backends < 1 {
		opts.Backends = 1
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Scheduler{
		maxPerUser: opts.MaxPerUser,
		log:        opts.Logger,
		idPrefix:   newIDPrefix(),
		busy:       make([]*entry, opts.Backends),
		line:       newRotation(),
		jobs:       make(map[string]*entry),
		active:     make(map[string]int),
	}
}

// Submit queues j and returns its id (at most 20 characters of [0-9a-z])
// and its place in line: 0 if it starts at once, 1 if it is next, and so
// on. The error wraps ErrUserLimit (as a *LimitError) when the user is at
// the per-user limit, or is ErrClosed after Shutdown began.
func (s *Scheduler) Submit(j *Job) (id string, pos int, err error) {
	if j == nil || j.Run == nil {
		return "", 0, errors.New("queue: submit: job has no Run")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", 0, ErrClosed
	}
	if s.maxPerUser > 0 && s.active[j.User] >= s.maxPerUser {
		return "", 0, &LimitError{Limit: s.maxPerUser}
	}
	s.seq++
	ctx, cancel := context.WithCancelCause(context.Background())
	e := &entry{
		id:     formatID(s.idPrefix, s.seq),
		job:    *j,
		ctx:    ctx,
		cancel: cancel,
		wake:   make(chan struct{}, 1),
	}
	s.jobs[e.id] = e
	s.active[j.User]++
	s.line.push(e)
	s.advanceLocked()

	reported := e.pos
	if j.NotifyInitial {
		reported = -1
	}
	s.wg.Add(1)
	go s.follow(e, reported)
	return e.id, e.pos, nil
}

// Cancel cancels job id on behalf of user. A queued job leaves the line at
// once and its Done gets an error wrapping ErrCanceled. A running job's
// context is cancelled with cause ErrCanceled and wasRunning is true; its
// Done gets whatever Run returns (or an error wrapping ErrCanceled if Run
// had not been called yet). Errors: ErrNotFound for an unknown or
// finished id, ErrNotOwner when user does not own the job.
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

// endLocked retires a job that never started.
func (s *Scheduler) endLocked(e *entry, err error) {
	e.state = stateEnded
	e.err = err
	e.cancel(err)
	s.forgetLocked(e)
	e.poke()
}

func (s *Scheduler) forgetLocked(e *entry) {
	delete(s.jobs, e.id)
	if s.active[e.job.User]--; s.active[e.job.User] <= 0 {
		delete(s.active, e.job.User)
	}
}

// finish frees the job's backend and starts the next job on it.
func (s *Scheduler) finish(e *entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.busy[e.backend] = nil
	s.forgetLocked(e)
	e.cancel(nil) // release the context's resources
	if s.closed {
		return
	}
	s.advanceLocked()
}

// advanceLocked starts waiting jobs on free backends, lowest index first,
// then updates everyone's place in line.
func (s *Scheduler) advanceLocked() {
	var started [4]*entry // usually one; more only on a multi-backend start
	n := 0
	for b := range s.busy {
		if s.line.len() == 0 {
			break
		}
		if s.busy[b] != nil {
			continue
		}
		e := s.line.popFor(b)
		if e == nil {
			continue // nobody waiting may use this backend
		}
		e.state = stateRunning
		e.pos = 0
		e.backend = b
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

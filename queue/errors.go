package queue

import (
	"errors"
	"fmt"
)

// Errors a caller tells apart with errors.Is.
var (
	// ErrUserLimit: the user already has MaxPerUser jobs queued or running.
	// Submit returns it inside a *LimitError whose text is fit for the user.
	ErrUserLimit = errors.New("queue: too many jobs for this user")
	// ErrClosed: Submit after Shutdown began.
	ErrClosed = errors.New("queue: shutting down, not accepting jobs")
	// ErrCanceled: the job was cancelled by its owner. Done receives it
	// (wrapped) for a job cancelled while queued; a running job's context
	// carries it as its cause (context.Cause).
	ErrCanceled = errors.New("queue: job cancelled")
	// ErrShutdown: the job was cut off by Shutdown. Done receives it
	// (wrapped) for a job that had not started; a running job's context
	// carries it as its cause.
	ErrShutdown = errors.New("queue: job cut off by shutdown")
	// ErrNotOwner: Cancel by someone other than the job's user.
	ErrNotOwner = errors.New("queue: only the job's owner may cancel it")
	// ErrNotFound: Cancel of an id that is unknown or already finished.
	ErrNotFound = errors.New("queue: no such job queued or running")
	// ErrNoServer: no backend the job may use was up for
	// Options.NoServerWait, so Done receives it (wrapped). Submit returns
	// it (wrapped) for a job that no backend could ever run: Backends and
	// Avoid together leave none of [0, Options.Backends).
	ErrNoServer = errors.New("queue: no server up that may run the job")
	// ErrBadID: Submit of a Job.ID that is not 1 to 20 characters of
	// [0-9a-z] (see ValidID).
	ErrBadID = errors.New("queue: malformed job id")
	// ErrDuplicateID: Submit of a Job.ID that a queued or running job
	// already has.
	ErrDuplicateID = errors.New("queue: job id already queued or running")
)

// LimitError is Submit's refusal when the user is at the per-user limit.
// Its text speaks to the user ("you already have 3 jobs queued or
// running"); errors.Is(err, ErrUserLimit) holds.
type LimitError struct {
	Limit int
	// Group is set when the limit is the job's Group's (Job.GroupLimit),
	// not Options.MaxPerUser.
	Group string
}

func (e *LimitError) Error() string {
	where := ""
	if e.Group != "" {
		where = " here"
	}
	if e.Limit == 1 {
		return "you already have 1 job queued or running" + where
	}
	return fmt.Sprintf("you already have %d jobs queued or running%s", e.Limit, where)
}

func (e *LimitError) Unwrap() error { return ErrUserLimit }

// MaxUnreached is how many times a job may come back from a backend it
// never reached (see Options.Unreached) before such returns count as
// attempts: a bound on bouncing should the backend not be marked down.
const MaxUnreached = 10

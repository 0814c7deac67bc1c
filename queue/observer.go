package queue

import (
	"context"
	"errors"
	"time"
)

// Observer hears the scheduler's events, for metrics. Each field may be
// nil. They are called on the job's goroutine without the scheduler's
// lock, and must return quickly: Started runs while the job's backend
// waits for it.
type Observer struct {
	// Started: a job leaves the line for a backend after waiting waited
	// since it was submitted, or since a failover sent it back.
	Started func(backend int, waited time.Duration)
	// Ended: a job is over, once per job, right before its Done.
	Ended func(o Outcome)
}

// Outcome is how a job ended, as metrics and logs name it.
type Outcome string

const (
	OutcomeDone      Outcome = "done"      // Run succeeded
	OutcomeFailed    Outcome = "failed"    // Run failed, or the job could not be moved again
	OutcomeCancelled Outcome = "cancelled" // its owner cancelled it
	OutcomeCutOff    Outcome = "cut_off"   // shutdown cut it off; a durable caller runs it again at the next start
	OutcomeNoServer  Outcome = "no_server" // no backend it may use was up for NoServerWait
)

// Outcomes lists every Outcome, for metrics that show each from the start.
var Outcomes = []Outcome{OutcomeDone, OutcomeFailed, OutcomeCancelled, OutcomeCutOff, OutcomeNoServer}

// OutcomeOf names the outcome of a job whose Done got err.
func OutcomeOf(err error) Outcome {
	switch {
	case err == nil:
		return OutcomeDone
	case errors.Is(err, ErrShutdown):
		return OutcomeCutOff
	case errors.Is(err, ErrCanceled) || errors.Is(err, context.Canceled):
		return OutcomeCancelled
	case errors.Is(err, ErrNoServer):
		return OutcomeNoServer
	}
	return OutcomeFailed
}

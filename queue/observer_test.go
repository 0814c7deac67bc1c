package queue

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// obsLog is an Observer that sends what it hears on channels.
type obsLog struct {
	started chan time.Duration
	ended   chan Outcome
}

func newObsLog() (*obsLog, Observer) {
	l := &obsLog{started: make(chan time.Duration, 20), ended: make(chan Outcome, 20)}
	return l, Observer{
		Started: func(_ int, waited time.Duration) { l.started <- waited },
		Ended:   func(o Outcome) { l.ended <- o },
	}
}

func TestObserverHearsWaitsAndOutcomes(t *testing.T) {
	l, obs := newObsLog()
	h := newHarness(t, Options{Backends: 1, Retryable: retryDown, NoServerWait: 50 * time.Millisecond, Observer: obs})

	a := h.mustSubmit("alice", "a")
	recv(t, a.running, "a starts")
	if w := recv(t, l.started, "a's wait"); w < 0 || w > waitLimit {
		t.Errorf("a started at once, but its wait was reported as %v", w)
	}
	b := h.mustSubmit("bob", "b")
	queuedAt := time.Now() // after b joined the line: b waits at least from here to a's release
	heldFor := time.Since(queuedAt)
	a.release <- nil
	if err := recv(t, a.done, "a done"); err != nil {
		t.Fatal(err)
	}
	if o := recv(t, l.ended, "a's outcome"); o != OutcomeDone {
		t.Errorf("a succeeded; outcome %q", o)
	}
	recv(t, b.running, "b starts")
	if w := recv(t, l.started, "b's wait"); w < heldFor {
		t.Errorf("b waited at least %v behind a; its wait was reported as %v", heldFor, w)
	}

	c := h.mustSubmit("carol", "c") // behind b
	if _, err := h.s.Cancel(c.id, "carol"); err != nil {
		t.Fatal(err)
	}
	recv(t, c.done, "c done")
	if o := recv(t, l.ended, "c's outcome"); o != OutcomeCancelled {
		t.Errorf("c was cancelled while queued; outcome %q", o)
	}
	b.release <- errors.New("the job's own fault")
	recv(t, b.done, "b done")
	if o := recv(t, l.ended, "b's outcome"); o != OutcomeFailed {
		t.Errorf("b failed; outcome %q", o)
	}

	h.s.SetUp(0, false)
	d := h.mustSubmit("dave", "d")
	recv(t, d.done, "d gives up waiting for a server")
	if o := recv(t, l.ended, "d's outcome"); o != OutcomeNoServer {
		t.Errorf("d waited with no server up; outcome %q", o)
	}
	select {
	case w := <-l.started:
		t.Errorf("a job that never ran was reported started after %v", w)
	default:
	}
}

func TestOutcomeOf(t *testing.T) {
	for err, want := range map[error]Outcome{
		nil:                                  OutcomeDone,
		fmt.Errorf("job x: %w", ErrShutdown): OutcomeCutOff,
		fmt.Errorf("job x: %w", ErrCanceled): OutcomeCancelled,
		fmt.Errorf("job x: %w", ErrNoServer): OutcomeNoServer,
		errDown:                              OutcomeFailed,
	} {
		if got := OutcomeOf(err); got != want {
			t.Errorf("OutcomeOf(%v) = %q, want %q", err, got, want)
		}
	}
}

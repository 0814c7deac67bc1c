package queue

import (
	"fmt"
	"time"
)

// backend is the scheduler's view of one A1111 server. Guarded by
// Scheduler.mu.
type backend struct {
	up bool
	// loaded is the checkpoint in the server's memory ("" unknown); deflt
	// is the one a job without Checkpoint runs on ("" unknown).
	loaded, deflt string
	done          int // jobs that finished successfully there
}

// SetUp marks backend up or down; all backends start up. A down backend
// gets no new job: one running there is left alone (its Run fails by
// itself). A backend coming up takes waiting jobs at once. Jobs for which
// no backend they may use is up wait (see Job.OnNoServer and
// Options.NoServerWait). What the backend has loaded is left as it was:
// call SetModels once it is back. An index out of range is ignored.
func (s *Scheduler) SetUp(b int, up bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b < 0 || b >= len(s.backends) || s.backends[b].up == up {
		return
	}
	s.backends[b].up = up
	if s.closed {
		return
	}
	for _, l := range s.line.heads() {
		for _, e := range l.jobs {
			s.checkServerLocked(e)
		}
	}
	if up {
		s.advanceLocked()
	}
}

// SetModels tells the scheduler which checkpoint backend b has loaded now
// and which one is its default (the one a job with Checkpoint "" runs on);
// "" means unknown. Names are compared as given: pass the file name, not
// the title (the "[hash]" in a title comes and goes, see a1111.md). After
// a job succeeds on b the scheduler records the job's checkpoint as loaded
// itself; after a job whose Run failed it records "" (unknown). An index
// out of range is ignored.
func (s *Scheduler) SetModels(b int, loaded, deflt string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b < 0 || b >= len(s.backends) {
		return
	}
	s.backends[b].loaded = loaded
	s.backends[b].deflt = deflt
}

// mayUseLocked reports whether e may start on b now: b is up and e allows
// it.
func (s *Scheduler) mayUseLocked(e *entry, b int) bool {
	return s.backends[b].up && e.allows(b)
}

// reachableLocked reports whether some backend, up or down, may ever run
// e.
func (s *Scheduler) reachableLocked(e *entry) bool {
	for b := range s.backends {
		if e.allows(b) {
			return true
		}
	}
	return false
}

// checkServerLocked updates e.noServer for a waiting job, starting the
// no-server timer when the job begins waiting for a server and stopping it
// when one comes up.
func (s *Scheduler) checkServerLocked(e *entry) {
	ns := true
	for b := range s.backends {
		if s.mayUseLocked(e, b) {
			ns = false
			break
		}
	}
	if ns == e.noServer {
		return
	}
	e.noServer = ns
	if e.job.OnNoServer != nil {
		e.poke()
	}
	s.stopNoServerTimerLocked(e)
	if !ns || s.noServerWait < 0 {
		return
	}
	e.noServerGen++
	gen, wait := e.noServerGen, s.noServerWait
	e.stopTimer = s.afterFunc(wait, func() { s.noServerExpired(e, gen, wait) })
}

func (s *Scheduler) stopNoServerTimerLocked(e *entry) {
	if e.stopTimer != nil {
		e.stopTimer()
		e.stopTimer = nil
	}
	e.noServerGen++ // a timer that fired already finds itself stale
}

// noServerExpired ends a job that waited wait with no server, unless a
// server came up (or the job left the line) since the timer was set.
func (s *Scheduler) noServerExpired(e *entry, gen uint64, wait time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.state != stateQueued || !e.noServer || e.noServerGen != gen {
		return
	}
	s.line.remove(e)
	s.endLocked(e, fmt.Errorf("job %s: no server up for %v: %w", e.id, wait, ErrNoServer))
	s.repositionLocked()
}

// afterFunc is time.AfterFunc returning only Stop; tests replace
// Scheduler.afterFunc to control the clock.
func afterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

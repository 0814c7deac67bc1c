package queue

// Status is a point-in-time view of the scheduler, for /status-like output.
type Status struct {
	Backends int
	Queued   int
	Running  int
	// Users maps each user with jobs to their counts.
	Users map[string]UserStatus
}

// UserStatus counts one user's jobs.
type UserStatus struct {
	Queued  int
	Running int
}

// Snapshot returns the current counts.
func (s *Scheduler) Snapshot() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{
		Backends: len(s.busy),
		Queued:   s.line.len(),
		Users:    make(map[string]UserStatus, len(s.active)),
	}
	for _, e := range s.jobs {
		u := st.Users[e.job.User]
		if e.state == stateRunning {
			u.Running++
			st.Running++
		} else {
			u.Queued++
		}
		st.Users[e.job.User] = u
	}
	return st
}

// Len returns how many jobs are queued or running.
func (s *Scheduler) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.jobs)
}

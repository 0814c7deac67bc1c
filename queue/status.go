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

// BackendStatus is one backend as the scheduler sees it.
type BackendStatus struct {
	// Up is false while the backend is marked down (SetUp).
	Up bool
	// JobID and User name the job running there; empty when free.
	JobID string
	User  string
	// Loaded is the checkpoint it has in memory and Default the one a
	// job without Checkpoint runs on, as far as the scheduler knows (see
	// SetModels); "" unknown.
	Loaded  string
	Default string
	// Done counts the jobs that finished successfully there.
	Done int
}

// Backends returns every backend's state, by index.
func (s *Scheduler) Backends() []BackendStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]BackendStatus, len(s.backends))
	for b, be := range s.backends {
		out[b] = BackendStatus{Up: be.up, Loaded: be.loaded, Default: be.deflt, Done: be.done}
		if e := s.busy[b]; e != nil {
			out[b].JobID, out[b].User = e.id, e.job.User
		}
	}
	return out
}

// JobStatus is one of a user's jobs, queued or running.
type JobStatus struct {
	ID string
	// Position is the place in line as OnPosition reports it (an
	// estimate, see Job.OnPosition); 0 when running.
	Position int
	Running  bool
	// Backend is where it runs; -1 when queued.
	Backend int
	// WaitingForServer: queued, and no backend it may use is up (the
	// state Job.OnNoServer reports).
	WaitingForServer bool
	// Attempts is how many backends it failed on so far (see
	// Options.MaxAttempts).
	Attempts int
}

// UserJobs returns user's queued and running jobs: running ones first, by
// backend, then queued ones in their order in line.
func (s *Scheduler) UserJobs(user string) []JobStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []JobStatus
	for b, e := range s.busy {
		if e != nil && e.job.User == user {
			out = append(out, JobStatus{ID: e.id, Running: true, Backend: b, Attempts: e.attempts})
		}
	}
	if l := s.line.waiting[user]; l != nil {
		for _, e := range l.jobs {
			out = append(out, JobStatus{ID: e.id, Position: e.pos, Backend: -1,
				WaitingForServer: e.noServer, Attempts: e.attempts})
		}
	}
	return out
}

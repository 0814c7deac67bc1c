package queue

// Placement: which waiting job a free backend takes.
//
// A1111 keeps one checkpoint in memory, and a job for another one pays a
// model load first (seconds to a minute). So a free backend prefers a job
// that matches it: one whose checkpoint (Job.Checkpoint, or the backend's
// default for "") is the one the backend has loaded. Fairness bounds the
// preference: a job passed over this way is overtaken, and a job
// overtaken Options.MaxOvertakes times (or one that just failed over) is
// due, and the next backend it may use takes it, match or not.
//
// pickLocked chooses one (job, backend) pair at a time, until no free
// backend is left that a waiting job may use:
//
//  1. The first due job in fair order that may use a free backend takes
//     one: a matching one if it can, else the lowest-numbered.
//  2. Else the first job in fair order that matches some free backend it
//     may use takes it (the lowest-numbered such). Each job before it in
//     fair order that could have used that backend is overtaken once.
//  3. Else the lowest-numbered free backend takes the first job in fair
//     order that may use it and whose checkpoint no other up backend has
//     loaded (else simply the first), and pays a load: a second copy of a
//     checkpoint another backend holds would leave a third checkpoint's
//     jobs waiting for yet another load.
//
// Only the head of each user's FIFO is a candidate, so a user's jobs start
// in their order; the fair order of heads is the rotation's users order.
// Step 1 before step 2 is what holds the bound: a job reaching
// MaxOvertakes is due before any further job can overtake it. With several
// free backends, step 2 gives each job the backend where it matches
// (backends with A and B loaded, heads needing B then A: B's job goes to
// B's backend, A's to A's). A job that could not use a backend anyway
// (Backends, Avoid) is not overtaken by a job that takes it.

// pickLocked returns the index in s.line.heads() of the next job to start
// and its backend, or ok false when no free backend may take any waiting
// job. It counts the overtakes of the pair it returns.
func (s *Scheduler) pickLocked() (user, b int, ok bool) {
	free := s.freeScratch[:0]
	for i, e := range s.busy {
		if e == nil && s.backends[i].up {
			free = append(free, i)
		}
	}
	s.freeScratch = free
	if len(free) == 0 {
		return 0, 0, false
	}
	heads := s.line.heads()
	// 1. Due jobs, in fair order.
	for i, l := range heads {
		e := l.jobs[0]
		if !s.dueLocked(e) {
			continue
		}
		best := -1
		for _, b := range free {
			if !e.allows(b) {
				continue
			}
			if s.matchesLocked(e, b) {
				best = b
				break
			}
			if best < 0 {
				best = b
			}
		}
		if best >= 0 {
			return i, best, true
		}
	}
	// 2. The first job in fair order that matches a free backend.
	for i, l := range heads {
		e := l.jobs[0]
		for _, b := range free {
			if e.allows(b) && s.matchesLocked(e, b) {
				for _, earlier := range heads[:i] {
					if h := earlier.jobs[0]; h.allows(b) {
						h.overtakes++
					}
				}
				return i, b, true
			}
		}
	}
	// 3. No match anywhere: the lowest free backend loads a checkpoint. The
	// first job in fair order whose checkpoint no other up backend holds
	// goes first: loading one that another backend has would leave two
	// copies and the jobs of a third checkpoint still waiting for a load.
	// Passed jobs are overtaken as in step 2, so the bound holds.
	for _, b := range free {
		first := -1
		for i, l := range heads {
			e := l.jobs[0]
			if !e.allows(b) {
				continue
			}
			if first < 0 {
				first = i
			}
			if !s.heldElsewhereLocked(e, b) {
				for _, earlier := range heads[first:i] {
					if h := earlier.jobs[0]; h.allows(b) {
						h.overtakes++
					}
				}
				return i, b, true
			}
		}
		if first >= 0 {
			return first, b, true
		}
	}
	return 0, 0, false
}

// heldElsewhereLocked reports whether a backend other than b that is up
// has e's checkpoint loaded (so e will match there once it frees up).
func (s *Scheduler) heldElsewhereLocked(e *entry, b int) bool {
	for o := range s.backends {
		if o != b && s.backends[o].up && e.allows(o) && s.matchesLocked(e, o) {
			return true
		}
	}
	return false
}

// dueLocked reports whether e must be taken by the next backend it may
// use: it failed over, or was overtaken MaxOvertakes times, or overtaking
// is off.
func (s *Scheduler) dueLocked(e *entry) bool {
	return e.due || s.maxOvertakes < 0 || e.overtakes >= s.maxOvertakes
}

// matchesLocked reports whether e would find its checkpoint loaded on b
// already. An unknown loaded model matches nothing.
func (s *Scheduler) matchesLocked(e *entry, b int) bool {
	loaded := s.backends[b].loaded
	return loaded != "" && s.checkpointOnLocked(e, b) == loaded
}

// checkpointOnLocked is the checkpoint e runs with on b: its own, or b's
// default ("" when that is unknown).
func (s *Scheduler) checkpointOnLocked(e *entry, b int) string {
	if e.job.Checkpoint != "" {
		return e.job.Checkpoint
	}
	return s.backends[b].deflt
}

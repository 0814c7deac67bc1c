package queue

import "slices"

// rotation is the round-robin line of waiting jobs.
//
// users holds the users with waiting jobs in serving order: users[0] is
// served next. Serving a user takes the head of their FIFO and moves them to
// the tail if they still wait, so the line proceeds in rounds: every waiting
// user's first job in users order, then every second job, and so on.
//
// last is the user served most recently. A user joining the line goes
// before last when last is at the tail (last had a turn; the newcomer has
// not), and after everyone otherwise. A user who was served last and comes
// back with a new job takes the tail as last again, so a user submitting
// jobs one by one while their first one runs does not get ahead of others.
//
// A job that failed over is pushed to the front instead (pushFront): first
// in its user's FIFO, and its user first in users.
type rotation struct {
	users   []*userLine
	waiting map[string]*userLine
	last    string
	// lastAtTail: users is non-empty and its tail is last.
	lastAtTail bool
	n          int
	scratch    []*userLine // reused by each
}

// userLine is one user's FIFO of waiting jobs.
type userLine struct {
	user string
	jobs []*entry
}

func newRotation() rotation {
	return rotation{waiting: make(map[string]*userLine)}
}

func (r *rotation) len() int { return r.n }

func (r *rotation) push(e *entry) {
	r.n++
	u := e.job.User
	if l := r.waiting[u]; l != nil {
		l.jobs = append(l.jobs, e)
		return
	}
	l := &userLine{user: u, jobs: []*entry{e}}
	r.waiting[u] = l
	switch {
	case u == r.last:
		r.users = append(r.users, l)
		r.lastAtTail = true
	case r.lastAtTail:
		r.users = slices.Insert(r.users, len(r.users)-1, l)
	default:
		r.users = append(r.users, l)
	}
}

// pushFront puts e at the head of the line: first in its user's FIFO, and
// its user first in the rotation. A job that failed over goes there, so
// the next backend that may run it takes it.
func (r *rotation) pushFront(e *entry) {
	r.n++
	u := e.job.User
	l := r.waiting[u]
	if l == nil {
		l = &userLine{user: u, jobs: []*entry{e}}
		r.waiting[u] = l
		// A tail that was last stays the tail (unless the line was
		// empty, and then lastAtTail was false already).
		r.users = slices.Insert(r.users, 0, l)
		return
	}
	l.jobs = slices.Insert(l.jobs, 0, e)
	j := slices.Index(r.users, l)
	if j == len(r.users)-1 && r.lastAtTail {
		// last leaves the tail: a newcomer no longer goes before it.
		r.lastAtTail = false
	}
	r.users = slices.Delete(r.users, j, j+1)
	r.users = slices.Insert(r.users, 0, l)
}

// heads returns the users waiting, in serving order; the head of each
// one's FIFO (jobs[0]) is the only job of theirs that may start. The slice
// is the rotation's own: read it, do not keep it past a change.
func (r *rotation) heads() []*userLine { return r.users }

// pop removes and returns the next job in fair order, or nil.
func (r *rotation) pop() *entry {
	if len(r.users) == 0 {
		return nil
	}
	return r.popAt(0)
}

// popAt serves users[j]: it removes and returns the head of their FIFO and
// moves them to the tail if they still wait. Serving a user out of turn
// (j > 0: the users before it could not use the backend, or were
// overtaken) leaves the users it passed at their places.
func (r *rotation) popAt(j int) *entry {
	l := r.users[j]
	r.users = slices.Delete(r.users, j, j+1)
	e := l.jobs[0]
	l.jobs[0] = nil
	l.jobs = l.jobs[1:]
	r.n--
	r.last = l.user
	if len(l.jobs) > 0 {
		r.users = append(r.users, l)
		r.lastAtTail = true
	} else {
		delete(r.waiting, l.user)
		r.lastAtTail = false
	}
	return e
}

// remove takes e out of the line; it reports false if e was not waiting.
func (r *rotation) remove(e *entry) bool {
	l := r.waiting[e.job.User]
	if l == nil {
		return false
	}
	i := slices.Index(l.jobs, e)
	if i < 0 {
		return false
	}
	r.n--
	if len(l.jobs) > 1 {
		l.jobs = slices.Delete(l.jobs, i, i+1)
		return true
	}
	delete(r.waiting, l.user)
	j := slices.Index(r.users, l)
	if j == len(r.users)-1 && r.lastAtTail {
		// last leaves the line; the cursor stays where it was, so a
		// newcomer now goes to the tail.
		r.lastAtTail = false
	}
	r.users = slices.Delete(r.users, j, j+1)
	return true
}

// each visits the waiting jobs in the order pop would return them, with
// their place in line (1 = next). It simulates the rounds without changing
// anything: O(jobs + users), with no allocation once scratch has grown.
func (r *rotation) each(visit func(e *entry, pos int)) {
	active := append(r.scratch[:0], r.users...)
	pos := 0
	for round := 0; len(active) > 0; round++ {
		keep := active[:0]
		for _, l := range active {
			pos++
			visit(l.jobs[round], pos)
			if len(l.jobs) > round+1 {
				keep = append(keep, l)
			}
		}
		active = keep
	}
	full := active[:cap(active)] // the same array active started in
	clear(full)                  // hold no line between calls
	r.scratch = full[:0]
}

// drain removes every waiting job and returns them in line order.
func (r *rotation) drain() []*entry {
	out := make([]*entry, 0, r.n)
	for e := r.pop(); e != nil; e = r.pop() {
		out = append(out, e)
	}
	return out
}

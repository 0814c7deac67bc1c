package queue

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestBackendsAndUserJobs(t *testing.T) {
	h := newHarness(t, Options{Backends: 3, MaxPerUser: 3})
	h.s.SetModels(0, "A", "A")
	h.s.SetModels(1, "B", "A")
	h.s.SetModels(2, "C", "A")
	h.s.SetUp(0, false)
	c := h.mustSubmitProbe(&probe{label: "c", checkpoint: "C"}, "u")
	b := h.mustSubmitProbe(&probe{label: "b", checkpoint: "B"}, "u")
	q := h.mustSubmit("u", "q")
	recv(t, c.running, "c to run")
	recv(t, b.running, "b to run")

	want := []BackendStatus{
		{Up: false, Loaded: "A", Default: "A"},
		{Up: true, JobID: b.id, User: "u", Loaded: "B", Default: "A"},
		{Up: true, JobID: c.id, User: "u", Loaded: "C", Default: "A"},
	}
	if got := h.s.Backends(); !slices.Equal(got, want) {
		t.Fatalf("Backends %+v,\nwant %+v", got, want)
	}
	wantJobs := []JobStatus{
		{ID: b.id, Running: true, Backend: 1},
		{ID: c.id, Running: true, Backend: 2},
		{ID: q.id, Position: 1, Backend: -1},
	}
	if got := h.s.UserJobs("u"); !slices.Equal(got, wantJobs) {
		t.Fatalf("UserJobs %+v,\nwant %+v", got, wantJobs)
	}
	if got := h.s.UserJobs("nobody"); len(got) != 0 {
		t.Fatalf("UserJobs of nobody: %+v", got)
	}
	for _, p := range []*probe{c, b, q} {
		p.release <- nil
	}
	for _, p := range []*probe{c, b, q} {
		p.wantDone(t)
	}
	if st := h.s.Backends(); st[1].Done+st[2].Done != 3 || st[0].Done != 0 {
		t.Fatalf("done counts %+v", st)
	}
}

func TestGivenIDs(t *testing.T) {
	h := newHarness(t, Options{Backends: 1})
	p := h.mustSubmitProbe(&probe{label: "p", givenID: "resumed42"}, "a")
	if p.id != "resumed42" {
		t.Fatalf("id %q, want the given one", p.id)
	}
	if _, err := h.submitProbe(&probe{label: "dup", givenID: "resumed42"}, "b"); !errors.Is(err, ErrDuplicateID) {
		t.Fatalf("duplicate id: %v, want ErrDuplicateID", err)
	}
	for _, bad := range []string{"UPPER", "with-dash", "123456789012345678901", "spa ce", "é"} {
		if _, err := h.submitProbe(&probe{label: "bad", givenID: bad}, "b"); !errors.Is(err, ErrBadID) {
			t.Errorf("id %q: %v, want ErrBadID", bad, err)
		}
	}
	// A generated id steps over a given one that sits where it would go.
	h.s.mu.Lock()
	next := formatID(h.s.idPrefix, h.s.seq+1)
	h.s.mu.Unlock()
	taken := h.mustSubmitProbe(&probe{label: "taken", givenID: next}, "c")
	gen := h.mustSubmit("d", "gen")
	if gen.id == taken.id || !ValidID(gen.id) {
		t.Fatalf("generated id %q next to given %q", gen.id, taken.id)
	}
	for _, q := range []*probe{p, taken, gen} {
		q.release <- nil
		q.wantDone(t)
	}
	// Once finished, an id may be given again.
	again := h.mustSubmitProbe(&probe{label: "again", givenID: "resumed42"}, "a")
	again.release <- nil
	again.wantDone(t)
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"": false, "a": true, "0z9": true, "abcdefghij0123456789": true,
		"abcdefghij0123456789x": false, "A": false, "a_b": false,
	} {
		if got := ValidID(id); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
		}
	}
	s := New(Options{Logger: quietLogger()})
	id, _, err := s.Submit(&Job{User: "a", Run: func(context.Context, int) error { return nil }})
	if err != nil || !ValidID(id) {
		t.Fatalf("generated id %q (err %v) is not ValidID", id, err)
	}
	if _, err := s.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
}

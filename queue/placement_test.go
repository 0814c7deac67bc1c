package queue

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// placeJob is a waiting job in a placement case.
type placeJob struct {
	label, ckpt string
	mask, avoid uint64
	overtakes   int
	due         bool
}

type placeBackend struct {
	loaded, deflt string
	busy, down    bool
}

// TestPlacement sets up backends and a line by hand, lets the scheduler
// start what it would, and checks where each job went and who was
// overtaken.
func TestPlacement(t *testing.T) {
	free := func(loaded string) placeBackend { return placeBackend{loaded: loaded} }
	busy := placeBackend{busy: true}
	job := func(label, ckpt string) placeJob { return placeJob{label: label, ckpt: ckpt} }
	cases := []struct {
		name     string
		max      int // Options.MaxOvertakes
		backends []placeBackend
		users    [][]placeJob // in rotation order; each a FIFO
		want     map[string]int
		// overtakes of jobs left waiting; those not listed keep theirs
		overtakes map[string]int
	}{
		{name: "heads B then A go to their backends",
			backends: []placeBackend{free("A"), free("B")},
			users:    [][]placeJob{{job("b", "B")}, {job("a", "A")}},
			want:     map[string]int{"b": 1, "a": 0}},
		{name: "a free backend takes the first job that matches",
			backends: []placeBackend{free("A"), busy},
			users:    [][]placeJob{{job("x", "B")}, {job("y", "A")}, {job("z", "A")}},
			want:     map[string]int{"y": 0}, overtakes: map[string]int{"x": 1}},
		{name: "overtakes count up to the bound", max: 3,
			backends: []placeBackend{free("A"), busy},
			users:    [][]placeJob{{{label: "x", ckpt: "B", overtakes: 2}}, {job("y", "A")}},
			want:     map[string]int{"y": 0}, overtakes: map[string]int{"x": 3}},
		{name: "a job overtaken MaxOvertakes times is taken, match or not", max: 3,
			backends: []placeBackend{free("A"), busy},
			users:    [][]placeJob{{{label: "x", ckpt: "B", overtakes: 3}}, {job("y", "A")}},
			want:     map[string]int{"x": 0}},
		{name: "the bound holds within one dispatch", max: 3,
			backends: []placeBackend{free("A"), free("B")},
			users:    [][]placeJob{{{label: "x", ckpt: "C", overtakes: 2}}, {job("y", "B")}, {job("z", "A")}},
			want:     map[string]int{"y": 1, "x": 0}},
		{name: "several matches overtake a job several times",
			backends: []placeBackend{free("A"), free("B")},
			users:    [][]placeJob{{job("x", "C")}, {job("y", "B")}, {job("z", "A")}},
			want:     map[string]int{"y": 1, "z": 0}, overtakes: map[string]int{"x": 2}},
		{name: "no match: fair order pays the load",
			backends: []placeBackend{free("A")},
			users:    [][]placeJob{{job("x", "B")}, {job("y", "C")}},
			want:     map[string]int{"x": 0}},
		{name: "the default checkpoint matches a job without one",
			backends: []placeBackend{{loaded: "A", deflt: "A"}, busy},
			users:    [][]placeJob{{job("x", "B")}, {job("y", "")}},
			want:     map[string]int{"y": 0}, overtakes: map[string]int{"x": 1}},
		{name: "a job without checkpoint runs the backend's default, not what is loaded",
			backends: []placeBackend{{loaded: "A", deflt: "B"}, busy},
			users:    [][]placeJob{{job("x", "C")}, {job("y", "")}},
			want:     map[string]int{"x": 0}},
		{name: "an unknown model is no preference",
			backends: []placeBackend{{}, busy},
			users:    [][]placeJob{{job("x", "B")}, {job("y", "")}},
			want:     map[string]int{"x": 0}},
		{name: "only heads of FIFOs are candidates",
			backends: []placeBackend{free("A")},
			users:    [][]placeJob{{job("x", "B"), job("x2", "A")}, {job("y", "C")}},
			want:     map[string]int{"x": 0}},
		{name: "a job that cannot use the backend is not overtaken",
			backends: []placeBackend{free("A"), busy},
			users:    [][]placeJob{{{label: "x", ckpt: "B", mask: 1 << 1}}, {job("y", "A")}},
			want:     map[string]int{"y": 0}},
		{name: "an avoided backend is not used, and does not overtake",
			backends: []placeBackend{free("A")},
			users:    [][]placeJob{{{label: "x", ckpt: "A", avoid: 1 << 0}}, {job("y", "B")}},
			want:     map[string]int{"y": 0}},
		{name: "a moved job is due",
			backends: []placeBackend{free("A"), busy},
			users:    [][]placeJob{{{label: "m", ckpt: "B", due: true}}, {job("y", "A")}},
			want:     map[string]int{"m": 0}},
		{name: "a due job takes its match if free", max: 3,
			backends: []placeBackend{free("A"), free("B")},
			users:    [][]placeJob{{{label: "x", ckpt: "B", overtakes: 3}}, {job("y", "C")}},
			want:     map[string]int{"x": 1, "y": 0}},
		{name: "MaxOvertakes negative keeps fair order",
			max:      -1,
			backends: []placeBackend{free("A"), busy},
			users:    [][]placeJob{{job("x", "B")}, {job("y", "A")}},
			want:     map[string]int{"x": 0}},
		{name: "MaxOvertakes negative still picks a matching free backend",
			max:      -1,
			backends: []placeBackend{free("A"), free("B")},
			users:    [][]placeJob{{job("x", "B")}, {job("y", "A")}},
			want:     map[string]int{"x": 1, "y": 0}},
		{name: "a down backend gets nothing",
			backends: []placeBackend{{loaded: "A", down: true}, free("B")},
			users:    [][]placeJob{{job("x", "A")}},
			want:     map[string]int{"x": 1}},
		{name: "one job starts where it matches among idle backends",
			backends: []placeBackend{free("A"), free("B"), free("C")},
			users:    [][]placeJob{{job("x", "C")}},
			want:     map[string]int{"x": 2}},
		{name: "no backend idles while a job may run there",
			backends: []placeBackend{free("A"), free("B"), free("C")},
			users:    [][]placeJob{{job("x", "D")}, {job("y", "D")}, {job("z", "B")}, {job("w", "D")}},
			want:     map[string]int{"z": 1, "x": 0, "y": 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := New(Options{Backends: len(c.backends), MaxOvertakes: c.max, Logger: quietLogger()})
			for b, pb := range c.backends {
				s.backends[b] = backend{up: !pb.down, loaded: pb.loaded, deflt: pb.deflt}
				if pb.busy {
					s.busy[b] = &entry{id: "busy"}
				}
			}
			var all []*entry
			startedWith := map[string]int{}
			for u, fifo := range c.users {
				for _, j := range fifo {
					e := &entry{id: j.label, wake: make(chan struct{}, 1), avoid: j.avoid,
						overtakes: j.overtakes, due: j.due,
						job: Job{User: fmt.Sprint("u", u), Checkpoint: j.ckpt, Backends: j.mask}}
					s.line.push(e)
					all = append(all, e)
					startedWith[j.label] = j.overtakes
				}
			}
			s.mu.Lock()
			s.advanceLocked()
			s.mu.Unlock()
			got := map[string]int{}
			for _, e := range all {
				if e.state == stateRunning {
					got[e.id] = e.backend
					continue
				}
				want, ok := c.overtakes[e.id]
				if !ok {
					want = startedWith[e.id]
				}
				if e.overtakes != want {
					t.Errorf("%s overtaken %d times, want %d", e.id, e.overtakes, want)
				}
			}
			if !maps.Equal(got, c.want) {
				t.Fatalf("started %v, want %v", got, c.want)
			}
		})
	}
}

// A job the backend does not match is overtaken by a stream of jobs that
// match it, but only MaxOvertakes times: then it runs.
func TestOvertakeBoundUnderAdversarialStream(t *testing.T) {
	for _, max := range []int{1, 3, 5} {
		t.Run(fmt.Sprint("max", max), func(t *testing.T) {
			h := newHarness(t, Options{Backends: 1, MaxOvertakes: max})
			h.s.SetModels(0, "A", "A")
			probes := map[string]*probe{}
			adversary := 0
			submitAdversary := func() {
				adversary++
				label := fmt.Sprint("adv", adversary)
				probes[label] = h.mustSubmitProbe(&probe{label: label, checkpoint: "A"}, label)
			}
			probes["r"] = h.mustSubmitProbe(&probe{label: "r", checkpoint: "A"}, "r")
			if got := recv(t, h.started, "r to run"); got != "r" {
				t.Fatalf("%s started first", got)
			}
			victim := h.mustSubmitProbe(&probe{label: "victim", checkpoint: "Z"}, "victim")
			probes["victim"] = victim
			submitAdversary()
			probes["r"].release <- nil
			probes["r"].wantDone(t)
			overtaken := 0
			for {
				label := recv(t, h.started, "the next job to run")
				if label == "victim" {
					break
				}
				overtaken++
				if overtaken > max {
					t.Fatalf("victim overtaken %d times, MaxOvertakes %d", overtaken, max)
				}
				submitAdversary() // one more that matches, always waiting behind the victim
				probes[label].release <- nil
				probes[label].wantDone(t)
			}
			if overtaken != max {
				t.Fatalf("victim overtaken %d times, want exactly %d (a matching job was always waiting)", overtaken, max)
			}
			victim.release <- nil
			victim.wantDone(t)
			if l := h.s.Backends()[0].Loaded; l != "Z" {
				t.Fatalf("loaded %q after the victim succeeded, want Z", l)
			}
			for range adversary - max {
				label := recv(t, h.started, "an adversary to run")
				probes[label].release <- nil
				probes[label].wantDone(t)
			}
		})
	}
}

// The loaded model follows the jobs: success records the job's checkpoint
// (or the default), a failed Run makes it unknown.
func TestLoadedModelFollowsJobs(t *testing.T) {
	h := newHarness(t, Options{Backends: 1})
	h.s.SetModels(0, "A", "D")
	steps := []struct {
		ckpt string
		err  error
		want string
	}{
		{"B", nil, "B"},
		{"", nil, "D"},
		{"C", errDown, ""},
		{"", nil, "D"},
	}
	for i, st := range steps {
		p := h.mustSubmitProbe(&probe{label: fmt.Sprint(i), checkpoint: st.ckpt}, "a")
		recv(t, p.running, "the job to run")
		p.release <- st.err
		p.wantDone(t)
		if got := h.s.Backends()[0]; got.Loaded != st.want || got.Default != "D" {
			t.Fatalf("step %d: loaded %q default %q, want %q and D", i, got.Loaded, got.Default, st.want)
		}
	}
	if d := h.s.Backends()[0].Done; d != 3 {
		t.Fatalf("Done %d, want 3", d)
	}
}

// simResult is one run of the workload simulation.
type simResult struct {
	switches int
	order    []int // job indexes as they started
}

// simulate runs jobs (each a user and a checkpoint, submitted in order, all
// up front) on a scheduler with 2 backends that start with models A and B,
// releasing the running job that started first each step. It counts the
// starts whose checkpoint differs from what the backend had loaded, and
// checks after each step that no waiting job is overtaken beyond
// MaxOvertakes and that each user's jobs start in order.
func simulate(t *testing.T, maxOvertakes int, jobs [][2]string) simResult {
	t.Helper()
	s := New(Options{Backends: 2, MaxOvertakes: maxOvertakes, Logger: quietLogger()})
	defer func() {
		if _, err := s.Shutdown(t.Context()); err != nil {
			t.Error(err)
		}
	}()
	loaded := []string{"A", "B"}
	for b, m := range loaded {
		s.SetModels(b, m, "A")
	}
	type start struct{ job, backend int }
	starts := make(chan start, len(jobs))
	release := make([]chan struct{}, len(jobs))
	done := make(chan int, len(jobs))
	for i, j := range jobs {
		release[i] = make(chan struct{})
		if _, _, err := s.Submit(&Job{User: j[0], Checkpoint: j[1],
			Run: func(ctx context.Context, b int) error {
				starts <- start{i, b}
				select {
				case <-release[i]:
				case <-ctx.Done():
				}
				return nil
			},
			Done: func(error) { done <- i },
		}); err != nil {
			t.Fatal(err)
		}
	}
	var res simResult
	var running []start // in start order
	lastOfUser := map[string]int{}
	onStart := func(st start) {
		running = append(running, st)
		res.order = append(res.order, st.job)
		if ck := jobs[st.job][1]; ck != loaded[st.backend] {
			res.switches++
			loaded[st.backend] = ck
		}
		u := jobs[st.job][0]
		if prev, ok := lastOfUser[u]; ok && prev > st.job {
			t.Fatalf("user %s: job %d started after job %d", u, st.job, prev)
		}
		lastOfUser[u] = st.job
	}
	onStart(recv(t, starts, "the first job to start"))
	onStart(recv(t, starts, "the second job to start"))
	for left := len(jobs) - 2; len(running) > 0; {
		first := running[0]
		running = running[1:]
		close(release[first.job])
		if got := recv(t, done, "the released job to end"); got != first.job {
			t.Fatalf("job %d ended, want %d", got, first.job)
		}
		s.mu.Lock()
		for _, l := range s.line.heads() {
			if e := l.jobs[0]; e.overtakes > s.maxOvertakes && s.maxOvertakes >= 0 {
				t.Errorf("job waiting with %d overtakes, MaxOvertakes %d", e.overtakes, s.maxOvertakes)
			}
		}
		s.mu.Unlock()
		if left > 0 {
			st := recv(t, starts, "the next job to start")
			if st.backend != first.backend {
				t.Fatalf("job %d started on %d, but only %d was free", st.job, st.backend, first.backend)
			}
			onStart(st)
			left--
		}
	}
	return res
}

// A mixed workload over 3 checkpoints on 2 backends: placement loads
// models less often than plain fair order, and every job still runs.
func TestPlacementSavesModelSwitches(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	ckpts := []string{"A", "B", "C"}
	var jobs [][2]string
	for range 60 {
		jobs = append(jobs, [2]string{fmt.Sprint("u", rng.IntN(5)), ckpts[rng.IntN(len(ckpts))]})
	}
	plain := simulate(t, -1, jobs)
	placed := simulate(t, 0, jobs)
	t.Logf("model switches over %d jobs: plain round-robin %d, placement %d", len(jobs), plain.switches, placed.switches)
	for _, r := range []simResult{plain, placed} {
		if got := slices.Sorted(slices.Values(r.order)); len(got) != len(jobs) || got[0] != 0 || got[len(got)-1] != len(jobs)-1 {
			t.Fatalf("not every job ran once: %v", r.order)
		}
	}
	if placed.switches*4 > plain.switches*3 {
		t.Fatalf("placement switched models %d times, plain round-robin %d: want at least a quarter fewer",
			placed.switches, plain.switches)
	}
}

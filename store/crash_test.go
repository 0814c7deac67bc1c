package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"lorabot/jobs"
)

// TestCrashMidWriteKeepsCommittedPresets kills a writing process with
// SIGKILL, several times on the same file, and checks after each kill that
// the file opens, passes bbolt's consistency check, decodes whole, and holds
// every preset the child had reported as saved.
func TestCrashMidWriteKeepsCommittedPresets(t *testing.T) {
	const rounds, writesBeforeKill = 3, 120
	path := filepath.Join(t.TempDir(), "bot.db")
	committed := map[[2]string]bool{}
	deleted := map[[2]string]bool{} // the child deletes every 13th preset right after saving it
	next := 0
	for round := range rounds {
		reported := runCrashChild(t, "crash", path, next, writesBeforeKill)
		for _, id := range reported {
			committed[id] = true
		}
		for i := next; i < next+len(reported); i++ {
			if i%13 == 0 && i%7 != 0 && i%11 != 0 {
				user, name := crashPresetID(i)
				deleted[[2]string{user, name}] = true
			}
		}
		// The next round starts past anything this one may have written
		// after its last report.
		next += len(reported) + 1000

		db, err := Open(path, Options{Timeout: 5 * time.Second})
		if err != nil {
			t.Fatalf("round %d: reopening after the kill: %v", round, err)
		}
		if err := db.Check(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		var missing []string
		for id := range committed {
			p, err := db.Preset(id[0], id[1])
			switch {
			case err != nil && deleted[id]:
				// Its delete may have committed before the kill.
			case err != nil:
				missing = append(missing, fmt.Sprintf("%s/%s: %v", id[0], id[1], err))
			case p.Options.Prompt != crashPreset(id[1]).Options.Prompt:
				t.Errorf("round %d: %s/%s came back with another prompt", round, id[0], id[1])
			}
		}
		if len(missing) > 0 {
			t.Errorf("round %d: %d reported saves lost, e.g. %s", round, len(missing), missing[0])
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d saves reported over %d kills, all kept", len(committed), rounds)
}

// runCrashChild starts a writer of the given child mode on path, waits until
// it has reported n writes, kills it, and returns every write it reported (n
// or a few more), each line split at its first space.
func runCrashChild(t *testing.T, mode, path string, start, n int) [][2]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := childCommand(ctx, mode, path, fmt.Sprint(start))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan [2]string)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer close(lines)
		r := bufio.NewReader(stdout)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				// A line cut short by the kill was never reported whole.
				if err != io.EOF {
					t.Errorf("reading the child: %v", err)
				}
				return
			}
			user, name, _ := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
			select {
			case lines <- [2]string{user, name}:
			case <-ctx.Done():
				return
			}
		}
	}()

	var reported [][2]string
	timeout := time.After(30 * time.Second)
	// The kill comes at a random moment within the two writes that follow
	// the n-th report, timed by the child's own pace so far. Right after a
	// report it would nearly always hit the next write's first fsync, and
	// never the moment between two transactions of one operation.
	var kill <-chan time.Time
	var first time.Time
	for killed := false; !killed; {
		select {
		case id, ok := <-lines:
			if !ok {
				cmd.Wait()
				t.Fatalf("child stopped after %d writes: %s", len(reported), stderr.String())
			}
			reported = append(reported, id)
			switch len(reported) {
			case 1:
				first = time.Now()
			case n:
				pace := time.Since(first) / time.Duration(max(1, n-1))
				kill = time.After(rand.N(2*pace + 1))
			}
		case <-kill:
			killed = true
		case <-timeout:
			cmd.Process.Kill()
			t.Fatalf("child reported only %d writes in 30s: %s", len(reported), stderr.String())
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatalf("kill: %v", err)
	}
	// Writes reported between the n-th and the kill count as committed too.
	for id := range lines {
		reported = append(reported, id)
	}
	select {
	case <-readDone:
	case <-ctx.Done():
		t.Fatal("the killed child's output never closed")
	}
	cmd.Wait() // "signal: killed" is the expected outcome
	return reported
}

// TestCrashMidWriteKeepsCommittedJobs kills a process that takes job records
// through queued, running and done (and prunes now and then), several times
// on the same file. After each kill the file must open and pass Check, every
// job must be in the last state the child reported for it (the one it was
// writing when killed may be one state further), only final records a prune
// was allowed to remove may be missing, and PendingJobs must list exactly
// the pending ones, oldest first.
func TestCrashMidWriteKeepsCommittedJobs(t *testing.T) {
	const rounds, writesBeforeKill = 8, 60
	path := filepath.Join(t.TempDir(), "bot.db")
	// known is each job's committed state by number: as reported, or as
	// found after a kill for the writes the child had no time to report.
	known := map[int]jobs.State{}
	next := 0
	for round := range rounds {
		reported := runCrashChild(t, "jobcrash", path, next, writesBeforeKill)
		last := -1
		for _, line := range reported {
			i, err := strconv.Atoi(strings.TrimPrefix(line[0], "job"))
			if err != nil {
				t.Fatalf("round %d: child reported %q", round, line)
			}
			known[i], last = jobs.State(line[1]), i
		}

		db, err := Open(path, Options{Timeout: 5 * time.Second})
		if err != nil {
			t.Fatalf("round %d: reopening after the kill: %v", round, err)
		}
		if err := db.Check(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		// After its last report the child may have committed the next
		// state of that job, or a prune and the first put of the next job.
		r, err := db.Job(crashJobID(last))
		if err != nil {
			t.Fatalf("round %d: the last job reported: %v", round, err)
		}
		if r.State != known[last] && r.State != nextState(known[last]) {
			t.Errorf("round %d: %s is %s, reported %s", round, r.ID, r.State, known[last])
		}
		reportedLast := known[last]
		known[last] = r.State
		switch r, err := db.Job(crashJobID(last + 1)); {
		case errors.Is(err, jobs.ErrNotFound):
		case err != nil:
			t.Fatalf("round %d: %v", round, err)
		case reportedLast == jobs.Done && r.State == jobs.Queued:
			known[last+1] = r.State
		default:
			t.Errorf("round %d: unreported %s is %s while %s was reported %s", round, r.ID, r.State, crashJobID(last), reportedLast)
		}

		var done, pending []int
		for i, s := range known {
			if s.Pending() {
				pending = append(pending, i)
			} else {
				done = append(done, i)
			}
		}
		slices.Sort(done)
		slices.Sort(pending)
		// A prune keeps the newest crashKeepJobs final records, and every
		// final record is known, so only older ones may be gone.
		mayBePruned := map[int]bool{}
		for _, i := range done[:max(0, len(done)-crashKeepJobs)] {
			mayBePruned[i] = true
		}
		var missing []string
		finals := 0
		for i, s := range known {
			r, err := db.Job(crashJobID(i))
			switch {
			case errors.Is(err, jobs.ErrNotFound) && mayBePruned[i]:
			case err != nil:
				missing = append(missing, fmt.Sprintf("%s (%s): %v", crashJobID(i), s, err))
			case r.State != s:
				t.Errorf("round %d: %s came back %s, committed %s", round, r.ID, r.State, s)
			case !s.Pending():
				finals++
			}
		}
		if len(missing) > 0 {
			t.Errorf("round %d: %d committed records lost, e.g. %s", round, len(missing), missing[0])
		}
		// Between prunes, crashPruneEvery more; and one the kill left.
		if most := crashKeepJobs + crashPruneEvery + 1; finals > most {
			t.Errorf("round %d: %d final records kept, want at most %d: pruning did not run", round, finals, most)
		}
		var wantPending []string
		for _, i := range pending {
			wantPending = append(wantPending, crashJobID(i))
		}
		if got := pendingIDs(t, db); !slices.Equal(got, wantPending) {
			t.Errorf("round %d: PendingJobs = %q, want %q", round, got, wantPending)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		// The next round starts past anything this one may have written.
		next = last + 1000
	}
	t.Logf("%d jobs over %d kills, all committed states kept", len(known), rounds)
}

func nextState(s jobs.State) jobs.State {
	switch s {
	case jobs.Queued:
		return jobs.Running
	case jobs.Running:
		return jobs.Done
	}
	return s
}

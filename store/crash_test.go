package store

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
		reported := runCrashChild(t, path, next, writesBeforeKill)
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

// runCrashChild starts a writer on path, waits until it has reported n saves,
// kills it, and returns every save it reported (n or a few more).
func runCrashChild(t *testing.T, path string, start, n int) [][2]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := childCommand(ctx, "crash", path, fmt.Sprint(start))
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
	for len(reported) < n {
		select {
		case id, ok := <-lines:
			if !ok {
				cmd.Wait()
				t.Fatalf("child stopped after %d saves: %s", len(reported), stderr.String())
			}
			reported = append(reported, id)
		case <-timeout:
			cmd.Process.Kill()
			t.Fatalf("child reported only %d saves in 30s: %s", len(reported), stderr.String())
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatalf("kill: %v", err)
	}
	// Saves reported between the n-th and the kill count as committed too.
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

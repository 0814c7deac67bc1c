package store

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// childCommand re-execs the test binary as a child of the given mode; see
// TestMain.
func childCommand(ctx context.Context, mode, path, arg string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, childPathEnv+"="+path, childArgEnv+"="+arg)
	return cmd
}

func TestSecondProcessIsLockedOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	db := openAt(t, path)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	out, err := childCommand(ctx, "lock", path, "200ms").Output()
	took := time.Since(start)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitLocked {
		t.Fatalf("second process: %v, output %q; want exit %d (ErrLocked)", err, out, exitLocked)
	}
	msg := string(out)
	for _, part := range []string{path, "another lorabot", "locked"} {
		if !strings.Contains(msg, part) {
			t.Errorf("error %q does not say %q", msg, part)
		}
	}
	t.Logf("second process refused after %s: %s", took, strings.TrimSpace(msg))

	// Once the first closes, the file is free again.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if out, err := childCommand(ctx, "lock", path, "5s").Output(); err != nil {
		t.Errorf("after Close, a second process: %v, output %q", err, out)
	}
}

package e2e

import (
	"strings"
	"testing"
	"time"
)

// `lorabot version` needs no settings (no DISCORD_TOKEN here) and prints
// one line naming the build.
func TestVersionCommand(t *testing.T) {
	p := startBin(t, lorabotBin(t), t.TempDir(), nil, "version")
	if code := p.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("lorabot version exited %d\nstderr:\n%s", code, p.stderr.String())
	}
	out := p.stdout.String()
	if !strings.HasPrefix(out, "lorabot ") || strings.Count(out, "\n") != 1 || !strings.Contains(out, "commit ") || !strings.Contains(out, "go1.") {
		t.Errorf("lorabot version printed %q; want one line with the version, the commit and Go's version", out)
	}
}

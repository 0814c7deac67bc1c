package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"lorabot/a1111/a1111test"
	"lorabot/bot/discordtest"
	"lorabot/internal/testkit"
)

// proc is one run of the built lorabot binary.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr testkit.LogBuffer
	done           chan struct{}
	err            error
}

// startBin runs bin in dir with exactly env (nothing inherited, so a
// developer's DISCORD_TOKEN cannot leak in) and args.
func startBin(t *testing.T, bin, dir string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits up to limit for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("lorabot %v did not exit within %v\nstdout:\n%s\nstderr:\n%s", p.cmd.Args[1:], limit, p.stdout.String(), p.stderr.String())
	}
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("lorabot: %v", p.err)
	return -1
}

// built is the lorabot binary shared by the tests of one `go test` run.
var built struct {
	once sync.Once
	path string
	err  error
}

// lorabotBin returns the main package built into an executable, once per
// test process when it can. The shared copy goes next to the test binary in
// go test's work directory, which go test removes when it ends; a test
// binary run from elsewhere (go test -c, -o) builds into each test's own
// temporary directory instead, so that nothing is left behind.
func lorabotBin(t *testing.T) string {
	t.Helper()
	work := filepath.Dir(os.Args[0])
	if !strings.HasPrefix(filepath.Base(filepath.Dir(work)), "go-build") {
		bin, err := buildLorabot(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return bin
	}
	built.once.Do(func() { built.path, built.err = buildLorabot(work) })
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

func buildLorabot(dir string) (string, error) {
	root, err := filepath.Abs("..")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "lorabot")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// TestBinary checks what an operator sees of the built lorabot: bad
// settings, .env, `lorabot check`, and SIGTERM.
func TestBinary(t *testing.T) {
	bin := lorabotBin(t)

	const token = "tok.SECRET-never-shown"
	for _, tc := range []struct {
		name, variable string
		env            []string
		dotenv         string
	}{
		{"no token", "DISCORD_TOKEN", []string{"A1111_TIMEOUT=soon"}, ""},
		{"bad timeout", "A1111_TIMEOUT", []string{"DISCORD_TOKEN=" + token, "A1111_TIMEOUT=soon"}, ""},
		{"bad A1111 URL", "A1111_URL", []string{"DISCORD_TOKEN=" + token, "A1111_URL=127.0.0.1:7860"}, ""},
		{"bad timeout in .env", "A1111_TIMEOUT", nil, "DISCORD_TOKEN=" + token + "\nA1111_TIMEOUT=soon\n"},
		{"malformed .env", ".env: a line cannot be read", nil, "A1111_TIMEOUT=1m\nDISCORD_TOKEN=\"" + token + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.dotenv != "" {
				if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(tc.dotenv), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			db := filepath.Join(dir, "data", "bot.db")
			p := startBin(t, bin, dir, append(tc.env, "DB_PATH="+db))
			code := p.wait(t, 10*time.Second)
			errOut := strings.TrimSpace(p.stderr.String())
			if code == 0 {
				t.Errorf("a bad setting should exit non-zero")
			}
			if strings.Count(errOut, "\n") != 0 || !strings.Contains(errOut, tc.variable) {
				t.Errorf("want one line naming %s, got:\n%s", tc.variable, errOut)
			}
			if strings.Contains(errOut+p.stdout.String(), token) {
				t.Errorf("the token appears in the output: %s", errOut)
			}
			if _, err := os.Stat(filepath.Dir(db)); err == nil {
				t.Errorf("nothing may half-start on a bad setting, but %s was created", filepath.Dir(db))
			}
		})
	}

	dc := discordtest.New(t, discordtest.Options{HeartbeatInterval: 100 * time.Millisecond})
	sd := a1111test.Start(t, a1111test.Options{StepTime: 100 * time.Millisecond})
	dir := t.TempDir()
	// .env points A1111 at a dead port; the environment's A1111_URL wins.
	dotenv := strings.Join([]string{
		"# written by the test",
		"DISCORD_TOKEN=" + dc.Token(),
		"DISCORD_API_URL=" + dc.APIURL(),
		"DISCORD_GUILD_ID=" + discordtest.DefaultGuildID,
		"A1111_URL=http://127.0.0.1:1",
		"DB_PATH=" + filepath.Join(dir, "data", "bot.db"),
	}, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(dotenv), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"A1111_URL=" + sd.URL()}

	t.Run("check with .env", func(t *testing.T) {
		p := startBin(t, bin, dir, env, "check")
		if code := p.wait(t, 20*time.Second); code != 0 {
			t.Errorf("check exited %d\nstdout:\n%s\nstderr:\n%s", code, p.stdout.String(), p.stderr.String())
		}
		out := p.stdout.String()
		if !strings.Contains(out, sd.Addr()) || !strings.Contains(out, "8 LoRAs") || strings.Contains(out, "127.0.0.1:1 ") {
			t.Errorf("check should reach the A1111 of the environment, not .env's:\n%s", out)
		}
		if !strings.Contains(out, "client_id="+dc.AppID()) {
			t.Errorf("check should print the invite URL:\n%s", out)
		}
		if strings.Contains(out+p.stderr.String(), dc.Token()) {
			t.Errorf("the token appears in check's output")
		}
	})

	t.Run("check with several servers", func(t *testing.T) {
		// A hung server is app.TestCheckSeveralServers' (it costs the
		// check its 20 s limit); these fail at once.
		down := a1111test.Start(t, a1111test.Options{})
		down.SetMode(a1111test.ModeDown)
		noAPI := a1111test.Start(t, a1111test.Options{})
		noAPI.SetMode(a1111test.ModeNoAPI)
		p := startBin(t, bin, dir, []string{"A1111_URL=" + strings.Join([]string{sd.URL(), down.URL(), noAPI.URL()}, ",")}, "check")
		if code := p.wait(t, 20*time.Second); code != 1 {
			t.Errorf("check with two of three servers failing exited %d, want 1\nstdout:\n%s\nstderr:\n%s", code, p.stdout.String(), p.stderr.String())
		}
		out, errOut := p.stdout.String(), p.stderr.String()
		for _, want := range []string{
			"✓ A1111_URL entry 1: A1111 at " + sd.Addr() + ": 8 LoRAs",
			"✗ A1111_URL entry 2: The image server at " + down.Addr() + " is not answering",
			"✗ A1111_URL entry 3: A1111 at " + noAPI.Addr() + " was started without --api",
			"COMMANDLINE_ARGS",
			"✓ Discord",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("check's output should say %q:\n%s", want, out)
			}
		}
		if !strings.Contains(errOut, down.Addr()) || !strings.Contains(errOut, noAPI.Addr()) || strings.Contains(errOut, sd.Addr()) {
			t.Errorf("the closing error should name the two failing servers, not the good one: %s", errOut)
		}
	})

	t.Run("SIGTERM", func(t *testing.T) {
		p := startBin(t, bin, dir, env)
		ctx := ctxT(t)
		if _, err := dc.WaitCommands(ctx); err != nil {
			t.Fatalf("the bot did not register its commands: %v\nstderr:\n%s", err, p.stderr.String())
		}
		// A job runs (20 steps of 100 ms) when the signal comes.
		it := dc.SendCommand(discordtest.CommandSpec{User: alice, Name: "imagine", Options: []discordtest.Option{discordtest.String("prompt", "a cat")}})
		if err := sd.WaitGenerating(ctx); err != nil {
			t.Fatalf("the job did not start: %v\nstderr:\n%s", err, p.stderr.String())
		}
		sent := time.Now()
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		code := p.wait(t, 15*time.Second)
		took := time.Since(sent)
		if code != 0 || took > 10*time.Second {
			t.Errorf("SIGTERM: exit %d after %v; want 0 within 10s\nstderr:\n%s", code, took.Round(time.Millisecond), p.stderr.String())
		}
		m := it.Original()
		if !strings.Contains(m.Content, "restarting") {
			t.Errorf("the user whose job was stopped should be told the bot is restarting; the message says %q", m.Content)
		}
		if strings.Contains(p.stderr.String(), dc.Token()) {
			t.Errorf("the token appears in the logs")
		}
		if _, err := os.Stat(filepath.Join(dir, "data", "bot.db")); err != nil {
			t.Errorf("DB_PATH from .env not used: %v", err)
		}
		if sd.Interrupts() == 0 {
			t.Errorf("the running generation should be interrupted on A1111")
		}
	})
}

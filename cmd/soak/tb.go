package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
)

// soakTB is the testing.TB the fake Discord wants, for a program: it
// reports what the fake finds (a violation of Discord's rules, a misuse)
// instead of failing a test, and runs the clean-ups when the soak ends.
// The embedded interface is nil; every method the fakes call is defined
// here, so none reaches it.
type soakTB struct {
	testing.TB

	mu       sync.Mutex
	errors   []string
	cleanups []func()
	dir      string
	ctx      context.Context
	cancel   context.CancelFunc
}

func newSoakTB(dir string) *soakTB {
	ctx, cancel := context.WithCancel(context.Background())
	return &soakTB{dir: dir, ctx: ctx, cancel: cancel}
}

func (t *soakTB) record(msg string) {
	t.mu.Lock()
	t.errors = append(t.errors, msg)
	t.mu.Unlock()
}

// Errors lists what the fakes reported, oldest first.
func (t *soakTB) Errors() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.errors...)
}

// close runs the clean-ups, last registered first, as testing does.
func (t *soakTB) close() {
	t.cancel()
	t.mu.Lock()
	cs := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
}

func (t *soakTB) Cleanup(f func()) {
	t.mu.Lock()
	t.cleanups = append(t.cleanups, f)
	t.mu.Unlock()
}

func (t *soakTB) Error(args ...any)                 { t.record(fmt.Sprint(args...)) }
func (t *soakTB) Errorf(format string, args ...any) { t.record(fmt.Sprintf(format, args...)) }
func (t *soakTB) Fail()                             { t.record("failed") }

// FailNow and the Fatal methods do not stop the goroutine (testing's
// Goexit would kill a load driver mid-count); the fakes return after
// calling them.
func (t *soakTB) FailNow()                          { t.record("failed") }
func (t *soakTB) Fatal(args ...any)                 { t.record(fmt.Sprint(args...)) }
func (t *soakTB) Fatalf(format string, args ...any) { t.record(fmt.Sprintf(format, args...)) }
func (t *soakTB) Failed() bool                      { return len(t.Errors()) > 0 }
func (t *soakTB) Helper()                           {}
func (t *soakTB) Log(args ...any)                   {}
func (t *soakTB) Logf(format string, args ...any)   {}
func (t *soakTB) Name() string                      { return "soak" }
func (t *soakTB) Setenv(key, value string)          { _ = os.Setenv(key, value) }
func (t *soakTB) Chdir(dir string)                  { _ = os.Chdir(dir) }
func (t *soakTB) Skip(args ...any)                  {}
func (t *soakTB) SkipNow()                          {}
func (t *soakTB) Skipf(format string, args ...any)  {}
func (t *soakTB) Skipped() bool                     { return false }
func (t *soakTB) TempDir() string {
	d, err := os.MkdirTemp(t.dir, "tb-")
	if err != nil {
		panic(fmt.Errorf("soak: temp dir: %w", err))
	}
	return d
}
func (t *soakTB) ArtifactDir() string      { return t.TempDir() }
func (t *soakTB) Attr(key, value string)   {}
func (t *soakTB) Context() context.Context { return t.ctx }
func (t *soakTB) Output() io.Writer        { return io.Discard }

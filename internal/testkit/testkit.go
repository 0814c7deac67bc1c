// Package testkit holds the few helpers several packages' tests share.
package testkit

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// Recv returns the next value from ch, failing the test after limit: every
// wait in the tests is bounded.
func Recv[T any](t testing.TB, ch <-chan T, limit time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(limit):
		t.Fatalf("timed out after %v waiting for %s", limit, what)
		panic("unreachable")
	}
}

// LogBuffer collects log lines written from many goroutines, for checks
// such as "no secret was logged".
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

package bot

import (
	"context"
	"sync"
)

// inflight counts running handlers. A sync.WaitGroup will not do: its Add
// from zero may not race with Wait, and interactions arrive whenever
// Discord sends them, also while shutdown waits.
type inflight struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n falls to zero; nil while n is zero
}

func (f *inflight) add() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == 0 {
		f.idle = make(chan struct{})
	}
	f.n++
}

func (f *inflight) done() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n--
	if f.n == 0 {
		close(f.idle)
		f.idle = nil
	}
}

// wait returns when nothing runs, or with ctx's error.
func (f *inflight) wait(ctx context.Context) error {
	f.mu.Lock()
	idle := f.idle
	f.mu.Unlock()
	if idle == nil {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

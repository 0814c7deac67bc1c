// Package imagine turns what a user asked for (the options of /imagine, a
// preset, their default preset) into one checked A1111 request, and knows
// the checkpoints and samplers the servers offer. It imports no Discord.
package imagine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"

	"lorabot/a1111"
	"lorabot/gen"
	"lorabot/lora"
)

// Servers caches what the A1111 backends offer: checkpoints, samplers and
// schedulers. Lists change rarely, and asking A1111 while a job runs can wait
// behind its queue, so the bot reads them at start and on refresh.
type Servers struct {
	clients []*a1111.Client
	log     *slog.Logger

	mu   sync.RWMutex
	last []serverLists // per backend; the last good answer
}

type serverLists struct {
	ok         bool
	models     []a1111.Model
	samplers   []a1111.Sampler
	schedulers []a1111.Scheduler // nil on servers older than A1111 1.9
	current    string            // sd_model_checkpoint
}

// NewServers wraps the backends' clients.
func NewServers(clients []*a1111.Client, log *slog.Logger) *Servers {
	if log == nil {
		log = slog.Default()
	}
	return &Servers{clients: clients, log: log, last: make([]serverLists, len(clients))}
}

// Clients are the backends, in A1111_URL's order.
func (s *Servers) Clients() []*a1111.Client { return s.clients }

// Refresh asks every backend for its lists. A backend that fails keeps its
// last good lists; the error joins every failure.
func (s *Servers) Refresh(ctx context.Context) error {
	var errs []error
	for i, c := range s.clients {
		l, err := fetchLists(ctx, c)
		if err != nil {
			errs = append(errs, fmt.Errorf("backend %s: %w", c.Addr(), err))
			continue
		}
		s.mu.Lock()
		s.last[i] = l
		s.mu.Unlock()
	}
	return errors.Join(errs...)
}

func fetchLists(ctx context.Context, c *a1111.Client) (serverLists, error) {
	var l serverLists
	var err error
	if l.models, err = c.Models(ctx); err != nil {
		return l, fmt.Errorf("list checkpoints: %w", err)
	}
	if l.samplers, err = c.Samplers(ctx); err != nil {
		return l, fmt.Errorf("list samplers: %w", err)
	}
	l.schedulers, err = c.Schedulers(ctx)
	if err != nil && !errors.Is(err, a1111.ErrNotSupported) {
		return l, fmt.Errorf("list schedulers: %w", err)
	}
	if opts, err := c.Options(ctx); err == nil {
		if raw, ok := opts["sd_model_checkpoint"]; ok {
			_ = json.Unmarshal(raw, &l.current) // a non-string leaves it unknown
		}
	}
	l.ok = true
	return l, nil
}

// Checkpoints are the checkpoints every backend has, by title.
func (s *Servers) Checkpoints() []a1111.Model {
	out := union(s, func(l serverLists) []a1111.Model { return l.models }, func(m a1111.Model) string { return m.Title })
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Title) < strings.ToLower(out[j].Title) })
	return out
}

// Samplers are the samplers every backend has, by name.
func (s *Servers) Samplers() []a1111.Sampler {
	return union(s, func(l serverLists) []a1111.Sampler { return l.samplers }, func(x a1111.Sampler) string { return x.Name })
}

// Schedulers are the schedulers every backend has; empty when one
// predates them.
func (s *Servers) Schedulers() []a1111.Scheduler {
	return union(s, func(l serverLists) []a1111.Scheduler { return l.schedulers }, func(x a1111.Scheduler) string { return x.Name })
}

// union merges one list of every backend's last good answer, keeping the
// first item of each key, in backend order — but only keys every backend
// that answered has: the queue may run a job on any of them, and A1111
// silently ignores a checkpoint or sampler it does not know.
func union[T any](s *Servers, list func(serverLists) []T, key func(T) string) []T {
	s.mu.RLock()
	defer s.mu.RUnlock()
	count := map[string]int{}
	answered := 0
	for _, l := range s.last {
		if !l.ok {
			continue
		}
		answered++
		seen := map[string]bool{}
		for _, x := range list(l) {
			if k := key(x); !seen[k] {
				seen[k] = true
				count[k]++
			}
		}
	}
	var out []T
	for _, l := range s.last {
		for _, x := range list(l) {
			if k := key(x); count[k] == answered {
				count[k] = -1 // once
				out = append(out, x)
			}
		}
	}
	return out
}

// CurrentFamily is the family of the checkpoint loaded on the first backend
// that answered, which is what A1111 uses when the request names none.
func (s *Servers) CurrentFamily() lora.Family {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, l := range s.last {
		if l.ok && l.current != "" {
			return gen.CheckpointFamily(l.current)
		}
	}
	return lora.FamilyUnknown
}

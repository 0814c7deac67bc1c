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
	"path"
	"sort"
	"strings"
	"sync"
	"time"

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

	// RefreshTimeout bounds one backend's answers to a refresh, so that a
	// backend that accepts requests and never answers holds neither the
	// other backends' lists nor the caller. 0: DefaultRefreshTimeout. Set
	// it before the first refresh.
	RefreshTimeout time.Duration

	busy []chan struct{} // per backend: a slot, held while it is asked

	mu   sync.RWMutex
	last []serverLists // per backend; the last good answer

	rescanMu sync.Mutex
	rescans  map[int]time.Time // per backend: when RescanLoRAs last asked it
	now      func() time.Time  // tests: a clock; nil: time.Now
}

// LoRARescanEvery is how often RescanLoRAs asks one backend at most, and
// LoRARescanTimeout how long one rescan may take.
const (
	LoRARescanEvery   = time.Minute
	LoRARescanTimeout = 30 * time.Second
)

// RescanLoRAs asks backend i to rescan its LoRA folders (refresh-loras),
// in the background within LoRARescanTimeout, and at most once per
// LoRARescanEvery per backend: after a job where a LoRA sent did not load,
// so that a file added since the server's start is found by the next job.
// It reports whether a rescan was started; a failure is logged. The
// returned channel is closed when the rescan is over (nil when none was
// started), for tests.
func (s *Servers) RescanLoRAs(i int) (started bool, done <-chan struct{}) {
	if i < 0 || i >= len(s.clients) {
		return false, nil
	}
	now := time.Now
	if s.now != nil {
		now = s.now
	}
	t := now()
	s.rescanMu.Lock()
	if last, ok := s.rescans[i]; ok && t.Sub(last) < LoRARescanEvery {
		s.rescanMu.Unlock()
		return false, nil
	}
	if s.rescans == nil {
		s.rescans = map[int]time.Time{}
	}
	s.rescans[i] = t
	s.rescanMu.Unlock()
	c := s.clients[i]
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		ctx, cancel := context.WithTimeout(context.Background(), LoRARescanTimeout)
		defer cancel()
		if err := c.RefreshLoRAs(ctx); err != nil {
			s.log.Warn("could not ask the image server to rescan its LoRAs", "backend", c.Addr(), "err", err)
		}
	}()
	return true, ch
}

// DefaultRefreshTimeout is Servers.RefreshTimeout's default: a healthy
// A1111 answers these four small lists within seconds, so a backend silent
// for this long is hung or swamped.
const DefaultRefreshTimeout = 30 * time.Second

type serverLists struct {
	ok         bool
	models     []a1111.Model
	samplers   []a1111.Sampler
	schedulers []a1111.Scheduler // nil on servers older than A1111 1.9
	upscalers  []a1111.Upscaler  // nil when the server would not list them
	current    string            // sd_model_checkpoint
}

// NewServers wraps the backends' clients.
func NewServers(clients []*a1111.Client, log *slog.Logger) *Servers {
	if log == nil {
		log = slog.Default()
	}
	s := &Servers{clients: clients, log: log, last: make([]serverLists, len(clients)), busy: make([]chan struct{}, len(clients))}
	for i := range s.busy {
		s.busy[i] = make(chan struct{}, 1)
	}
	return s
}

// Clients are the backends, in A1111_URL's order.
func (s *Servers) Clients() []*a1111.Client { return s.clients }

// Refresh asks every backend for its lists, all at the same time and each
// within RefreshTimeout, so that a hung backend delays no other one's lists:
// each backend's answer is used as soon as it arrives. A backend that fails
// keeps its last good lists; the error joins every failure.
func (s *Servers) Refresh(ctx context.Context) error {
	errs := make([]error, len(s.clients))
	var wg sync.WaitGroup
	for i := range s.clients {
		wg.Go(func() { errs[i] = s.RefreshOne(ctx, i) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// RefreshOne asks backend i alone for its checkpoints, samplers, schedulers
// and loaded checkpoint, within RefreshTimeout: for a backend that just came
// back up or changed its models, without waiting on the others. On failure
// it keeps its last good lists. It waits for a refresh of the same backend
// already under way (within the same deadline), never for another's.
func (s *Servers) RefreshOne(ctx context.Context, i int) error {
	if i < 0 || i >= len(s.clients) {
		return fmt.Errorf("refresh backend %d: there are %d backends", i+1, len(s.clients))
	}
	c := s.clients[i]
	d := s.RefreshTimeout
	if d <= 0 {
		d = DefaultRefreshTimeout
	}
	ctx, cancel := context.WithTimeoutCause(ctx, d, fmt.Errorf("backend %s gave no lists within %v", c.Addr(), d))
	defer cancel()
	// The slot is held from the requests to the install, so that an older
	// answer never replaces a newer one.
	select {
	case s.busy[i] <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("backend %s: an earlier refresh of it is still running: %w", c.Addr(), context.Cause(ctx))
	}
	defer func() { <-s.busy[i] }()
	l, optErr, err := fetchLists(ctx, c)
	if err != nil {
		return fmt.Errorf("backend %s: %w", c.Addr(), err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if optErr != nil {
		l.current = s.last[i].current // unknown now, not changed
	}
	s.last[i] = l
	return nil
}

// fetchLists asks c for its lists. optErr is the failure of reading the
// options, which leaves only the loaded checkpoint unknown.
func fetchLists(ctx context.Context, c *a1111.Client) (l serverLists, optErr, err error) {
	if l.models, err = c.Models(ctx); err != nil {
		return l, nil, fmt.Errorf("list checkpoints: %w", err)
	}
	if l.samplers, err = c.Samplers(ctx); err != nil {
		return l, nil, fmt.Errorf("list samplers: %w", err)
	}
	l.schedulers, err = c.Schedulers(ctx)
	if err != nil && !errors.Is(err, a1111.ErrNotSupported) {
		return l, nil, fmt.Errorf("list schedulers: %w", err)
	}
	// An upscaler list that fails costs only the Upscale button on that
	// server, not the server's other lists.
	l.upscalers, _ = c.Upscalers(ctx)
	opts, optErr := c.Options(ctx)
	if optErr == nil {
		if raw, ok := opts["sd_model_checkpoint"]; ok {
			_ = json.Unmarshal(raw, &l.current) // a non-string leaves it unknown
		}
	}
	l.ok = true
	return l, optErr, nil
}

// Upscaler is the upscaler for a 2× enlargement on the backends of mask
// (bit i: backend i; 0: any): the one a1111.PickUpscaler prefers among
// those they list, as the servers spell it, and the backends that list
// it. name is "" when none lists one.
func (s *Servers) Upscaler(mask uint64) (name string, backends uint64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var all []a1111.Upscaler
	for i, l := range s.last {
		if l.ok && (mask == 0 || (i < 64 && mask&(1<<i) != 0)) {
			all = append(all, l.upscalers...)
		}
	}
	u, ok := a1111.PickUpscaler(all)
	if !ok {
		return "", 0
	}
	for i, l := range s.last {
		if i >= 64 || !l.ok || (mask != 0 && mask&(1<<i) == 0) {
			continue
		}
		for _, v := range l.upscalers {
			if v.Name == u.Name {
				backends |= 1 << i
			}
		}
	}
	return u.Name, backends
}

// Checkpoints are the checkpoints every backend has, matched by their file
// (CheckpointKey): the same file has a different title on a server that has
// not hashed it yet. Each is the first backend's Model, sorted by title.
func (s *Servers) Checkpoints() []a1111.Model {
	out := union(s, func(l serverLists) []a1111.Model { return l.models }, CheckpointKey)
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Title) < strings.ToLower(out[j].Title) })
	return out
}

// TitleOn is the title backend i lists for the checkpoint file key (a
// CheckpointKey): what override_settings.sd_model_checkpoint must carry
// there, since A1111 silently keeps its current model for a title it does
// not know. ok is false when backend i has not listed that file.
func (s *Servers) TitleOn(i int, key string) (title string, ok bool) {
	key = normKey(key)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if i < 0 || i >= len(s.last) || !s.last[i].ok {
		return "", false
	}
	for _, m := range s.last[i].models {
		if CheckpointKey(m) == key {
			return m.Title, true
		}
	}
	return "", false
}

// Loaded is the CheckpointKey of the checkpoint backend i has loaded (its
// sd_model_checkpoint option, as of the last refresh), so that a job whose
// checkpoint is already loaded can go there and skip a model switch. "" when
// unknown.
func (s *Servers) Loaded(i int) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if i < 0 || i >= len(s.last) || !s.last[i].ok || s.last[i].current == "" {
		return ""
	}
	return loadedKey(s.last[i].models, s.last[i].current)
}

// loadedKey matches the option text (a title, with or without its hash, or
// a bare file name from an older config) to the server's models by file,
// and falls back to the file the text itself names.
func loadedKey(models []a1111.Model, current string) string {
	k := normKey(fileOfTitle(current))
	for _, m := range models {
		if m.Title == current || CheckpointKey(m) == k {
			return CheckpointKey(m)
		}
	}
	var found []string
	for _, m := range models {
		mk := CheckpointKey(m)
		if path.Base(mk) == k || stem(mk) == k || strings.ToLower(m.ModelName) == k {
			found = append(found, mk)
		}
	}
	if len(found) == 1 {
		return found[0]
	}
	return k
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

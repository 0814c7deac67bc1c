package lora

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"lorabot/a1111"
)

// Source lists the LoRAs of one backend; the a1111 client satisfies it.
type Source interface {
	LoRAs(ctx context.Context) ([]a1111.LoRA, error)
}

// CatalogOptions configure a Catalog.
type CatalogOptions struct {
	// LoRADir is A1111's models/Lora folder when this machine can read it;
	// its .json sidecars then give activation text, preferred weight and
	// the family a person set. Optional.
	LoRADir string
	Logger  *slog.Logger // nil: slog.Default()
	// SourceTimeout bounds one source's answer to a refresh, so that a
	// backend that accepts the request and never answers holds neither the
	// other backends' LoRAs nor the caller. 0: DefaultSourceTimeout.
	SourceTimeout time.Duration
}

// DefaultSourceTimeout is CatalogOptions.SourceTimeout's default: a healthy
// A1111 lists even a large LoRA folder within seconds, so a source silent
// for this long is hung or swamped.
const DefaultSourceTimeout = 30 * time.Second

// Change is what one Refresh or RefreshSource did to the catalog.
type Change struct {
	Added, Removed, Changed int // LoRAs, by name; Changed: any kept fact differs
	Total                   int // LoRAs in the catalog now
	Failed                  int // sources that failed; each kept its last good list
}

// Catalog is the union of the LoRAs of all sources, by name, with the facts
// the bot uses derived once per refresh. Readers take an immutable snapshot
// with Index, which never waits for a refresh.
//
// Where sources disagree about a LoRA of the same name, the first source
// listing it wins.
type Catalog struct {
	sources []Source
	dir     string
	log     *slog.Logger

	timeout time.Duration   // per source and fetch
	busy    []chan struct{} // per source: a slot, held while it is fetched

	buildMu sync.Mutex               // serialises rebuilds
	cache   map[string]cachedSidecar // by sidecar path; guarded by buildMu

	mu       sync.Mutex         // guards the fields below and index swaps
	lists    [][]item           // per source: its last good list
	version  uint64             // counts installs into lists
	built    uint64             // the version the index was built from
	merged   []item             // union of lists, by name
	sidecars map[string]sidecar // by LoRA name
	remote   map[string]Remote  // by LoRA name: Civitai's knowledge (SetRemote)
	changed  chan struct{}      // closed at the next swap

	idx atomic.Pointer[Index]
}

// item is a LoRA as its source described it, before sidecars and overrides:
// Triggers holds the metadata's triggers.
type item struct {
	LoRA
	path string // A1111's path: for sidecars, local files and the server's thumbnails
	hash string // sshs_model_hash, lower-case; "" when the metadata has none
}

// NewCatalog returns an empty catalog over sources; call Refresh to fill it.
func NewCatalog(sources []Source, opts CatalogOptions) *Catalog {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	timeout := opts.SourceTimeout
	if timeout <= 0 {
		timeout = DefaultSourceTimeout
	}
	c := &Catalog{
		sources: slices.Clone(sources),
		dir:     opts.LoRADir,
		log:     log,
		timeout: timeout,
		busy:    make([]chan struct{}, len(sources)),
		lists:   make([][]item, len(sources)),
		changed: make(chan struct{}),
	}
	for i := range c.busy {
		c.busy[i] = make(chan struct{}, 1)
	}
	c.idx.Store(newIndex(nil, log))
	return c
}

// Index is the current snapshot. It never blocks and is never nil.
func (c *Catalog) Index() *Index { return c.idx.Load() }

// Refresh asks every source for its LoRAs, at the same time, each within
// its own SourceTimeout, and rebuilds the index as each one answers: a hung
// backend delays no other backend's LoRAs, and holds Refresh itself no
// longer than its deadline. A source that fails keeps its last good list
// (none before its first success). When every source fails, the index is
// not rebuilt and the error wraps each cause. The Change counts what
// differs between the index before the call and after it.
//
// Calls may overlap: each source is fetched by one caller at a time (see
// RefreshSource), so overlapping calls never pile requests on a slow
// backend.
func (c *Catalog) Refresh(ctx context.Context) (Change, error) {
	before := c.Index()
	errs := make([]error, len(c.sources))
	var wg sync.WaitGroup
	for i := range c.sources {
		wg.Go(func() {
			if errs[i] = c.fetchSource(ctx, i); errs[i] == nil {
				c.rebuild()
			}
		})
	}
	wg.Wait()
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
		}
	}
	if len(c.sources) > 0 && failed == len(c.sources) {
		return Change{Total: c.Index().Len(), Failed: failed},
			fmt.Errorf("refresh LoRA catalog: every source failed: %w", errors.Join(errs...))
	}
	for i, err := range errs {
		if err != nil {
			c.mu.Lock()
			kept := len(c.lists[i])
			c.mu.Unlock()
			c.log.Warn("LoRA source failed; keeping its last list", "source", sourceName(c.sources[i], i), "kept", kept, "err", err)
		}
	}
	ch := diff(before, c.Index())
	ch.Failed = failed
	return ch, nil
}

// RefreshSource asks source i alone for its LoRAs, within SourceTimeout,
// and rebuilds the index: for when one backend rescanned its folder or came
// back up, without waiting on the others. On failure source i keeps its
// last good list, the index stays, and the Change has Failed 1. It waits
// for a fetch of the same source already under way (within the same
// deadline), never for another source's.
func (c *Catalog) RefreshSource(ctx context.Context, i int) (Change, error) {
	if i < 0 || i >= len(c.sources) {
		return Change{Total: c.Index().Len()}, fmt.Errorf("refresh LoRA source %d: the catalog has %d sources", i+1, len(c.sources))
	}
	before := c.Index()
	if err := c.fetchSource(ctx, i); err != nil {
		return Change{Total: before.Len(), Failed: 1}, fmt.Errorf("refresh LoRA catalog: %w", err)
	}
	c.rebuild()
	return diff(before, c.Index()), nil
}

// fetchSource fetches source i within its deadline and, on success, makes
// the answer its list. The per-source slot is held from the request to the
// install, so that an older answer never replaces a newer one.
func (c *Catalog) fetchSource(ctx context.Context, i int) error {
	s := c.sources[i]
	ctx, cancel := context.WithTimeoutCause(ctx, c.timeout,
		fmt.Errorf("%s gave no LoRA list within %v", sourceName(s, i), c.timeout))
	defer cancel()
	select {
	case c.busy[i] <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("LoRAs of %s: an earlier request to it is still running: %w", sourceName(s, i), context.Cause(ctx))
	}
	defer func() { <-c.busy[i] }()
	ls, err := s.LoRAs(ctx)
	if err != nil {
		return fmt.Errorf("LoRAs of %s: %w", sourceName(s, i), err)
	}
	list := reduce(ls)
	c.mu.Lock()
	c.lists[i] = list
	c.version++
	c.mu.Unlock()
	return nil
}

// rebuild merges the lists, reads the sidecars and swaps in a new index.
// Rebuilds are serialised; one that finds every list already in the index
// (another rebuild started after its install) does nothing, so sources
// answering together cost one rebuild, not one each.
func (c *Catalog) rebuild() {
	c.buildMu.Lock()
	defer c.buildMu.Unlock()

	c.mu.Lock()
	if c.version == c.built {
		c.mu.Unlock()
		return
	}
	v := c.version
	c.merged = merge(c.lists)
	merged := c.merged
	c.mu.Unlock()

	// Reading sidecars is file I/O: done outside mu so that overrides can
	// still be set meanwhile. buildMu keeps merged and cache ours.
	var sidecars map[string]sidecar
	if c.dir != "" {
		sidecars = c.readSidecars(merged)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if sidecars != nil {
		c.sidecars = sidecars
	}
	c.built = v
	c.swap(c.build())
}

// swap makes next the index and wakes those waiting in Changed. c.mu is held.
func (c *Catalog) swap(next *Index) {
	c.idx.Store(next)
	close(c.changed)
	c.changed = make(chan struct{})
}

// Changed is closed when the index is next replaced (by a refresh or new
// trigger overrides), for whoever shows the catalog and wants to catch up
// without polling. Take it before reading Index so that no change is missed.
func (c *Catalog) Changed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

// sourceName names a source in logs and errors: its String method (the
// a1111 client's base URL, say), else its position.
func sourceName(s Source, i int) string {
	if st, ok := s.(fmt.Stringer); ok {
		return st.String()
	}
	return fmt.Sprintf("source %d", i+1)
}

// reduce keeps of each LoRA only what the bot uses, copying the strings so
// that no decoder buffer stays reachable. Of two entries with the same name
// the first is kept.
func reduce(ls []a1111.LoRA) []item {
	out := make([]item, 0, len(ls))
	seen := make(map[string]struct{}, len(ls))
	for _, l := range ls {
		if l.Name == "" {
			continue
		}
		if _, dup := seen[l.Name]; dup {
			continue
		}
		name := strings.Clone(l.Name)
		seen[name] = struct{}{}
		alias := name
		if l.Alias != "" && l.Alias != l.Name {
			alias = strings.Clone(l.Alias)
		}
		it := item{LoRA: LoRA{
			Name:      name,
			Alias:     alias,
			Family:    FamilyOf(l.Meta),
			Triggers:  cloneAll(metaTriggers(l.Meta.TriggerPhrase, l.Meta.TagFrequency)),
			Title:     strings.Clone(strings.TrimSpace(l.Meta.Title)),
			BaseModel: strings.Clone(strings.TrimSpace(l.Meta.SDModelName)),
			// modelspec.tags would come first; a1111.LoRAMeta does not
			// decode it yet.
			NSFW: metaNSFW("", l.Meta.TagFrequency),
		}}
		it.path = strings.Clone(l.Path)
		it.hash = strings.ToLower(strings.TrimSpace(l.Meta.ModelHash))
		it.Hash = it.hash
		out = append(out, it)
	}
	return out
}

func cloneAll(ss []string) []string {
	for i, s := range ss {
		ss[i] = strings.Clone(s)
	}
	return ss
}

// merge is the union of lists by name, the first list naming a LoRA winning.
func merge(lists [][]item) []item {
	if len(lists) == 1 {
		return lists[0]
	}
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	out := make([]item, 0, n)
	at := make(map[string]int, n)
	for i, l := range lists {
		for _, it := range l {
			j, dup := at[it.Name]
			if !dup {
				j = len(out)
				at[it.Name] = j
				out = append(out, it)
			}
			// A job runs on one backend: remember which ones have it.
			if len(lists) <= 64 {
				out[j].Servers |= 1 << i
			}
		}
	}
	return out
}

// readSidecars finds and reads the sidecar of every LoRA in items, reusing
// the files unchanged since the last refresh. When LORA_DIR cannot be read
// it returns nil: the last sidecars stay.
func (c *Catalog) readSidecars(items []item) map[string]sidecar {
	scan, err := scanSidecars(c.dir)
	if err != nil {
		c.log.Warn("cannot read LORA_DIR; keeping the sidecars read before", "dir", c.dir, "err", err)
		return nil
	}
	cache := make(map[string]cachedSidecar)
	out := make(map[string]sidecar)
	for _, it := range items {
		f, ok := scan.find(it.Name, it.path)
		if !ok {
			continue
		}
		cs, ok := cache[f.path]
		if !ok {
			var fresh bool
			cs, fresh = loadSidecar(f, c.cache)
			if fresh && cs.err != nil {
				c.log.Warn("ignoring a broken LoRA sidecar", "lora", it.Name, "err", cs.err)
			}
			cache[f.path] = cs
		}
		if cs.err == nil {
			out[it.Name] = cs.sc
		}
	}
	c.cache = cache
	return out
}

// build makes the index of the merged list with sidecars and Civitai's
// knowledge applied. Triggers come from the first of: the sidecar's
// activation text, Civitai's trained words, the metadata (see
// metaTriggers); a server's own (Override, through an Overlay) come before
// all of these, per request (interface.md's precedence). The family is the
// sidecar's, else the metadata's, else Civitai's base model's. Civitai's
// NSFW mark adds to the metadata's. c.mu is held.
func (c *Catalog) build() *Index {
	ls := make([]LoRA, len(c.merged))
	for i, it := range c.merged {
		l := it.LoRA
		sc, hasSC := c.sidecars[l.Name]
		if r, ok := c.remote[l.Name]; ok {
			l.Civitai = r
			if len(r.TrainedWords) > 0 {
				l.Triggers = r.TrainedWords
			}
			if l.Family == FamilyUnknown {
				l.Family = r.Family
			}
			l.NSFW = l.NSFW || r.NSFW
			if l.Hash == "" {
				l.Hash = r.Hash
			}
		}
		if hasSC {
			if t := SplitTriggers(sc.ActivationText); len(t) > 0 {
				l.Triggers = t
			}
			l.PreferredWeight = sc.PreferredWeight
			if sc.Family != FamilyUnknown {
				l.Family = sc.Family
			}
		}
		ls[i] = l
	}
	return newIndex(ls, c.log)
}

// diff counts what changed between two snapshots, by name.
func diff(prev, next *Index) Change {
	ch := Change{Total: next.Len()}
	kept := 0
	for i := range next.entries {
		n := &next.entries[i].LoRA
		p, ok := prev.Get(n.Name)
		if !ok {
			ch.Added++
			continue
		}
		kept++
		if !sameLoRA(p, *n) {
			ch.Changed++
		}
	}
	ch.Removed = prev.Len() - kept
	return ch
}

func sameLoRA(a, b LoRA) bool {
	return a.Name == b.Name && a.Alias == b.Alias && a.Family == b.Family &&
		a.PreferredWeight == b.PreferredWeight && a.Title == b.Title &&
		a.BaseModel == b.BaseModel && a.Servers == b.Servers && a.NSFW == b.NSFW && slices.Equal(a.Triggers, b.Triggers) &&
		a.Hash == b.Hash && a.Civitai.same(b.Civitai)
}

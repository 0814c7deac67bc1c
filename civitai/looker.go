package civitai

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Want is one LoRA the looker should know about.
type Want struct {
	Name string // the LoRA's name, as the catalog knows it
	Hash string // sshs_model_hash (Civitai's AutoV3); "" when the metadata has none
	// File is the LoRA's file on this machine (under LORA_DIR), hashed
	// (SHA-256, in the background) when Hash is empty; "" when unreadable.
	File string
}

// LookerOptions tune a Looker. Zero values take the defaults.
type LookerOptions struct {
	// Interval is the least time between two requests: DefaultInterval.
	Interval time.Duration
	// Refresh is how old an answer may get before it is asked again:
	// DefaultRefresh (a week).
	Refresh time.Duration
	// RetryMin and RetryMax bound the back-off after a fault: the first
	// retry waits RetryMin, each further one twice as long, up to RetryMax.
	RetryMin, RetryMax time.Duration
	Logger             *slog.Logger
	// OnUpdate receives what is known, by LoRA name (found lookups only),
	// whenever it changes. It is called from Run's goroutine.
	OnUpdate func(map[string]Info)
}

// Defaults of LookerOptions. Civitai documents no figure for its public
// reads (they are cached and throttled against abuse): two requests a
// second stays well clear of that, and 1,000 LoRAs are known in under ten
// minutes.
const (
	DefaultInterval = 500 * time.Millisecond
	DefaultRefresh  = 7 * 24 * time.Hour
	DefaultRetryMin = time.Minute
	DefaultRetryMax = 6 * time.Hour
)

// Looker looks the wanted LoRAs up in the background, one request at a
// time, at most one per Interval and none while a 429's Retry-After lasts.
// Answers (a 404 included) are kept in the Store and asked again after
// Refresh; a fault (429, 5xx, malformed JSON, no answer in time) keeps what
// was known, is logged once, and is retried with back-off. Nothing waits
// for it: Want returns at once, and readers get its knowledge through
// OnUpdate.
type Looker struct {
	client *Client
	store  Store
	opts   LookerOptions
	log    *slog.Logger

	mu    sync.Mutex
	wants []Want
	gen   uint64 // counts Want calls
	wake  chan struct{}

	// Owned by Run's goroutine.
	seenGen  uint64
	names    map[string]string // LoRA name → hash
	known    map[string]Info   // by hash: what the store has, for wanted hashes
	files    map[string]fileHash
	lastReq  time.Time
	paused   time.Time // no request before this (a 429)
	dirty    bool
	lastEmit time.Time

	requests atomic.Int64
}

type fileHash struct {
	size int64
	mod  time.Time
	sum  string
}

// NewLooker returns a looker asking c and keeping answers in st.
func NewLooker(c *Client, st Store, opts LookerOptions) *Looker {
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Refresh <= 0 {
		opts.Refresh = DefaultRefresh
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = DefaultRetryMin
	}
	if opts.RetryMax < opts.RetryMin {
		opts.RetryMax = max(DefaultRetryMax, opts.RetryMin)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Looker{client: c, store: st, opts: opts, log: log, wake: make(chan struct{}, 1),
		names: map[string]string{}, known: map[string]Info{}, files: map[string]fileHash{}}
}

// Want replaces the set of LoRAs to know about. It never blocks.
func (l *Looker) Want(ws []Want) {
	l.mu.Lock()
	l.wants = append([]Want(nil), ws...)
	l.gen++
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Requests counts the lookups sent so far.
func (l *Looker) Requests() int64 { return l.requests.Load() }

// emitEvery bounds how often OnUpdate runs while lookups go on, so that
// 1,000 answers cost the catalog a few rebuilds, not 1,000.
const emitEvery = time.Second

// Run looks up until ctx ends.
func (l *Looker) Run(ctx context.Context) {
	for ctx.Err() == nil {
		l.mu.Lock()
		gen, wants := l.gen, l.wants
		l.mu.Unlock()
		if gen != l.seenGen {
			l.seenGen = gen
			l.resolve(ctx, wants)
			l.dirty = true
		}
		now := time.Now()
		hash, due := l.next(now)
		if l.dirty && (hash == "" || due.After(now) || now.Sub(l.lastEmit) >= emitEvery) {
			l.emit()
		}
		if hash == "" {
			select {
			case <-ctx.Done():
				return
			case <-l.wake:
			}
			continue
		}
		start := latest(due, l.lastReq.Add(l.opts.Interval), l.paused)
		if wait := time.Until(start); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-l.wake:
				t.Stop()
				continue
			case <-t.C:
			}
		}
		l.lookup(ctx, hash)
	}
}

// resolve maps the wanted LoRAs to hashes (hashing local files when the
// metadata has none) and loads what the store knows of them.
func (l *Looker) resolve(ctx context.Context, wants []Want) {
	names := make(map[string]string, len(wants))
	for _, w := range wants {
		h := normHash(w.Hash)
		if h == "" && w.File != "" {
			h = l.fileSum(ctx, w.File)
		}
		if h != "" {
			names[w.Name] = h
		}
	}
	known := make(map[string]Info, len(names))
	for _, h := range names {
		if _, done := known[h]; done {
			continue
		}
		if in, ok := l.known[h]; ok {
			known[h] = in
			continue
		}
		in, ok, err := l.store.CivitaiInfo(h)
		switch {
		case err != nil:
			l.log.Warn("civitai: cannot read what is known of a LoRA; asking again", "hash", short(h), "err", err)
			known[h] = Info{Hash: h}
		case ok:
			known[h] = in
		default:
			known[h] = Info{Hash: h}
		}
	}
	l.names, l.known = names, known
}

// fileSum is the SHA-256 of path, cached by size and modification time; ""
// when the file cannot be read (logged).
func (l *Looker) fileSum(ctx context.Context, path string) string {
	st, err := os.Stat(path)
	if err != nil {
		l.log.Warn("civitai: cannot hash a LoRA file", "file", path, "err", err)
		return ""
	}
	if c, ok := l.files[path]; ok && c.size == st.Size() && c.mod.Equal(st.ModTime()) {
		return c.sum
	}
	sum, err := hashFile(ctx, path)
	if err != nil {
		if ctx.Err() == nil {
			l.log.Warn("civitai: cannot hash a LoRA file", "file", path, "err", err)
		}
		return ""
	}
	l.files[path] = fileHash{size: st.Size(), mod: st.ModTime(), sum: sum}
	return sum
}

// hashFile is the SHA-256 of a file, in lower-case hex, stopping when ctx
// ends.
func hashFile(ctx context.Context, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		n, err := f.Read(buf)
		h.Write(buf[:n])
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// next is the wanted hash due first and when; "" when none is wanted.
func (l *Looker) next(now time.Time) (string, time.Time) {
	var best string
	var at time.Time
	for h, in := range l.known {
		d := l.dueAt(in, now)
		if best == "" || d.Before(at) || d.Equal(at) && h < best {
			best, at = h, d
		}
	}
	return best, at
}

func (l *Looker) dueAt(in Info, now time.Time) time.Time {
	switch {
	case in.Failures > 0:
		return in.NextTry
	case in.Checked.IsZero():
		return now
	}
	return in.Checked.Add(l.opts.Refresh)
}

// lookup asks Civitai for one hash and keeps the outcome.
func (l *Looker) lookup(ctx context.Context, hash string) {
	l.lastReq = time.Now()
	l.requests.Add(1)
	v, err := l.client.ByHash(ctx, hash)
	if ctx.Err() != nil {
		return // shutting down: not Civitai's fault
	}
	now := time.Now()
	prev := l.known[hash]
	var in Info
	var rl *RateLimitError
	switch {
	case err == nil:
		in = InfoOf(hash, v, now)
		l.log.Debug("civitai: looked up", "hash", short(hash), "model", in.ModelName, "words", len(in.TrainedWords))
	case errors.Is(err, ErrNotFound):
		in = Info{Hash: hash, Checked: now}
		l.log.Debug("civitai: unknown hash", "hash", short(hash))
	default:
		in = prev
		in.Hash = hash
		in.Failures++
		wait := l.backoff(in.Failures)
		if errors.As(err, &rl) {
			l.paused = now.Add(rl.After)
			wait = max(wait, rl.After)
		}
		in.NextTry = now.Add(wait)
		l.log.Warn("civitai lookup failed; the LoRA keeps what is known of it and is asked again later",
			"loras", l.namesOf(hash), "hash", short(hash), "retry_in", wait.Round(time.Second), "err", err)
	}
	l.known[hash] = in
	if err := l.store.PutCivitaiInfo(in); err != nil {
		l.log.Warn("civitai: cannot keep a lookup's outcome", "hash", short(hash), "err", err)
	}
	if in.Found != prev.Found || in.Checked != prev.Checked {
		l.dirty = true
	}
}

func (l *Looker) backoff(failures int) time.Duration {
	d := l.opts.RetryMin
	for i := 1; i < failures && d < l.opts.RetryMax; i++ {
		d *= 2
	}
	return min(d, l.opts.RetryMax)
}

// namesOf lists the LoRAs of a hash, for a log line.
func (l *Looker) namesOf(hash string) string {
	var out []string
	for n, h := range l.names {
		if h == hash {
			out = append(out, n)
		}
		if len(out) == 3 {
			out = append(out, "…")
			break
		}
	}
	return strings.Join(out, ", ")
}

// emit hands OnUpdate what is known, by LoRA name.
func (l *Looker) emit() {
	l.dirty = false
	l.lastEmit = time.Now()
	if l.opts.OnUpdate == nil {
		return
	}
	out := make(map[string]Info)
	for n, h := range l.names {
		if in := l.known[h]; in.Found {
			out[n] = in
		}
	}
	l.opts.OnUpdate(maps.Clone(out))
}

// latest is the last of ts.
func latest(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}

// normHash is a hash as Civitai and the store take it: trimmed, lower-case,
// hex only; "" otherwise.
func normHash(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	if h == "" || len(h) > 128 {
		return ""
	}
	for _, c := range h {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return ""
		}
	}
	return h
}

// String describes the looker in logs.
func (l *Looker) String() string { return fmt.Sprintf("civitai looker (%s)", l.client) }

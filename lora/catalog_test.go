package lora

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"lorabot/a1111"
)

func wire(name, alias, phrase string) a1111.LoRA {
	return a1111.LoRA{Name: name, Alias: alias, Path: "/sd/models/Lora/" + name + ".safetensors",
		Meta: a1111.LoRAMeta{TriggerPhrase: phrase, BaseModelVersion: "sd_v1"}}
}

func refresh(t *testing.T, c *Catalog) Change {
	t.Helper()
	ch, err := c.Refresh(context.Background())
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	return ch
}

func TestCatalogIsTheUnionOfItsSources(t *testing.T) {
	a := &fakeSource{loras: []a1111.LoRA{wire("x", "x", ""), wire("y", "y_from_a", "")}}
	b := &fakeSource{loras: []a1111.LoRA{wire("y", "y_from_b", ""), wire("z", "z", "")}}
	c := NewCatalog([]Source{a, b}, CatalogOptions{})
	if c.Index().Len() != 0 {
		t.Fatal("a new catalog is not empty")
	}
	if ch := refresh(t, c); ch != (Change{Added: 3, Total: 3}) {
		t.Errorf("first refresh: %+v", ch)
	}
	var got []string
	for _, l := range c.Index().All() {
		got = append(got, l.Name+"/"+l.Alias)
	}
	if want := []string{"x/x", "y/y_from_a", "z/z"}; !slices.Equal(got, want) {
		t.Errorf("catalog = %q, want %q (the first source wins a shared name)", got, want)
	}
}

func TestFailedSourceKeepsItsLastGoodList(t *testing.T) {
	errA, errB := errors.New("backend A down"), errors.New("backend B down")
	a := &fakeSource{loras: []a1111.LoRA{wire("x", "x", "")}}
	b := &fakeSource{loras: []a1111.LoRA{wire("z", "z", "")}}
	c := NewCatalog([]Source{a, b}, CatalogOptions{Logger: discard()})
	refresh(t, c)

	b.set(nil, errB)
	a.set([]a1111.LoRA{wire("x", "x", ""), wire("w", "w", "")}, nil)
	if ch := refresh(t, c); ch != (Change{Added: 1, Total: 3, Failed: 1}) {
		t.Errorf("with B down: %+v", ch)
	}
	if _, ok := c.Index().Get("z"); !ok {
		t.Error("B's LoRA z vanished while B was down")
	}

	before := c.Index()
	a.set(nil, errA)
	ch, err := c.Refresh(context.Background())
	if !errors.Is(err, errA) || !errors.Is(err, errB) {
		t.Errorf("all down: error %v does not wrap both causes", err)
	}
	if ch.Total != 3 || ch.Failed != 2 || ch.Added+ch.Removed+ch.Changed != 0 {
		t.Errorf("all down: %+v", ch)
	}
	if c.Index() != before {
		t.Error("all down: the index was replaced")
	}

	a.set([]a1111.LoRA{wire("x", "x", "")}, nil)
	b.set([]a1111.LoRA{wire("z", "z", "new trigger")}, nil)
	if ch := refresh(t, c); ch != (Change{Removed: 1, Changed: 1, Total: 2}) {
		t.Errorf("back up: %+v", ch)
	}
}

func TestRefreshCountsChanges(t *testing.T) {
	s := &fakeSource{loras: []a1111.LoRA{wire("a", "a", ""), wire("b", "b", "old"), wire("c", "c", "")}}
	c := NewCatalog([]Source{s}, CatalogOptions{})
	refresh(t, c)
	s.set([]a1111.LoRA{wire("b", "b", "new"), wire("c", "c", ""), wire("d", "d", "")}, nil)
	if ch := refresh(t, c); ch != (Change{Added: 1, Removed: 1, Changed: 1, Total: 3}) {
		t.Errorf("changed: %+v", ch)
	}
	if ch := refresh(t, c); ch != (Change{Total: 3}) {
		t.Errorf("unchanged: %+v", ch)
	}
}

// lockedBuffer collects log output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func writeFile(t *testing.T, dir, rel, content string) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSidecarsGiveTriggersWeightAndFamily(t *testing.T) {
	dir := t.TempDir()
	// The fixture's paths are /workspace/sd/stable-diffusion-webui/models/Lora/…
	writeFile(t, dir, "sdxl/pixel-art-xl.json", `{"description": "", "sd version": "SDXL", "activation text": "pixel, 8bit", "preferred weight": 0.8, "notes": ""}`)
	writeFile(t, dir, "other/pixel-art-xl.json", `{"activation text": "the wrong file"}`)
	writeFile(t, dir, "ghibli_style_offset.json", `{"activation text": " ", "preferred weight": "0.6"}`)
	broken := writeFile(t, dir, "revAnimated_v122.json", `{"activation text": "cut off`)
	writeFile(t, dir, "misc/add_detail.json", `{"activation text": "detailed", "sd version": "SD1"}`) // found by stem
	writeFile(t, dir, "notes.json", `[1, 2, 3]`)
	logs := &lockedBuffer{}
	c := sampleCatalog(t, CatalogOptions{LoRADir: dir, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	ix := c.Index()

	check := func(ix *Index, name string, triggers []string, weight float64, fam Family) {
		t.Helper()
		l, ok := ix.Get(name)
		if !ok {
			t.Fatalf("%s missing", name)
		}
		if !slices.Equal(l.Triggers, triggers) || l.PreferredWeight != weight || l.Family != fam {
			t.Errorf("%s: triggers %q weight %v family %v; want %q %v %v", name, l.Triggers, l.PreferredWeight, l.Family, triggers, weight, fam)
		}
	}
	check(ix, "pixel-art-xl", []string{"pixel", "8bit"}, 0.8, FamilySDXL)
	check(ix, "ghibli_style_offset", []string{"ghibli style"}, 0.6, FamilySD1) // blank text: metadata's
	check(ix, "revAnimated_v122", []string{"3dmm style"}, 0, FamilySD1)        // broken: ignored
	check(ix, "add_detail", []string{"detailed"}, 0, FamilySD1)
	check(ix, "more_details", nil, 0, FamilyUnknown)

	if n := strings.Count(logs.String(), "revAnimated_v122.json"); n != 1 {
		t.Errorf("the broken sidecar was logged %d times, want once:\n%s", n, logs)
	}
	refresh(t, c)
	if n := strings.Count(logs.String(), "revAnimated_v122.json"); n != 1 {
		t.Errorf("an unchanged broken sidecar was logged again (%d times)", n)
	}

	// Fixing the file takes effect on the next refresh.
	writeFile(t, dir, "revAnimated_v122.json", `{"activation text": "fixed trigger", "preferred weight": 0.5}`)
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(broken, later, later); err != nil {
		t.Fatal(err)
	}
	if ch := refresh(t, c); ch.Changed != 1 {
		t.Errorf("after fixing a sidecar: %+v", ch)
	}
	check(c.Index(), "revAnimated_v122", []string{"fixed trigger"}, 0.5, FamilySD1)
}

func TestTriggerPrecedence(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "sdxl/pixel-art-xl.json", `{"activation text": "from sidecar"}`)
	c := sampleCatalog(t, CatalogOptions{LoRADir: dir, Logger: discard()})
	triggers := func(name string) []string {
		l, _ := c.Index().Get(name)
		return l.Triggers
	}
	if got := triggers("pixel-art-xl"); !slices.Equal(got, []string{"from sidecar"}) {
		t.Errorf("sidecar beats trigger_phrase: got %q", got)
	}
	if got := triggers("revAnimated_v122"); !slices.Equal(got, []string{"3dmm style"}) {
		t.Errorf("without a sidecar, trigger_phrase: got %q", got)
	}
	refresh(t, c)
	if got := triggers("pixel-art-xl"); !slices.Equal(got, []string{"from sidecar"}) {
		t.Errorf("the sidecar's words survive a refresh: got %q", got)
	}
}

func TestIndexReadersDuringRefresh(t *testing.T) {
	one := decodeSample(t, sampleJSON)
	two := append(slices.Clone(one[:4]), wire("extra", "extra", "extra words"))
	s := &fakeSource{loras: one}
	c := NewCatalog([]Source{s}, CatalogOptions{Logger: discard()})
	refresh(t, c)

	stop := make(chan struct{})
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					errs <- nil
					return
				default:
				}
				ix := c.Index()
				if ix.Len() != len(ix.All()) {
					errs <- errors.New("a snapshot changed under a reader")
					return
				}
				if _, err := ix.Resolve("add_detail"); err != nil {
					errs <- err
					return
				}
				ix.Search("pix", SearchOptions{Prefer: FamilySDXL})
				ix.Search("ghilbi", SearchOptions{})
			}
		})
	}
	for i := range 40 {
		if i%2 == 0 {
			s.set(two, nil)
		} else {
			s.set(one, nil)
		}
		refresh(t, c)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestCatalogKnowsWhichServersHaveEachLoRA(t *testing.T) {
	a := &fakeSource{loras: []a1111.LoRA{wire("x", "x", ""), wire("y", "y", "")}}
	b := &fakeSource{loras: []a1111.LoRA{wire("y", "y", ""), wire("z", "z", "")}}
	c := NewCatalog([]Source{a, b}, CatalogOptions{})
	refresh(t, c)
	for name, want := range map[string][2]bool{"x": {true, false}, "y": {true, true}, "z": {false, true}} {
		l, _ := c.Index().Get(name)
		if got := [2]bool{l.OnServer(0), l.OnServer(1)}; got != want {
			t.Errorf("%s on servers %v, want %v", name, got, want)
		}
	}
	// One backend: every LoRA is on it.
	one := NewCatalog([]Source{a}, CatalogOptions{})
	refresh(t, one)
	if l, _ := one.Index().Get("x"); !l.OnServer(0) {
		t.Errorf("with one backend, x must be on it")
	}
}

// hangingSource is a fakeSource that, while hang is set, accepts the request
// and never answers until its context ends, like a backend stuck behind a
// long job; started receives one value per hung call (never blocks).
type hangingSource struct {
	fakeSource
	hang    atomic.Bool
	started chan struct{}
}

func newHangingSource(loras ...a1111.LoRA) *hangingSource {
	return &hangingSource{fakeSource: fakeSource{loras: loras}, started: make(chan struct{}, 16)}
}

func (s *hangingSource) LoRAs(ctx context.Context) ([]a1111.LoRA, error) {
	if !s.hang.Load() {
		return s.fakeSource.LoRAs(ctx)
	}
	select {
	case s.started <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return nil, fmt.Errorf("no answer: %w", ctx.Err())
}

// waitIndex returns once cond holds for the catalog's index, failing the
// test after a few seconds.
func waitIndex(t *testing.T, c *Catalog, what string, cond func(*Index) bool) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		changed := c.Changed()
		if cond(c.Index()) {
			return
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

func has(name string) func(*Index) bool {
	return func(ix *Index) bool { _, ok := ix.Get(name); return ok }
}

func TestHungSourceDelaysNoOtherSource(t *testing.T) {
	a := newHangingSource(wire("x", "x", ""))
	a.hang.Store(true)
	b := &fakeSource{loras: []a1111.LoRA{wire("z", "z", "")}}
	// A deadline far longer than this test may take: B's LoRAs must not
	// wait for it.
	c := NewCatalog([]Source{a, b}, CatalogOptions{Logger: discard(), SourceTimeout: time.Hour})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		ch  Change
		err error
	}
	done := make(chan result, 1)
	go func() {
		ch, err := c.Refresh(ctx)
		done <- result{ch, err}
	}()
	waitIndex(t, c, "B's LoRA while A hangs", has("z"))
	select {
	case <-a.started:
	case <-time.After(5 * time.Second):
		t.Fatal("A was never asked")
	}

	// Refreshing B alone does not wait for A's fetch either.
	b.set([]a1111.LoRA{wire("z", "z", ""), wire("w", "w", "")}, nil)
	one, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	if ch, err := c.RefreshSource(one, 1); err != nil || ch != (Change{Added: 1, Total: 2}) {
		t.Fatalf("RefreshSource(B) while A hangs: %+v, %v", ch, err)
	}
	if !has("w")(c.Index()) {
		t.Error("B's new LoRA is not in the catalog")
	}

	cancel() // A's request ends with the caller's context
	select {
	case r := <-done:
		if r.err != nil || r.ch.Failed != 1 || r.ch.Total != 2 {
			t.Errorf("Refresh with A hung: %+v, %v", r.ch, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Refresh did not return once its context ended")
	}
}

func TestSourceTimeoutBoundsRefresh(t *testing.T) {
	a := newHangingSource(wire("x", "x", ""))
	b := &fakeSource{loras: []a1111.LoRA{wire("z", "z", "")}}
	c := NewCatalog([]Source{a, b}, CatalogOptions{Logger: discard(), SourceTimeout: 50 * time.Millisecond})
	refresh(t, c)

	a.hang.Store(true)
	b.set([]a1111.LoRA{wire("z", "z", ""), wire("w", "w", "")}, nil)
	done := make(chan Change, 1)
	go func() {
		// No deadline of the caller's: only SourceTimeout ends A's request.
		ch, err := c.Refresh(context.Background())
		if err != nil {
			t.Errorf("one source hung, the other answered: %v", err)
		}
		done <- ch
	}()
	select {
	case ch := <-done:
		if ch != (Change{Added: 1, Total: 3, Failed: 1}) {
			t.Errorf("Refresh with A hung: %+v", ch)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a hung source held Refresh past its SourceTimeout")
	}
	if !has("x")(c.Index()) {
		t.Error("A's LoRA vanished while A hung; it should keep its last good list")
	}

	// Refreshing A alone fails the same way and keeps its list.
	ch, err := c.RefreshSource(context.Background(), 0)
	if err == nil || ch.Failed != 1 || ch.Total != 3 {
		t.Errorf("RefreshSource(A) while hung: %+v, %v", ch, err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the error should say A timed out: %v", err)
	}
	if !has("x")(c.Index()) {
		t.Error("A's LoRA vanished after its own refresh failed")
	}

	// Back up: A's new list replaces its old one.
	a.hang.Store(false)
	a.set([]a1111.LoRA{wire("x2", "x2", "")}, nil)
	if ch, err := c.RefreshSource(context.Background(), 0); err != nil || ch != (Change{Added: 1, Removed: 1, Total: 3}) {
		t.Errorf("RefreshSource(A) back up: %+v, %v", ch, err)
	}
	if _, err := c.RefreshSource(context.Background(), 2); err == nil {
		t.Error("RefreshSource of a source that does not exist should fail")
	}
}

func TestEverySourceHungKeepsTheIndex(t *testing.T) {
	a := newHangingSource(wire("x", "x", ""))
	c := NewCatalog([]Source{a}, CatalogOptions{Logger: discard(), SourceTimeout: 20 * time.Millisecond})
	refresh(t, c)
	before := c.Index()
	a.hang.Store(true)
	ch, err := c.Refresh(context.Background())
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("every source hung: want a timeout error, got %v", err)
	}
	if ch != (Change{Total: 1, Failed: 1}) || c.Index() != before {
		t.Errorf("every source hung: %+v; the index must stay", ch)
	}
}

package lora

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
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
	c.SetTriggerOverrides(map[string]string{"pixel-art-xl": "admin one, admin two", "revAnimated_v122": " , "})
	if got := triggers("pixel-art-xl"); !slices.Equal(got, []string{"admin one", "admin two"}) {
		t.Errorf("override beats sidecar: got %q", got)
	}
	if got := triggers("revAnimated_v122"); !slices.Equal(got, []string{"3dmm style"}) {
		t.Errorf("an empty override is none: got %q", got)
	}
	refresh(t, c)
	if got := triggers("pixel-art-xl"); !slices.Equal(got, []string{"admin one", "admin two"}) {
		t.Errorf("override survives a refresh: got %q", got)
	}
	c.SetTriggerOverrides(nil)
	if got := triggers("pixel-art-xl"); !slices.Equal(got, []string{"from sidecar"}) {
		t.Errorf("override removed: got %q", got)
	}
	// Search sees the override's words.
	c.SetTriggerOverrides(map[string]string{"add_detail": "zebra stripes"})
	if got := names(c.Index().Search("zebra", SearchOptions{})); !slices.Equal(got, []string{"add_detail"}) {
		t.Errorf("Search(zebra) = %q", got)
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
		c.SetTriggerOverrides(map[string]string{"add_detail": "round " + string(rune('a'+i%26))})
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

package lora

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"lorabot/a1111"
)

//go:embed testdata/loras.sample.json
var sampleJSON []byte

// decodeSample reads a /sdapi/v1/loras answer with encoding/json: a
// stand-in for a1111.DecodeLoRAs in tests, so these tests do not depend on
// the client's streaming decoder.
func decodeSample(t testing.TB, data []byte) []a1111.LoRA {
	t.Helper()
	var raw []struct {
		Name     string                     `json:"name"`
		Alias    string                     `json:"alias"`
		Path     string                     `json:"path"`
		Metadata map[string]json.RawMessage `json:"metadata"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatalf("decode sample: %v", err)
	}
	out := make([]a1111.LoRA, len(raw))
	for i, r := range raw {
		str := func(k string) string {
			var s string
			_ = json.Unmarshal(r.Metadata[k], &s) // absent or not a string: ""
			return s
		}
		var freq map[string]map[string]int
		if v, ok := r.Metadata["ss_tag_frequency"]; ok {
			if err := json.Unmarshal(v, &freq); err != nil {
				t.Fatalf("decode ss_tag_frequency of %s: %v", r.Name, err)
			}
		}
		out[i] = a1111.LoRA{Name: r.Name, Alias: r.Alias, Path: r.Path, Meta: a1111.LoRAMeta{
			BaseModelVersion: str("ss_base_model_version"),
			V2:               str("ss_v2"),
			Architecture:     str("modelspec.architecture"),
			Title:            str("modelspec.title"),
			TriggerPhrase:    str("modelspec.trigger_phrase"),
			SDModelName:      str("ss_sd_model_name"),
			OutputName:       str("ss_output_name"),
			ModelHash:        str("sshs_model_hash"),
			TagFrequency:     freq,
		}}
	}
	return out
}

// sampleCatalog is the fixture loaded through a Catalog, as the bot would.
func sampleCatalog(t testing.TB, opts CatalogOptions) *Catalog {
	t.Helper()
	c := NewCatalog([]Source{&fakeSource{loras: decodeSample(t, sampleJSON)}}, opts)
	if _, err := c.Refresh(context.Background()); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	return c
}

func sampleIndex(t testing.TB) *Index { return sampleCatalog(t, CatalogOptions{}).Index() }

// fakeSource answers with loras, or err; safe to change between refreshes.
type fakeSource struct {
	mu    sync.Mutex
	loras []a1111.LoRA
	err   error
	calls chan struct{} // when set, receives one value per call (never blocks)
}

func (s *fakeSource) LoRAs(ctx context.Context) ([]a1111.LoRA, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls != nil {
		select {
		case s.calls <- struct{}{}:
		default:
		}
	}
	if s.err != nil {
		return nil, s.err
	}
	return append([]a1111.LoRA(nil), s.loras...), nil
}

func (s *fakeSource) set(loras []a1111.LoRA, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loras, s.err = loras, err
}

func names(cs []Choice) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Value
	}
	return out
}

// Vocabulary for synthetic catalogs that look like a real LoRA folder.
var (
	synthWords = strings.Fields(`anime style portrait detail pixel art watercolor oil painting
		cyberpunk neon fantasy armor knight elf dragon castle forest ghibli studio
		realistic photo skin texture lighting cinematic film grain vintage retro
		sketch lineart ink manga comic chibi cute kawaii dark gothic steampunk
		sci fi mecha robot space nebula landscape city street night rain snow
		flower garden ocean beach sunset hair eyes dress kimono uniform school
		maid witch hat glasses smile blush tears sword gun magic fire ice
		lightning shadow glow bokeh depth field macro wide angle fisheye
		minimalist abstract surreal impressionist baroque renaissance ukiyoe
		graffiti tattoo poster logo icon isometric lowpoly voxel clay plastic`)
	synthJapanese = []string{"ブルーアーカイブ", "東方", "初音ミク", "艦これ", "原神", "ウマ娘", "鬼滅の刃", "進撃の巨人"}
	synthSuffixes = []string{"", "_v1", "_v2", "-xl", "_xl", "_sd15", " v1.5", "_lora", "_locon", "_offset", "-000010", "_e8", "_r32", "(1)"}
)

// synthLoRAs is a deterministic catalog of n LoRAs with realistic,
// unique names: mixed separators and case, versions, some Japanese, some
// aliases, families and triggers like kohya writes them.
func synthLoRAs(n int, seed uint64) []LoRA {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	word := func() string { return synthWords[r.IntN(len(synthWords))] }
	title := func() string { w := word(); return strings.ToUpper(w[:1]) + w[1:] }
	out := make([]LoRA, 0, n)
	seen := make(map[string]bool, n)
	for len(out) < n {
		var name string
		switch r.IntN(10) {
		case 0:
			name = synthJapanese[r.IntN(len(synthJapanese))] + "_" + word()
		case 1:
			name = fmt.Sprintf("%s %s (%s style) v%d.%d", title(), title(), word(), r.IntN(5), r.IntN(10))
		case 2, 3:
			name = word() + "-" + word() + "-" + word()
		default:
			name = word() + "_" + word()
		}
		name += synthSuffixes[r.IntN(len(synthSuffixes))]
		if seen[name] {
			name = fmt.Sprintf("%s_%d", name, len(out))
		}
		seen[name] = true
		l := LoRA{Name: name, Alias: name, Family: Family(r.IntN(4))}
		if r.IntN(5) == 0 {
			l.Alias = word() + "_" + word()
		}
		for range r.IntN(3) {
			l.Triggers = append(l.Triggers, word()+" "+word())
		}
		out = append(out, l)
	}
	return out
}

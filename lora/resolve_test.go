package lora

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestResolveTheSample(t *testing.T) {
	ix := sampleIndex(t)
	tests := []struct{ value, want string }{
		{"pixel-art-xl", "pixel-art-xl"},
		{"add_detail", "add_detail"},                // a name beats the identical alias of more_details
		{"more_details", "more_details"},            // by name
		{"studio_ghibli_v2", "ghibli_style_offset"}, // by alias
		{"PIXEL-ART-XL", "pixel-art-xl"},            // name, any case
		{"Studio_Ghibli_V2", "ghibli_style_offset"}, // alias, any case
		{"Add_Detail", "add_detail"},
		{"cyberpunk edgerunners (anime style) v2.1", "Cyberpunk Edgerunners (anime style) v2.1"},
		{"CYBERPUNK_EDGERUNNERS", "Cyberpunk Edgerunners (anime style) v2.1"},
		{"ブルーアーカイブ_STYLE", "ブルーアーカイブ_style"},
		{"  pixel-art-xl ", "pixel-art-xl"}, // stray spaces
	}
	for _, tt := range tests {
		l, err := ix.Resolve(tt.value)
		if err != nil || l.Name != tt.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tt.value, l.Name, err, tt.want)
		}
	}
}

func TestResolveUnknownSuggestsTheClosest(t *testing.T) {
	ix := sampleIndex(t)
	tests := []struct {
		value string
		want  []string // leading suggestions
	}{
		{"ghilbi", []string{"ghibli_style_offset"}},
		{"pixelart", []string{"pixel-art-xl"}},
		{"detial", []string{"add_detail", "more_details"}},
		{"revanimated_v12", []string{"revAnimated_v122"}},
		{"ghibli", []string{"ghibli_style_offset"}},
		{"qqqqqqqq", nil},
	}
	for _, tt := range tests {
		_, err := ix.Resolve(tt.value)
		var nf *NotFoundError
		if !errors.As(err, &nf) || nf.Ambiguous {
			t.Errorf("Resolve(%q) error = %v, want a NotFoundError", tt.value, err)
			continue
		}
		if len(nf.Suggestions) > 5 || len(nf.Suggestions) < len(tt.want) || !slices.Equal(nf.Suggestions[:len(tt.want)], tt.want) {
			t.Errorf("Resolve(%q) suggests %q, want %q first", tt.value, nf.Suggestions, tt.want)
		}
		if !strings.Contains(err.Error(), tt.value) {
			t.Errorf("error %q does not repeat what the user typed", err)
		}
	}
}

func TestResolveAmbiguous(t *testing.T) {
	ix := NewIndex([]LoRA{
		{Name: "style_a", Alias: "shared"},
		{Name: "style_b", Alias: "shared"},
		{Name: "Foo"},
		{Name: "foo"},
		{Name: "bar", Alias: "Shared"},
	})
	tests := []struct {
		value      string
		want       string   // resolved name, or
		candidates []string // the ambiguity
	}{
		{value: "shared", candidates: []string{"style_a", "style_b"}},
		{value: "Shared", want: "bar"}, // exact alias beats the case-insensitive ones
		{value: "SHARED", candidates: []string{"bar", "style_a", "style_b"}},
		{value: "Foo", want: "Foo"},
		{value: "foo", want: "foo"},
		{value: "FOO", candidates: []string{"Foo", "foo"}},
		{value: "style_a", want: "style_a"},
	}
	for _, tt := range tests {
		l, err := ix.Resolve(tt.value)
		if tt.candidates == nil {
			if err != nil || l.Name != tt.want {
				t.Errorf("Resolve(%q) = %q, %v; want %q", tt.value, l.Name, err, tt.want)
			}
			continue
		}
		var nf *NotFoundError
		if !errors.As(err, &nf) || !nf.Ambiguous {
			t.Errorf("Resolve(%q) = %q, %v; want ambiguous among %q", tt.value, l.Name, err, tt.candidates)
			continue
		}
		if !slices.Equal(nf.Suggestions, tt.candidates) {
			t.Errorf("Resolve(%q) candidates %q, want %q", tt.value, nf.Suggestions, tt.candidates)
		}
		for _, c := range tt.candidates {
			if !strings.Contains(err.Error(), c) {
				t.Errorf("message %q does not list %q", err, c)
			}
		}
	}
}

func TestLongNamesRoundTrip(t *testing.T) {
	prefix := strings.Repeat("abcdefghij", 12) // 120 chars shared
	jp := strings.Repeat("東方プロジェクト", 10)       // 80 runes, 240 bytes
	ls := []LoRA{
		{Name: prefix + "_one"},
		{Name: prefix + "_two"},
		{Name: prefix},
		{Name: jp + "_a"},
		{Name: jp + "_b"},
		{Name: strings.Repeat("x", 100)}, // exactly the limit: its own value
	}
	ix := NewIndex(ls)
	values := map[string]string{}
	for _, l := range ls {
		c, ok := ix.Choice(l.Name)
		if !ok {
			t.Fatalf("no choice for %q", l.Name)
		}
		if len(c.Value) > ChoiceMax || utf8.RuneCountInString(c.Value) > ChoiceMax || !utf8.ValidString(c.Value) {
			t.Errorf("value %q: %d bytes", c.Value, len(c.Value))
		}
		if other, dup := values[c.Value]; dup {
			t.Errorf("%q and %q share the value %q", l.Name, other, c.Value)
		}
		values[c.Value] = l.Name
		got, err := ix.Resolve(c.Value)
		if err != nil || got.Name != l.Name {
			t.Errorf("Resolve(value of %.30q…) = %.30q, %v", l.Name, got.Name, err)
		}
		// What search offers is the same value.
		found := false
		for _, sc := range ix.Search(l.Name, SearchOptions{}) {
			found = found || sc == c
		}
		if !found {
			t.Errorf("Search(own name) does not offer %q", c.Value)
		}
	}
	if v, _ := ix.Choice(strings.Repeat("x", 100)); v.Value != strings.Repeat("x", 100) {
		t.Errorf("a 100-byte name got value %q", v.Value)
	}
	// A value from an earlier snapshot still resolves after a rebuild.
	c, _ := ix.Choice(prefix + "_two")
	if l, err := NewIndex(slices.Clone(ls[1:])).Resolve(c.Value); err != nil || l.Name != prefix+"_two" {
		t.Errorf("value after rebuild: %q, %v", l.Name, err)
	}
}

func TestEveryValueOf10000RoundTrips(t *testing.T) {
	ls := synthLoRAs(10000, 1)
	for i := range 50 { // long names sharing long prefixes
		ls = append(ls, LoRA{Name: strings.Repeat("long shared prefix ", 7) + fmt.Sprint(i)})
	}
	ix := NewIndex(ls)
	if ix.Len() != len(ls) {
		t.Fatalf("Len = %d, want %d", ix.Len(), len(ls))
	}
	seen := make(map[string]bool, len(ls))
	for _, l := range ix.All() {
		c, _ := ix.Choice(l.Name)
		if seen[c.Value] {
			t.Fatalf("value %q offered twice", c.Value)
		}
		seen[c.Value] = true
		got, err := ix.Resolve(c.Value)
		if err != nil || got.Name != l.Name {
			t.Fatalf("Resolve(value %q of %q) = %q, %v", c.Value, l.Name, got.Name, err)
		}
	}
	// Typing a whole name offers it first (sampled: each search scans all).
	for i, l := range ix.All() {
		if i%97 != 0 {
			continue
		}
		got := ix.Search(l.Name, SearchOptions{})
		if len(got) == 0 || got[0].Value != mustChoice(t, ix, l.Name).Value {
			t.Errorf("Search(%q) first = %v", l.Name, got)
		}
	}
}

func mustChoice(t *testing.T, ix *Index, name string) Choice {
	t.Helper()
	c, ok := ix.Choice(name)
	if !ok {
		t.Fatalf("no choice for %q", name)
	}
	return c
}

func TestIndexAllAndGet(t *testing.T) {
	ix := sampleIndex(t)
	var got []string
	for _, l := range ix.All() {
		got = append(got, l.Name)
	}
	want := []string{"add_detail", "Cyberpunk Edgerunners (anime style) v2.1", "furniture_midcentury.v1", "ghibli_style_offset",
		"more_details", "pixel-art-xl", "revAnimated_v122", "ブルーアーカイブ_style"}
	if !slices.Equal(got, want) || ix.Len() != len(want) {
		t.Errorf("All = %q (Len %d), want %q", got, ix.Len(), want)
	}
	if _, ok := ix.Get("PIXEL-ART-XL"); ok {
		t.Error("Get is exact, yet found PIXEL-ART-XL")
	}
	if l, ok := ix.Get("pixel-art-xl"); !ok || l.Family != FamilySDXL {
		t.Errorf("Get(pixel-art-xl) = %+v, %v", l, ok)
	}
	empty := NewIndex(nil)
	if empty.Len() != 0 || len(empty.Search("x", SearchOptions{})) != 0 || len(empty.Search("", SearchOptions{})) != 0 {
		t.Error("an empty index offers something")
	}
	if _, err := empty.Resolve("x"); err == nil {
		t.Error("an empty index resolved x")
	}
}

package lora

import (
	"testing"

	"lorabot/a1111"
)

func TestIsExplicitTag(t *testing.T) {
	for tag, want := range map[string]bool{
		"nsfw": true, "completely_nude": true, "Large Nipples": true, "topless": true, "NUDE-female": true,
		"1girl": false, "unisex": false, "sussex": false, "pixel art": false, "": false, "nudibranch": false,
	} {
		if got := IsExplicitTag(tag); got != want {
			t.Errorf("IsExplicitTag(%q) = %v, want %v", tag, got, want)
		}
	}
}

func TestMetaNSFW(t *testing.T) {
	type freq = map[string]map[string]int
	tests := []struct {
		name     string
		specTags string
		freq     freq
		want     bool
	}{
		{"no metadata", "", nil, false},
		{"modelspec.tags says so", "character, nsfw", nil, true},
		{"modelspec.tags harmless", "style, anime", freq{"10_x": {"x style": 10}}, false},
		{"explicit tag most frequent", "", freq{"10_x": {"nude": 30, "1girl": 20}}, true},
		// 40 images (the trigger tag is on every one), 12 of them nude:
		// 30 %, although nude is a twentieth of all the counts.
		{"over the share of images", "", freq{"10_x": {"x style": 40, "1girl": 40, "nude": 12, "solo": 38, "smile": 30,
			"a": 40, "b": 40, "c": 40, "d": 40, "e": 40, "f": 40, "g": 40, "h": 40, "i": 40, "j": 40}}, true},
		{"under the share", "", freq{"10_x": {"x style": 40, "nude": 8}}, false},
		// Several explicit tags on the same images count those images once.
		{"explicit images not double counted", "", freq{"10_x": {"x style": 100, "nude": 15, "nipples": 15, "nsfw": 15}}, false},
		{"summed over datasets", "", freq{"10_a": {"a": 50, "nude": 5}, "5_b": {"b": 50, "topless": 30}}, true},
	}
	for _, tt := range tests {
		if got := metaNSFW(tt.specTags, tt.freq); got != tt.want {
			t.Errorf("%s: metaNSFW = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// The sample catalog is a SFW folder; a LoRA trained on explicit captions
// comes out NSFW through the catalog, as the bot loads it.
func TestCatalogMarksNSFWFromMetadata(t *testing.T) {
	for _, l := range sampleIndex(t).All() {
		if l.NSFW {
			t.Errorf("%s of the sample catalog is marked NSFW", l.Name)
		}
	}
	c := NewCatalog([]Source{&fakeSource{loras: []a1111.LoRA{
		{Name: "lewd_v1", Meta: a1111.LoRAMeta{TagFrequency: map[string]map[string]int{"10_lewd": {"lewd style": 20, "nude": 18, "1girl": 20}}}},
		{Name: "castle_v1", Meta: a1111.LoRAMeta{TagFrequency: map[string]map[string]int{"10_castle": {"castle": 20, "sky": 18}}}},
	}}}, CatalogOptions{})
	if _, err := c.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"lewd_v1": true, "castle_v1": false} {
		if l, ok := c.Index().Get(name); !ok || l.NSFW != want {
			t.Errorf("%s: NSFW %v, want %v", name, l.NSFW, want)
		}
	}
}

func TestOverlayIsTheFirstSource(t *testing.T) {
	idx := sampleIndex(t)
	yes, no := true, false
	r := WithOverrides(idx, map[string]Override{
		"pixel-art-xl":     {Triggers: []string{"pixelated", "8-bit"}, Weight: 0.8, NSFW: &yes},
		"revAnimated_v122": {NSFW: &no},
	})
	l, err := r.Resolve("PIXEL-ART-XL")
	if err != nil {
		t.Fatal(err)
	}
	if l.Name != "pixel-art-xl" || len(l.Triggers) != 2 || l.Triggers[0] != "pixelated" || l.PreferredWeight != 0.8 || !l.NSFW {
		t.Errorf("the server's settings must win: %+v", l)
	}
	own, _ := idx.Get("pixel-art-xl")
	if own.NSFW || own.PreferredWeight != 0 || own.Triggers[0] != "pixel art" {
		t.Errorf("the shared index must not change: %+v", own)
	}
	// Only what the server set changes; the rest is the LoRA's own.
	l, _ = r.Resolve("revAnimated_v122")
	if own, _ := idx.Get("revAnimated_v122"); l.NSFW || len(l.Triggers) != len(own.Triggers) || l.Triggers[0] != own.Triggers[0] {
		t.Errorf("an NSFW mark alone keeps the triggers: %+v", l)
	}
	if _, err := r.Resolve("pixelart_v9"); err == nil {
		t.Error("an unknown name stays unknown")
	}
	if WithOverrides(idx, nil) != Resolver(idx) {
		t.Error("no overrides: the index itself")
	}
}

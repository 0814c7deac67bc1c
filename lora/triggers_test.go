package lora

import (
	"slices"
	"testing"
)

func TestSplitTriggers(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"pixel art, game sprite", []string{"pixel art", "game sprite"}},
		{" a ,, b ,", []string{"a", "b"}},
		{"  ", nil},
		{"", nil},
		{"one", []string{"one"}},
	}
	for _, tt := range tests {
		if got := SplitTriggers(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("SplitTriggers(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTopTag(t *testing.T) {
	tests := []struct {
		name string
		freq map[string]map[string]int
		want string
	}{
		{"most frequent", map[string]map[string]int{"10_x": {"1girl": 40, "3dmm style": 52}}, "3dmm style"},
		{"summed over datasets", map[string]map[string]int{"a": {"x": 10, "y": 6}, "b": {"y": 6}}, "y"},
		{"ties alphabetical", map[string]map[string]int{"a": {"b": 5, "a": 5, "c": 5}}, "a"},
		{"none", nil, ""},
		{"blank tags skipped", map[string]map[string]int{"a": {" ": 50, "real": 1}}, "real"},
	}
	for _, tt := range tests {
		if got := topTag(tt.freq); got != tt.want {
			t.Errorf("%s: topTag = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestSampleTriggersFromMetadata(t *testing.T) {
	ix := sampleIndex(t)
	want := map[string][]string{
		"pixel-art-xl":                             {"pixel art", "game sprite"}, // modelspec.trigger_phrase beats the tags
		"revAnimated_v122":                         {"3dmm style"},               // most frequent tag
		"ghibli_style_offset":                      {"ghibli style"},
		"Cyberpunk Edgerunners (anime style) v2.1": {"edgerunners style"}, // summed over two datasets
		"add_detail":                               nil,
	}
	for name, w := range want {
		if l, _ := ix.Get(name); !slices.Equal(l.Triggers, w) {
			t.Errorf("%s: triggers %q, want %q", name, l.Triggers, w)
		}
	}
}

package gen

import (
	"fmt"
	"slices"
	"testing"
)

func presetNames(ps []Preset) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

func presetsNamed(names ...string) []Preset {
	out := make([]Preset, len(names))
	for i, n := range names {
		out[i] = Preset{Name: n}
	}
	return out
}

func TestMatchPresetsRanksBestFirst(t *testing.T) {
	all := presetsNamed("Moody dark", "darkroom", "Dark", "neon-dark", "Undark", "anime", "Darker Fantasy")
	cases := []struct {
		query string
		limit int
		want  []string
	}{
		// exact, then prefixes, then word starts, then anywhere; name order within a rank.
		{"dark", 0, []string{"Dark", "Darker Fantasy", "darkroom", "Moody dark", "neon-dark", "Undark"}},
		{"  DARK ", 0, []string{"Dark", "Darker Fantasy", "darkroom", "Moody dark", "neon-dark", "Undark"}},
		{"dark", 2, []string{"Dark", "Darker Fantasy"}},
		{"fan", 0, []string{"Darker Fantasy"}},
		{"zzz", 0, []string{}},
		{"", 3, []string{"anime", "Dark", "Darker Fantasy"}},
		{"", 0, []string{"anime", "Dark", "Darker Fantasy", "darkroom", "Moody dark", "neon-dark", "Undark"}},
	}
	for _, c := range cases {
		got := presetNames(MatchPresets(all, c.query, c.limit))
		if !slices.Equal(got, c.want) {
			t.Errorf("MatchPresets(%q, %d) = %q, want %q", c.query, c.limit, got, c.want)
		}
	}
}

func TestMatchPresetsWordStartAfterEarlierInnerMatch(t *testing.T) {
	// "ark" first occurs inside "dark", then at the start of a word.
	got := presetNames(MatchPresets(presetsNamed("xarky", "dark ark"), "ark", 0))
	if want := []string{"dark ark", "xarky"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestMatchPresetsNonASCII(t *testing.T) {
	got := presetNames(MatchPresets(presetsNamed("Ärger", "café noir", "CAFÉ"), "café", 0))
	if want := []string{"CAFÉ", "café noir"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	got = presetNames(MatchPresets(presetsNamed("Ärger", "der ärger"), "ÄR", 0))
	if want := []string{"Ärger", "der ärger"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestMatchPresetsLeavesInputAlone(t *testing.T) {
	in := presetsNamed("b", "a", "ab")
	before := slices.Clone(in)
	MatchPresets(in, "a", 1)
	if !slices.Equal(in, before) {
		t.Errorf("input changed: %q", presetNames(in))
	}
}

func BenchmarkMatchPresets50(b *testing.B) {
	ps := make([]Preset, 50)
	for i := range ps {
		ps[i] = Preset{Name: fmt.Sprintf("Style %02d anime portrait", i)}
	}
	b.ReportAllocs()
	for b.Loop() {
		MatchPresets(ps, "an", 25)
	}
}

package lora

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSearchRanksTheSampleLikeAPerson(t *testing.T) {
	ix := sampleIndex(t)
	tests := []struct {
		query string
		want  []string // the first results, in order
		only  bool     // and nothing else
	}{
		{"pixel", []string{"pixel-art-xl"}, true},
		{"PIXEL", []string{"pixel-art-xl"}, true},
		{"pixel art", []string{"pixel-art-xl"}, true}, // space matches '-'
		{"pixel_art_xl", []string{"pixel-art-xl"}, true},
		{"pixl", []string{"pixel-art-xl"}, true},             // a letter missing
		{"ghilbi", []string{"ghibli_style_offset"}, true},    // two letters swapped
		{"gibli", []string{"ghibli_style_offset"}, true},     // a letter missing
		{"studio", []string{"ghibli_style_offset"}, true},    // by alias
		{"game sprite", []string{"pixel-art-xl"}, true},      // by trigger
		{"blue archive", []string{"ブルーアーカイブ_style"}, true},   // by trigger
		{"ブルー", []string{"ブルーアーカイブ_style"}, true},            // non-Latin prefix
		{"アーカイブ", []string{"ブルーアーカイブ_style"}, true},          // non-Latin substring
		{"ブルーアーカイブ_style", []string{"ブルーアーカイブ_style"}, true}, // exact
		{"edgerunners", []string{"Cyberpunk Edgerunners (anime style) v2.1"}, true},
		{"anime style", []string{"Cyberpunk Edgerunners (anime style) v2.1"}, true}, // word after '('
		{"cyberpunk edgerunners (anime style) v2.1", []string{"Cyberpunk Edgerunners (anime style) v2.1"}, true},
		{"midcentury", []string{"furniture_midcentury.v1"}, true},
		{"furniture_midcentury.v1", []string{"furniture_midcentury.v1"}, true},
		// add_detail is the name of one LoRA and the alias of more_details:
		// the name match comes first.
		{"add_detail", []string{"add_detail", "more_details"}, true},
		{"add", []string{"add_detail", "more_details"}, true},
		{"detail", []string{"add_detail", "more_details"}, true},
		{"more", []string{"more_details"}, false}, // then "modern" in a trigger, one typo away
		// Several word matches: shorter names first.
		{"style", []string{"ブルーアーカイブ_style", "ghibli_style_offset", "Cyberpunk Edgerunners (anime style) v2.1", "revAnimated_v122"}, true},
		{"xyzzy", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			got := names(ix.Search(tt.query, SearchOptions{}))
			if tt.only && !slices.Equal(got, tt.want) || len(got) < len(tt.want) || !slices.Equal(got[:len(tt.want)], tt.want) {
				t.Errorf("Search(%q) = %q, want %q", tt.query, got, tt.want)
			}
		})
	}
}

func TestSearchPrefixBeatsWordBeatsSubstringBeatsTypo(t *testing.T) {
	ix := NewIndex([]LoRA{
		{Name: "xx_portraitstyle"},                             // substring
		{Name: "portrajt_thing"},                               // one typo
		{Name: "old_portrait"},                                 // word prefix
		{Name: "portrait_lighting"},                            // prefix
		{Name: "sunset", Triggers: []string{"portrait light"}}, // prefix of a trigger
		{Name: "portrait-x"},                                   // prefix, shorter
	})
	got := names(ix.Search("portrait", SearchOptions{}))
	want := []string{"portrait-x", "portrait_lighting", "sunset", "old_portrait", "xx_portraitstyle", "portrajt_thing"}
	if !slices.Equal(got, want) {
		t.Errorf("Search(portrait) = %q, want %q", got, want)
	}
	// Once a LoRA matches exactly, the user typed a real name: no typo
	// matches are added.
	ix = NewIndex([]LoRA{{Name: "portrait"}, {Name: "portrajt_thing"}, {Name: "a-portrait"}})
	if got, want := names(ix.Search("portrait", SearchOptions{})), []string{"portrait", "a-portrait"}; !slices.Equal(got, want) {
		t.Errorf("Search(portrait) with an exact match = %q, want %q", got, want)
	}
	// Separators count only to break ties between exact matches.
	ix = NewIndex([]LoRA{{Name: "tears-castle"}, {Name: "tears_castle"}, {Name: "Tears Castle"}})
	for q, first := range map[string]string{"tears_castle": "tears_castle", "tears castle": "Tears Castle", "TEARS-CASTLE": "tears-castle"} {
		if got := names(ix.Search(q, SearchOptions{})); len(got) != 3 || got[0] != first {
			t.Errorf("Search(%q) = %q, want %q first of 3", q, got, first)
		}
	}
}

func TestSearchPrefersTheFamilyAmongEquals(t *testing.T) {
	ix := NewIndex([]LoRA{
		{Name: "anime_lineart", Family: FamilySD1},
		{Name: "anime_lineart_xl", Family: FamilySDXL},
		{Name: "anime_v2", Family: FamilySD2},
		{Name: "my_anime", Family: FamilySDXL},
	})
	tests := []struct {
		prefer Family
		want   []string
	}{
		// Prefix matches come before the word match whatever the family;
		// among them the preferred family first, then shorter names.
		{FamilySDXL, []string{"anime_lineart_xl", "anime_v2", "anime_lineart", "my_anime"}},
		{FamilySD1, []string{"anime_lineart", "anime_v2", "anime_lineart_xl", "my_anime"}},
		{FamilyUnknown, []string{"anime_v2", "anime_lineart", "anime_lineart_xl", "my_anime"}},
	}
	for _, tt := range tests {
		if got := names(ix.Search("anime", SearchOptions{Prefer: tt.prefer})); !slices.Equal(got, tt.want) {
			t.Errorf("Search(anime, prefer %v) = %q, want %q", tt.prefer, got, tt.want)
		}
	}
}

func TestSearchEmptyQueryListsPreferredFamilyFirst(t *testing.T) {
	ix := sampleIndex(t)
	all := []string{"add_detail", "Cyberpunk Edgerunners (anime style) v2.1", "furniture_midcentury.v1", "ghibli_style_offset",
		"more_details", "pixel-art-xl", "revAnimated_v122", "ブルーアーカイブ_style"}
	if got := names(ix.Search("  ", SearchOptions{})); !slices.Equal(got, all) {
		t.Errorf("empty query = %q, want %q", got, all)
	}
	sdxlFirst := []string{"furniture_midcentury.v1", "pixel-art-xl", "ブルーアーカイブ_style",
		"add_detail", "Cyberpunk Edgerunners (anime style) v2.1", "ghibli_style_offset", "more_details", "revAnimated_v122"}
	if got := names(ix.Search("", SearchOptions{Prefer: FamilySDXL})); !slices.Equal(got, sdxlFirst) {
		t.Errorf("empty query preferring SDXL = %q, want %q", got, sdxlFirst)
	}
	if got := names(ix.Search("", SearchOptions{Prefer: FamilySDXL, Limit: 2})); !slices.Equal(got, sdxlFirst[:2]) {
		t.Errorf("empty query, limit 2 = %q, want %q", got, sdxlFirst[:2])
	}
}

func TestSearchNeverOffersMoreThan25(t *testing.T) {
	var ls []LoRA
	for i := range 100 {
		ls = append(ls, LoRA{Name: fmt.Sprintf("style_%03d", i), Family: Family(i % 4)})
	}
	ix := NewIndex(ls)
	for _, tt := range []struct {
		query      string
		limit, len int
	}{
		{"style", 0, 25}, {"style", 40, 25}, {"style", 5, 5}, {"", 0, 25}, {"0", 0, 25}, {"styl", 3, 3},
	} {
		got := ix.Search(tt.query, SearchOptions{Limit: tt.limit})
		if len(got) != tt.len {
			t.Errorf("Search(%q, limit %d) gave %d choices, want %d", tt.query, tt.limit, len(got), tt.len)
		}
	}
	// The 25 are the best 25, not the first 25 met: the preferred family's.
	for _, c := range ix.Search("style", SearchOptions{Prefer: FamilySD2}) {
		if l, _ := ix.Get(c.Value); l.Family != FamilySD2 {
			t.Errorf("preferring SD2, got %s of %v among 25 equal matches (25 SD2 ones exist)", l.Name, l.Family)
		}
	}
}

func TestSearchFindsOddNames(t *testing.T) {
	ix := NewIndex([]LoRA{
		{Name: "Detail Tweaker (LoRA) v1.0"},
		{Name: "hand.fix.v2"},
		{Name: "東方_reimu"},
		{Name: "Ünïcödé_Stÿle"},
		{Name: "Пиксель арт"},
		{Name: "x"},
	})
	tests := []struct{ query, want string }{
		{"detail tweaker", "Detail Tweaker (LoRA) v1.0"},
		{"tweaker", "Detail Tweaker (LoRA) v1.0"},
		{"lora", "Detail Tweaker (LoRA) v1.0"},
		{"(lora)", "Detail Tweaker (LoRA) v1.0"},
		{"v1.0", "Detail Tweaker (LoRA) v1.0"},
		{"hand fix", "hand.fix.v2"},
		{"fix", "hand.fix.v2"},
		{"東方", "東方_reimu"},
		{"reimu", "東方_reimu"},
		{"ünïcödé", "Ünïcödé_Stÿle"},
		{"STŸLE", "Ünïcödé_Stÿle"},
		{"пиксель", "Пиксель арт"},
		{"пиксел арт", "Пиксель арт"}, // a Cyrillic letter missing
		{"x", "x"},
	}
	for _, tt := range tests {
		got := names(ix.Search(tt.query, SearchOptions{}))
		if len(got) == 0 || got[0] != tt.want {
			t.Errorf("Search(%q) = %q, want %q first", tt.query, got, tt.want)
		}
	}
}

func TestSearchToleratesTyposButNotNoise(t *testing.T) {
	ix := NewIndex(synthLoRAs(2000, 7))
	// Every name of the synthetic vocabulary, mistyped once, finds LoRAs
	// containing the word.
	for _, tt := range []struct{ typo, word string }{
		{"portriat", "portrait"}, {"watercolr", "watercolor"}, {"cyberpnuk", "cyberpunk"},
		{"steampunc", "steampunk"}, {"lanscape", "landscape"}, {"kimnoo", "kimono"},
	} {
		got := ix.Search(tt.typo, SearchOptions{})
		if len(got) == 0 {
			t.Errorf("Search(%q) found nothing; want LoRAs with %q", tt.typo, tt.word)
			continue
		}
		l, _ := ix.Resolve(got[0].Value)
		if !hasWord(l, tt.word) {
			t.Errorf("Search(%q) first = %q, which has no %q", tt.typo, got[0].Name, tt.word)
		}
	}
	// Short queries are not fuzzed: three letters with a typo match too much.
	for _, c := range ix.Search("xqz", SearchOptions{}) {
		t.Errorf("Search(xqz) offered %q", c.Name)
	}
}

func hasWord(l LoRA, w string) bool {
	for _, s := range append([]string{l.Name, l.Alias}, l.Triggers...) {
		if strings.Contains(strings.ToLower(s), w) {
			return true
		}
	}
	return false
}

func TestChoicesFitDiscord(t *testing.T) {
	long := strings.Repeat("very_long_name_", 10) // 150 runes
	jp := strings.Repeat("ブルーアーカイブ", 15)          // 120 runes, 360 bytes
	ix := NewIndex([]LoRA{
		{Name: long + "a", Alias: "short", Family: FamilySDXL, Triggers: []string{"trigger"}},
		{Name: long + "b", Family: FamilySD1},
		{Name: jp, Triggers: []string{jp}},
		{Name: "short_name", Alias: strings.Repeat("alias", 30), Family: FamilySD1, Triggers: []string{strings.Repeat("word, ", 30)}},
		{Name: "pixel-art-xl", Family: FamilySDXL, Triggers: []string{"pixel art", "game sprite"}},
		{Name: "ctl\nname\t"},
	})
	for _, c := range ix.Search("", SearchOptions{}) {
		if n := utf8.RuneCountInString(c.Name); n < 1 || n > 100 {
			t.Errorf("choice name %q has %d runes", c.Name, n)
		}
		if len(c.Value) > 100 || c.Value == "" {
			t.Errorf("choice value %q has %d bytes", c.Value, len(c.Value))
		}
		if strings.ContainsAny(c.Name, "\n\t") {
			t.Errorf("choice name %q has control characters", c.Name)
		}
	}
	want := map[string]string{
		"pixel-art-xl": "pixel-art-xl · SDXL · pixel art",
		long + "b":     long[:89] + "…" + " · SD1", // cut after "name", not in "very"
		"short_name":   "short_name (" + strings.Repeat("alias", 13) + "…) · SD1 · word, word…",
	}
	for name, w := range want {
		c, _ := ix.Choice(name)
		if c.Name != w {
			t.Errorf("choice name of %.20q…\n got %q\nwant %q", name, c.Name, w)
		}
	}
	if c, _ := ix.Choice(long + "a"); !strings.HasSuffix(c.Name, "… · SDXL") {
		t.Errorf("a long name keeps its family visible: %q", c.Name)
	}
}

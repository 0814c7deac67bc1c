package gen

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MatchPresets ranks presets against what a user has typed so far, for the
// autocomplete of preset names. Matching ignores case and the query's
// surrounding spaces. Best first:
//
//  1. the name is the query;
//  2. the name starts with it;
//  3. a word of the name starts with it ("dark" finds "Moody dark");
//  4. the name contains it anywhere.
//
// Names of equal rank are in name order, ignoring case. Names that do not
// contain the query are left out; an empty query keeps every preset, in name
// order. At most limit presets come back (all when limit <= 0; Discord shows
// 25). presets is not modified.
func MatchPresets(presets []Preset, query string, limit int) []Preset {
	q := strings.ToLower(strings.TrimSpace(query))
	type hit struct {
		rank   int
		folded string
		i      int // into presets: a Preset is too big to copy around while sorting
	}
	hits := make([]hit, 0, len(presets))
	for i, p := range presets {
		folded := strings.ToLower(p.Name)
		if r, ok := matchRank(folded, q); ok {
			hits = append(hits, hit{r, folded, i})
		}
	}
	slices.SortStableFunc(hits, func(a, b hit) int {
		if a.rank != b.rank {
			return a.rank - b.rank
		}
		return strings.Compare(a.folded, b.folded)
	})
	if limit > 0 && len(hits) > limit {
		hits = hits[:limit]
	}
	out := make([]Preset, len(hits))
	for i, h := range hits {
		out[i] = presets[h.i]
	}
	return out
}

// matchRank is the rank of name (folded) for query q (folded), lower is
// better; ok is false when name does not contain q.
func matchRank(name, q string) (rank int, ok bool) {
	switch {
	case name == q:
		return 0, true
	case strings.HasPrefix(name, q):
		return 1, true
	}
	first := strings.Index(name, q)
	if first < 0 {
		return 0, false
	}
	for i := first; i >= 0; {
		if r, _ := utf8.DecodeLastRuneInString(name[:i]); !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return 2, true
		}
		next := strings.Index(name[i+1:], q)
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return 3, true
}

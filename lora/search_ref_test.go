package lora

import (
	"slices"
	"strings"
	"testing"
)

// refSearch is Search written the slow, obvious way: every key, every
// tier, full alignment tables, no filters or pruning. Search must agree.
func refSearch(ix *Index, keys [][]refKey, query string, prefer Family, budget func(int) int) []string {
	raw, q := strings.TrimSpace(query), strings.TrimSpace(fold(query))
	var ranks []uint64
	matched := map[int]bool{}
	exact := false
	for li := range ix.entries {
		best := noMatch
		for _, k := range keys[li] {
			t := noMatch
			switch {
			case k.s == q:
				t = tierExact
				exact = true
				if ix.verbatim(li, k.class, raw) {
					t = tierVerbatim
				}
			case strings.HasPrefix(k.s, q):
				t = tierPrefix
			default:
				for i := 1; i < len(k.s); i++ {
					if wordStart(k.s, i) && strings.HasPrefix(k.s[i:], q) {
						t = tierWord
						break
					}
				}
				if t == noMatch && strings.Contains(k.s, q) {
					t = tierSubstring
				}
			}
			if t != noMatch {
				best = min(best, score(t, k.class))
			}
		}
		if best != noMatch {
			ranks = append(ranks, ix.rankOf(li, best, prefer))
			matched[li] = true
		}
	}
	qr := []rune(q)
	k := budget(len(qr))
	if len(ranks) < ChoiceLimit && !exact && k > 0 && len(qr) <= maxFuzzyRunes {
		for li := range ix.entries {
			if matched[li] {
				continue
			}
			best := noMatch
			for _, key := range keys[li] {
				for i := 0; i < len(key.s); i++ {
					c := key.s[i]
					if i > 0 && !wordStart(key.s, i) || c < 0x80 && !isAlnumASCII(c) {
						continue
					}
					t := []rune(key.s[i:])
					t = t[:min(len(t), len(qr)+k)] // a longer prefix is more than k edits away
					if d := refPrefixOSA(qr, t); d <= k {
						best = min(best, score(tierFuzzy+d-1, key.class))
					}
				}
			}
			if best != noMatch {
				ranks = append(ranks, ix.rankOf(li, best, prefer))
			}
		}
	}
	slices.Sort(ranks)
	var out []string
	for _, r := range ranks[:min(len(ranks), ChoiceLimit)] {
		out = append(out, ix.entries[uint32(r)].choice.Value)
	}
	return out
}

type refKey struct {
	s     string
	class uint8
}

// refKeys are the keys of every entry: folded name, alias and first
// triggers, without repeats.
func refKeys(ix *Index) [][]refKey {
	out := make([][]refKey, len(ix.entries))
	for li := range ix.entries {
		e := &ix.entries[li]
		add := func(s string, c uint8) {
			f := fold(s)
			if f == "" || slices.ContainsFunc(out[li], func(k refKey) bool { return k.s == f }) {
				return
			}
			out[li] = append(out[li], refKey{f, c})
		}
		add(e.Name, keyName)
		add(e.Alias, keyAlias)
		for i, t := range e.Triggers {
			if i < maxTriggerKeys {
				add(t, keyTrigger)
			}
		}
	}
	return out
}

// refPrefixOSA is the full optimal-string-alignment table of q against t,
// the least distance to any prefix of t.
func refPrefixOSA(q, t []rune) int {
	d := make([][]int, len(q)+1)
	for i := range d {
		d[i] = make([]int, len(t)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(q); i++ {
		for j := 1; j <= len(t); j++ {
			cost := 1
			if q[i-1] == t[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j-1]+cost, d[i-1][j]+1, d[i][j-1]+1)
			if i > 1 && j > 1 && q[i-1] == t[j-2] && q[i-2] == t[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return slices.Min(d[len(q)])
}

func TestSearchAgreesWithTheObviousImplementation(t *testing.T) {
	ix := NewIndex(append(synthLoRAs(500, 3), sampleIndex(t).All()...))
	keys := refKeys(ix)
	queries := benchQueries(ix)
	queries = append(queries, "ghibli styel", "pxiel", "detial", "blu archive", "edgerunnres", "oil paintnig", "ウマ", "鬼滅",
		"protrait_beach", "sunst", "gothc", "v2", "(1)", "a b", "e8", "lowpoly voxle",
		"rpotrait", "aimne", "xportrait", "xortrait", "qimono", "iwtch hat")
	for _, q := range queries {
		for _, prefer := range []Family{FamilyUnknown, FamilySDXL} {
			got := names(ix.Search(q, SearchOptions{Prefer: prefer}))
			want := refSearch(ix, keys, q, prefer, typoBudget)
			if !slices.Equal(got, want) {
				t.Errorf("Search(%q, prefer %v)\n got %q\nwant %q", q, prefer, got, want)
			}
		}
		// Suggest ranks the same way with a larger budget, returning names.
		var want []string
		for _, v := range refSearch(ix, keys, q, FamilyUnknown, suggestBudget) {
			l, _ := ix.Resolve(v)
			want = append(want, l.Name)
		}
		if got := ix.Suggest(q, ChoiceLimit); !slices.Equal(got, want) {
			t.Errorf("Suggest(%q)\n got %q\nwant %q", q, got, want)
		}
	}
}

package lora

import (
	"math/bits"
	"slices"
	"strings"
	"unicode/utf8"
)

// ChoiceLimit is Discord's maximum number of autocomplete choices.
const ChoiceLimit = 25

// SearchOptions tune Search.
type SearchOptions struct {
	Limit  int    // at most ChoiceLimit; 0 means ChoiceLimit
	Prefer Family // LoRAs of this family rank first among equals; FamilyUnknown prefers none
}

// Match tiers, best first. Within a tier, the key class decides (see
// keyName): score = tier*3 + class.
const (
	tierVerbatim = iota // exact, separators included (case still ignored)
	tierExact
	tierPrefix
	tierWord
	tierSubstring
	tierFuzzy // plus the number of typos, minus one
	noMatch   = 0xFF
)

// Search ranks the LoRAs for what a person has typed so far. It compares the
// query with every LoRA's name, alias and first trigger words,
// case-insensitively, Unicode-aware, and with '_', '-', '.' and space taken
// as the same character. Ranking, best first:
//
//  1. exact, separators included ("a_b" above "a-b")
//  2. exact
//  3. prefix
//  4. prefix of a word: after a space, punctuation, or a change between
//     letters and digits
//  5. substring
//  6. a word start within one typo (two for queries of ten runes or more,
//     none under four runes), fewer typos first; tried only when the tiers
//     above leave room and nothing matched exactly (a whole name typed is
//     no typo)
//
// Within a tier a name match beats an alias match, which beats a trigger
// match. Ties go to LoRAs of opt.Prefer, then the shorter name, then
// alphabetical order. An empty query lists the first LoRAs: opt.Prefer's
// family first, each part alphabetical.
func (ix *Index) Search(query string, opt SearchOptions) []Choice {
	limit := opt.Limit
	if limit <= 0 || limit > ChoiceLimit {
		limit = ChoiceLimit
	}
	q := strings.TrimSpace(fold(query))
	if q == "" {
		return ix.firstChoices(opt.Prefer, limit)
	}
	var top topK
	top.limit = limit
	ix.rank(strings.TrimSpace(query), q, opt.Prefer, typoBudget, &top)
	out := make([]Choice, top.n)
	for j := range out {
		out[j] = ix.entries[uint32(top.r[j])].choice
	}
	return out
}

// Suggest returns up to n names closest to query, best first, for "did you
// mean" in error messages. It ranks like Search, forgiving more typos, and
// returns nothing for an empty query.
func (ix *Index) Suggest(query string, n int) []string {
	n = min(n, ChoiceLimit)
	q := strings.TrimSpace(fold(query))
	if n <= 0 || q == "" {
		return nil
	}
	var top topK
	top.limit = n
	ix.rank(strings.TrimSpace(query), q, FamilyUnknown, suggestBudget, &top)
	if top.n == 0 {
		// Nothing holds the query even with typos, e.g. "pixelart_xl_v9"
		// for pixel-art-xl: compare whole names instead.
		names := make([]string, len(ix.entries))
		for i := range ix.entries {
			names[i] = ix.entries[i].Name
		}
		return Closest(query, names, n)
	}
	out := make([]string, top.n)
	for j := range out {
		out[j] = ix.entries[uint32(top.r[j])].Name
	}
	return out
}

func (ix *Index) firstChoices(prefer Family, limit int) []Choice {
	lists := [2][]int32{ix.firstAll}
	if prefer != FamilyUnknown && prefer < familyCount {
		lists = [2][]int32{ix.first[prefer], ix.firstNot[prefer]}
	}
	out := make([]Choice, 0, min(limit, len(ix.entries)))
	for _, l := range lists {
		for _, i := range l {
			if len(out) == limit {
				return out
			}
			out = append(out, ix.entries[i].choice)
		}
	}
	return out
}

// rank fills top with the best matches of q, the folded, trimmed, non-empty
// form of raw. Each LoRA counts once, by its best key.
//
// The scan is the hot loop of autocomplete: it first tests each LoRA's
// combined character mask (a dense array that stays in cache), and reads
// keys only for LoRAs that may match. Once top is full, tiers worse than its
// worst entry are no longer looked for.
func (ix *Index) rank(raw, q string, prefer Family, budget func(int) int, top *topK) {
	qm := charMask(q)
	worst := noMatch
	exact := false
	for li, lm := range ix.loraMasks {
		if qm&^lm != 0 {
			continue
		}
		best := noMatch
		keys := ix.keys[ix.keyStart[li]:ix.keyStart[li+1]]
		for ki := range keys {
			k := &keys[ki]
			if int(k.n) < len(q) || qm&^k.mask != 0 {
				continue
			}
			t := matchTier(k, ix.text(k), q, worst)
			if t == noMatch {
				continue
			}
			if t == tierExact {
				exact = true
				if ix.verbatim(li, k.class, raw) {
					t = tierVerbatim
				}
			}
			if s := score(t, k.class); s < best {
				best = s
			}
			if best == 0 {
				break
			}
		}
		if best != noMatch {
			top.add(ix.rankOf(li, best, prefer))
			if top.n == top.limit {
				worst = int(top.r[top.n-1]>>56) / 3
			}
		}
	}
	// Someone who typed a whole name made no typo.
	if top.n < top.limit && !exact {
		ix.rankFuzzy(q, qm, prefer, budget, top)
	}
}

// rankFuzzy adds the LoRAs that match q only with typos. It runs only when
// the exact tiers left room, so every LoRA they found is in top.
func (ix *Index) rankFuzzy(q string, qm uint64, prefer Family, budget func(int) int, top *topK) {
	fq, ok := newFuzzyQuery(q, budget)
	if !ok {
		return
	}
	// The LoRAs already matched, ascending, to skip them in one sweep.
	var found [ChoiceLimit]int
	nf := top.n
	for j := 0; j < nf; j++ {
		found[j] = int(uint32(top.r[j]))
	}
	slices.Sort(found[:nf])
	minLen := fq.n - fq.k // runes; a key's bytes are at least its runes
	p := 0
	bound := ^uint64(0) // once top is full: the rank a LoRA must beat
	floor := score(tierFuzzy, keyName)
	for li, lm := range ix.loraMasks {
		if bits.OnesCount64(qm&^lm) > fq.k || !fq.mayHold(lm) || ix.rankOf(li, floor, prefer) >= bound {
			continue
		}
		for p < nf && found[p] < li {
			p++
		}
		if p < nf && found[p] == li {
			continue
		}
		best := noMatch
		keys := ix.keys[ix.keyStart[li]:ix.keyStart[li+1]]
		for ki := range keys {
			k := &keys[ki]
			if int(k.n) < minLen || bits.OnesCount64(qm&^k.mask) > fq.k {
				continue
			}
			s := ix.text(k)
			if !fq.candidate(k, s) {
				continue
			}
			if d := fq.distance(k, s); d <= fq.k {
				best = min(best, score(tierFuzzy+d-1, k.class))
			}
		}
		if best != noMatch {
			top.add(ix.rankOf(li, best, prefer))
			if top.n == top.limit {
				bound = top.r[top.n-1]
				// Full: a match needing more typos than the worst kept one
				// cannot enter, so stop paying for it.
				worst := int(top.r[top.n-1]>>56)/3 - tierFuzzy + 1
				if worst < 1 {
					return
				}
				fq.k = min(fq.k, worst)
				minLen = fq.n - fq.k
			}
		}
	}
}

// verbatim says whether the key matching exactly also matches raw with its
// separators, so that "a_b" ranks a_b above a-b.
func (ix *Index) verbatim(li int, class uint8, raw string) bool {
	e := &ix.entries[li]
	switch class {
	case keyName:
		return strings.EqualFold(e.Name, raw)
	case keyAlias:
		return strings.EqualFold(e.Alias, raw)
	}
	for _, t := range e.Triggers {
		if strings.EqualFold(t, raw) {
			return true
		}
	}
	return false
}

func score(tier int, class uint8) int { return tier*3 + int(class) }

// rankOf packs a match of entry li with score s into one comparable
// number, smaller is better: score, then not-preferred family, then name
// length, then index order (alphabetical), which also identifies the entry.
func (ix *Index) rankOf(li int, s int, prefer Family) uint64 {
	var other uint64
	if prefer != FamilyUnknown && ix.loraFams[li] != prefer {
		other = 1
	}
	return uint64(s)<<56 | other<<48 | ix.loraRanks[li]
}

// matchTier is how q occurs in the key k, or noMatch; tiers worse than
// worst are not looked for, since they could not enter the results.
func matchTier(k *searchKey, s, q string, worst int) int {
	q0 := q[0] // cheap first-byte tests before each comparison
	if s[0] == q0 && strings.HasPrefix(s, q) {
		if len(s) == len(q) {
			return tierExact
		}
		return tierPrefix
	}
	if worst < tierWord {
		return noMatch
	}
	if k.words.overflow {
		return scanTier(s, q, worst)
	}
	for _, w := range k.words.at[:k.words.n] {
		if s[w] == q0 && strings.HasPrefix(s[w:], q) {
			return tierWord
		}
	}
	if worst >= tierSubstring && strings.Contains(s[1:], q) {
		return tierSubstring
	}
	return noMatch
}

// scanTier is matchTier's word and substring tiers for keys whose word
// starts were not all recorded.
func scanTier(s, q string, worst int) int {
	tier := noMatch
	for off := 1; off+len(q) <= len(s); {
		j := strings.Index(s[off:], q)
		if j < 0 {
			break
		}
		j += off
		if wordStart(s, j) {
			return tierWord
		}
		if worst < tierSubstring {
			return noMatch // checking every occurrence would find no word start worth the time
		}
		tier = tierSubstring
		_, size := utf8.DecodeRuneInString(s[j:])
		off = j + size
	}
	return tier
}

// topK keeps the best limit ranks, sorted ascending, without allocating.
type topK struct {
	r        [ChoiceLimit]uint64
	n, limit int
}

func (t *topK) add(v uint64) {
	if t.n == t.limit {
		if v >= t.r[t.n-1] {
			return
		}
		t.n--
	}
	j := t.n
	for j > 0 && t.r[j-1] > v {
		t.r[j] = t.r[j-1]
		j--
	}
	t.r[j] = v
	t.n++
}

package lora

import (
	"strings"
	"unicode/utf8"
)

// maxFuzzyRunes bounds the queries the fuzzy tier considers: a longer query
// is no longer being typed from memory, and the bound keeps the work on the
// stack.
const maxFuzzyRunes = 32

// maxTypos is the largest budget any caller uses.
const maxTypos = 3

// typoBudget is how many edits (insert, delete, substitute, swap two
// neighbours) autocomplete forgives in a query of n runes: none below four,
// where a typo makes almost anything match, and a second from ten.
func typoBudget(n int) int {
	switch {
	case n < 4:
		return 0
	case n < 10:
		return 1
	}
	return 2
}

// suggestBudget is the more generous budget for "did you mean" suggestions,
// which are shown once, after the user has committed to the text.
func suggestBudget(n int) int {
	switch {
	case n < 3:
		return 0
	case n < 6:
		return 1
	case n < 10:
		return 2
	}
	return maxTypos
}

// fuzzyQuery is a query prepared once for the fuzzy tier.
type fuzzyQuery struct {
	r    [maxFuzzyRunes]rune
	n, k int
	// pieces cut the query into k+1 parts with one rune left out between
	// neighbours. One edit, even a swap of two neighbours, spoils at most
	// one piece, so a key within k edits contains at least one piece
	// verbatim: a few substring searches rule out most keys before any
	// alignment is computed.
	pieces     [maxTypos + 1][maxTypos + 1]string // by budget
	pieceMasks [maxTypos + 1][maxTypos + 1]uint64
	piecePairs [maxTypos + 1][maxTypos + 1]uint64
}

// newFuzzyQuery prepares q with the budget for its length; ok is false when
// the fuzzy tier does not apply.
func newFuzzyQuery(q string, budget func(int) int) (fq fuzzyQuery, ok bool) {
	var offs [maxFuzzyRunes + 1]int // byte offset of each rune, and the end
	for i, r := range q {
		if fq.n == maxFuzzyRunes {
			return fq, false
		}
		fq.r[fq.n] = r
		offs[fq.n] = i
		fq.n++
	}
	offs[fq.n] = len(q)
	fq.k = min(budget(fq.n), maxTypos)
	if fq.k <= 0 {
		return fq, false
	}
	for k := 1; k <= fq.k; k++ {
		parts := k + 1
		kept := fq.n - k // runes in pieces
		start := 0
		for p := range parts {
			size := kept / parts
			if p < kept%parts {
				size++
			}
			fq.pieces[k][p] = q[offs[start]:offs[start+size]]
			fq.pieceMasks[k][p] = charMask(fq.pieces[k][p])
			fq.piecePairs[k][p] = pairMask(fq.pieces[k][p])
			start += size + 1 // skip one rune
		}
	}
	return fq, true
}

// mayHold says whether text with character mask m may hold a piece.
func (q *fuzzyQuery) mayHold(m uint64) bool {
	for _, pm := range q.pieceMasks[q.k][:q.k+1] {
		if pm&^m == 0 {
			return true
		}
	}
	return false
}

// candidate says whether the key k, whose text is s, could be within the
// budget: it holds a piece.
func (q *fuzzyQuery) candidate(k *searchKey, s string) bool {
	for i, p := range q.pieces[q.k][:q.k+1] {
		if q.pieceMasks[q.k][i]&^k.mask == 0 && q.piecePairs[q.k][i]&^k.pairs == 0 && strings.Contains(s, p) {
			return true
		}
	}
	return false
}

// distance is the fewest edits turning q into a prefix of one of the words
// of the key k, whose text is s (a word and what follows it, since queries may span words), or k+1
// when more than the budget are needed.
func (q *fuzzyQuery) distance(k *searchKey, s string) int {
	best := q.k + 1
	try := func(at int) bool {
		if d := q.prefixDistance(s[at:]); d < best {
			best = d
		}
		return best == 0
	}
	if try(0) {
		return best
	}
	if k.words.overflow {
		for i := 1; i < len(s); i++ {
			if q.anchor(s, i) && try(i) {
				break
			}
		}
		return best
	}
	for _, w := range k.words.at[:k.words.n] {
		if q.anchor(s, int(w)) && try(int(w)) {
			break
		}
	}
	return best
}

// anchor says whether an alignment may start at s[i]: a word start that is
// a letter, digit or non-ASCII rune.
func (q *fuzzyQuery) anchor(s string, i int) bool {
	c := s[i]
	return (c >= utf8.RuneSelf || isAlnumASCII(c)) && wordStart(s, i)
}

// prefixDistance is the optimal-string-alignment distance (Damerau without
// re-editing) between q and the closest prefix of t, or k+1 when over the
// budget k. Only the diagonal band of width 2k+1 can stay within budget, so
// only it is computed, and rows stop once two in a row are over budget.
func (q *fuzzyQuery) prefixDistance(t string) int {
	const w = maxFuzzyRunes + maxTypos + 1
	k, n := q.k, q.n
	inf := k + 1
	var tr [w]rune
	m := 0
	for i := 0; i < len(t) && m < n+k; m++ {
		if c := t[i]; c < utf8.RuneSelf {
			tr[m] = rune(c)
			i++
		} else {
			r, size := utf8.DecodeRuneInString(t[i:])
			tr[m] = r
			i += size
		}
	}
	if m < n-k {
		return inf
	}
	// Within budget, one of the first k+1 query runes matches one of the
	// first k+2 key runes (k+1, plus one for a swap).
	hit := false
	for i := 0; i <= k && !hit; i++ {
		for j := 0; j <= min(k+1, m-1); j++ {
			if q.r[i] == tr[j] {
				hit = true
				break
			}
		}
	}
	if !hit {
		return inf
	}

	var rows [3][w + 1]int
	prev2, prev, cur := &rows[0], &rows[1], &rows[2]
	for j := 0; j <= min(m, k); j++ {
		prev[j] = j
	}
	if k+1 <= m {
		prev[k+1] = inf
	}
	prevMin := 0
	for i := 1; i <= n; i++ {
		lo, hi := max(1, i-k), min(m, i+k)
		if lo == 1 {
			cur[0] = i
		} else {
			cur[lo-1] = inf
		}
		rowMin := inf
		if lo == 1 && i < rowMin {
			rowMin = i
		}
		qi := q.r[i-1]
		for j := lo; j <= hi; j++ {
			v := prev[j-1]
			if qi != tr[j-1] {
				v++
			}
			if x := prev[j] + 1; x < v {
				v = x
			}
			if x := cur[j-1] + 1; x < v {
				v = x
			}
			if i > 1 && j > 1 && qi == tr[j-2] && q.r[i-2] == tr[j-1] {
				if x := prev2[j-2] + 1; x < v {
					v = x
				}
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if hi+1 <= m {
			cur[hi+1] = inf
		}
		if rowMin > k && prevMin > k {
			return inf
		}
		prevMin = rowMin
		prev2, prev, cur = prev, cur, prev2
	}
	best := inf
	for j := max(0, n-k); j <= min(m, n+k); j++ {
		best = min(best, prev[j])
	}
	return best
}

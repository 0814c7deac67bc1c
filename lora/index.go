package lora

import (
	"cmp"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// maxTriggerKeys bounds how many trigger phrases of one LoRA search looks
// at: the first few say what the LoRA is; a long activation text would only
// slow every query down.
const maxTriggerKeys = 3

// Index is an immutable snapshot of the catalog: lookups and autocomplete
// search. Every method is safe for concurrent use. The LoRAs it returns share
// their Triggers slices with the index: do not modify them.
type Index struct {
	entries     []entry     // sorted by lower-cased name, then name
	keys        []searchKey // by entry: entry i's are keys[keyStart[i]:keyStart[i+1]]
	keyStart    []uint32
	loraMasks   []uint64             // per entry: the union of its keys' masks
	loraRanks   []uint64             // per entry: the low bits of its rank (see rankOf)
	loraFams    []Family             // per entry: its family
	arena       string               // every key's folded text, end to end, so a scan reads memory in order
	aliases     map[string][]int32   // exact alias → entries, only aliases differing from the name
	foldAliases map[string][]int32   // lower-cased alias → entries, idem
	values      map[string]int32     // shortened autocomplete values → entry
	first       [familyCount][]int32 // per family: its first ChoiceLimit entries in order
	firstNot    [familyCount][]int32 // per family: the first ChoiceLimit entries of other families
	firstAll    []int32              // the first ChoiceLimit entries
}

type entry struct {
	LoRA
	lower     string // strings.ToLower(Name)
	choice    Choice
	nameRunes int32
}

// searchKey is one text search matches: a LoRA's name, alias or trigger,
// folded, with what lets a scan skip it cheaply.
type searchKey struct {
	mask  uint64 // charMask
	pairs uint64 // pairMask
	off   uint32 // the folded text is arena[off : off+n]
	n     uint16
	class uint8 // keyName, keyAlias or keyTrigger
	words wordStarts
}

// Key classes: at the same tier, a name match beats an alias match, which
// beats a trigger match.
const (
	keyName = iota
	keyAlias
	keyTrigger
)

// NewIndex builds a snapshot of loras. Entries with an empty name are
// dropped, and of several with the same name the first is kept.
func NewIndex(loras []LoRA) *Index { return newIndex(loras, slog.Default()) }

func newIndex(loras []LoRA, log *slog.Logger) *Index {
	ix := &Index{}
	seen := make(map[string]struct{}, len(loras))
	ix.entries = make([]entry, 0, len(loras))
	for _, l := range loras {
		if l.Name == "" {
			continue
		}
		if _, dup := seen[l.Name]; dup {
			continue
		}
		seen[l.Name] = struct{}{}
		if l.Alias == "" {
			l.Alias = l.Name
		}
		if l.Family >= familyCount {
			l.Family = FamilyUnknown
		}
		ix.entries = append(ix.entries, entry{LoRA: l, lower: strings.ToLower(l.Name)})
	}
	slices.SortFunc(ix.entries, func(a, b entry) int {
		return cmp.Or(strings.Compare(a.lower, b.lower), strings.Compare(a.Name, b.Name))
	})

	ix.keys = make([]searchKey, 0, len(ix.entries)*2)
	ix.keyStart = make([]uint32, 0, len(ix.entries)+1)
	ix.loraMasks = make([]uint64, 0, len(ix.entries))
	ix.loraRanks = make([]uint64, 0, len(ix.entries))
	ix.loraFams = make([]Family, 0, len(ix.entries))
	var arena strings.Builder
	for i := range ix.entries {
		e := &ix.entries[i]
		e.nameRunes = int32(utf8.RuneCountInString(e.Name))
		e.choice = Choice{Name: choiceName(e.LoRA), Value: choiceValue(e.Name, valueHashLen)}
		if e.choice.Value != e.Name {
			ix.addValue(i, seen, log)
		}
		ix.keyStart = append(ix.keyStart, uint32(len(ix.keys)))
		ix.addKeys(&arena, e)
		var m uint64
		for _, k := range ix.keys[ix.keyStart[i]:] {
			m |= k.mask
		}
		ix.loraMasks = append(ix.loraMasks, m)
		ix.loraRanks = append(ix.loraRanks, uint64(min(e.nameRunes, 0xFFFF))<<32|uint64(i))
		ix.loraFams = append(ix.loraFams, e.Family)
		if e.Alias != e.Name {
			ix.aliases = addTo(ix.aliases, e.Alias, int32(i))
			ix.foldAliases = addTo(ix.foldAliases, strings.ToLower(e.Alias), int32(i))
		}
		if len(ix.firstAll) < ChoiceLimit {
			ix.firstAll = append(ix.firstAll, int32(i))
		}
		f := e.Family
		if len(ix.first[f]) < ChoiceLimit {
			ix.first[f] = append(ix.first[f], int32(i))
		}
		for g := range ix.firstNot {
			if Family(g) != f && len(ix.firstNot[g]) < ChoiceLimit {
				ix.firstNot[g] = append(ix.firstNot[g], int32(i))
			}
		}
	}
	ix.keyStart = append(ix.keyStart, uint32(len(ix.keys)))
	ix.arena = arena.String()
	return ix
}

// addValue records entry i's shortened value, lengthening the hash in the
// unlikely case it collides with another value or with a real name.
func (ix *Index) addValue(i int, names map[string]struct{}, log *slog.Logger) {
	e := &ix.entries[i]
	if ix.values == nil {
		ix.values = make(map[string]int32)
	}
	for n := valueHashLen; ; n += 4 {
		_, isName := names[e.choice.Value]
		_, taken := ix.values[e.choice.Value]
		if !isName && !taken {
			break
		}
		if n+4 > 64 {
			log.Warn("lora: no unique autocomplete value; this LoRA is reachable by typing its name", "name", e.Name)
			return
		}
		e.choice.Value = choiceValue(e.Name, n+4)
	}
	ix.values[e.choice.Value] = int32(i)
}

// maxKeyBytes bounds one search key; longer text is cut (at a rune).
const maxKeyBytes = 1 << 10

func (ix *Index) addKeys(arena *strings.Builder, e *entry) {
	start := len(ix.keys)
	add := func(s string, class uint8) {
		f := fold(s)
		if len(f) > maxKeyBytes {
			cut := maxKeyBytes
			for cut > 0 && !utf8.RuneStart(f[cut]) {
				cut--
			}
			f = f[:cut]
		}
		if f == "" {
			return
		}
		for _, k := range ix.keys[start:] {
			if arena.String()[k.off:k.off+uint32(k.n)] == f {
				return
			}
		}
		ix.keys = append(ix.keys, searchKey{
			mask: charMask(f), pairs: pairMask(f), off: uint32(arena.Len()), n: uint16(len(f)),
			class: class, words: findWordStarts(f),
		})
		arena.WriteString(f)
	}
	add(e.Name, keyName)
	add(e.Alias, keyAlias)
	for j, t := range e.Triggers {
		if j == maxTriggerKeys {
			break
		}
		add(t, keyTrigger)
	}
}

// text is the folded text of k.
func (ix *Index) text(k *searchKey) string { return ix.arena[k.off : k.off+uint32(k.n)] }

func addTo(m map[string][]int32, k string, i int32) map[string][]int32 {
	if m == nil {
		m = make(map[string][]int32)
	}
	m[k] = append(m[k], i)
	return m
}

// Len is the number of LoRAs.
func (ix *Index) Len() int { return len(ix.entries) }

// All returns every LoRA, sorted by name case-insensitively.
func (ix *Index) All() []LoRA {
	out := make([]LoRA, len(ix.entries))
	for i := range ix.entries {
		out[i] = ix.entries[i].LoRA
	}
	return out
}

// Get finds a LoRA by its exact name.
func (ix *Index) Get(name string) (LoRA, bool) {
	lo, hi := ix.lowerRange(strings.ToLower(name))
	for i := lo; i < hi; i++ {
		if ix.entries[i].Name == name {
			return ix.entries[i].LoRA, true
		}
	}
	return LoRA{}, false
}

// Choice is the autocomplete choice Search would offer for the LoRA called
// name, for callers that show a LoRA they found otherwise.
func (ix *Index) Choice(name string) (Choice, bool) {
	lo, hi := ix.lowerRange(strings.ToLower(name))
	for i := lo; i < hi; i++ {
		if ix.entries[i].Name == name {
			return ix.entries[i].choice, true
		}
	}
	return Choice{}, false
}

// lowerRange is the run of entries whose lower-cased name is lower.
func (ix *Index) lowerRange(lower string) (int, int) {
	lo := sort.Search(len(ix.entries), func(i int) bool { return ix.entries[i].lower >= lower })
	hi := lo
	for hi < len(ix.entries) && ix.entries[hi].lower == lower {
		hi++
	}
	return lo, hi
}

// Resolve finds the one LoRA value means, trying in order: an autocomplete
// value this index produced, the exact name, the exact alias, the name in
// any case, the alias in any case; then the same with surrounding spaces
// trimmed. The first step that matches decides: an exact name beats another
// LoRA's identical alias. A step matching several LoRAs gives a
// *NotFoundError with Ambiguous set listing them; no match gives a
// *NotFoundError with up to five suggestions.
func (ix *Index) Resolve(value string) (LoRA, error) {
	if l, ok, err := ix.resolve(value); ok {
		return l, err
	}
	if t := strings.TrimSpace(value); t != value && t != "" {
		if l, ok, err := ix.resolve(t); ok {
			return l, err
		}
	}
	return LoRA{}, &NotFoundError{Query: value, Suggestions: ix.Suggest(value, 5)}
}

// Lookup is Resolve without the "did you mean" work: it reports whether
// value names exactly one LoRA. For hot paths such as autocomplete, where a
// miss needs no suggestions.
func (ix *Index) Lookup(value string) (LoRA, bool) {
	l, ok, err := ix.resolve(strings.TrimSpace(value))
	return l, ok && err == nil
}

func (ix *Index) resolve(v string) (LoRA, bool, error) {
	if i, ok := ix.values[v]; ok {
		return ix.entries[i].LoRA, true, nil
	}
	lower := strings.ToLower(v)
	lo, hi := ix.lowerRange(lower)
	for i := lo; i < hi; i++ {
		if ix.entries[i].Name == v {
			return ix.entries[i].LoRA, true, nil
		}
	}
	if l, ok, err := ix.one(v, ix.aliases[v]); ok {
		return l, true, err
	}
	if hi-lo == 1 {
		return ix.entries[lo].LoRA, true, nil
	}
	if hi-lo > 1 {
		return ix.ambiguous(v, lo, hi)
	}
	return ix.one(v, ix.foldAliases[lower])
}

func (ix *Index) one(v string, ids []int32) (LoRA, bool, error) {
	switch len(ids) {
	case 0:
		return LoRA{}, false, nil
	case 1:
		return ix.entries[ids[0]].LoRA, true, nil
	}
	names := make([]string, len(ids))
	for j, i := range ids {
		names[j] = ix.entries[i].Name
	}
	return LoRA{}, true, &NotFoundError{Query: v, Suggestions: names, Ambiguous: true}
}

func (ix *Index) ambiguous(v string, lo, hi int) (LoRA, bool, error) {
	names := make([]string, 0, hi-lo)
	for i := lo; i < hi; i++ {
		names = append(names, ix.entries[i].Name)
	}
	return LoRA{}, true, &NotFoundError{Query: v, Suggestions: names, Ambiguous: true}
}

package a1111test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// TypedQueries makes n varied strings a user might type in a LoRA option of
// catalog (a /loras answer): prefixes, inner words, typos, other case,
// aliases, nothing yet, and strings that match nothing. The seeds make the
// same list every time, so benchmark runs compare.
func TypedQueries(catalog []byte, n int, seed1, seed2 uint64) ([]string, error) {
	var entries []struct {
		Name  string `json:"name"`
		Alias string `json:"alias"`
	}
	if err := json.Unmarshal(catalog, &entries); err != nil {
		return nil, fmt.Errorf("read the catalog: %w", err)
	}
	if len(entries) == 0 {
		return nil, errors.New("the catalog is empty")
	}
	rng := rand.New(rand.NewPCG(seed1, seed2))
	cut := func(r []rune, lo int) []rune { return r[:lo+rng.IntN(len(r)-lo+1)] }
	var out []string
	for len(out) < n {
		e := entries[rng.IntN(len(entries))]
		name := []rune(e.Name)
		if len(name) < 3 {
			continue
		}
		var q []rune
		switch k := rng.IntN(10); k {
		case 0, 1, 2: // a prefix
			q = cut(name, 1)
		case 3: // a word from inside the name
			words := strings.FieldsFunc(e.Name, func(r rune) bool { return strings.ContainsRune(" _-.()[]", r) })
			if len(words) == 0 {
				continue
			}
			q = []rune(words[rng.IntN(len(words))])
		case 4, 5: // a typo: one rune dropped or two swapped
			q = slices.Clone(cut(name, 3))
			i := rng.IntN(len(q) - 1)
			if k == 4 {
				q = slices.Delete(q, i, i+1)
			} else {
				q[i], q[i+1] = q[i+1], q[i]
			}
		case 6: // other case
			q = []rune(strings.ToUpper(string(cut(name, 2))))
		case 7: // the alias
			if e.Alias == "" {
				continue
			}
			q = []rune(e.Alias)
		case 8: // nothing typed yet
		case 9: // no such LoRA
			q = []rune(fmt.Sprintf("zq%dxv", rng.IntN(1000)))
		}
		if len(q) > 100 {
			q = q[:100]
		}
		out = append(out, string(q))
	}
	return out, nil
}

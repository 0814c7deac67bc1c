package lora

import (
	"sort"
	"strings"
)

// Closest ranks names by how near they are to q as whole strings, for "did
// you mean" lists: names containing q (or contained in it) first, then by
// edit distance, ignoring case and the separators _ - . and space. Names
// further than about a third of q's length are left out. It is linear in
// len(names), meant for error paths and short lists (checkpoints, samplers).
func Closest(q string, names []string, n int) []string {
	fq := []rune(strings.TrimSpace(fold(q)))
	if len(fq) == 0 || n <= 0 {
		return nil
	}
	limit := max(2, len(fq)/3)
	type scored struct {
		name string
		d    int
	}
	var all []scored
	for _, name := range names {
		fn := []rune(strings.TrimSpace(fold(name)))
		if abs(len(fn)-len(fq)) > limit && !strings.Contains(string(fn), string(fq)) && !strings.Contains(string(fq), string(fn)) {
			continue
		}
		d := levenshtein(fq, fn)
		if strings.Contains(string(fn), string(fq)) || strings.Contains(string(fq), string(fn)) {
			d = 0
		}
		if d <= limit {
			all = append(all, scored{name, d})
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].d != all[j].d {
			return all[i].d < all[j].d
		}
		return len(all[i].name) < len(all[j].name)
	})
	out := make([]string, 0, min(n, len(all)))
	for i := 0; i < len(all) && i < n; i++ {
		out = append(out, all[i].name)
	}
	return out
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func levenshtein(a, b []rune) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

package lora

import (
	"strings"
)

// SplitTriggers splits comma-separated trigger text (an admin override, a
// sidecar's activation text, modelspec.trigger_phrase) into trimmed,
// non-empty phrases. It returns nil when there is none.
func SplitTriggers(text string) []string {
	var out []string
	for p := range strings.SplitSeq(text, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// topTag is the single most frequent tag of ss_tag_frequency, counts summed
// over datasets, ties broken alphabetically: the same order A1111's own UI
// uses for its suggested tags. It is "" when there are no tags.
func topTag(freq map[string]map[string]int) string {
	if len(freq) == 0 {
		return ""
	}
	sums := make(map[string]int)
	for _, tags := range freq {
		for t, n := range tags {
			sums[strings.TrimSpace(t)] += n
		}
	}
	best, bestN := "", 0
	for t, n := range sums {
		if t == "" {
			continue
		}
		if best == "" || n > bestN || (n == bestN && t < best) {
			best, bestN = t, n
		}
	}
	return best
}

// metaTriggers are the triggers the training metadata gives, in precedence:
// modelspec.trigger_phrase, else the most frequent tag.
func metaTriggers(phrase string, freq map[string]map[string]int) []string {
	if t := SplitTriggers(phrase); len(t) > 0 {
		return t
	}
	return SplitTriggers(topTag(freq))
}

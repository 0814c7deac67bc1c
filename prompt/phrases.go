package prompt

import "strings"

// Join appends extra's comma-separated phrases to text, skipping each one
// already present in text (ignoring case, as a whole phrase, the rule of
// trigger words) or earlier in extra, and joins with ", ". It is how a
// server's default negative prompt joins the job's own: under every policy,
// without repeating what the user wrote, so the weight of a phrase in the
// prompt does not grow by being written twice.
func Join(text, extra string) string {
	return joinParts(trimPart(text), NewPhrases(text, extra))
}

// NewPhrases is the part of extra that Join would append: its phrases not
// already in text, joined with ", ", or "".
func NewPhrases(text, extra string) string {
	seen := []string{strings.ToLower(text)}
	var added []string
	for p := range strings.SplitSeq(extra, ",") {
		p = trimPart(p)
		if p == "" {
			continue
		}
		lp := strings.ToLower(p)
		present := false
		for _, s := range seen {
			if containsPhrase(s, lp) {
				present = true
				break
			}
		}
		if !present {
			added = append(added, p)
			seen = append(seen, lp)
		}
	}
	return strings.Join(added, ", ")
}

func joinParts(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + ", " + b
}

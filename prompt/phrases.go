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
	seen := newPhrases(text)
	var added []string
	for p := range strings.SplitSeq(extra, ",") {
		if p = trimPart(p); p != "" && seen.add(p) {
			added = append(added, p)
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

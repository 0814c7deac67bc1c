package prompt

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// triggers returns the trigger phrases to add, in LoRA order: each entry of
// LoRA.Triggers split on commas, skipping those already present in the
// preset's prompt, the user's prompt or a phrase added before.
func triggers(entries []entry, preset, user string) []string {
	var added []string
	var seen []string // lower-cased texts a phrase may already be in
	for _, e := range entries {
		for _, t := range e.lora.Triggers {
			for _, p := range strings.Split(t, ",") {
				p = neutralise(trimPart(strings.ToValidUTF8(p, "\uFFFD")))
				if p == "" {
					continue
				}
				if seen == nil {
					seen = []string{strings.ToLower(preset), strings.ToLower(user)}
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
		}
	}
	return added
}

// containsPhrase reports whether phrase occurs in s as a whole phrase: not
// glued to a letter or digit on a side where the phrase itself starts or
// ends with one. Both are lower-cased by the caller.
func containsPhrase(s, phrase string) bool {
	first, _ := utf8.DecodeRuneInString(phrase)
	last, _ := utf8.DecodeLastRuneInString(phrase)
	for i := 0; ; {
		j := strings.Index(s[i:], phrase)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(phrase)
		before, _ := utf8.DecodeLastRuneInString(s[:start])
		after, _ := utf8.DecodeRuneInString(s[end:])
		if !(isPhraseWord(first) && start > 0 && isPhraseWord(before)) &&
			!(isPhraseWord(last) && end < len(s) && isPhraseWord(after)) {
			return true
		}
		_, n := utf8.DecodeRuneInString(s[start:])
		i = start + n
	}
}

func isPhraseWord(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r)
}

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
	var seen *phrases // made only when some LoRA has trigger words
	for _, e := range entries {
		for _, t := range e.lora.Triggers {
			for _, p := range strings.Split(t, ",") {
				p = neutralise(trimPart(strings.ToValidUTF8(p, "\uFFFD")))
				if p == "" {
					continue
				}
				if seen == nil {
					seen = newPhrases(preset, user)
				}
				if seen.add(p) {
					added = append(added, p)
				}
			}
		}
	}
	return added
}

// phrases are the lower-cased texts a phrase may already occur in.
type phrases struct{ in []string }

func newPhrases(texts ...string) *phrases {
	s := &phrases{}
	for _, t := range texts {
		s.in = append(s.in, strings.ToLower(t))
	}
	return s
}

// add reports whether p is new (not a whole phrase of any text so far,
// ignoring case), and remembers it if so.
func (s *phrases) add(p string) bool {
	lp := strings.ToLower(p)
	for _, t := range s.in {
		if containsPhrase(t, lp) {
			return false
		}
	}
	s.in = append(s.in, lp)
	return true
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

package prompt

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tag is one extra-network tag as A1111 finds it with <(\w+):([^>]+)>:
// s[start:end] is the whole tag.
type tag struct {
	start, end int
	kind, args string
}

func (t tag) text(s string) string { return s[t.start:t.end] }

// isTagWord is Python's \w on str: a letter, a number or "_". It decides what
// A1111 would read as a tag, so the bot checks exactly those.
func isTagWord(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
}

// isLooseWord is a superset of isTagWord used to neutralise stray "<": beyond
// ASCII every non-space rune counts, so that no Unicode version skew between
// Go and Python lets a tag through.
func isLooseWord(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return !unicode.IsSpace(r)
}

// wordColon reports whether s[p:] starts with one or more runes for which
// word is true, followed by ":"; end is the index of that colon.
func wordColon(s string, p int, word func(rune) bool) (end int, ok bool) {
	q := p
	for q < len(s) {
		r, n := utf8.DecodeRuneInString(s[q:])
		if !word(r) {
			break
		}
		q += n
	}
	return q, q > p && q < len(s) && s[q] == ':'
}

// nextTag finds the leftmost tag in s at or after i, as Python's re.sub
// would, so that the bot reads a prompt the way A1111 does.
func nextTag(s string, i int) (tag, bool) {
	for i < len(s) {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			return tag{}, false
		}
		start := i + j
		if colon, ok := wordColon(s, start+1, isTagWord); ok {
			k := strings.IndexByte(s[colon+1:], '>')
			if k < 0 {
				// No ">" follows, so no later "<" can close a tag either.
				return tag{}, false
			}
			if k > 0 {
				end := colon + 1 + k + 1
				return tag{start: start, end: end, kind: s[start+1 : colon], args: s[colon+1 : end-1]}, true
			}
		}
		i = start + 1
	}
	return tag{}, false
}

// neutralise puts a space after every "<" that word characters and a colon
// follow, so that nothing in s can start a tag. See the package doc.
func neutralise(s string) string {
	if strings.IndexByte(s, '<') < 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '<' {
			continue
		}
		if _, ok := wordColon(s, i+1, isLooseWord); !ok {
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(s) + 4)
		}
		b.WriteString(s[last : i+1])
		b.WriteByte(' ')
		last = i + 1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isSep(r rune) bool { return r == ',' || unicode.IsSpace(r) }

// trimPart trims white space and commas around one part of the prompt.
func trimPart(s string) string { return strings.TrimFunc(s, isSep) }

// loraArgs are a lora tag's arguments as A1111 reads them.
type loraArgs struct {
	name       string
	te, unet   *float64
	dyn        int // 0: not given
	hasWeights bool
}

// parseLoRATag reads the arguments of a lora or lyco tag: split on ":",
// an item with exactly one "=" is a named argument (A1111 splits on "=" at
// most twice and names only two-part items), the rest are positional.
// Unlike A1111 it refuses what A1111 would silently ignore or crash on.
func parseLoRATag(full, args string) (loraArgs, error) {
	var a loraArgs
	var pos []string
	var named struct{ te, unet, dyn *string }
	for _, item := range strings.Split(args, ":") {
		kv := strings.SplitN(item, "=", 3)
		if len(kv) != 2 {
			pos = append(pos, item)
			continue
		}
		v := kv[1]
		switch strings.ToLower(strings.TrimSpace(kv[0])) {
		case "te":
			named.te = &v
		case "unet":
			named.unet = &v
		case "dyn":
			named.dyn = &v
		default:
			return a, errorf("The tag %s has an unknown argument %q; only te=, unet= and dyn= are understood.", quote(full), quote(item))
		}
	}
	if len(pos) == 0 || strings.TrimSpace(pos[0]) == "" {
		return a, errorf("The tag %s names no LoRA; write it as <lora:NAME:WEIGHT>.", quote(full))
	}
	if len(pos) > 4 {
		return a, errorf("The tag %s has too many arguments; write it as <lora:NAME:WEIGHT>.", quote(full))
	}
	a.name = strings.TrimSpace(pos[0])
	weight := func(dst **float64, v string) error {
		w, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(w) || math.IsInf(w, 0) {
			return errorf("The weight %q in the tag %s is not a number.", quote(v), quote(full))
		}
		*dst = &w
		a.hasWeights = true
		return nil
	}
	if len(pos) > 1 {
		if err := weight(&a.te, pos[1]); err != nil {
			return a, err
		}
	}
	if named.te != nil {
		if err := weight(&a.te, *named.te); err != nil {
			return a, err
		}
	}
	if len(pos) > 2 {
		if err := weight(&a.unet, pos[2]); err != nil {
			return a, err
		}
	}
	if named.unet != nil {
		if err := weight(&a.unet, *named.unet); err != nil {
			return a, err
		}
	}
	dyn := func(v string) error {
		d, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || d < 1 || d > maxDyn {
			return errorf("The dyn value %q in the tag %s must be a whole number from 1 to %d.", quote(v), quote(full), maxDyn)
		}
		a.dyn = d
		a.hasWeights = true
		return nil
	}
	if len(pos) > 3 {
		if err := dyn(pos[3]); err != nil {
			return a, err
		}
	}
	if named.dyn != nil {
		if err := dyn(*named.dyn); err != nil {
			return a, err
		}
	}
	return a, nil
}

// maxDyn bounds a tag's DYN (the rank a dynamic LoRA is cut to); real
// networks have ranks in the hundreds at most.
const maxDyn = 4096

// cutTag removes s[t.start:t.end] from a text being copied into out: out
// holds the text before the tag, and the returned index into s is where
// copying resumes. When separators stand on both sides of the tag they are
// merged into one ", " (if either side had a comma) or one space, so that
// removing a tag leaves no ", ," or double space behind.
func cutTag(out []byte, s string, t tag) ([]byte, int) {
	kept := bytes.TrimRightFunc(out, isSep)
	left := out[len(kept):]
	rest := s[t.end:]
	right := len(rest) - len(strings.TrimLeftFunc(rest, isSep))
	if len(left) == 0 || right == 0 {
		return out, t.end
	}
	if bytes.IndexByte(left, ',') >= 0 || strings.IndexByte(rest[:right], ',') >= 0 {
		return append(kept, ", "...), t.end + right
	}
	return append(kept, ' '), t.end + right
}

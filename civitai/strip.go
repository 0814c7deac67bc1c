package civitai

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"
)

// StripHTML turns Civitai's HTML into bounded plain text: tags, comments
// and the content of script and style elements are dropped, entities
// decoded, runs of white space (and control characters) made one space,
// and the result cut to at most max runes, ending in "…" when cut. Block
// ends (p, br, li, div, headings) become spaces, so words do not run
// together. What remains cannot be markup Discord or a browser would act
// on: no '<' or '>' survive.
func StripHTML(s string, max int) string {
	var b strings.Builder
	skipUntil := "" // closing tag whose content is dropped
	for i := 0; i < len(s); {
		c := s[i]
		if c != '<' {
			if skipUntil == "" {
				b.WriteByte(c)
			}
			i++
			continue
		}
		if strings.HasPrefix(s[i:], "<!--") {
			end := strings.Index(s[i+4:], "-->")
			if end < 0 {
				break
			}
			i += 4 + end + 3
			continue
		}
		end := strings.IndexByte(s[i:], '>')
		if end < 0 {
			break // an unclosed tag: drop the rest
		}
		tag := strings.ToLower(strings.TrimSpace(s[i+1 : i+end]))
		i += end + 1
		name := strings.TrimPrefix(tag, "/")
		if j := strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || r == '/' }); j >= 0 {
			name = name[:j]
		}
		if skipUntil != "" {
			if strings.HasPrefix(tag, "/") && name == skipUntil {
				skipUntil = ""
			}
			continue
		}
		switch name {
		case "script", "style":
			if !strings.HasPrefix(tag, "/") && !strings.HasSuffix(tag, "/") {
				skipUntil = name
			}
		case "p", "br", "li", "div", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "ul", "ol", "blockquote":
			b.WriteByte(' ')
		}
	}
	text := html.UnescapeString(b.String())
	text = strings.Map(func(r rune) rune {
		switch {
		case r == '<' || r == '>':
			return -1
		case unicode.IsSpace(r) || unicode.IsControl(r):
			return ' '
		}
		return r
	}, text)
	text = strings.Join(strings.Fields(text), " ")
	return clipRunes(text, max)
}

// clipRunes cuts s to at most n runes, ending in "…" when cut.
func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n < 1 {
		return ""
	}
	r := []rune(s)
	return strings.TrimRightFunc(string(r[:n-1]), unicode.IsSpace) + "…"
}

package lora

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ChoiceMax is Discord's bound on an autocomplete choice's name and value.
const ChoiceMax = 100

// Choice is one autocomplete suggestion. Name is what the user reads; Value
// is what Discord sends back, and Resolve turns it into exactly this LoRA.
type Choice struct {
	Name  string
	Value string
}

// choiceName tells a LoRA apart at a glance: its name, its alias when that
// differs, its family when known, its first trigger, e.g.
// "ghibli_style_offset (studio_ghibli_v2) · SD1 · ghibli style". It never
// exceeds ChoiceMax runes; when too long, the trigger is shortened first,
// then the alias, and the name last, each with an ellipsis.
func choiceName(l LoRA) string {
	name := printable(l.Name)
	if strings.TrimSpace(name) == "" {
		name = "(unnamed)"
	}
	fam := ""
	if l.Family != FamilyUnknown {
		fam = " · " + l.Family.String()
	}
	nameR, famR := utf8.RuneCountInString(name), utf8.RuneCountInString(fam)
	if nameR+famR > ChoiceMax {
		return ellipsize(name, ChoiceMax-famR) + fam
	}
	left := ChoiceMax - nameR - famR
	alias, trig := "", ""
	if a := printable(l.Alias); a != l.Name && strings.TrimSpace(a) != "" {
		alias = " (" + a + ")"
	}
	if len(l.Triggers) > 0 {
		trig = " · " + printable(l.Triggers[0])
	}
	aliasR, trigR := utf8.RuneCountInString(alias), utf8.RuneCountInString(trig)
	if aliasR+trigR > left {
		// Shorten the trigger first, down to a glimpse; then the alias.
		const glimpse = 15
		if aliasR > left-min(trigR, glimpse) && alias != "" {
			alias = fitPart(" (", printable(l.Alias), ")", max(left-min(trigR, glimpse), 0))
			aliasR = utf8.RuneCountInString(alias)
		}
		if trig != "" {
			trig = fitPart(" · ", printable(l.Triggers[0]), "", left-aliasR)
		}
	}
	return name + alias + fam + trig
}

// fitPart is pre+s+post within room runes, s shortened if needed, or ""
// when even a shortened s would say nothing.
func fitPart(pre, s, post string, room int) string {
	frame := utf8.RuneCountInString(pre) + utf8.RuneCountInString(post)
	if frame+utf8.RuneCountInString(s) <= room {
		return pre + s + post
	}
	if room-frame < 4 {
		return ""
	}
	return pre + ellipsize(s, room-frame) + post
}

// ellipsize shortens s to at most n runes, ending in "…" when cut. It cuts
// at a word boundary when one is near, and never leaves a dangling
// separator before the ellipsis.
func ellipsize(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n < 1 {
		return ""
	}
	i, count := 0, 0
	for i < len(s) && count < n-1 {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		count++
	}
	cut := s[:i]
	if next, _ := utf8.DecodeRuneInString(s[i:]); !isBreak(next) {
		// Mid-word: back up to the word's start if it is near.
		const near = 12
		back := 0
		for j := len(cut); j > 0 && back < near; back++ {
			r, size := utf8.DecodeLastRuneInString(cut[:j])
			if isBreak(r) {
				if w := strings.TrimRightFunc(cut[:j], isBreak); w != "" {
					cut = w
				}
				break
			}
			j -= size
		}
	}
	if w := strings.TrimRightFunc(cut, isBreak); w != "" {
		cut = w
	}
	return cut + "…"
}

func isBreak(r rune) bool {
	return unicode.IsSpace(r) || strings.ContainsRune(",;:·-_.(/", r)
}

// printable replaces control characters, which Discord would reject or show
// as boxes, with spaces.
func printable(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// valueHashLen is how many hex digits of SHA-256 a shortened value carries:
// 48 bits, so two long names collide by chance about once in 10^14 pairs, and
// the index checks for it anyway.
const valueHashLen = 12

// choiceValue is the autocomplete value of a LoRA: the name itself when it
// fits in ChoiceMax bytes (so runes too), else a cut of the name, a "~" and a
// hash of the whole name. The hash keeps two long names with a common start
// apart and is stable across refreshes, so a value offered before a refresh
// still resolves after it.
func choiceValue(name string, hashLen int) string {
	if len(name) <= ChoiceMax {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	h := hex.EncodeToString(sum[:])[:hashLen]
	room := ChoiceMax - 1 - hashLen
	i := 0
	for i < len(name) {
		_, size := utf8.DecodeRuneInString(name[i:])
		if i+size > room {
			break
		}
		i += size
	}
	return name[:i] + "~" + h
}

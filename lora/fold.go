package lora

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// fold is the form search compares: lower case (Unicode-aware), with the
// separators people use interchangeably in file names ('_', '-', '.') made a
// space, so that "pixel art" finds pixel-art-xl and "add detail" add_detail.
// An already folded ASCII string is returned without copying.
func fold(s string) string {
	change := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return strings.Map(foldRune, s)
		}
		if isUpperASCII(c) || isSpaceSep(c) && c != ' ' {
			change = true
		}
	}
	if !change {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		b.WriteByte(foldByte(s[i]))
	}
	return b.String()
}

func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		return rune(foldByte(byte(r)))
	}
	return unicode.ToLower(r)
}

func foldByte(c byte) byte {
	switch {
	case isUpperASCII(c):
		return c + 'a' - 'A'
	case isSpaceSep(c):
		return ' '
	}
	return c
}

func isUpperASCII(c byte) bool { return 'A' <= c && c <= 'Z' }
func isSpaceSep(c byte) bool   { return c == ' ' || c == '_' || c == '-' || c == '.' }

func isAlnumASCII(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// charMask has one bit per letter and digit of s, and hashed bits for other
// characters. A key can contain a query only if the query's mask is a subset
// of the key's; that one AND skips most keys before any string compare.
func charMask(s string) uint64 {
	var m uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			for _, r := range s[i:] {
				m |= runeBit(r)
			}
			return m
		}
		m |= runeBit(rune(c))
	}
	return m
}

func runeBit(r rune) uint64 {
	switch {
	case r == ' ':
		return 0
	case 'a' <= r && r <= 'z':
		return 1 << (r - 'a')
	case '0' <= r && r <= '9':
		return 1 << (26 + r - '0')
	case r < utf8.RuneSelf:
		return 1 << (36 + r%4)
	}
	return 1 << (40 + uint(r)%24)
}

// wordStart says whether position i of the folded key s begins a word: the
// start, after a space or any ASCII punctuation, or where letters change to
// digits or back ("v2", "xl1").
func wordStart(s string, i int) bool {
	if i == 0 {
		return true
	}
	p := s[i-1]
	if p >= utf8.RuneSelf {
		return false
	}
	if !isAlnumASCII(p) {
		return true
	}
	c := s[i]
	return c < utf8.RuneSelf && isAlnumASCII(c) && isDigit(p) != isDigit(c)
}

// wordStarts are the positions after 0 where wordStart holds in a folded
// key, precomputed so that a query is compared at each word without
// scanning the key. Keys with more words, or words past byte 255, set
// overflow and are scanned instead.
type wordStarts struct {
	at       [11]uint8
	n        uint8
	overflow bool
}

func findWordStarts(s string) wordStarts {
	var w wordStarts
	for i := 1; i < len(s); i++ {
		if !wordStart(s, i) {
			continue
		}
		if i > 255 || int(w.n) == len(w.at) {
			w.overflow = true
			break
		}
		w.at[w.n] = uint8(i)
		w.n++
	}
	return w
}

// pairMask has one hashed bit per pair of neighbouring bytes of s. A string
// occurs in s only if its pairs' bits are all set: the fuzzy tier's pieces
// are tested this way before any substring search.
func pairMask(s string) uint64 {
	var m uint64
	for i := 1; i < len(s); i++ {
		m |= pairBit(s[i-1], s[i])
	}
	return m
}

func pairBit(a, b byte) uint64 {
	return 1 << ((uint32(a)*0x9E3779B1 ^ uint32(b)*0x85EBCA77) >> 26)
}

package a1111

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// scanner is a small streaming JSON reader. It exists because
// encoding/json's Decoder holds every token whole in its buffer: a txt2img
// answer carries megabytes of base64 per image and a LoRA catalog carries
// cover images nobody reads. The scanner skips what it does not keep without
// copying it, and streams base64 strings straight into their decoded bytes.
//
// It checks structure (brackets, commas, colons, string ends) well enough to
// call a truncated or garbled answer an error; it does not validate every
// literal byte by byte.
type scanner struct {
	r   *bufio.Reader
	key []byte // scratch for object keys, valid until the next key
}

// errSyntax marks malformed JSON, so that callers can tell it from I/O errors.
var errSyntax = errors.New("malformed JSON")

func newScanner(r io.Reader) *scanner {
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < 32<<10 {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	return &scanner{r: br}
}

func syntaxf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errSyntax, fmt.Sprintf(format, args...))
}

// eof turns a clean EOF inside a value into a syntax error: the answer was cut.
func eof(err error) error {
	if errors.Is(err, io.EOF) {
		return syntaxf("unexpected end of answer")
	}
	return err
}

// peek skips white space and returns the next byte without consuming it.
func (s *scanner) peek() (byte, error) {
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			return 0, eof(err)
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c, s.r.UnreadByte()
	}
}

// next skips white space and consumes the next byte.
func (s *scanner) next() (byte, error) {
	c, err := s.peek()
	if err != nil {
		return 0, err
	}
	_, _ = s.r.ReadByte()
	return c, nil
}

func (s *scanner) expect(want byte) error {
	c, err := s.next()
	if err != nil {
		return err
	}
	if c != want {
		return syntaxf("found %q where %q was expected", c, want)
	}
	return nil
}

// open consumes the opening bracket of an object or array, and its closing
// one too when it is empty.
func (s *scanner) open(opening, closing byte) (empty bool, err error) {
	if err := s.expect(opening); err != nil {
		return false, err
	}
	c, err := s.peek()
	if err != nil {
		return false, err
	}
	if c == closing {
		_, _ = s.r.ReadByte()
		return true, nil
	}
	return false, nil
}

// object walks an object, calling fn with each key; fn must consume the
// value. The key slice is only valid during the call.
func (s *scanner) object(fn func(key []byte) error) error {
	empty, err := s.open('{', '}')
	if err != nil || empty {
		return err
	}
	for {
		if err := s.expect('"'); err != nil {
			return err
		}
		s.key, err = s.appendString(s.key[:0])
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if err := fn(s.key); err != nil {
			return err
		}
		c, err := s.next()
		if err != nil {
			return err
		}
		switch c {
		case ',':
			continue
		case '}':
			return nil
		default:
			return syntaxf("found %q after an object member", c)
		}
	}
}

// array walks an array, calling fn for each element; fn must consume it.
func (s *scanner) array(fn func() error) error {
	empty, err := s.open('[', ']')
	if err != nil || empty {
		return err
	}
	for {
		if err := fn(); err != nil {
			return err
		}
		c, err := s.next()
		if err != nil {
			return err
		}
		switch c {
		case ',':
			continue
		case ']':
			return nil
		default:
			return syntaxf("found %q after an array element", c)
		}
	}
}

// appendString reads the rest of a string whose opening quote is consumed,
// unescaping it, and appends it to dst.
func (s *scanner) appendString(dst []byte) ([]byte, error) {
	start := len(dst)
	escaped := false
	dst = append(dst, '"')
	for {
		buf, err := s.fill()
		if err != nil {
			return dst, err
		}
		i := indexQuoteOrEscape(buf)
		if i < 0 {
			dst = append(dst, buf...)
			_, _ = s.r.Discard(len(buf))
			continue
		}
		dst = append(dst, buf[:i]...)
		_, _ = s.r.Discard(i + 1)
		if buf[i] == '"' {
			break
		}
		// A backslash: keep it and the byte after it for json.Unmarshal.
		escaped = true
		c, err := s.r.ReadByte()
		if err != nil {
			return dst, eof(err)
		}
		dst = append(dst, '\\', c)
	}
	if !escaped {
		n := copy(dst[start:], dst[start+1:])
		return dst[:start+n], nil
	}
	dst = append(dst, '"')
	var str string
	if err := json.Unmarshal(dst[start:], &str); err != nil {
		return dst[:start], syntaxf("bad string escape")
	}
	return append(dst[:start], str...), nil
}

// readString reads a string value, opening quote included.
func (s *scanner) readString() (string, error) {
	if err := s.expect('"'); err != nil {
		return "", err
	}
	b, err := s.appendString(nil)
	return string(b), err
}

// fill returns the buffered bytes, reading more when none are buffered.
func (s *scanner) fill() ([]byte, error) {
	if s.r.Buffered() == 0 {
		if _, err := s.r.Peek(1); err != nil {
			return nil, eof(err)
		}
	}
	buf, _ := s.r.Peek(s.r.Buffered())
	return buf, nil
}

// indexQuoteOrEscape finds the first '"' or '\\' in buf, or -1. Two
// IndexByte calls beat IndexAny by far on long strings (cover images, base64).
func indexQuoteOrEscape(buf []byte) int {
	q := bytes.IndexByte(buf, '"')
	head := buf
	if q >= 0 {
		head = buf[:q]
	}
	if e := bytes.IndexByte(head, '\\'); e >= 0 {
		return e
	}
	return q
}

// skipString skips the rest of a string whose opening quote is consumed,
// without copying it.
func (s *scanner) skipString() error {
	for {
		buf, err := s.fill()
		if err != nil {
			return err
		}
		i := indexQuoteOrEscape(buf)
		if i < 0 {
			_, _ = s.r.Discard(len(buf))
			continue
		}
		_, _ = s.r.Discard(i + 1)
		if buf[i] == '"' {
			return nil
		}
		if _, err := s.r.ReadByte(); err != nil {
			return eof(err)
		}
	}
}

// skipValue skips one value of any kind.
func (s *scanner) skipValue() error {
	c, err := s.peek()
	if err != nil {
		return err
	}
	switch c {
	case '"':
		_, _ = s.r.ReadByte()
		return s.skipString()
	case '{':
		return s.object(func([]byte) error { return s.skipValue() })
	case '[':
		return s.array(s.skipValue)
	default:
		_, err := s.literal()
		return err
	}
}

// captureValue returns the raw text of one value of any kind.
func (s *scanner) captureValue() ([]byte, error) {
	c, err := s.peek()
	if err != nil {
		return nil, err
	}
	switch c {
	case '"':
		str, err := s.readString()
		if err != nil {
			return nil, err
		}
		return json.Marshal(str)
	case '{', '[':
		return s.captureComposite()
	default:
		lit, err := s.literal()
		return []byte(lit), err
	}
}

// captureComposite copies an object or array as raw text. It is for small
// values only (the info object some forks send instead of a string).
func (s *scanner) captureComposite() ([]byte, error) {
	var out []byte
	depth := 0
	inString := false
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			return nil, eof(err)
		}
		out = append(out, c)
		if inString {
			switch c {
			case '\\':
				c, err := s.r.ReadByte()
				if err != nil {
					return nil, eof(err)
				}
				out = append(out, c)
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				if !json.Valid(out) {
					return nil, syntaxf("malformed object")
				}
				return out, nil
			}
		}
	}
}

// literal reads a number, true, false or null.
func (s *scanner) literal() (string, error) {
	var b []byte
	for {
		c, err := s.r.ReadByte()
		if err == io.EOF && len(b) > 0 {
			break
		}
		if err != nil {
			return "", eof(err)
		}
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'E' {
			b = append(b, c)
			continue
		}
		_ = s.r.UnreadByte()
		break
	}
	lit := string(b)
	switch lit {
	case "true", "false", "null":
		return lit, nil
	}
	if _, err := strconv.ParseFloat(lit, 64); err != nil {
		if lit == "" {
			c, _ := s.r.ReadByte()
			return "", syntaxf("unexpected %q", c)
		}
		return "", syntaxf("bad literal %q", truncate(lit, 20))
	}
	return lit, nil
}

// scalarString reads a value the way LoRA metadata should hold it: a string
// stays itself, a number keeps its text, a boolean becomes Python's
// "True"/"False", null and objects become "".
func (s *scanner) scalarString() (string, error) {
	c, err := s.peek()
	if err != nil {
		return "", err
	}
	switch c {
	case '"':
		return s.readString()
	case '{', '[':
		return "", s.skipValue()
	}
	lit, err := s.literal()
	switch lit {
	case "true":
		return "True", err
	case "false":
		return "False", err
	case "null":
		return "", err
	}
	return lit, err
}

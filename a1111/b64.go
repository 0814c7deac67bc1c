package a1111

import (
	"bytes"
	"encoding/base64"
	"sync"
)

// Decoded image bytes are gathered in pooled blocks and copied once into a
// slice of the exact size: the final length is unknown until the string ends,
// and growing one slice by appending would allocate about twice the image.
const (
	blockSize   = 256 << 10
	scratchSize = 64 << 10 // base64 characters decoded per step; a multiple of 4
)

var blockPool = sync.Pool{New: func() any { b := make([]byte, 0, blockSize); return &b }}

// b64Sink decodes a base64 stream arriving in pieces of any length.
type b64Sink struct {
	scratch []byte    // pending base64 characters
	blocks  []*[]byte // decoded bytes so far
	n       int       // decoded length so far
}

func (k *b64Sink) reset() {
	for _, b := range k.blocks {
		*b = (*b)[:0]
		blockPool.Put(b)
	}
	k.blocks = k.blocks[:0]
	k.scratch = k.scratch[:0]
	k.n = 0
}

// write adds base64 characters; it decodes whenever a full scratch is pending.
func (k *b64Sink) write(p []byte) error {
	if k.scratch == nil {
		k.scratch = make([]byte, 0, scratchSize)
	}
	for len(p) > 0 {
		n := copy(k.scratch[len(k.scratch):cap(k.scratch)], p)
		k.scratch = k.scratch[:len(k.scratch)+n]
		p = p[n:]
		if len(k.scratch) == cap(k.scratch) {
			if err := k.decode(k.scratch); err != nil {
				return err
			}
			k.scratch = k.scratch[:0]
		}
	}
	return nil
}

// decode decodes src, whose length is a multiple of 4 unless it is the end.
func (k *b64Sink) decode(src []byte) error {
	if len(src) == 0 {
		return nil
	}
	need := base64.StdEncoding.DecodedLen(len(src))
	var cur *[]byte
	if len(k.blocks) > 0 {
		cur = k.blocks[len(k.blocks)-1]
	}
	if cur == nil || cap(*cur)-len(*cur) < need {
		cur = blockPool.Get().(*[]byte)
		k.blocks = append(k.blocks, cur)
	}
	b := *cur
	enc := base64.StdEncoding
	if len(src)%4 != 0 {
		// Some servers drop the padding.
		enc = base64.RawStdEncoding
		src = bytes.TrimRight(src, "=")
	}
	n, err := enc.Decode(b[len(b):cap(b)], src)
	if err != nil {
		return syntaxf("bad base64 in image: %v", err)
	}
	*cur = b[:len(b)+n]
	k.n += n
	return nil
}

// finish decodes what is pending and returns the bytes in one exact slice.
func (k *b64Sink) finish() ([]byte, error) {
	if err := k.decode(k.scratch); err != nil {
		return nil, err
	}
	k.scratch = k.scratch[:0]
	out := make([]byte, 0, k.n)
	for _, b := range k.blocks {
		out = append(out, *b...)
	}
	return out, nil
}

// streamBase64 reads the rest of a JSON string (opening quote consumed)
// holding base64, and returns the decoded bytes. A "data:...;base64," prefix
// is skipped; JSON escapes of '/' and line breaks are handled.
func (s *scanner) streamBase64(k *b64Sink) ([]byte, error) {
	k.reset()
	defer k.reset()
	if head, _ := s.r.Peek(5); string(head) == "data:" {
		// Skip up to the comma; a data URL header is short.
		for {
			c, err := s.r.ReadByte()
			if err != nil {
				return nil, eof(err)
			}
			if c == ',' {
				break
			}
			if c == '"' {
				return nil, nil
			}
		}
	}
	for {
		buf, err := s.fill()
		if err != nil {
			return nil, err
		}
		i := indexQuoteOrEscape(buf)
		if i < 0 {
			if err := k.write(buf); err != nil {
				return nil, err
			}
			_, _ = s.r.Discard(len(buf))
			continue
		}
		if err := k.write(buf[:i]); err != nil {
			return nil, err
		}
		_, _ = s.r.Discard(i + 1)
		if buf[i] == '"' {
			return k.finish()
		}
		c, err := s.r.ReadByte()
		if err != nil {
			return nil, eof(err)
		}
		switch c {
		case '/':
			if err := k.write([]byte{'/'}); err != nil {
				return nil, err
			}
		case 'n', 'r':
			// Wrapped base64: line breaks carry nothing.
		default:
			return nil, syntaxf("unexpected escape \\%c in image data", c)
		}
	}
}

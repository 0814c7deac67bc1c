package a1111test

import (
	"encoding/binary"
	"image/color"
)

// SolidWebP is a w×h WEBP of one colour, as A1111 sends images when its
// samples_format option is "webp". It is a lossless (VP8L) file whose five
// prefix codes each have a single symbol, so that every pixel takes zero
// bits: a tiny, valid file, written without an encoder (the standard
// library and golang.org/x/image only decode WEBP). w and h are 1..16384.
func SolidWebP(w, h int, c color.NRGBA) []byte {
	var bw bitWriter
	bw.write(0x2f, 8)                 // VP8L signature
	bw.write(uint32(w-1), 14)         // image width - 1
	bw.write(uint32(h-1), 14)         // image height - 1
	bw.write(boolBit(c.A != 0xff), 1) // alpha_is_used
	bw.write(0, 3)                    // version
	bw.write(0, 1)                    // no transform
	bw.write(0, 1)                    // no colour cache
	bw.write(0, 1)                    // no meta prefix codes
	// Green, red, blue, alpha, distance: a "simple" code of one 8-bit
	// symbol each (distance: one 1-bit symbol, 0).
	for _, v := range []uint8{c.G, c.R, c.B, c.A} {
		bw.write(1, 1) // simple code
		bw.write(0, 1) // one symbol
		bw.write(1, 1) // of 8 bits
		bw.write(uint32(v), 8)
	}
	bw.write(1, 1)
	bw.write(0, 1)
	bw.write(0, 1) // of 1 bit
	bw.write(0, 1)
	data := bw.bytes()

	chunk := len(data)
	pad := chunk % 2
	out := make([]byte, 0, 20+chunk+pad)
	out = append(out, "RIFF"...)
	out = binary.LittleEndian.AppendUint32(out, uint32(4+8+chunk+pad))
	out = append(out, "WEBPVP8L"...)
	out = binary.LittleEndian.AppendUint32(out, uint32(chunk))
	out = append(out, data...)
	if pad == 1 {
		out = append(out, 0)
	}
	return out
}

// bitWriter packs bits least significant first, as VP8L reads them.
type bitWriter struct {
	buf  []byte
	nbit uint
}

func (b *bitWriter) write(v uint32, n uint) {
	for i := range n {
		if b.nbit%8 == 0 {
			b.buf = append(b.buf, 0)
		}
		if v>>i&1 == 1 {
			b.buf[len(b.buf)-1] |= 1 << (b.nbit % 8)
		}
		b.nbit++
	}
}

func (b *bitWriter) bytes() []byte { return b.buf }

func boolBit(v bool) uint32 {
	if v {
		return 1
	}
	return 0
}

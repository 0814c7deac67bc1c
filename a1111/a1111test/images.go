package a1111test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"unicode/utf8"
)

// makePNG draws a w×h image for seed and stores params in a "parameters"
// text chunk, as A1111 does. Plain images are smooth gradients (small
// files); noisy ones carry random low bits in every channel, so that they
// compress like photographs: about 1.2 MB at 1024×1024. A band, when
// given, fills the middle half of the rows (see WeightMark).
func makePNG(w, h int, seed int64, noisy bool, params string, band *color.RGBA) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	tint := uint8(seed * 37)
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	var bits uint64
	left := 0
	for y := range h {
		row := img.Pix[y*img.Stride : y*img.Stride+w*4]
		for x := range w {
			r := uint8(x * 255 / max(w-1, 1))
			g := uint8(y * 255 / max(h-1, 1))
			b := tint
			if band != nil && y >= h/4 && y < h-h/4 {
				r, g, b = band.R, band.G, band.B
			}
			if noisy {
				if left < 6 {
					bits, left = rng.Uint64(), 64
				}
				r ^= uint8(bits & 3)
				g ^= uint8(bits >> 2 & 3)
				b ^= uint8(bits >> 4 & 3)
				bits >>= 6
				left -= 6
			}
			p := row[x*4 : x*4+4 : x*4+4]
			p[0], p[1], p[2], p[3] = r, g, b, 0xff
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		panic(err) // writing to memory: cannot fail
	}
	if params == "" {
		return buf.Bytes()
	}
	return withText(buf.Bytes(), "parameters", params)
}

// NoisyPNG is a w×h PNG that compresses like a photograph (about 1.2 MB at
// 1024×1024), for tests and benchmarks of large answers.
func NoisyPNG(w, h int, seed int64) []byte { return makePNG(w, h, seed, true, "", nil) }

// previewPNG is the small image /progress sends as current_image.
var previewPNG = makePNG(64, 64, 1, false, "", nil)

// WeightMark is the colour of the band a generated PNG shows across its
// middle half: what its LoRAs did to it, so that a test can tell images
// of different LoRA weights apart by a pixel (as /compare's grid must put
// each weight in its place). weights are the LoRAs that loaded, by name
// as typed in the prompt, with their (TE) weights; a LoRA absent or at
// weight 0 changes nothing, as in A1111. Each LoRA moves one channel,
// chosen by its name's CRC-32 (mod 3: red, green, blue), by 60 per unit
// of weight from mid-grey 128, clamped to 0..255: add_detail moves red,
// revAnimated_v122 green.
func WeightMark(weights map[string]float64) color.RGBA {
	ch := [3]float64{128, 128, 128}
	for name, w := range weights {
		ch[crc32.ChecksumIEEE([]byte(name))%3] += 60 * w
	}
	c := func(v float64) uint8 { return uint8(math.Round(math.Max(0, math.Min(255, v)))) }
	return color.RGBA{R: c(ch[0]), G: c(ch[1]), B: c(ch[2]), A: 0xff}
}

const pngHeaderLen = 8 + 8 + 13 + 4 // signature, IHDR length+type, IHDR data, CRC

// withText inserts a text chunk after IHDR: tEXt when the text is Latin-1,
// else iTXt (UTF-8), as Pillow does.
func withText(p []byte, key, text string) []byte {
	var data []byte
	typ := "tEXt"
	data = append(data, key...)
	data = append(data, 0)
	if latin1, ok := toLatin1(text); ok {
		data = append(data, latin1...)
	} else {
		typ = "iTXt"
		data = append(data, 0, 0, 0, 0) // not compressed, method 0, no language, no translated key
		data = append(data, text...)
	}
	var chunk bytes.Buffer
	_ = binary.Write(&chunk, binary.BigEndian, uint32(len(data)))
	chunk.WriteString(typ)
	chunk.Write(data)
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	_ = binary.Write(&chunk, binary.BigEndian, crc.Sum32())

	out := make([]byte, 0, len(p)+chunk.Len())
	out = append(out, p[:pngHeaderLen]...)
	out = append(out, chunk.Bytes()...)
	return append(out, p[pngHeaderLen:]...)
}

func toLatin1(s string) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff || r == utf8.RuneError {
			return nil, false
		}
		out = append(out, byte(r))
	}
	return out, true
}

// PNGParameters returns the "parameters" text (A1111's infotext) of a PNG,
// from a tEXt or an uncompressed iTXt chunk.
func PNGParameters(p []byte) (string, bool) {
	if len(p) < 8 || string(p[:8]) != "\x89PNG\r\n\x1a\n" {
		return "", false
	}
	for i := 8; i+8 <= len(p); {
		n := int(binary.BigEndian.Uint32(p[i:]))
		typ := string(p[i+4 : i+8])
		if i+12+n > len(p) {
			return "", false
		}
		data := p[i+8 : i+8+n]
		switch typ {
		case "tEXt":
			if k, v, ok := bytes.Cut(data, []byte{0}); ok && string(k) == "parameters" {
				r := make([]rune, len(v))
				for j, c := range v {
					r[j] = rune(c)
				}
				return string(r), true
			}
		case "iTXt":
			if k, v, ok := bytes.Cut(data, []byte{0}); ok && string(k) == "parameters" && len(v) >= 2 && v[0] == 0 {
				// Skip flag, method, language tag and translated keyword.
				v = v[2:]
				if _, rest, ok := bytes.Cut(v, []byte{0}); ok {
					if _, text, ok := bytes.Cut(rest, []byte{0}); ok {
						return string(text), true
					}
				}
			}
		case "IDAT", "IEND":
			return "", false
		}
		i += 12 + n
	}
	return "", false
}

// blendPNG is an img2img result: the init image, resized to w×h, blended
// with the gradient txt2img would draw for seed by denoise (0 keeps the
// init image, 1 replaces it), so that a test can tell which init image was
// used and how strongly it was redrawn. params goes in the "parameters"
// chunk.
func blendPNG(init image.Image, w, h int, seed int64, denoise float64, params string) []byte {
	base := scaleNearest(init, w, h)
	tint := float64(uint8(seed * 37))
	d := min(max(denoise, 0), 1)
	mix := func(a uint8, b float64) uint8 { return uint8(float64(a)*(1-d) + b*d + 0.5) }
	for y := range h {
		row := base.Pix[y*base.Stride : y*base.Stride+w*4]
		g := float64(y * 255 / max(h-1, 1))
		for x := range w {
			p := row[x*4 : x*4+4 : x*4+4]
			r := float64(x * 255 / max(w-1, 1))
			p[0], p[1], p[2], p[3] = mix(p[0], r), mix(p[1], g), mix(p[2], tint), 0xff
		}
	}
	out := encodePNG(base)
	if params == "" {
		return out
	}
	return withText(out, "parameters", params)
}

package testkit

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"
)

// SolidPNG is a w×h PNG of one colour: the picture tests attach, upload or
// compose when only its size, its colour or its bytes matter.
func SolidPNG(t testing.TB, w, h int, c color.RGBA) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

package a1111test_test

import (
	"bytes"
	"encoding/base64"
	"image/color"
	"image/png"
	"testing"

	"lorabot/a1111/a1111test"
)

// bandColour is the colour at the centre of the first image of a.
func bandColour(t *testing.T, a answer) color.RGBA {
	t.Helper()
	p, err := base64.StdEncoding.DecodeString(a.Images[0])
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(p))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	return color.RGBAModel.Convert(img.At(b.Dx()/2, b.Dy()/2)).(color.RGBA)
}

// The fake's images show the LoRA weights they were made with, so a test
// can tell by a pixel which weight an image is of: a LoRA at another
// weight moves its channel, one A1111 does not have moves nothing.
func TestImagesShowTheirLoRAWeights(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{})
	gen := func(prompt string) color.RGBA {
		a, _ := txt2img(t, srv, `{"prompt":"`+prompt+`","seed":3,"steps":1,"width":64,"height":64}`)
		return bandColour(t, a)
	}
	for _, tc := range []struct {
		prompt  string
		weights map[string]float64
	}{
		{"a cat", nil},
		{"a cat <lora:add_detail:0.5>", map[string]float64{"add_detail": 0.5}},
		{"a cat <lora:add_detail:1>", map[string]float64{"add_detail": 1}},
		{"a cat <lora:add_detail:-1>", map[string]float64{"add_detail": -1}},
		{"a cat <lora:add_detail:1> <lora:revAnimated_v122:0.5>", map[string]float64{"add_detail": 1, "revAnimated_v122": 0.5}},
		{"a cat <lora:revAnimated_v122:0.5:0.2>", map[string]float64{"revAnimated_v122": 0.5}},
		{"a cat <lora:add_detail>", map[string]float64{"add_detail": 1}}, // A1111's default multiplier
		{"a cat <lora:no_such_lora:1>", nil},                             // ignored by the server: no effect
	} {
		want := a1111test.WeightMark(tc.weights)
		if got := gen(tc.prompt); got != want {
			t.Errorf("%q: centre %v, want %v", tc.prompt, got, want)
		}
	}
	none, half, one := a1111test.WeightMark(nil), a1111test.WeightMark(map[string]float64{"add_detail": 0.5}), a1111test.WeightMark(map[string]float64{"add_detail": 1})
	if none == half || half == one || none.R+30 != half.R || half.R+30 != one.R {
		t.Errorf("weights must move the band visibly: %v %v %v", none, half, one)
	}
	if a, b := a1111test.WeightMark(map[string]float64{"add_detail": 0.5}), a1111test.WeightMark(map[string]float64{"revAnimated_v122": 0.5}); a == b {
		t.Errorf("add_detail and revAnimated_v122 must move different channels: %v", a)
	}
}

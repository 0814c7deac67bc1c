package actions

import (
	"errors"
	"strings"
	"testing"

	"lorabot/gen"
	"lorabot/imagine"
	"lorabot/lora"
	"lorabot/prompt"
)

func w(v float64) *float64 { return &v }

func source() Source {
	ghibli := lora.LoRA{Name: "studio_ghibli_v2", Alias: "ghibli"}
	typed := lora.LoRA{Name: "pixel-art-xl"}
	r := &imagine.Request{User: "owner", PresetPrompt: "masterpiece",
		Options: gen.Options{Prompt: "a valley <lora:PIXEL-ART-XL:0.50>", Negative: "blurry", Count: 2, Width: 512, Height: 768,
			LoRAs: [gen.LoRASlots]gen.LoRAChoice{{Name: "ghibli", Weight: w(0.8)}}},
		Prompt: prompt.Result{LoRAs: []prompt.Applied{
			{LoRA: ghibli, Weight: 0.8, Tag: ghibli.Tag(0.8)},
			{LoRA: typed, Weight: 0.5, Tag: typed.Tag(0.5)},
		}},
	}
	return Source{ID: "j7", Request: r, Seeds: []int64{1000, 1001}, Images: 2}
}

func inputSays(err error, substr string) bool {
	var in *gen.InputError
	return errors.As(err, &in) && strings.Contains(in.Msg, substr)
}

func TestVaryKeepsTheImagesSeed(t *testing.T) {
	s := source()
	l, err := VaryLayers(s, VaryStrong, 2)
	if err != nil {
		t.Fatal(err)
	}
	if *l.Cmd.Seed != 1001 || l.Variation != StrongVariation || l.From != s.Request || l.Lineage.Job != "j7" || l.Lineage.Image != 2 {
		t.Errorf("strong variation of image 2: %+v", l)
	}
	l, _ = VaryLayers(s, VarySubtle, 1)
	if *l.Cmd.Seed != 1000 || l.Variation != SubtleVariation {
		t.Errorf("subtle variation of image 1: seed %d strength %g", *l.Cmd.Seed, l.Variation)
	}
	if _, err := VaryLayers(s, VarySubtle, 3); !inputSays(err, "no image 3") {
		t.Errorf("image 3 of 2: %v", err)
	}
	// A server that reported no seeds: the fixed seed counts up.
	s.Seeds = nil
	s.Request.Options.Seed = ptrTo(int64(50))
	if l, _ := VaryLayers(s, VarySubtle, 2); *l.Cmd.Seed != 51 {
		t.Errorf("seed from the fixed one: %d", *l.Cmd.Seed)
	}
	s.Request.Options.Seed = nil
	if _, err := VaryLayers(s, VarySubtle, 1); !inputSays(err, "which seed") {
		t.Errorf("no seed known: %v", err)
	}
}

func TestRerollDropsNothingButTheSeed(t *testing.T) {
	s := source()
	l := RerollLayers(s)
	if l.From != s.Request || l.Cmd.Seed != nil || l.Lineage.Action != string(Reroll) {
		t.Errorf("reroll: %+v", l)
	}
}

func TestUpscaleRequest(t *testing.T) {
	s := source()
	pic := imagine.Picture{URL: "http://x/a.png", Width: 512, Height: 768}
	r, err := UpscaleRequest(s, 1, pic, "R-ESRGAN 4x+", "presser")
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != imagine.Upscale || r.User != "presser" || r.Upscaler != "R-ESRGAN 4x+" || r.Options.Width != 1024 || r.Options.Height != 1536 || r.Init.URL != pic.URL {
		t.Errorf("upscale: %+v", r)
	}
	if _, err := UpscaleRequest(s, 1, pic, "", "presser"); !inputSays(err, "upscaler") {
		t.Errorf("no upscaler: %v", err)
	}
	huge := imagine.Picture{URL: "x", Width: 4096, Height: 4096}
	if _, err := UpscaleRequest(s, 1, huge, "Lanczos", "p"); !inputSays(err, "larger than this bot makes") {
		t.Errorf("4096² upscaled: %v", err)
	}
}

func TestCreativeUpscaleStaysWithinTheBotsBounds(t *testing.T) {
	s := source()
	l, err := CreativeLayers(s, 2, imagine.Picture{URL: "x", Width: 512, Height: 768})
	if err != nil {
		t.Fatal(err)
	}
	if l.Cmd.Width != 1024 || l.Cmd.Height != 1536 || l.Strength != imagine.CreativeStrength || *l.Cmd.Seed != 1001 || !l.Inherited || l.Cmd.Count != 1 {
		t.Errorf("creative 2× of 512x768: %+v", l)
	}
	l, _ = CreativeLayers(s, 1, imagine.Picture{URL: "x", Width: 1024, Height: 1024})
	if l.Cmd.Width*l.Cmd.Height > gen.MaxPixels || l.Cmd.Width != l.Cmd.Height || l.Cmd.Width%8 != 0 {
		t.Errorf("creative 2× of 1024² must shrink to the bot's area, same shape: %dx%d", l.Cmd.Width, l.Cmd.Height)
	}
}

func TestEditFormRoundTrip(t *testing.T) {
	s := source()
	f := EditDefaults(s)
	// The typed tag stays in the prompt; the slot's LoRA shows with its weight.
	if f.Prompt != "a valley <lora:PIXEL-ART-XL:0.50>" || f.Negative != "blurry" || f.LoRAs != "studio_ghibli_v2:0.8" || f.Seed != "1000" {
		t.Errorf("edit form: %+v", f)
	}
	f.LoRAs = "studio_ghibli_v2:0.6, add_detail"
	f.Negative = ""
	l, err := EditLayers(s, f)
	if err != nil {
		t.Fatal(err)
	}
	if l.Cmd.LoRAs[0].Name != "studio_ghibli_v2" || *l.Cmd.LoRAs[0].Weight != 0.6 || l.Cmd.LoRAs[1].Name != "add_detail" || l.Cmd.LoRAs[1].Weight != nil {
		t.Errorf("edited LoRAs: %+v", l.Cmd.LoRAs)
	}
	// The form replaces the job's LoRAs and negative: emptied means gone.
	if l.From.Options.LoRAs[0].Name != "" || l.From.Options.Negative != "" || s.Request.Options.LoRAs[0].Name != "ghibli" {
		t.Errorf("the base must lose its LoRAs and negative, the source must not: %+v / %+v", l.From.Options, s.Request.Options)
	}
	if *l.Cmd.Seed != 1000 {
		t.Errorf("seed %v", l.Cmd.Seed)
	}
	for in, want := range map[string]string{
		"a:1, b:1, c:1, d:1": "at most 3",
		"a:heavy":            "must be a number",
		"a:3":                "must be a number",
		":0.5":               "names no LoRA",
	} {
		if _, err := ParseLoRAs(in); !inputSays(err, want) {
			t.Errorf("ParseLoRAs(%q) = %v, want %q", in, err, want)
		}
	}
	for seed, want := range map[string]string{"abc": "not a whole number", "-5": "not a whole number"} {
		f.Seed = seed
		if _, err := EditLayers(s, f); !inputSays(err, want) {
			t.Errorf("seed %q: %v", seed, err)
		}
	}
	f.Seed, f.Prompt = "random", "  "
	if _, err := EditLayers(s, f); !inputSays(err, "Write a prompt") {
		t.Errorf("empty prompt: %v", err)
	}
}

func TestParseActions(t *testing.T) {
	for _, a := range []Action{Reroll, VarySubtle, VaryStrong, Upscale, UpscaleCreative, Edit, Delete} {
		if got, ok := Parse(string(a)); !ok || got != a {
			t.Errorf("Parse(%q) = %q, %v", a, got, ok)
		}
	}
	if _, ok := Parse("zz"); ok {
		t.Error("an unknown action parsed")
	}
}

func ptrTo[T any](v T) *T { return &v }

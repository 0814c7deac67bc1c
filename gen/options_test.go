package gen

import (
	"errors"
	"strings"
	"testing"

	"lorabot/lora"
)

func f(v float64) *float64 { return &v }

func TestOverCommandWinsFieldByField(t *testing.T) {
	preset := Options{
		Prompt: "masterpiece", Negative: "blurry", Checkpoint: "xl", Steps: 30, CFG: 5, Width: 832, Height: 1216,
		LoRAs: [LoRASlots]LoRAChoice{{Name: "a", Weight: f(0.5)}, {Name: "b"}},
	}
	cmd := Options{Steps: 25, LoRAs: [LoRASlots]LoRAChoice{{Weight: f(0.9)}, {Name: "c"}, {Name: "d", Weight: f(1.2)}}}
	got := cmd.Over(preset)
	if got.Steps != 25 || got.CFG != 5 || got.Negative != "blurry" || got.Checkpoint != "xl" || got.Width != 832 {
		t.Errorf("scalar merge wrong: %+v", got)
	}
	if got.LoRAs[0].Name != "a" || *got.LoRAs[0].Weight != 0.9 {
		t.Errorf("a weight alone should reweight the preset's LoRA: %+v", got.LoRAs[0])
	}
	if got.LoRAs[1].Name != "c" || got.LoRAs[1].Weight != nil {
		t.Errorf("a LoRA given replaces the slot: %+v", got.LoRAs[1])
	}
	if got.LoRAs[2].Name != "d" {
		t.Errorf("slot 3: %+v", got.LoRAs[2])
	}
}

func TestWithDefaultsUsesFamilySize(t *testing.T) {
	if o := (Options{}).WithDefaults(lora.FamilySDXL); o.Width != 1024 || o.Height != 1024 || o.Steps != DefaultSteps || o.Count != 1 {
		t.Errorf("SDXL defaults: %+v", o)
	}
	if o := (Options{}).WithDefaults(lora.FamilySD1); o.Width != 512 {
		t.Errorf("SD1 defaults: %+v", o)
	}
	if o := (Options{Width: 640, Height: 640}).WithDefaults(lora.FamilySDXL); o.Width != 640 {
		t.Errorf("a chosen size must stay: %+v", o)
	}
}

func TestValidateRefusesOutOfBounds(t *testing.T) {
	base := (Options{}).WithDefaults(lora.FamilySD1)
	for name, o := range map[string]Options{
		"steps":  func() Options { o := base; o.Steps = 500; return o }(),
		"cfg":    func() Options { o := base; o.CFG = 0.5; return o }(),
		"count":  func() Options { o := base; o.Count = 5; return o }(),
		"size":   func() Options { o := base; o.Width = 4096; return o }(),
		"odd":    func() Options { o := base; o.Width = 513; return o }(),
		"weight": func() Options { o := base; o.LoRAs[1].Weight = f(1); return o }(),
	} {
		err := o.Validate()
		var in *InputError
		if !errors.As(err, &in) {
			t.Errorf("%s: want an InputError, got %v", name, err)
		}
	}
	if err := base.Validate(); err != nil {
		t.Errorf("defaults must be valid: %v", err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]Size{"512x768": {512, 768}, " 1024 × 1024 ": {1024, 1024}, "832*1216": {832, 1216}} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"big", "512", "0x0", "100000x512", "abcxdef", "2048x2048"} {
		if _, err := ParseSize(in); err == nil || !strings.HasSuffix(err.Error(), ".") {
			t.Errorf("ParseSize(%q) should fail with a sentence, got %v", in, err)
		}
	}
}

func TestCheckpointFamily(t *testing.T) {
	for title, want := range map[string]lora.Family{
		"sd_xl_base_1.0.safetensors [31e35c80fc]":          lora.FamilySDXL,
		"v1-5-pruned-emaonly.safetensors [6ce0161689]":     lora.FamilySD1,
		"v2-1_768-ema-pruned.safetensors":                  lora.FamilySD2,
		"ponyDiffusionV6XL_v6StartWithThisOne.safetensors": lora.FamilySDXL,
		"dreamshaper_8.safetensors":                        lora.FamilyUnknown,
		"flux1-dev-fp8.safetensors [abc123]":               lora.FamilyFlux,
		"Flux/fluxUnchained_v10.safetensors":               lora.FamilyFlux,
		"sd3_medium_incl_clips.safetensors":                lora.FamilySD3,
		"sd3.5_large.safetensors":                          lora.FamilySD3,
		"illustrious/waiNSFWIllustrious_v110.safetensors":  lora.FamilySDXL,
		"noobaiEpsilonPred_v11.safetensors":                lora.FamilySDXL,
		"animagine-xl-3.1.safetensors":                     lora.FamilySDXL,
	} {
		if got := CheckpointFamily(title); got != want {
			t.Errorf("CheckpointFamily(%q) = %v, want %v", title, got, want)
		}
	}
}

func TestCheckpointVariant(t *testing.T) {
	for title, want := range map[string]string{
		"ponyDiffusionV6XL.safetensors": "Pony", "waiIllustrious_v11.safetensors": "Illustrious",
		"noobaiXL.safetensors": "NoobAI", "sd_xl_base_1.0.safetensors": "",
	} {
		if got := CheckpointVariant(title); got != want {
			t.Errorf("CheckpointVariant(%q) = %q, want %q", title, got, want)
		}
	}
}

func TestFamilyDefaults(t *testing.T) {
	for _, tc := range []struct {
		f                  lora.Family
		side               int
		cfg, distilled     float64
		sampler, scheduler string
	}{
		{lora.FamilySD1, 512, DefaultCFG, 0, "DPM++ 2M", "Karras"},
		{lora.FamilyUnknown, 512, DefaultCFG, 0, "DPM++ 2M", "Karras"},
		{lora.FamilySDXL, 1024, DefaultCFG, 0, "DPM++ 2M", "Karras"},
		{lora.FamilyFlux, 1024, 1, 3.5, "Euler", "Simple"},
		{lora.FamilySD3, 1024, 4.5, 0, "DPM++ 2M", "SGM Uniform"},
	} {
		d := DefaultsFor(tc.f)
		if d.Size.Width != tc.side || d.Size.Height != tc.side || d.CFG != tc.cfg || d.DistilledCFG != tc.distilled || d.Sampler != tc.sampler || d.Scheduler != tc.scheduler {
			t.Errorf("%v: defaults %+v", tc.f, d)
		}
		o := (Options{}).WithDefaults(tc.f)
		if o.Width != tc.side || o.CFG != tc.cfg {
			t.Errorf("%v: WithDefaults gave %dx%d CFG %g", tc.f, o.Width, o.Height, o.CFG)
		}
		if err := o.Validate(); err != nil {
			t.Errorf("%v: defaults do not validate: %v", tc.f, err)
		}
	}
	if o := (Options{CFG: 5}).WithDefaults(lora.FamilyFlux); o.CFG != 5 {
		t.Errorf("a CFG set by a layer must stay, got %g", o.CFG)
	}
}

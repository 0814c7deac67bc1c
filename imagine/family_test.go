package imagine

import (
	"strings"
	"testing"

	"lorabot/a1111"
	"lorabot/a1111/a1111test"
	"lorabot/gen"
	"lorabot/lora"
	"lorabot/prompt"
)

func TestPlanAlwaysSetsTheSamplerItUses(t *testing.T) {
	for _, flavor := range []a1111test.Flavor{a1111test.FlavorA1111, a1111test.FlavorForge} {
		f := newFixture(t, a1111test.Options{Flavor: flavor})
		// SDXL checkpoint, nothing named: DPM++ 2M with the Karras label.
		r, err := f.p.Plan("u", gen.Options{Prompt: "x", Checkpoint: "sd_xl_base_1.0"}, "", Scope{})
		if err != nil {
			t.Fatal(err)
		}
		req := r.Txt2Img()
		if req.SamplerName != "DPM++ 2M" || req.Scheduler != "Karras" || !r.SamplerIsDefault {
			t.Errorf("flavor %v: default sampler %q + %q (default %v), want DPM++ 2M + Karras", flavor, req.SamplerName, req.Scheduler, r.SamplerIsDefault)
		}
		if req.DistilledCFGScale != 0 || req.CFGScale != gen.DefaultCFG {
			t.Errorf("SDXL: CFG %g distilled %g", req.CFGScale, req.DistilledCFGScale)
		}
		// A user's sampler wins; its scheduler goes as the label.
		r, err = f.p.Plan("u", gen.Options{Prompt: "x", Sampler: "DPM++ 2M karras"}, "", Scope{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Sampler != "DPM++ 2M" || r.Scheduler != "Karras" || r.SamplerIsDefault {
			t.Errorf("flavor %v: user's sampler %q + %q (default %v)", flavor, r.Sampler, r.Scheduler, r.SamplerIsDefault)
		}
	}
}

func TestPlanOldServerDefaultsToTheJoinedName(t *testing.T) {
	f := newFixture(t, a1111test.Options{OldServer: true})
	r, err := f.p.Plan("u", gen.Options{Prompt: "x"}, "", Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Sampler != "DPM++ 2M Karras" || r.Scheduler != "" {
		t.Errorf("old server: %q + %q, want the joined DPM++ 2M Karras", r.Sampler, r.Scheduler)
	}
}

func fluxFixture(t *testing.T, flavor a1111test.Flavor) *fixture {
	t.Helper()
	loras := []a1111.LoRA{
		{Name: "flux_realism", Alias: "flux_realism", Path: "/sd/models/Lora/flux_realism.safetensors", Meta: a1111.LoRAMeta{Architecture: "flux-1-dev/lora"}},
		{Name: "sd15_detail", Alias: "sd15_detail", Path: "/sd/models/Lora/sd15_detail.safetensors", Meta: a1111.LoRAMeta{BaseModelVersion: "sd_v1"}},
		{Name: "pony_style", Alias: "pony_style", Path: "/sd/models/Lora/pony_style.safetensors", Meta: a1111.LoRAMeta{BaseModelVersion: "sdxl_base_v1-0", Architecture: "stable-diffusion-xl-v1-base/lora"}},
	}
	return newFixture(t, a1111test.Options{Flavor: flavor, LoRAsJSON: a1111test.MarshalLoRAs(loras)})
}

func TestPlanFluxDefaultsAndFamilyWarnings(t *testing.T) {
	f := fluxFixture(t, a1111test.FlavorForge)
	var o gen.Options
	o.Prompt = "a portrait"
	o.LoRAs[0].Name = "flux_realism"
	r, err := f.p.Plan("u", o, "", Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Family != lora.FamilyFlux {
		t.Fatalf("family %v, want Flux", r.Family)
	}
	req := r.Txt2Img()
	if req.Width != 1024 || req.Height != 1024 || req.CFGScale != 1 || req.DistilledCFGScale != 3.5 || req.SamplerName != "Euler" || req.Scheduler != "Simple" {
		t.Errorf("Flux request: %dx%d CFG %g distilled %g %q + %q", req.Width, req.Height, req.CFGScale, req.DistilledCFGScale, req.SamplerName, req.Scheduler)
	}
	// The fake's current model is SD 1.5: a Flux LoRA on it is warned of.
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "flux_realism") || !strings.Contains(r.Warnings[0], "Flux") || !strings.Contains(r.Warnings[0], "SD1") {
		t.Errorf("warnings %q", r.Warnings)
	}

	// An SD1 LoRA on an SDXL checkpoint: a warning, not a refusal; an
	// SDXL (Pony) LoRA on it: none.
	o = gen.Options{Prompt: "x", Checkpoint: "sd_xl_base_1.0"}
	o.LoRAs[0].Name, o.LoRAs[1].Name = "sd15_detail", "pony_style"
	r, err = f.p.Plan("u", o, "", Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "sd15_detail is made for SD1, but the checkpoint is SDXL") {
		t.Errorf("warnings %q", r.Warnings)
	}
	if r.Options.Width != 1024 {
		t.Errorf("the checkpoint's size wins: %d", r.Options.Width)
	}
}

func TestPlanChecksTheNegativePrompt(t *testing.T) {
	f := newFixture(t, a1111test.Options{})
	r, err := f.p.Plan("u", gen.Options{Prompt: "a valley", Negative: "blurry, lowres, "}, "", Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if req := r.Txt2Img(); req.NegativePrompt != "blurry, lowres" {
		t.Errorf("negative sent %q", req.NegativePrompt)
	}
	for neg, want := range map[string]string{
		"<lora:add_detail:0.5>":          "cannot go in the negative prompt",
		"<lora:no_such_lora_anywhere:1>": "no_such_lora_anywhere",
		"<hypernet:evil:1>":              "not supported",
	} {
		_, err := f.p.Plan("u", gen.Options{Prompt: "x", Negative: neg}, "", Scope{})
		if err == nil || !strings.Contains(err.Error(), "negative prompt") || !strings.Contains(err.Error(), want) {
			t.Errorf("negative %q: %v", neg, err)
		}
	}
}

func TestFamilyWarnings(t *testing.T) {
	app := func(name string, f lora.Family) prompt.Applied {
		return prompt.Applied{LoRA: lora.LoRA{Name: name, Family: f}}
	}
	ls := []prompt.Applied{app("a", lora.FamilySD1), app("b", lora.FamilySDXL), app("c", lora.FamilyUnknown)}
	if w := familyWarnings(lora.FamilyUnknown, "the checkpoint is", ls); w != nil {
		t.Errorf("unknown model family: no warning, got %q", w)
	}
	w := familyWarnings(lora.FamilySDXL, "the checkpoint is", ls)
	if len(w) != 1 || !strings.HasPrefix(w[0], "The LoRA a is made for SD1, but the checkpoint is SDXL") {
		t.Errorf("warnings %q", w)
	}
}

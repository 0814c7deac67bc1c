package lora

import (
	"testing"

	"lorabot/a1111"
)

func TestFamilyOf(t *testing.T) {
	tests := []struct {
		meta a1111.LoRAMeta
		want Family
	}{
		{a1111.LoRAMeta{BaseModelVersion: "sd_v1"}, FamilySD1},
		{a1111.LoRAMeta{BaseModelVersion: "sd_v2"}, FamilySD2},
		{a1111.LoRAMeta{BaseModelVersion: "sd_v2_768_v"}, FamilySD2},
		{a1111.LoRAMeta{BaseModelVersion: "sdxl_base_v1-0"}, FamilySDXL},
		{a1111.LoRAMeta{BaseModelVersion: "sdxl_base_v1-0", V2: "False"}, FamilySDXL},
		{a1111.LoRAMeta{V2: "True"}, FamilySD2},
		{a1111.LoRAMeta{V2: "False"}, FamilyUnknown},
		{a1111.LoRAMeta{Architecture: "stable-diffusion-xl-v1-base/lora"}, FamilySDXL},
		{a1111.LoRAMeta{Architecture: "stable-diffusion-v1/lora"}, FamilySD1},
		{a1111.LoRAMeta{Architecture: "stable-diffusion-v2-768-v/lora"}, FamilySD2},
		{a1111.LoRAMeta{Architecture: "flux-1-dev/lora"}, FamilyFlux},
		{a1111.LoRAMeta{Architecture: "flux-1-schnell/lora"}, FamilyFlux},
		{a1111.LoRAMeta{BaseModelVersion: "flux1", V2: "False"}, FamilyFlux},
		{a1111.LoRAMeta{Architecture: "stable-diffusion-v3-medium/lora"}, FamilySD3},
		{a1111.LoRAMeta{Architecture: "stable-diffusion-v3.5-large/lora"}, FamilySD3},
		{a1111.LoRAMeta{BaseModelVersion: "sd3"}, FamilySD3},
		{a1111.LoRAMeta{Architecture: "some-new-model/lora"}, FamilyUnknown},
		// The base model version wins over a contradicting architecture.
		{a1111.LoRAMeta{BaseModelVersion: "sd_v1", Architecture: "stable-diffusion-xl-v1-base/lora"}, FamilySD1},
		{a1111.LoRAMeta{}, FamilyUnknown},
	}
	for _, tt := range tests {
		if got := FamilyOf(tt.meta); got != tt.want {
			t.Errorf("FamilyOf(%+v) = %v, want %v", tt.meta, got, tt.want)
		}
	}
}

func TestSampleFamilies(t *testing.T) {
	ix := sampleIndex(t)
	want := map[string]Family{
		"revAnimated_v122": FamilySD1, "pixel-art-xl": FamilySDXL, "ghibli_style_offset": FamilySD1,
		"add_detail": FamilyUnknown, "ブルーアーカイブ_style": FamilySDXL, "more_details": FamilyUnknown,
	}
	for name, f := range want {
		if l, _ := ix.Get(name); l.Family != f {
			t.Errorf("%s: family %v, want %v", name, l.Family, f)
		}
	}
}

func TestParseFamily(t *testing.T) {
	for in, want := range map[string]Family{"SD1": FamilySD1, "sd2": FamilySD2, " SDXL ": FamilySDXL, "Flux": FamilyFlux, "SD3": FamilySD3, "Unknown": FamilyUnknown, "": FamilyUnknown} {
		if got := ParseFamily(in); got != want {
			t.Errorf("ParseFamily(%q) = %v, want %v", in, got, want)
		}
	}
}

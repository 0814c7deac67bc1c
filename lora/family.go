package lora

import (
	"strings"

	"lorabot/a1111"
)

// FamilyOf derives the base-model family from a LoRA's training metadata:
//   - ss_base_model_version: sd_v1… → SD1, sd_v2… → SD2, sdxl_… → SDXL,
//     flux… → Flux, sd3… → SD3;
//   - else ss_v2 "True" → SD2;
//   - else modelspec.architecture: stable-diffusion-xl-… → SDXL,
//     stable-diffusion-v1… → SD1, stable-diffusion-v2… → SD2,
//     stable-diffusion-v3… → SD3, flux-1-… → Flux;
//   - else unknown.
//
// Pony and Illustrious LoRAs are SDXL's (kohya writes sdxl_base_v1-0 and
// stable-diffusion-xl-v1-base for them): they load on any SDXL checkpoint.
//
// ss_v2 "False" says nothing: kohya writes it for SDXL and other models too.
func FamilyOf(m a1111.LoRAMeta) Family {
	v := strings.ToLower(strings.TrimSpace(m.BaseModelVersion))
	switch {
	case strings.HasPrefix(v, "sdxl"):
		return FamilySDXL
	case strings.HasPrefix(v, "sd_v1"):
		return FamilySD1
	case strings.HasPrefix(v, "sd_v2"):
		return FamilySD2
	case strings.HasPrefix(v, "flux"):
		return FamilyFlux
	case strings.HasPrefix(v, "sd3"), strings.HasPrefix(v, "sd_v3"):
		return FamilySD3
	}
	if strings.EqualFold(strings.TrimSpace(m.V2), "true") {
		return FamilySD2
	}
	a := strings.ToLower(strings.TrimSpace(m.Architecture))
	switch {
	case strings.HasPrefix(a, "stable-diffusion-xl"):
		return FamilySDXL
	case strings.HasPrefix(a, "stable-diffusion-v1"):
		return FamilySD1
	case strings.HasPrefix(a, "stable-diffusion-v2"):
		return FamilySD2
	case strings.HasPrefix(a, "stable-diffusion-v3"):
		return FamilySD3
	case strings.HasPrefix(a, "flux-1"), strings.HasPrefix(a, "flux.1"), strings.HasPrefix(a, "flux1"):
		return FamilyFlux
	}
	return FamilyUnknown
}

// ParseFamily reads a family as A1111's user-metadata sidecar writes it
// ("sd version": SD1, SD2, SDXL, Unknown), case-insensitively.
func ParseFamily(s string) Family {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "SD1":
		return FamilySD1
	case "SD2":
		return FamilySD2
	case "SDXL", "PONY", "ILLUSTRIOUS":
		return FamilySDXL
	case "FLUX", "FLUX1", "FLUX.1":
		return FamilyFlux
	case "SD3", "SD3.5":
		return FamilySD3
	}
	return FamilyUnknown
}

// Mismatch is the warning an autocomplete choice carries when a LoRA of
// family l is offered for a checkpoint of family model, e.g. "⚠ SD1 LoRA
// on an SDXL model"; "" when they agree or either is unknown.
func Mismatch(l, model Family) string {
	if l == FamilyUnknown || model == FamilyUnknown || l == model {
		return ""
	}
	article := "a"
	if s := model.String(); s[0] == 'S' { // "an SD1", "an SDXL" are read "es-dee"
		article = "an"
	}
	return "⚠ " + l.String() + " LoRA on " + article + " " + model.String() + " model"
}

// ForModel reorders choices for a checkpoint of family model: LoRAs of that
// family first, then those of unknown family, then the others, each group
// in its given order, with a Mismatch warning starting the name of the
// others (kept within ChoiceMax runes). familyOf tells a choice's LoRA's
// family. With model unknown, choices are returned as they are.
func ForModel(choices []Choice, model Family, familyOf func(Choice) Family) []Choice {
	if model == FamilyUnknown {
		return choices
	}
	out := make([]Choice, 0, len(choices))
	var unknown, other []Choice
	for _, c := range choices {
		switch f := familyOf(c); {
		case f == model:
			out = append(out, c)
		case f == FamilyUnknown:
			unknown = append(unknown, c)
		default:
			c.Name = ellipsize(Mismatch(f, model)+" · "+c.Name, ChoiceMax)
			other = append(other, c)
		}
	}
	return append(append(out, unknown...), other...)
}

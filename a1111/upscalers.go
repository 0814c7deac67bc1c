package a1111

import "strings"

// PreferredUpscalers is the order in which PickUpscaler takes an upscaler
// for a 2× enlargement: general-purpose ESRGAN models first (they add
// detail), then the anime one, then A1111's built-in Lanczos, which every
// install has and which only interpolates.
var PreferredUpscalers = []string{
	"R-ESRGAN 4x+",
	"4x-UltraSharp",
	"ESRGAN_4x",
	"4x_NMKD-Superscale-SP_178000_G",
	"SwinIR 4x",
	"R-ESRGAN 4x+ Anime6B",
	"ScuNET GAN",
	"Lanczos",
}

// PickUpscaler chooses the upscaler to enlarge with from what the server
// lists (Upscalers): the first of prefer (PreferredUpscalers when none is
// given) that the server has, matched case-insensitively, and returned as
// the server names it, since extra-single-image matches names exactly.
// Failing those, the server's first upscaler that actually enlarges ("None"
// returns the image unscaled; "Nearest" is blocky). ok is false when the
// server lists nothing usable.
func PickUpscaler(listed []Upscaler, prefer ...string) (u Upscaler, ok bool) {
	if len(prefer) == 0 {
		prefer = PreferredUpscalers
	}
	for _, want := range prefer {
		for _, l := range listed {
			if strings.EqualFold(strings.TrimSpace(l.Name), strings.TrimSpace(want)) {
				return l, true
			}
		}
	}
	for _, l := range listed {
		if name := strings.ToLower(strings.TrimSpace(l.Name)); name != "" && name != "none" && name != "nearest" {
			return l, true
		}
	}
	return Upscaler{}, false
}

package prompt

import "testing"

// BenchmarkBuild builds a typical request: a preset prompt, a user prompt
// with emphasis and one typed tag, and two LoRA options.
func BenchmarkBuild(b *testing.B) {
	input := Input{
		PresetPrompt: "masterpiece, best quality, (detailed background:1.1)",
		Prompt:       "a girl reading in a sunlit library, (soft light:1.2), [blurry], bokeh <lora:add_detail:0.5>",
		LoRAs:        []Choice{optw("revAnimated_v122", 0.8), opt("studio_ghibli_v2")},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(catalog, input); err != nil {
			b.Fatal(err)
		}
	}
}

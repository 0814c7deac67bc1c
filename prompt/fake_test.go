package prompt

import (
	"sort"
	"strings"

	"lorabot/lora"
)

// fakeResolver is a small catalog modelled on fixtures/loras.sample.json:
// case-insensitive lookup by file name, then by alias, and a NotFoundError
// suggesting the names that share a word with the query.
type fakeResolver []lora.LoRA

func (f fakeResolver) Resolve(v string) (lora.LoRA, error) {
	for _, l := range f {
		if strings.EqualFold(l.Name, v) {
			return l, nil
		}
	}
	for _, l := range f {
		if strings.EqualFold(l.Alias, v) {
			return l, nil
		}
	}
	var sug []string
	q := strings.ToLower(v)
	for _, l := range f {
		n := strings.ToLower(l.Name)
		if q != "" && (strings.Contains(n, q) || strings.Contains(q, n) || n[:1] == q[:1]) {
			sug = append(sug, l.Name)
		}
	}
	sort.Strings(sug)
	return lora.LoRA{}, &lora.NotFoundError{Query: v, Suggestions: sug}
}

var catalog = fakeResolver{
	{Name: "revAnimated_v122", Alias: "revAnimated_v122", Family: lora.FamilySD1, Triggers: []string{"3dmm style"}},
	{Name: "pixel-art-xl", Alias: "pixel-art-xl", Family: lora.FamilySDXL, Triggers: []string{"pixel art, game sprite"}, Title: "Pixel Art XL"},
	{Name: "ghibli_style_offset", Alias: "studio_ghibli_v2", Family: lora.FamilySD1, Triggers: []string{"ghibli style"}, PreferredWeight: 0.8},
	{Name: "add_detail", Alias: "add_detail", Family: lora.FamilySD1},
	{Name: "Cyberpunk Edgerunners (anime style) v2.1", Alias: "cyberpunk_edgerunners", Family: lora.FamilySD1, Triggers: []string{"edgerunners style"}},
	{Name: "ブルーアーカイブ_style", Alias: "ブルーアーカイブ_style", Family: lora.FamilySD1, Triggers: []string{"blue archive", "halo"}},
	{Name: "more_details", Alias: "add_detail", Family: lora.FamilySD1, PreferredWeight: 0.5},
	{Name: "furniture_midcentury.v1", Alias: "furniture_midcentury.v1", Family: lora.FamilySD1, Triggers: []string{"a photo of a mcmchair, mid-century modern armchair"}},
	// Not in the fixture: file names and metadata the bot must guard against.
	{Name: "bad:name", Alias: "bad_colon"},
	{Name: "hot", Alias: "hot", PreferredWeight: 3},
	{Name: "sneaky", Alias: "sneaky", Triggers: []string{"<hypernet:evil:1> glow"}},
}

package a1111test

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"

	"lorabot/a1111"
)

// sampleLoRAs is a real /sdapi/v1/loras answer (shared/fixtures), copied here
// so that the package does not depend on files outside the module.
//
//go:embed testdata/loras.sample.json
var sampleLoRAs []byte

// SampleLoRAsJSON returns the sample catalog the fake serves by default: 8
// LoRAs including an alias that collides with another LoRA's name
// ("more_details" → "add_detail"), a name with spaces, dots and parentheses,
// a Japanese name, metadata-less .pt files, SD1 and SDXL families.
func SampleLoRAsJSON() []byte { return bytes.Clone(sampleLoRAs) }

// MarshalLoRAs writes loras in the shape GET /sdapi/v1/loras answers, the
// metadata as A1111 sends it (strings, ss_tag_frequency as an object).
func MarshalLoRAs(loras []a1111.LoRA) []byte {
	type entry struct {
		Name     string         `json:"name"`
		Alias    string         `json:"alias"`
		Path     string         `json:"path"`
		Metadata map[string]any `json:"metadata"`
	}
	out := make([]entry, 0, len(loras))
	for _, l := range loras {
		md := map[string]any{}
		put := func(k, v string) {
			if v != "" {
				md[k] = v
			}
		}
		m := l.Meta
		put("ss_base_model_version", m.BaseModelVersion)
		put("ss_v2", m.V2)
		put("modelspec.architecture", m.Architecture)
		put("modelspec.title", m.Title)
		put("modelspec.trigger_phrase", m.TriggerPhrase)
		put("ss_sd_model_name", m.SDModelName)
		put("ss_output_name", m.OutputName)
		put("sshs_model_hash", m.ModelHash)
		if m.TagFrequency != nil {
			md["ss_tag_frequency"] = m.TagFrequency
		}
		alias := l.Alias
		if alias == "" {
			alias = l.Name
		}
		path := l.Path
		if path == "" {
			path = "/workspace/sd/stable-diffusion-webui/models/Lora/" + l.Name + ".safetensors"
		}
		out = append(out, entry{Name: l.Name, Alias: alias, Path: path, Metadata: md})
	}
	b, err := json.Marshal(out)
	if err != nil {
		panic(err) // only plain values: cannot happen
	}
	return b
}

// LoRAsJSON generates a /sdapi/v1/loras answer of n LoRAs, the same for the
// same n, shaped like a large real catalog: names with spaces, dots,
// parentheses, brackets and non-Latin letters; SD1, SD2 and SDXL families;
// one to three datasets of tags each; kohya training keys; a tenth with
// metadata {} (.pt files); and one in eight carrying a ~48 KB base64 cover
// image in modelspec.thumbnail, which a decoder should skip.
func LoRAsJSON(n int) []byte {
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	var thumb string
	{
		raw := make([]byte, 36<<10)
		for i := range raw {
			raw[i] = byte(rng.Uint32())
		}
		thumb = "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(raw)
	}
	stems := []string{"detail tweaker", "Cyberpunk Edgerunners (anime style)", "pixel-art", "ghibli_style", "furniture.midcentury",
		"ブルーアーカイブ_style", "Ёлка-новогодняя", "人物写真", "watercolor [soft]", "add_detail", "LowRA", "epi_noiseoffset",
		"Korean Doll Likeness", "arcane_style", "Moebius (Jean Giraud)", "film grain", "neon.glow", "gothic lolita", "papercut", "Pokémon trainer"}
	words := []string{"1girl", "solo", "looking at viewer", "smile", "outdoors", "sky", "cloud", "tree", "building", "night",
		"neon lights", "city", "portrait", "upper body", "long hair", "short hair", "dress", "armor", "sword", "flower",
		"watercolor", "sketch", "monochrome", "depth of field", "bokeh", "film grain", "pixel art", "sprite", "chair", "wood"}
	type family struct{ version, v2, model, arch string }
	families := []family{
		{"sd_v1", "False", "v1-5-pruned-emaonly.safetensors", "stable-diffusion-v1/lora"},
		{"sd_v1", "False", "anything-v4.5.safetensors", ""},
		{"sd_v2", "True", "v2-1_768-ema-pruned.safetensors", "stable-diffusion-v2-768-v/lora"},
		{"sdxl_base_v1-0", "False", "sd_xl_base_1.0.safetensors", "stable-diffusion-xl-v1-base/lora"},
		{"sdxl_base_v1-0", "False", "animagine-xl-3.1.safetensors", ""},
	}
	var b bytes.Buffer
	b.Grow(n * 1500)
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteString(",\n")
		}
		stem := stems[i%len(stems)]
		name := fmt.Sprintf("%s v%d.%d", stem, i/len(stems), i%7)
		if i%3 == 0 {
			name = strings.ReplaceAll(name, " ", "_")
		}
		alias := name
		if i%5 == 0 {
			alias = strings.ToLower(strings.ReplaceAll(stem, " ", "_")) + fmt.Sprint(i)
		}
		f := families[i%len(families)]
		dir := "Lora/"
		if strings.HasPrefix(f.version, "sdxl") {
			dir = "Lora/sdxl/"
		}
		e := map[string]any{"name": name, "alias": alias}
		if i%10 == 9 {
			e["path"] = "/workspace/sd/stable-diffusion-webui/models/" + dir + name + ".pt"
			e["metadata"] = map[string]any{}
			writeJSON(&b, e)
			continue
		}
		e["path"] = "/workspace/sd/stable-diffusion-webui/models/" + dir + name + ".safetensors"
		freq := map[string]map[string]int{}
		for d := range 1 + i%3 {
			tags := map[string]int{}
			trigger := strings.ToLower(stem) + " style"
			tags[trigger] = 40 + rng.IntN(80)
			for range 3 + rng.IntN(28) {
				tags[words[rng.IntN(len(words))]] = 1 + rng.IntN(60)
			}
			freq[fmt.Sprintf("%d_%s %d", 5+rng.IntN(20), stem, d)] = tags
		}
		hash := sha256.Sum256([]byte(name))
		md := map[string]any{
			"ss_sd_model_name":      f.model,
			"ss_resolution":         "(512, 512)",
			"ss_clip_skip":          "2",
			"ss_num_train_images":   fmt.Sprint(100 + rng.IntN(900)),
			"ss_tag_frequency":      freq,
			"ss_output_name":        alias,
			"ss_network_module":     "networks.lora",
			"ss_network_dim":        fmt.Sprint(1 << (3 + rng.IntN(5))),
			"ss_network_alpha":      "16",
			"ss_base_model_version": f.version,
			"ss_v2":                 f.v2,
			"sshs_model_hash":       hex.EncodeToString(hash[:]),
			"ss_learning_rate":      "0.0001",
			"ss_unet_lr":            "0.0001",
			"ss_text_encoder_lr":    "5e-05",
			"ss_optimizer":          "bitsandbytes.optim.adamw.AdamW8bit",
			"ss_lr_scheduler":       "cosine_with_restarts",
			"ss_epoch":              fmt.Sprint(1 + rng.IntN(20)),
			"ss_training_comment":   "trained on a home GPU; use at weight 0.6-0.9",
		}
		if f.arch != "" {
			md["modelspec.sai_model_spec"] = "1.0.0"
			md["modelspec.architecture"] = f.arch
			md["modelspec.implementation"] = "https://github.com/Stability-AI/generative-models"
			md["modelspec.title"] = stem
			if i%2 == 0 {
				md["modelspec.trigger_phrase"] = strings.ToLower(stem) + " style"
			}
		}
		if i%8 == 4 {
			md["modelspec.thumbnail"] = thumb
		}
		e["metadata"] = md
		writeJSON(&b, e)
	}
	b.WriteByte(']')
	return b.Bytes()
}

func writeJSON(b *bytes.Buffer, v any) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // only plain values: cannot happen
	}
	b.Truncate(b.Len() - 1) // Encode's newline
}

// loraEntry is what txt2img needs of a catalog entry to report "Lora hashes".
type loraEntry struct {
	name, alias, shorthash string
}

// loraIndex resolves <lora:NAME:…> like A1111: by file stem first, then by
// alias, case-sensitively.
type loraIndex struct {
	byName, byAlias map[string]loraEntry
}

// indexLoRAs reads a catalog on its own terms (not with the client's
// decoder, which the fake exists to test). Entries it cannot read are left
// out, as A1111 would not have listed them.
func indexLoRAs(raw []byte) loraIndex {
	idx := loraIndex{byName: map[string]loraEntry{}, byAlias: map[string]loraEntry{}}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return idx
	}
	for _, item := range list {
		var e struct {
			Name     string                     `json:"name"`
			Alias    string                     `json:"alias"`
			Metadata map[string]json.RawMessage `json:"metadata"`
		}
		if json.Unmarshal(item, &e) != nil || e.Name == "" {
			continue
		}
		var h string
		_ = json.Unmarshal(e.Metadata["sshs_model_hash"], &h)
		if len(h) < 12 {
			sum := sha256.Sum256([]byte(e.Name))
			h = hex.EncodeToString(sum[:])
		}
		le := loraEntry{name: e.Name, alias: e.Alias, shorthash: h[:12]}
		idx.byName[e.Name] = le
		if e.Alias != "" {
			if _, taken := idx.byAlias[e.Alias]; !taken {
				idx.byAlias[e.Alias] = le
			}
		}
	}
	return idx
}

func (x loraIndex) lookup(name string) (loraEntry, bool) {
	if e, ok := x.byName[name]; ok {
		return e, true
	}
	e, ok := x.byAlias[name]
	return e, ok
}

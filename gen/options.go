// Package gen holds the domain of one image generation as a user asks for it:
// the options of /imagine, the presets that save them, the order in which
// layers of options win, and the bounds a request must keep. It knows nothing
// of Discord, HTTP or bbolt.
package gen

// LoRASlots is how many LoRA options /imagine and /preset save have
// (lora, lora2, lora3). More LoRAs can be typed as tags in the prompt.
const LoRASlots = 3

// LoRAChoice is one LoRA slot as the user filled it. Name is what they
// picked or typed, resolved later against the catalog; an empty Name with a
// Weight changes only the weight of the LoRA a lower layer put in that slot.
type LoRAChoice struct {
	Name   string   `json:"name,omitempty"`
	Weight *float64 `json:"weight,omitempty"` // nil: the LoRA's preferred weight, else 1
}

// Options are generation settings as one layer gives them: the command, a
// preset, the user's default preset. A zero field means "not set in this
// layer", so that layers merge field by field (see Merge).
//
// Options is also the stored form of a preset, encoded as JSON so that a
// field added later leaves old records readable.
type Options struct {
	Prompt     string                `json:"prompt,omitempty"` // in a preset: the text put before the user's prompt
	Negative   string                `json:"negative,omitempty"`
	LoRAs      [LoRASlots]LoRAChoice `json:"loras"`
	Checkpoint string                `json:"checkpoint,omitempty"` // an A1111 model title or name
	Sampler    string                `json:"sampler,omitempty"`
	Steps      int                   `json:"steps,omitempty"`
	CFG        float64               `json:"cfg,omitempty"`
	Width      int                   `json:"width,omitempty"`
	Height     int                   `json:"height,omitempty"`
	Seed       *int64                `json:"seed,omitempty"`  // never saved in a preset
	Count      int                   `json:"count,omitempty"` // never saved in a preset
}

// Over returns o laid over base: every field set in o wins, the rest comes
// from base. Prompt is the exception and stays base's: the preset's prompt
// and the user's prompt are both kept, one before the other (see package
// imagine).
func (o Options) Over(base Options) Options {
	out := base
	str := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	str(&out.Negative, o.Negative)
	str(&out.Checkpoint, o.Checkpoint)
	str(&out.Sampler, o.Sampler)
	for i, c := range o.LoRAs {
		if c.Name != "" {
			out.LoRAs[i] = c
		} else if c.Weight != nil {
			// Re-weights base's LoRA; with none there, Validate refuses it.
			out.LoRAs[i].Weight = c.Weight
		}
	}
	if o.Steps != 0 {
		out.Steps = o.Steps
	}
	if o.CFG != 0 {
		out.CFG = o.CFG
	}
	if o.Width != 0 && o.Height != 0 {
		out.Width, out.Height = o.Width, o.Height
	}
	if o.Seed != nil {
		out.Seed = o.Seed
	}
	if o.Count != 0 {
		out.Count = o.Count
	}
	return out
}

// ForPreset drops what a preset never keeps: the seed and the image count.
func (o Options) ForPreset() Options {
	o.Seed = nil
	o.Count = 0
	return o
}

// Preset is a user's saved Options under a name. Presets belong to one user:
// only that user may see, use, replace or delete them.
type Preset struct {
	Name    string  `json:"name"` // as the user wrote it; unique per user ignoring case
	Options Options `json:"options"`
}

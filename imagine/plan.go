package imagine

import (
	"errors"
	"fmt"
	"strings"

	"lorabot/a1111"
	"lorabot/gen"
	"lorabot/lora"
	"lorabot/prompt"
)

// Request is one generation, checked and ready to queue.
type Request struct {
	User       string
	PresetName string // the preset applied (named or default), "" for none
	// PresetPrompt is the preset's prompt text, put before the user's.
	PresetPrompt string
	Options      gen.Options // every layer merged, defaults filled; Prompt is the user's own
	Prompt       prompt.Result
	Checkpoint   a1111.Model // zero: the server's current model
	Sampler      string      // "" : the server's default
	Scheduler    string
	Family       lora.Family // of the checkpoint, else of the LoRAs, else of the current model
	// Backends are the servers that have every LoRA of the request, as
	// queue.Job.Backends takes them (bit i: backend i; 0: any).
	Backends uint64
}

// Txt2Img is the A1111 request for r.
func (r *Request) Txt2Img() a1111.Txt2ImgRequest {
	seed := int64(-1)
	if r.Options.Seed != nil {
		seed = *r.Options.Seed
	}
	req := a1111.Txt2ImgRequest{
		Prompt:         r.Prompt.Text,
		NegativePrompt: r.Options.Negative,
		Seed:           seed,
		SamplerName:    r.Sampler,
		Scheduler:      r.Scheduler,
		BatchSize:      r.Options.Count,
		NIter:          1,
		Steps:          r.Options.Steps,
		CFGScale:       r.Options.CFG,
		Width:          r.Options.Width,
		Height:         r.Options.Height,
	}
	if r.Checkpoint.Title != "" {
		req.OverrideSettings = map[string]any{"sd_model_checkpoint": r.Checkpoint.Title}
	}
	return req
}

// CheckpointKey is the file of the request's checkpoint (see the function
// CheckpointKey), "" when the request keeps the server's current model. It
// is what matches the request to a server, whatever title that server
// gives the file.
func (r *Request) CheckpointKey() string {
	if r.Checkpoint.Title == "" && r.Checkpoint.Filename == "" {
		return ""
	}
	return CheckpointKey(r.Checkpoint)
}

// Txt2ImgOn is Txt2Img for the server the job runs on: titleOn gives that
// server's title for a checkpoint file (Servers.TitleOn for its index), since
// the title planned with is the first server's and another server may title
// the same file without its hash, and A1111 silently ignores a title it does
// not know. When titleOn has none (nil, or lists not loaded), the file name
// without hash is sent, which A1111 accepts whether it hashed the file or
// not.
func (r *Request) Txt2ImgOn(titleOn func(key string) (string, bool)) a1111.Txt2ImgRequest {
	req := r.Txt2Img()
	key := r.CheckpointKey()
	if key == "" {
		return req
	}
	title := fileOfTitle(r.Checkpoint.Title)
	if title == "" {
		title = baseName(r.Checkpoint.Filename)
	}
	if titleOn != nil {
		if t, ok := titleOn(key); ok && t != "" {
			title = t
		}
	}
	if req.OverrideSettings == nil {
		req.OverrideSettings = map[string]any{}
	}
	req.OverrideSettings["sd_model_checkpoint"] = title
	return req
}

// Planner checks a user's request against the catalog, their presets and
// the servers' lists.
type Planner struct {
	Catalog *lora.Catalog
	Presets gen.PresetStore
	Servers *Servers
}

// Plan merges the layers — the command's options win over the named preset
// (or, when none is named, the user's default preset), which wins over the
// bot's defaults — and checks everything. Errors for the user satisfy
// UserMessage; others are the store's failures.
func (p *Planner) Plan(user string, cmd gen.Options, presetName string) (*Request, error) {
	var preset gen.Preset
	var hasPreset bool
	if name := strings.TrimSpace(presetName); name != "" {
		pr, err := p.Presets.Preset(user, name)
		if errors.Is(err, gen.ErrPresetNotFound) {
			return nil, &gen.InputError{Msg: fmt.Sprintf("You have no preset called %q; /preset list shows yours.", name)}
		}
		if err != nil {
			return nil, fmt.Errorf("load preset %q: %w", name, err)
		}
		preset, hasPreset = pr, true
	} else {
		pr, ok, err := p.Presets.DefaultPreset(user)
		if err != nil {
			return nil, fmt.Errorf("load default preset: %w", err)
		}
		preset, hasPreset = pr, ok
	}

	merged := cmd.Over(preset.Options)
	merged.Prompt = cmd.Prompt // the preset's goes in front of it, in prompt.Build
	if err := merged.CheckSlots(); err != nil {
		return nil, err
	}
	r := &Request{User: user, Options: merged}
	if hasPreset {
		r.PresetName, r.PresetPrompt = preset.Name, preset.Options.Prompt
	}

	if merged.Checkpoint != "" {
		m, err := p.Servers.ResolveCheckpoint(merged.Checkpoint)
		if err != nil {
			return nil, err
		}
		r.Checkpoint = m
		r.Options.Checkpoint = m.Title
	}
	if merged.Sampler != "" {
		sm, sc, err := p.Servers.ResolveSampler(merged.Sampler)
		if err != nil {
			return nil, err
		}
		r.Sampler, r.Scheduler = sm, sc
	}

	idx := p.Catalog.Index()
	in := prompt.Input{Prompt: cmd.Prompt, PresetPrompt: preset.Options.Prompt}
	for i, c := range merged.LoRAs {
		if c.Name == "" {
			continue
		}
		if idx.Len() == 0 {
			// Not "no such LoRA": the list itself is missing.
			return nil, &gen.InputError{Msg: "The LoRA list has not been loaded from the image server yet (is A1111 running?); try again in a minute."}
		}
		in.LoRAs = append(in.LoRAs, prompt.Choice{Value: c.Name, Weight: c.Weight})
		if cmd.LoRAs[i].Name == "" && hasPreset {
			if _, err := idx.Resolve(c.Name); err != nil {
				return nil, &gen.InputError{Msg: fmt.Sprintf("Your preset %q uses the LoRA %q, which the image server no longer has; pick another with %s or save the preset again.", preset.Name, c.Name, gen.SlotOption("lora", i))}
			}
		}
	}
	built, err := prompt.Build(idx, in)
	if err != nil {
		return nil, err
	}
	r.Prompt = built
	if r.Backends, err = backendsFor(built.LoRAs); err != nil {
		return nil, err
	}

	r.Family = gen.CheckpointFamily(r.Checkpoint.Title)
	if r.Family == lora.FamilyUnknown {
		for _, a := range built.LoRAs {
			if a.LoRA.Family != lora.FamilyUnknown {
				r.Family = a.LoRA.Family
				break
			}
		}
	}
	if r.Family == lora.FamilyUnknown && r.Checkpoint.Title == "" {
		r.Family = p.Servers.CurrentFamily()
	}
	r.Options = r.Options.WithDefaults(r.Family)
	if err := r.Options.Validate(); err != nil {
		return nil, err
	}
	return r, nil
}

// backendsFor narrows the servers a job may run on to those that have all
// its LoRAs: A1111 silently leaves out a LoRA it does not have.
func backendsFor(loras []prompt.Applied) (uint64, error) {
	var mask uint64 // 0: any
	var names []string
	for _, a := range loras {
		names = append(names, a.LoRA.Name)
		if a.LoRA.Servers == 0 {
			continue
		}
		if mask == 0 {
			mask = a.LoRA.Servers
		} else {
			mask &= a.LoRA.Servers
		}
		if mask == 0 {
			return 0, &gen.InputError{Msg: fmt.Sprintf("No single image server has all of %s; pick LoRAs that are on the same server.", strings.Join(names, ", "))}
		}
	}
	return mask, nil
}

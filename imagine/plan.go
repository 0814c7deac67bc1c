package imagine

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"lorabot/a1111"
	"lorabot/compare"
	"lorabot/gen"
	"lorabot/guild"
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
	// Sampler and Scheduler are what the job runs with: a layer's, else
	// the family's default the servers list (Servers.DefaultSampler).
	// Sampler is "" only when the servers' lists were not loaded;
	// Scheduler is a label ("Karras"), "" for the server's automatic one.
	Sampler   string
	Scheduler string
	// SamplerIsDefault: no layer named the sampler; Plan picked it for the
	// family.
	SamplerIsDefault bool `json:",omitempty"`
	// DistilledCFG is Flux's distilled guidance (Forge's
	// distilled_cfg_scale), 0 for other families.
	DistilledCFG float64     `json:",omitempty"`
	Family       lora.Family // of the checkpoint, else of the LoRAs, else of the current model
	// Negative is the job's own negative prompt as checked (its LoRA tags
	// resolved and canonical; see prompt.BuildNegative). "" for a request
	// planned before it existed: Options.Negative is sent then.
	NegativeText  string           `json:",omitempty"`
	NegativeLoRAs []prompt.Applied `json:",omitempty"`
	// Warnings are sentences for the user about what the job will do that
	// they may not expect (a LoRA made for another family than the
	// checkpoint's), shown with the queued message and the result. The job
	// runs anyway.
	Warnings []string `json:",omitempty"`
	// Backends are the servers that have every LoRA of the request, as
	// queue.Job.Backends takes them (bit i: backend i; 0: any).
	Backends uint64
	// ServerNegative is what the server's default negative prompt added to
	// the job's own (Options.Negative): kept apart so that "Save as
	// preset" keeps the user's negative, not one server's.
	ServerNegative string
	// Spoiler: post the results as spoilers (the Spoiler policy outside
	// age-restricted channels). Kept in the request, so a job resumed
	// after a restart is posted the same way.
	Spoiler bool
	// Compare makes the request a /compare: one job of several cells
	// (CompareCells), nil for an ordinary generation.
	Compare *compare.Plan `json:",omitempty"`

	// Kind is what the job asks the server for; the fields below it are
	// set only for the kinds that use them.
	Kind Kind `json:",omitempty"`
	// Init is the picture an img2img, upscale or describe job starts from.
	Init *Picture `json:",omitempty"`
	// Strength is img2img's denoising strength: how far the result may
	// move from Init.
	Strength float64 `json:",omitempty"`
	// Variation is the subseed strength of a "Vary" job: the seed stays
	// (Options.Seed), a new random subseed is mixed in this much.
	Variation float64 `json:",omitempty"`
	// Upscaler (a name the server lists) and Scale are an upscale job's.
	Upscaler string  `json:",omitempty"`
	Scale    float64 `json:",omitempty"`
	// Interrogator is a describe job's model: "clip" or "deepdanbooru".
	Interrogator string `json:",omitempty"`
	// From is the result the job was made from by a button on it (its
	// record ID and which of its images), so the new result can point
	// back to it; zero for a job a command started.
	From Lineage `json:",omitempty"`
}

// Lineage is where a job made by a result's button came from.
type Lineage struct {
	Job     string `json:",omitempty"` // the earlier job's record ID
	Image   int    `json:",omitempty"` // 1-based; 0 for the whole result
	Action  string `json:",omitempty"` // what was pressed, e.g. "reroll"
	Message string `json:",omitempty"` // the result message's ID
	Channel string `json:",omitempty"`
	Guild   string `json:",omitempty"`
}

// Negative is the negative prompt sent: the job's own, then the server's
// default.
func (r *Request) Negative() string {
	own := r.Options.Negative
	if r.NegativeText != "" {
		own = r.NegativeText
	}
	return prompt.Join(own, r.ServerNegative)
}

// LoRANames are the names of the LoRAs the job's tags send, in order,
// without duplicates: what a1111.Info.NotLoaded compares with what the
// server says it loaded.
func (r *Request) LoRANames() []string {
	var out []string
	for _, a := range r.Prompt.LoRAs {
		if !slices.Contains(out, a.LoRA.Name) {
			out = append(out, a.LoRA.Name)
		}
	}
	return out
}

// Txt2Img is the A1111 request for r.
func (r *Request) Txt2Img() a1111.Txt2ImgRequest {
	seed := int64(-1)
	if r.Options.Seed != nil {
		seed = *r.Options.Seed
	}
	req := a1111.Txt2ImgRequest{
		Prompt:            r.Prompt.Text,
		NegativePrompt:    r.Negative(),
		Seed:              seed,
		SamplerName:       r.Sampler,
		Scheduler:         r.Scheduler,
		BatchSize:         r.Options.Count,
		NIter:             1,
		Steps:             r.Options.Steps,
		CFGScale:          r.Options.CFG,
		DistilledCFGScale: r.DistilledCFG,
		Width:             r.Options.Width,
		Height:            r.Options.Height,
	}
	if r.Variation > 0 {
		req.Subseed, req.SubseedStrength = -1, r.Variation
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

// Planner checks a user's request against the catalog, their presets, the
// servers' lists and the settings of the server it is made in.
type Planner struct {
	Catalog *lora.Catalog
	Presets gen.PresetStore
	Servers *Servers
}

// Layers are what one job is planned from, lowest last: the options the
// user gave now (Cmd), over a base: the job a result's button starts from
// (From), else the named preset, else the user's default preset.
type Layers struct {
	Cmd        gen.Options
	PresetName string
	// From is an earlier job's request: a reroll, a variation or an edit
	// of it keeps its settings (its preset's prompt included) under Cmd,
	// but not its seed, and looks up no preset.
	From *Request
	// Init is the picture an img2img job starts from, with Strength;
	// without a size in any layer, the job takes the picture's shape at
	// the model's native area. A From that was img2img keeps its Init.
	Init     *Picture
	Strength float64
	// Variation is the subseed strength of a variation (Request.Variation).
	Variation float64
	// Inherited: Cmd's size is an action's choice, not the user's typing,
	// so beyond the server's bound it is clamped rather than refused.
	Inherited bool
	// Lineage is the result the job is made from (Request.From).
	Lineage Lineage
	// Warnings are sentences the action adds to the plan's own
	// (Request.Warnings).
	Warnings []string
}

// Plan merges the layers — the command's options win over the named preset
// (or, when none is named, the user's default preset), which wins over the
// server's defaults and the bot's — and checks everything, the server's
// rules (scope) included: its bounds, default checkpoint and negative
// prompt, banned words and LoRAs, its LoRA settings (the first source of
// trigger words and weights) and its content policy. Errors for the user
// satisfy UserMessage; others are the store's failures.
func (p *Planner) Plan(user string, cmd gen.Options, presetName string, scope Scope) (*Request, error) {
	return p.PlanLayers(user, Layers{Cmd: cmd, PresetName: presetName}, scope)
}

// PlanLayers is Plan for any Layers. A job planned from an earlier one is
// checked again in full under the scope it is asked in now (the bounds and
// bans of today, the presser's own limits), and inherited values beyond
// the server's bounds are clamped rather than refused, as a preset's are.
func (p *Planner) PlanLayers(user string, l Layers, scope Scope) (*Request, error) {
	cmd := l.Cmd
	set := scope.Settings
	// Where the job may run at all is known before anything is looked up.
	if _, err := ContentPolicy(scope.Policy(), scope.ageRestricted(), Content{}); err != nil {
		return nil, err
	}
	var preset gen.Preset
	var hasPreset bool
	lost := func(name string, slot int) string {
		return fmt.Sprintf("Your preset %q uses the LoRA %q, which the image server no longer has; pick another with %s or save the preset again.", preset.Name, name, gen.SlotOption("lora", slot))
	}
	if f := l.From; f != nil {
		preset.Name = f.PresetName
		preset.Options = f.Options
		preset.Options.Prompt = f.PresetPrompt
		preset.Options.Seed = nil
		hasPreset = true
		if cmd.Prompt == "" {
			cmd.Prompt = f.Options.Prompt
		}
		if l.Init == nil && f.Kind == Img2Img {
			l.Init, l.Strength = f.Init, f.Strength
		}
		lost = func(name string, _ int) string {
			return fmt.Sprintf("The image server no longer has the LoRA %q this result used; start a new /imagine with another.", name)
		}
	} else if name := strings.TrimSpace(l.PresetName); name != "" {
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
	r.Variation, r.From = l.Variation, l.Lineage
	if l.Init != nil {
		r.Kind, r.Init, r.Strength = Img2Img, l.Init, l.Strength
		if r.Strength == 0 {
			r.Strength = DefaultStrength
		}
		if r.Strength < MinStrength || r.Strength > MaxStrength {
			return nil, &gen.InputError{Msg: fmt.Sprintf("Strength must be from %g to %g; you asked for %g.", MinStrength, MaxStrength, r.Strength)}
		}
	}

	if merged.Checkpoint != "" {
		m, err := p.Servers.ResolveCheckpoint(merged.Checkpoint)
		if err != nil {
			return nil, err
		}
		r.Checkpoint = m
		r.Options.Checkpoint = m.Title
	} else if def := strings.TrimSpace(set.DefaultCheckpoint); def != "" {
		m, err := p.Servers.ResolveCheckpoint(def)
		if err != nil {
			// Not the server's current model instead: a default of another
			// family would silently spoil the job's LoRAs and size.
			return nil, &gen.InputError{Msg: fmt.Sprintf("This server's default checkpoint %q is not on the image servers (or their lists are not loaded yet); pick a checkpoint, or an admin can change the default with /settings defaults.", def)}
		}
		// Options.Checkpoint stays empty: the job runs on the server's
		// default, but "Save as preset" must not carry it to other servers.
		r.Checkpoint = m
	}
	if merged.Sampler != "" {
		sm, sc, err := p.Servers.ResolveSampler(merged.Sampler)
		if err != nil {
			return nil, err
		}
		r.Sampler, r.Scheduler = sm, sc
	}

	idx := p.Catalog.Index()
	res := ResolverFor(idx, set)
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
			if _, err := res.Resolve(c.Name); err != nil {
				return nil, &gen.InputError{Msg: lost(c.Name, i)}
			}
		}
	}
	built, err := prompt.Build(res, in)
	if err != nil {
		return nil, err
	}
	r.Prompt = built
	if r.NegativeText, err = prompt.BuildNegative(res, merged.Negative); err != nil {
		return nil, err
	}
	if r.Spoiler, err = ContentPolicy(scope.Policy(), scope.ageRestricted(), contentOf(set, in, built)); err != nil {
		return nil, err
	}
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
	model, modelIs := gen.CheckpointFamily(r.Checkpoint.Title), "the checkpoint is"
	if r.Checkpoint.Title == "" {
		model, modelIs = p.Servers.CurrentFamily(), "the image server's current checkpoint is"
	}
	if model == lora.FamilyUnknown {
		model, modelIs = r.Family, "the job's other LoRAs are"
	}
	r.Warnings = append(familyWarnings(model, modelIs, built.LoRAs), l.Warnings...)
	if r.Sampler == "" {
		r.Sampler, r.Scheduler = p.Servers.DefaultSampler(r.Family)
		r.SamplerIsDefault = r.Sampler != ""
	}
	if r.Family == lora.FamilyFlux {
		r.DistilledCFG = gen.DefaultsFor(r.Family).DistilledCFG
	}
	if r.Init != nil && (r.Options.Width == 0 || r.Options.Height == 0) {
		sz := gen.SizeForShape(r.Family, r.Init.Width, r.Init.Height)
		r.Options.Width, r.Options.Height = sz.Width, sz.Height
	}
	r.Options = r.Options.WithDefaults(r.Family)
	typed := cmd
	if l.Inherited {
		typed.Width, typed.Height = 0, 0
	}
	if r.Options, err = applyBounds(set.Bounds, typed, r.Options); err != nil {
		return nil, err
	}
	if err := r.Options.Validate(); err != nil {
		return nil, err
	}
	// Under every policy: it is how a server keeps its results to its taste.
	r.ServerNegative = prompt.NewPhrases(r.Options.Negative, set.DefaultNegative)
	return r, nil
}

// familyWarnings are the sentences for LoRAs made for another family than
// f, the model's (as modelIs says: "the checkpoint is"): A1111 loads them
// anyway (a mismatch mostly does nothing or spoils the image), so the job
// runs, but the user is told. SDXL's derivatives (Pony, Illustrious) are
// SDXL's family and draw no warning.
func familyWarnings(f lora.Family, modelIs string, loras []prompt.Applied) []string {
	if f == lora.FamilyUnknown {
		return nil
	}
	var out []string
	for _, a := range loras {
		lf := a.LoRA.Family
		if lf == lora.FamilyUnknown || lf == f {
			continue
		}
		out = append(out, fmt.Sprintf("The LoRA %s is made for %s, but %s %s: it may do nothing or spoil the image.", a.LoRA.Name, lf, modelIs, f))
	}
	return out
}

// contentOf is what the content policy looks at in a built job: banned
// words in the user's prompt, the preset's prompt and the trigger words
// added (they are in the prompt sent as much as the user's words), then
// the LoRAs.
func contentOf(s guild.Settings, in prompt.Input, built prompt.Result) Content {
	var c Content
	for _, text := range append([]string{in.Prompt, in.PresetPrompt}, built.Triggers...) {
		if w := s.BannedIn(text); w != "" {
			c.BannedWord = w
			break
		}
	}
	for _, a := range built.LoRAs {
		if c.BannedLoRA == "" && bannedLoRA(s, a.LoRA) {
			c.BannedLoRA = a.LoRA.Name
		}
		if c.NSFWLoRA == "" && a.LoRA.NSFW {
			c.NSFWLoRA = a.LoRA.Name
		}
	}
	return c
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

// NotLoaded names the job's LoRAs that, by the server's record in info
// (a1111.Info.NotLoaded), were not applied; nil when every one was, when
// the job sent none, or when info carries no record at all (no
// extra_generation_params: an answer that could not be parsed, or a
// server that writes none), since silence proves nothing.
func (r *Request) NotLoaded(info a1111.Info) []string {
	names := r.LoRANames()
	if len(names) == 0 || info.ExtraGenerationParams == nil {
		return nil
	}
	return info.NotLoaded(names)
}

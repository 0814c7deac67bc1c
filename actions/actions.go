// Package actions holds what the buttons under a result do. Each action
// is a pure function from the earlier job (its request and the seeds its
// server reported) to what the new job is planned from, so that every rule
// here is tested without Discord, HTTP or a database. The new job belongs
// to whoever pressed: the planner checks it again under their limits and
// the server's bounds of today (imagine.Planner.PlanLayers).
package actions

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"lorabot/gen"
	"lorabot/imagine"
	"lorabot/lora"
	"lorabot/prompt"
)

// Action is one button's verb. Its value appears in custom_ids, so it is
// short and never changes meaning.
type Action string

const (
	Reroll          Action = "rr" // same settings, new seed
	VarySubtle      Action = "vs" // same seed, a little of a new subseed
	VaryStrong      Action = "vx" // same seed, more of a new subseed
	Upscale         Action = "up" // the server's upscaler, 2×
	UpscaleCreative Action = "uc" // img2img at 2× with low denoising
	Edit            Action = "ed" // a form with the prompt, negative and LoRA weights
	Delete          Action = "dl" // the owner (or a moderator) removes the result
)

// Name is how the action is called in messages ("a reroll of ...").
func (a Action) Name() string {
	switch a {
	case Reroll:
		return "reroll"
	case VarySubtle:
		return "subtle variation"
	case VaryStrong:
		return "strong variation"
	case Upscale:
		return "upscale"
	case UpscaleCreative:
		return "creative upscale"
	case Edit:
		return "edit"
	case Delete:
		return "delete"
	}
	return string(a)
}

// PerImage reports whether the action works on one image of a result
// (with several images it needs to know which).
func (a Action) PerImage() bool {
	switch a {
	case VarySubtle, VaryStrong, Upscale, UpscaleCreative:
		return true
	}
	return false
}

// Parse reads an action's value back from a custom_id.
func Parse(s string) (Action, bool) {
	switch a := Action(s); a {
	case Reroll, VarySubtle, VaryStrong, Upscale, UpscaleCreative, Edit, Delete:
		return a, true
	}
	return "", false
}

// Subseed strengths of the two variations: about 0.1 keeps the picture and
// changes details; about 0.35 keeps its composition and changes more.
const (
	SubtleVariation = 0.1
	StrongVariation = 0.35
)

// UpscaleFactor is how much both upscales enlarge.
const UpscaleFactor = 2

// Source is the result an action starts from.
type Source struct {
	ID      string           // its job record's ID
	Request *imagine.Request // as it was planned
	// Seeds are the seeds its server reported, one per image; nil when
	// it reported none.
	Seeds []int64
	// Images is how many images the result shows.
	Images int
}

// seedOf is image i's (1-based) seed: the reported one, else the one the
// request fixed plus i-1 (A1111 counts a batch's seeds up from the first).
func (s Source) seedOf(i int) (int64, error) {
	if i >= 1 && i <= len(s.Seeds) {
		return s.Seeds[i-1], nil
	}
	if s.Request != nil && s.Request.Options.Seed != nil && *s.Request.Options.Seed >= 0 {
		return *s.Request.Options.Seed + int64(i-1), nil
	}
	return 0, &gen.InputError{Msg: "The image server did not say which seed made this image, so it cannot be varied; try Reroll instead."}
}

// CheckImage refuses an image number the result does not have (a
// crafted custom_id).
func (s Source) CheckImage(a Action, i int) error {
	n := max(s.Images, 1)
	if a.PerImage() && (i < 1 || i > n) {
		return &gen.InputError{Msg: fmt.Sprintf("This result has no image %d.", i)}
	}
	return nil
}

func (s Source) lineage(a Action, image int) imagine.Lineage {
	return imagine.Lineage{Job: s.ID, Image: image, Action: string(a)}
}

// RerollLayers: the same settings under a new random seed.
func RerollLayers(s Source) imagine.Layers {
	return imagine.Layers{From: s.Request, Lineage: s.lineage(Reroll, 0)}
}

// VaryLayers: image i's seed kept, a new random subseed mixed in with the
// action's strength. The result keeps the earlier job's image count, each
// image its own variation.
func VaryLayers(s Source, a Action, i int) (imagine.Layers, error) {
	if err := s.CheckImage(a, i); err != nil {
		return imagine.Layers{}, err
	}
	seed, err := s.seedOf(i)
	if err != nil {
		return imagine.Layers{}, err
	}
	strength := SubtleVariation
	if a == VaryStrong {
		strength = StrongVariation
	}
	l := imagine.Layers{From: s.Request, Variation: strength, Lineage: s.lineage(a, i)}
	l.Cmd.Seed = &seed
	return l, nil
}

// UpscaleRequest: image i (at pic, as posted) enlarged 2× by upscaler, a
// name the server lists. Nothing is generated anew, so nothing of the
// earlier prompt matters but who asks and where the result may go.
func UpscaleRequest(s Source, i int, pic imagine.Picture, upscaler, user string) (*imagine.Request, error) {
	if err := s.CheckImage(Upscale, i); err != nil {
		return nil, err
	}
	if upscaler == "" {
		return nil, &gen.InputError{Msg: "No image server that is up lists an upscaler, so this image cannot be upscaled now."}
	}
	w, h := pic.Width*UpscaleFactor, pic.Height*UpscaleFactor
	if w*h > imagine.MaxPicturePixels {
		return nil, &gen.InputError{Msg: fmt.Sprintf("This image is %d×%d already; upscaled it would be larger than this bot makes (4096×4096).", pic.Width, pic.Height)}
	}
	r := &imagine.Request{
		User: user, Kind: imagine.Upscale, Init: &pic, Upscaler: upscaler, Scale: UpscaleFactor,
		Backends: s.Request.Backends, Spoiler: s.Request.Spoiler, From: s.lineage(Upscale, i),
	}
	r.Options.Width, r.Options.Height, r.Options.Count = w, h, 1
	return r, nil
}

// CreativeLayers: image i (at pic) run through img2img at twice its size
// with low denoising and its own seed, so detail is added and the picture
// stays. Twice a large image would be beyond the bot's size bound: then
// the largest size within it, the same shape.
func CreativeLayers(s Source, i int, pic imagine.Picture) (imagine.Layers, error) {
	if err := s.CheckImage(UpscaleCreative, i); err != nil {
		return imagine.Layers{}, err
	}
	seed, err := s.seedOf(i)
	if err != nil {
		seed = -1
	}
	w, h := enlarge(pic.Width, pic.Height, UpscaleFactor)
	l := imagine.Layers{From: s.Request, Init: &pic, Strength: imagine.CreativeStrength, Lineage: s.lineage(UpscaleCreative, i)}
	if w < pic.Width*UpscaleFactor {
		l.Warnings = append(l.Warnings, fmt.Sprintf("The creative upscale is %dx%d, %s× rather than 2×: twice %dx%d is beyond the %d pixels this bot generates.",
			w, h, lora.FormatWeight(float64(w)/float64(pic.Width)), pic.Width, pic.Height, gen.MaxPixels))
	}
	l.Cmd.Width, l.Cmd.Height, l.Cmd.Count = w, h, 1
	if seed >= 0 {
		l.Cmd.Seed = &seed
	}
	// Sizes the bot's own bounds allow are not the user's typing: a server
	// bound below them clamps rather than refuses.
	l.Inherited = true
	return l, nil
}

// enlarge is w×h times f, shrunk (same shape, sides multiples of 8) to
// the bot's area and sides.
func enlarge(w, h, f int) (int, int) {
	w, h = w*f, h*f
	if w*h > gen.MaxPixels {
		w, h = gen.Shrink(w, h, gen.MaxPixels)
	}
	if m := max(w, h); m > gen.MaxSide {
		w, h = gen.Shrink(w, h, w*h*gen.MaxSide/m*gen.MaxSide/m)
	}
	return w, h
}

// EditForm is what the Edit form holds, as the user left it.
type EditForm struct {
	Prompt   string
	Negative string
	// LoRAs is "name:weight, name2:weight2": the slots' LoRAs with their
	// weights. Emptied, the slots are cleared.
	LoRAs string
	// Seed is a number, or empty / "random" for a new one.
	Seed string
}

// EditDefaults fills the Edit form from the earlier job: its own prompt
// (with the tags typed in it, which stay there), its own negative (not the
// server's default, which is added anyway), the LoRAs of its options'
// slots with the weights really used, and the seed of its first image.
func EditDefaults(s Source) EditForm {
	r := s.Request
	f := EditForm{Prompt: r.Options.Prompt, Negative: r.Options.Negative}
	if r.NegativeText != "" {
		f.Negative = r.NegativeText
	}
	var parts []string
	for _, c := range r.Options.LoRAs {
		if c.Name == "" {
			continue
		}
		name, weight := c.Name, ""
		if c.Weight != nil {
			weight = lora.FormatWeight(*c.Weight)
		}
		// The catalog resolved the slot by file name or alias, ignoring
		// case: its canonical name, and its weight when the slot gave none.
		for _, a := range r.Prompt.LoRAs {
			if strings.EqualFold(a.LoRA.Name, c.Name) || strings.EqualFold(a.LoRA.Alias, c.Name) {
				name = a.LoRA.Name
				if weight == "" {
					weight = lora.FormatWeight(a.Weight)
				}
				break
			}
		}
		if weight != "" {
			name += ":" + weight
		}
		parts = append(parts, name)
	}
	f.LoRAs = strings.Join(parts, ", ")
	if len(s.Seeds) > 0 {
		f.Seed = fmt.Sprint(s.Seeds[0])
	} else if r.Options.Seed != nil && *r.Options.Seed >= 0 {
		f.Seed = fmt.Sprint(*r.Options.Seed)
	}
	return f
}

// EditLayers: the earlier job's settings with what the form says instead:
// its prompt, negative, LoRAs (the form's list replaces the job's, so a
// LoRA taken out of it is gone) and seed. What the form holds is typed by
// the user, so beyond the server's bounds it is refused, not clamped.
func EditLayers(s Source, f EditForm) (imagine.Layers, error) {
	from := *s.Request
	from.Options.LoRAs = [gen.LoRASlots]gen.LoRAChoice{}
	from.Options.Negative, from.NegativeText = "", ""
	l := imagine.Layers{From: &from, Lineage: s.lineage(Edit, 0)}
	o, err := FormOptions(f)
	if err != nil {
		return imagine.Layers{}, err
	}
	l.Cmd = o
	return l, nil
}

// FormOptions are the options the form's values give, checked: a prompt,
// LoRAs as name:weight, a seed or "random". The form's values are typed by
// the user, so a planner refuses rather than clamps them.
func FormOptions(f EditForm) (gen.Options, error) {
	var o gen.Options
	o.Prompt = strings.TrimSpace(f.Prompt)
	if o.Prompt == "" {
		return o, &gen.InputError{Msg: "Write a prompt: what should the image show?"}
	}
	o.Negative = strings.TrimSpace(f.Negative)
	loras, err := ParseLoRAs(f.LoRAs)
	if err != nil {
		return o, err
	}
	o.LoRAs = loras
	switch seed := strings.ToLower(strings.TrimSpace(f.Seed)); seed {
	case "", "random", "-1":
	default:
		n, err := strconv.ParseInt(seed, 10, 64)
		if err != nil || n < 0 || n > math.MaxUint32 {
			return o, &gen.InputError{Msg: fmt.Sprintf("The seed %q is not a whole number from 0 to %d (or \"random\").", f.Seed, uint32(math.MaxUint32))}
		}
		o.Seed = &n
	}
	return o, nil
}

// ParseLoRAs reads "name:weight, name2, name3:0.5" into the LoRA slots: a
// missing weight is the LoRA's preferred one. Names are checked later,
// against the catalog, like the options'.
func ParseLoRAs(v string) ([gen.LoRASlots]gen.LoRAChoice, error) {
	var out [gen.LoRASlots]gen.LoRAChoice
	n := 0
	for part := range strings.SplitSeq(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if n == gen.LoRASlots {
			return out, &gen.InputError{Msg: fmt.Sprintf("The form takes at most %d LoRAs; type more as <lora:name:weight> tags in the prompt.", gen.LoRASlots)}
		}
		name, weight := part, ""
		if i := strings.LastIndex(part, ":"); i >= 0 {
			name, weight = strings.TrimSpace(part[:i]), strings.TrimSpace(part[i+1:])
		}
		if name == "" {
			return out, &gen.InputError{Msg: fmt.Sprintf("%q names no LoRA; write name:weight, e.g. %s.", part, "revAnimated_v122:0.8")}
		}
		out[n].Name = name
		if weight != "" {
			w, err := strconv.ParseFloat(weight, 64)
			if err != nil || math.IsNaN(w) || w < prompt.MinWeight || w > prompt.MaxWeight {
				return out, &gen.InputError{Msg: fmt.Sprintf("The weight of %s must be a number from %s to %s; the form says %q.", name, lora.FormatWeight(prompt.MinWeight), lora.FormatWeight(prompt.MaxWeight), weight)}
			}
			out[n].Weight = &w
		}
		n++
	}
	return out, nil
}

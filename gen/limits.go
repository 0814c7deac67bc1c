package gen

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"lorabot/lora"
)

// Bounds a request must keep. They protect the shared GPU from one user's
// extreme settings as much as they catch typos.
const (
	MinSteps, MaxSteps = 1, 150
	MinCFG, MaxCFG     = 1.0, 30.0
	MinSide, MaxSide   = 64, 2048
	MaxPixels          = 1536 * 1536 // an SDXL-sized area with room; larger mostly runs out of VRAM
	MaxCount           = 4
	DefaultSteps       = 20
	DefaultCFG         = 7.0
	DefaultCount       = 1
)

// InputError is a mistake in what the user asked for. Its message is one
// sentence meant for them.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

// UserMessage is the sentence to show the user: the whole message.
func (e *InputError) UserMessage() string { return e.Msg }

func inputErrorf(format string, a ...any) error { return &InputError{fmt.Sprintf(format, a...)} }

// Size is an image size in pixels.
type Size struct{ Width, Height int }

func (s Size) String() string { return fmt.Sprintf("%dx%d", s.Width, s.Height) }

// ParseSize reads "WIDTHxHEIGHT" (also with "×", "*" or spaces).
func ParseSize(v string) (Size, error) {
	t := strings.ToLower(strings.TrimSpace(v))
	t = strings.NewReplacer("×", "x", "*", "x", " ", "").Replace(t)
	w, h, ok := strings.Cut(t, "x")
	if !ok {
		return Size{}, inputErrorf("Size %q is not WIDTHxHEIGHT, e.g. 512x768.", v)
	}
	wi, err1 := strconv.Atoi(w)
	hi, err2 := strconv.Atoi(h)
	if err1 != nil || err2 != nil {
		return Size{}, inputErrorf("Size %q is not WIDTHxHEIGHT, e.g. 512x768.", v)
	}
	s := Size{wi, hi}
	return s, s.check()
}

func (s Size) check() error {
	switch {
	case s.Width < MinSide || s.Height < MinSide || s.Width > MaxSide || s.Height > MaxSide:
		return inputErrorf("Size %s is out of bounds: each side must be from %d to %d pixels.", s, MinSide, MaxSide)
	case s.Width%8 != 0 || s.Height%8 != 0:
		return inputErrorf("Size %s does not work: each side must be a multiple of 8.", s)
	case s.Width*s.Height > MaxPixels:
		return inputErrorf("Size %s is too large: at most %d pixels in all (e.g. 1536x1536).", s, MaxPixels)
	}
	return nil
}

// SizesFor lists the sizes that suit a model family, native size first:
// models draw badly far from the resolution they were trained at.
func SizesFor(f lora.Family) []Size {
	switch f {
	case lora.FamilySDXL, lora.FamilyFlux, lora.FamilySD3:
		return []Size{{1024, 1024}, {832, 1216}, {1216, 832}, {896, 1152}, {1152, 896}, {768, 1344}, {1344, 768}, {640, 1536}, {1536, 640}}
	case lora.FamilySD2:
		return []Size{{768, 768}, {640, 896}, {896, 640}, {576, 1024}, {1024, 576}, {512, 512}}
	default:
		return []Size{{512, 512}, {512, 768}, {768, 512}, {640, 640}, {512, 896}, {896, 512}, {768, 768}}
	}
}

// Shrink scales w×h, keeping its shape, to the largest size of at most
// area pixels with sides multiples of 8 (and at least MinSide).
func Shrink(w, h, area int) (int, int) {
	f := math.Sqrt(float64(area) / float64(w*h))
	down := func(v int) int { return max(MinSide, int(float64(v)*f)/8*8) }
	return down(w), down(h)
}

// SizeForShape is the size for a picture of w×h pixels on a model of
// family f: the picture's shape at the model's native area (a model draws
// best near the area it was trained at, whatever the picture's size),
// sides rounded to multiples of 64 and kept within the bot's bounds.
func SizeForShape(f lora.Family, w, h int) Size {
	native := DefaultsFor(f).Size
	if w <= 0 || h <= 0 {
		return native
	}
	area := float64(native.Width * native.Height)
	ratio := float64(w) / float64(h)
	side := func(v float64) int {
		n := int(math.Round(v/64)) * 64
		return min(max(n, MinSide), MaxSide)
	}
	s := Size{side(math.Sqrt(area * ratio)), side(math.Sqrt(area / ratio))}
	for s.Width*s.Height > MaxPixels {
		s.Width, s.Height = max(MinSide, s.Width-64), max(MinSide, s.Height-64)
	}
	return s
}

// FamilyDefaults are what a job of a model family uses when no layer (the
// command, a preset, the server's settings) says otherwise.
type FamilyDefaults struct {
	Size Size
	CFG  float64
	// DistilledCFG is Flux's distilled guidance (Forge's
	// distilled_cfg_scale); 0 for families that have none, and then it is
	// not sent.
	DistilledCFG float64
	// Sampler and Scheduler are the sampler's name and the scheduler's
	// label (what A1111 1.9+ expects in "scheduler") the family is best
	// run with, if the server lists them.
	Sampler, Scheduler string
}

// Family defaults beyond DefaultCFG.
const (
	FluxCFG          = 1.0 // Flux dev is guidance-distilled: real CFG stays off
	FluxDistilledCFG = 3.5 // Forge's default distilled_cfg_scale
	SD3CFG           = 4.5
)

// DefaultsFor are family f's defaults: SD1 and SD2 (and unknown) at their
// native size with CFG 7 and DPM++ 2M Karras, SDXL (Pony, Illustrious
// included) the same at 1024², Flux at 1024² with CFG 1, distilled CFG 3.5
// and Euler with the Simple schedule (as Forge runs it), SD3 at 1024² with
// CFG 4.5 and DPM++ 2M with SGM Uniform.
func DefaultsFor(f lora.Family) FamilyDefaults {
	d := FamilyDefaults{Size: SizesFor(f)[0], CFG: DefaultCFG, Sampler: "DPM++ 2M", Scheduler: "Karras"}
	switch f {
	case lora.FamilyFlux:
		d.CFG, d.DistilledCFG, d.Sampler, d.Scheduler = FluxCFG, FluxDistilledCFG, "Euler", "Simple"
	case lora.FamilySD3:
		d.CFG, d.Sampler, d.Scheduler = SD3CFG, "DPM++ 2M", "SGM Uniform"
	}
	return d
}

// CheckpointFamily guesses a checkpoint's family from its title, the only
// thing A1111's /sd-models tells. Flux and SD3 are looked for first (their
// names often carry "xl"-free version numbers that SD1's tests would
// catch), then SDXL and its derivatives (Pony, Illustrious, NoobAI), SD2,
// SD1. Unknown when nothing hints at it.
func CheckpointFamily(title string) lora.Family {
	t := strings.ToLower(title)
	switch {
	case strings.Contains(t, "flux"):
		return lora.FamilyFlux
	case strings.Contains(t, "sd3") || strings.Contains(t, "sd_3") || strings.Contains(t, "sd-3") ||
		strings.Contains(t, "stable-diffusion-3") || strings.Contains(t, "stablediffusion3") || strings.Contains(t, "stable_diffusion_3"):
		return lora.FamilySD3
	case strings.Contains(t, "xl") || CheckpointVariant(title) != "":
		return lora.FamilySDXL
	case strings.Contains(t, "v2-") || strings.Contains(t, "sd2") || strings.Contains(t, "768-v"):
		return lora.FamilySD2
	case strings.Contains(t, "v1-") || strings.Contains(t, "sd15") || strings.Contains(t, "sd1.5") || strings.Contains(t, "1.5"):
		return lora.FamilySD1
	}
	return lora.FamilyUnknown
}

// CheckpointVariant names the SDXL derivative a checkpoint's title hints at
// ("Pony", "Illustrious", "NoobAI"), "" for none. They share SDXL's family:
// SDXL LoRAs load on them, if not always to the same effect.
func CheckpointVariant(title string) string {
	t := strings.ToLower(title)
	switch {
	case strings.Contains(t, "pony"):
		return "Pony"
	case strings.Contains(t, "illustrious"):
		return "Illustrious"
	case strings.Contains(t, "noobai"):
		return "NoobAI"
	}
	return ""
}

// WithDefaults fills what no layer set: the bot's defaults, with the size
// and CFG of family (DefaultsFor). The sampler is left to the planner, which
// knows what the servers list.
func (o Options) WithDefaults(family lora.Family) Options {
	d := DefaultsFor(family)
	if o.Steps == 0 {
		o.Steps = DefaultSteps
	}
	if o.CFG == 0 {
		o.CFG = d.CFG
	}
	if o.Count == 0 {
		o.Count = DefaultCount
	}
	if o.Width == 0 || o.Height == 0 {
		o.Width, o.Height = d.Size.Width, d.Size.Height
	}
	return o
}

// Validate checks the bounds of the numbers. LoRAs and the prompt are checked
// where they are built (package prompt).
func (o Options) Validate() error {
	switch {
	case o.Steps < MinSteps || o.Steps > MaxSteps:
		return inputErrorf("Steps must be from %d to %d; you asked for %d.", MinSteps, MaxSteps, o.Steps)
	case math.IsNaN(o.CFG) || o.CFG < MinCFG || o.CFG > MaxCFG:
		return inputErrorf("CFG must be from %g to %g; you asked for %g.", MinCFG, MaxCFG, o.CFG)
	case o.Count < 1 || o.Count > MaxCount:
		return inputErrorf("Count must be from 1 to %d; you asked for %d.", MaxCount, o.Count)
	}
	if err := (Size{o.Width, o.Height}).check(); err != nil {
		return err
	}
	return o.CheckSlots()
}

// CheckSlots refuses a weight given for a LoRA slot that holds no LoRA.
func (o Options) CheckSlots() error {
	for i, c := range o.LoRAs {
		if c.Name == "" && c.Weight != nil {
			return inputErrorf("%s was given without %s: pick a LoRA for it.", SlotOption("weight", i), SlotOption("lora", i))
		}
	}
	return nil
}

// SlotOption names the option of slot i as /imagine shows it: lora, lora2, lora3.
func SlotOption(base string, i int) string {
	if i == 0 {
		return base
	}
	return base + strconv.Itoa(i+1)
}

package imagine

import (
	"fmt"

	"lorabot/gen"
	"lorabot/guild"
)

// applyBounds keeps a job within a server's bounds (guild.Bounds). What the
// user typed in this command beyond a bound is refused with a sentence
// naming the server's bound; what the job merely inherited (the bot's
// defaults, a preset) is brought down to the bound instead, so a server
// with max_steps 10 still runs /imagine without steps, at 10 rather than
// the default 20. o has its defaults filled; typed is the command's layer.
func applyBounds(b guild.Bounds, typed, o gen.Options) (gen.Options, error) {
	if b.MaxSteps > 0 && o.Steps > b.MaxSteps {
		if typed.Steps > b.MaxSteps {
			return o, &gen.InputError{Msg: fmt.Sprintf("This server allows at most %d steps; you asked for %d.", b.MaxSteps, typed.Steps)}
		}
		o.Steps = b.MaxSteps
	}
	if b.MaxCount > 0 && o.Count > b.MaxCount {
		if typed.Count > b.MaxCount {
			return o, &gen.InputError{Msg: fmt.Sprintf("This server allows at most %d images per job; you asked for %d.", b.MaxCount, typed.Count)}
		}
		o.Count = b.MaxCount
	}
	if b.MaxWidth > 0 && b.MaxHeight > 0 && !fits(b, o.Width, o.Height) {
		if typed.Width != 0 && typed.Height != 0 {
			return o, &gen.InputError{Msg: fmt.Sprintf("This server allows images of at most %dx%d pixels (%d in all); %dx%d is larger.",
				b.MaxWidth, b.MaxHeight, b.MaxWidth*b.MaxHeight, typed.Width, typed.Height)}
		}
		o.Width, o.Height = shrink(b, o.Width, o.Height)
	}
	return o, nil
}

// CheckSize refuses a size beyond a server's bound (an upscale's output,
// which is no one's typing but cannot be clamped either).
func CheckSize(b guild.Bounds, w, h int) error {
	if b.MaxWidth > 0 && b.MaxHeight > 0 && !fits(b, w, h) {
		return &gen.InputError{Msg: fmt.Sprintf("This server allows images of at most %dx%d pixels (%d in all); the result would be %dx%d.", b.MaxWidth, b.MaxHeight, b.MaxWidth*b.MaxHeight, w, h)}
	}
	return nil
}

// fits is the size rule of a server's bound: at most MaxWidth×MaxHeight
// pixels in all, whatever the shape, so a 1024x1024 bound admits 832x1216
// portraits (guild.Bounds' own example). The time and memory a job takes
// grow with its area, not its shape; sides stay within the bot's own
// bounds (gen.MaxSide).
func fits(b guild.Bounds, w, h int) bool { return w*h <= b.MaxWidth*b.MaxHeight }

// shrink scales w×h down, keeping its shape, to the largest size with sides
// multiples of 8 that fits b.
func shrink(b guild.Bounds, w, h int) (int, int) { return gen.Shrink(w, h, b.MaxWidth*b.MaxHeight) }

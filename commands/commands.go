// Package commands holds lorabot's slash commands: each file keeps one
// command's definition, its handler and its autocomplete side by side. The
// handlers turn Discord options into plain values for the domain packages
// (imagine, gen, lora, prompt, queue) and talk to Discord only through bot.Ctx.
package commands

import (
	"log/slog"
	"time"

	"lorabot/bot"
	"lorabot/gen"
	"lorabot/imagine"
	"lorabot/lora"
	"lorabot/queue"
	"lorabot/throttle"
)

// Deps are the services the commands use. main wires them.
type Deps struct {
	Catalog *lora.Catalog
	Presets gen.PresetStore
	// Results keeps the settings behind posted results for their "Save as
	// preset" button.
	Results gen.ResultStore
	// Triggers keeps the trigger words admins set with /loras triggers.
	Triggers lora.TriggerStore
	Servers  *imagine.Servers
	Queue    *queue.Scheduler
	// MaxPerUser is MAX_QUEUE_PER_USER, for the refusal message.
	MaxPerUser int
	// Edits coalesces progress edits: discordgo puts every file-less
	// interaction edit on one rate-limit bucket.
	Edits *throttle.Coalescer
	// ProgressEvery is how often a running job asks A1111 for progress.
	ProgressEvery time.Duration
	Log           *slog.Logger
}

// Register adds every command, button and modal to r.
func Register(r *bot.Router, d *Deps) {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.ProgressEvery == 0 {
		d.ProgressEvery = time.Second
	}
	im := &imagineCmd{deps: d, planner: &imagine.Planner{Catalog: d.Catalog, Presets: d.Presets, Servers: d.Servers}}
	r.Command(im.command())
	r.Component(cancelPrefix, im.cancel)
	r.Component(savePresetPrefix, im.askPresetName)
	r.Modal(savePresetPrefix, im.savePreset)
	pr := &presetCmd{deps: d, generation: im.autocomplete}
	r.Command(pr.command())
	lc := &lorasCmd{deps: d}
	r.Command(lc.command())
	r.Component(lorasPagePrefix, lc.turnPage)
}

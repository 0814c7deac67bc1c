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
	"lorabot/guild"
	"lorabot/health"
	"lorabot/imagine"
	"lorabot/jobs"
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
	Servers *imagine.Servers
	Queue   *queue.Scheduler
	// Guilds keeps each server's settings and the bot-wide defaults; read
	// them in handlers with settingsOf(c), never from here.
	Guilds guild.Store
	// HomeGuild is DISCORD_GUILD_ID: when set, the bot serves only that
	// server (and direct messages), and its admins set the bot-wide
	// defaults.
	HomeGuild string
	// Jobs keeps every job's record, so queued and running jobs survive a
	// restart.
	Jobs jobs.Store
	// Health knows which servers are up, and hears how each generation
	// ended on its server.
	Health ServerHealth
	// MaxPerUser is MAX_QUEUE_PER_USER, for the refusal message.
	MaxPerUser int
	// NoServerWait is how long a job waits while no server is up, for the
	// failure message (queue.Options.NoServerWait).
	NoServerWait time.Duration
	// Edits coalesces progress edits: the latest state per job, paced
	// across jobs, so a burst of progress never queues behind a rate limit.
	Edits *throttle.Coalescer
	// ProgressEvery is how often a running job asks A1111 for progress.
	ProgressEvery time.Duration
	Log           *slog.Logger
	// JobEnded, when set, hears how each job ended (metrics), after its
	// log line and before its outcome is posted; it must return quickly.
	JobEnded func(JobEnd)
}

// ServerHealth is what the commands need of the health tracker.
type ServerHealth interface {
	// ReportGeneration tells how a generation on server i ended.
	ReportGeneration(i int, err error)
	// Status is server i's health for /status.
	Status(i int) health.Status
}

// Commands is the registered set, for what the bot does outside an
// interaction (resuming jobs after a restart).
type Commands struct {
	imagine *imagineCmd
}

// Register adds every command, button and modal to r.
func Register(r *bot.Router, d *Deps) *Commands {
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
	r.Component(resultPrefix, im.pressResult)
	r.Component(resultMorePrefix, im.pickResult)
	r.Component(deletePrefix, im.deleteResult)
	r.Modal(editPrefix, im.submitEdit)
	r.Command(im.describeCommand())
	r.Component(describeUsePrefix, im.askImagineFromCaption)
	r.Modal(describeUsePrefix, im.imagineFromCaption)
	cmp := &compareCmd{im: im}
	r.Command(cmp.command())
	r.Component(compareCellPrefix, cmp.postCell)
	r.Component(compareSavePrefix, cmp.askPresetName)
	r.Modal(compareSavePrefix, cmp.savePreset)
	pr := &presetCmd{deps: d, generation: im.autocomplete}
	r.Command(pr.command())
	lc := &lorasCmd{deps: d}
	r.Command(lc.command())
	r.Component(lorasPagePrefix, lc.turnPage)
	r.Component(lorasCardPrefix, lc.openCard)
	r.Component(loraTryPrefix, im.tryIt)
	r.Modal(loraTryPrefix, im.tryItSubmit)
	st := &statusCmd{deps: d}
	r.Command(st.command())
	sc := &settingsCmd{deps: d}
	r.Command(sc.command())
	// Every interaction passes the scope first: which server, its
	// settings, where it may generate (scope.go).
	r.Use(d.scope)
	return &Commands{imagine: im}
}

package commands

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"lorabot/a1111"
	"lorabot/bot"
	"lorabot/imagine"
	"lorabot/lora"
)

// render is the job's message while it waits or runs. x.mu is held.
func (im *imagineCmd) render(x *job) bot.Message {
	return im.message(x, im.statusLine(x))
}

// renderExpiring is the job's message when the token that edits it is
// about to run out: where the job was, and where its outcome will go. x.mu
// is held.
func (im *imagineCmd) renderExpiring(x *job) bot.Message {
	state := "running"
	if !x.running {
		state = "waiting"
	}
	line := fmt.Sprintf("⏳ Still %s, but this message stops updating now (Discord lets a reply be edited for 15 minutes): "+
		"the result will be posted in this channel. As of <t:%d:R>: %s", state, time.Now().Unix(), im.statusLine(x))
	return im.message(x, line)
}

func (im *imagineCmd) message(x *job, line string) bot.Message {
	line = compareStatus(x) + line // which cell a /compare is at
	return bot.Message{
		Content:    clip(line, bot.MaxContentLen),
		Embeds:     []*discordgo.MessageEmbed{requestEmbed(x.req, nil, 0)},
		Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{cancelButton(x.id)}}},
	}
}

// statusLine says where the job is: in line, waiting for a server, or
// generating. x.mu is held.
func (im *imagineCmd) statusLine(x *job) string {
	var line string
	on := im.onServer(x.backend)
	p := x.progress
	switch {
	case !x.running && x.noServer:
		line = "⏳ Waiting for an image server: none is answering right now. Your job keeps its place in line."
	case !x.running && x.pos > 0:
		line = fmt.Sprintf("🕒 Queued: position %d in line.", x.pos)
	case !x.running:
		line = "🕒 Next in line."
	case x.req.Kind == imagine.Upscale:
		line = "🔍 Upscaling" + on + "…"
	case x.req.Kind == imagine.Describe:
		line = "📝 Describing the picture" + on + "…"
	case p.Queued:
		// Our task waits at A1111's lock behind someone else's job (the web
		// UI shares the server); /internal/progress says so.
		line = "🕒 Waiting for the image server" + on + ": it is finishing someone else's job."
		if p.QueuePos > 0 {
			line = fmt.Sprintf("🕒 Waiting for the image server%s: %s in its own queue.", on, ordinal(p.QueuePos))
		}
	case p.State.JobCount < 0:
		// A1111 is loading the checkpoint: its /progress reads 1 % with an
		// ETA of 99 × the time so far, which would only mislead.
		line = "🎨 Loading the model" + on + "…"
	case p.State.JobCount > 0 && p.State.SamplingSteps != x.req.SamplerSteps():
		// Someone else's job (the web UI shares the server) holds it.
		line = "🕒 Waiting for the image server" + on + ": it is finishing another job."
	case p.State.JobCount > 0:
		line = fmt.Sprintf("🎨 Generating%s %s %d%%", on, bar(p.Progress, 12), int(math.Round(p.Progress*100)))
		line += fmt.Sprintf(" · step %d/%d", p.State.SamplingStep, p.State.SamplingSteps)
		if p.ETARelative > 0 {
			line += " · ETA " + eta(time.Duration(p.ETARelative*float64(time.Second)))
		}
	default:
		line = "🎨 Starting" + on + "…"
	}
	switch {
	case x.movedFrom >= 0 && !x.running:
		line = "↪️ The server your job was on stopped answering; it moved to another server. " + line
	case x.movedFrom >= 0:
		line = fmt.Sprintf("↪️ This job moved to another server (server %d stopped answering). %s", x.movedFrom+1, line)
	case x.resumed && !x.running:
		line += " (queued again after the bot restarted)"
	}
	return line
}

// onServer names the server a job runs on, when there is a choice of them.
// Servers are numbered in A1111_URL's order: the public message carries no
// host name.
func (im *imagineCmd) onServer(backend int) string {
	if backend < 0 || len(im.deps.Servers.Clients()) < 2 {
		return ""
	}
	return fmt.Sprintf(" on server %d", backend+1)
}

// ordinal writes 1st, 2nd, 3rd, 4th…, 11th–13th.
func ordinal(n int) string {
	suffix := "th"
	if n%100 < 11 || n%100 > 13 {
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return fmt.Sprint(n) + suffix
}

// eta words the time left in whole seconds; "0s" would read as "done".
func eta(d time.Duration) string {
	if d < time.Second {
		return "<1s"
	}
	return d.Round(time.Second).String()
}

func cancelButton(id string) discordgo.Button {
	return discordgo.Button{Label: "Cancel", Style: discordgo.DangerButton, CustomID: cancelPrefix + ":" + id}
}

func bar(p float64, width int) string {
	p = math.Max(0, math.Min(1, p))
	full := int(math.Round(p * float64(width)))
	return strings.Repeat("▰", full) + strings.Repeat("▱", width-full)
}

// requestEmbed describes a job: the prompt as sent and its settings. Discord
// strips PNG metadata, so this is where a user finds how to redo an image.
// info is A1111's answer once there is one (its seed and model are the real
// ones).
func requestEmbed(r *imagine.Request, info *a1111.Info, took time.Duration) *discordgo.MessageEmbed {
	if r.Kind == imagine.Upscale || r.Kind == imagine.Describe {
		return pictureEmbed(r, took)
	}
	o := r.Options
	e := &discordgo.MessageEmbed{
		Description: clip(r.Prompt.Text, bot.MaxEmbedDescLen),
		Color:       0x5865F2,
	}
	field := func(name, value string, inline bool) {
		if value != "" {
			e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: name, Value: clip(value, bot.MaxEmbedFieldLen), Inline: inline})
		}
	}
	var loras []string
	for _, a := range r.Prompt.LoRAs {
		loras = append(loras, fmt.Sprintf("`%s` %s", a.LoRA.Name, lora.FormatWeight(a.Weight)))
	}
	field("LoRAs", strings.Join(loras, "\n"), false)
	if neg := r.Negative(); neg != "" {
		field("Negative", neg, false) // as sent: the server's default included
	}
	seed := "random"
	if o.Seed != nil && *o.Seed >= 0 {
		seed = fmt.Sprint(*o.Seed)
	}
	sampler := r.Sampler
	if r.Scheduler != "" {
		sampler += " · " + r.Scheduler
	}
	checkpoint := r.Checkpoint.ModelName
	if info != nil {
		if len(info.AllSeeds) > 1 {
			seed = fmt.Sprintf("%d (+%d more)", info.Seed, len(info.AllSeeds)-1)
		} else if info.Seed != 0 || len(info.AllSeeds) == 1 {
			seed = fmt.Sprint(info.Seed)
		}
		if info.SamplerName != "" {
			sampler = info.SamplerName
		}
		if info.SDModelName != "" {
			checkpoint = info.SDModelName
		}
	}
	if sampler == "" {
		sampler = "server default"
	}
	if checkpoint == "" {
		checkpoint = "server's current"
	}
	field("Seed", seed, true)
	field("Size", fmt.Sprintf("%dx%d", o.Width, o.Height), true)
	field("Steps", fmt.Sprint(o.Steps), true)
	field("Sampler", sampler, true)
	field("CFG", lora.FormatWeight(o.CFG), true)
	field("Checkpoint", checkpoint, true)
	if r.Kind == imagine.Img2Img && r.Init != nil {
		field("From picture", fmt.Sprintf("%s (%dx%d), strength %s", pictureName(r.Init), r.Init.Width, r.Init.Height, lora.FormatWeight(r.Strength)), false)
	}
	if took > 0 {
		field("Time", took.Round(100*time.Millisecond).String(), true)
	}
	if r.PresetName != "" {
		e.Footer = &discordgo.MessageEmbedFooter{Text: clip("Preset: "+r.PresetName, bot.MaxEmbedFooterLen)}
	}
	if r.Compare != nil {
		compareEmbed(e, r) // the weights swept, not one
	}
	return e
}

// pictureEmbed describes a job that works on a picture and generates
// nothing anew: an upscale, a description.
func pictureEmbed(r *imagine.Request, took time.Duration) *discordgo.MessageEmbed {
	e := &discordgo.MessageEmbed{Color: 0x5865F2}
	field := func(name, value string) {
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: name, Value: clip(value, bot.MaxEmbedFieldLen), Inline: true})
	}
	if r.Init != nil {
		field("Picture", fmt.Sprintf("%s (%dx%d)", pictureName(r.Init), r.Init.Width, r.Init.Height))
	}
	switch r.Kind {
	case imagine.Upscale:
		e.Title = fmt.Sprintf("Upscale %s×", lora.FormatWeight(r.Scale))
		field("Upscaler", r.Upscaler)
		field("Size", fmt.Sprintf("%dx%d", r.Options.Width, r.Options.Height))
	case imagine.Describe:
		e.Title = "Description"
		field("Interrogator", r.Interrogator)
	}
	if took > 0 {
		field("Time", took.Round(100*time.Millisecond).String())
	}
	return e
}

// pictureName is how a picture is named in messages: its file name, in
// backticks so that no markup in it applies.
func pictureName(p *imagine.Picture) string {
	name := p.Name
	if name == "" {
		name = "picture"
	}
	return "`" + strings.ReplaceAll(clip(name, 80), "`", "'") + "`"
}

package commands

import (
	"fmt"
	"strings"

	"github.com/bwmarrin/discordgo"

	"lorabot/bot"
	"lorabot/gen"
)

const savePresetPrefix = "savepreset"

func savePresetButton(jobID string) discordgo.Button {
	return discordgo.Button{Label: "Save as preset", Style: discordgo.SecondaryButton, CustomID: savePresetPrefix + ":" + jobID, Emoji: &discordgo.ComponentEmoji{Name: "💾"}}
}

// askPresetName serves the "Save as preset" button under a result: a form
// asks for the name. Anyone may save a result's settings into their own
// presets; nobody else's presets change.
func (im *imagineCmd) askPresetName(c *bot.Ctx, jobID string) error {
	if im.jobs.get(jobID) == nil {
		return bot.Failf("This result is too old to save (the bot restarted since); use /preset save with its settings instead.")
	}
	return c.Modal(savePresetPrefix+":"+jobID, "Save as preset", discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.TextInput{CustomID: "name", Label: "Preset name", Style: discordgo.TextInputShort, Required: true, MinLength: 1, MaxLength: gen.MaxPresetNameLen, Placeholder: "e.g. pixel castles"},
	}})
}

// savePreset serves the form: the job's settings become the caller's preset.
func (im *imagineCmd) savePreset(c *bot.Ctx, jobID string) error {
	x := im.jobs.get(jobID)
	if x == nil {
		return bot.Failf("This result is too old to save (the bot restarted since); use /preset save with its settings instead.")
	}
	var name string
	for _, row := range c.I.ModalSubmitData().Components {
		if r, ok := row.(*discordgo.ActionsRow); ok {
			for _, comp := range r.Components {
				if ti, ok := comp.(*discordgo.TextInput); ok && ti.CustomID == "name" {
					name = strings.TrimSpace(ti.Value)
				}
			}
		}
	}
	p, dropped := presetFromRequest(x)
	p.Name = name
	if x.req.Sampler != "" {
		// What the job really used, spelt as the servers do, not as typed.
		p.Options.Sampler = samplerSpelling(im.deps.Servers, x.req.Sampler, x.req.Scheduler)
	}
	if err := im.deps.Presets.SavePreset(c.UserID(), p); err != nil {
		return presetRefusal(err, name)
	}
	if saved, err := im.deps.Presets.Preset(c.UserID(), name); err == nil {
		p = saved
	}
	name = p.Name
	msg := fmt.Sprintf("Saved as your preset **%s**. Use it with `/imagine preset:%s`.", name, name)
	if dropped > 0 {
		msg += fmt.Sprintf(" (A preset holds %d LoRAs; the last %d were left out.)", gen.LoRASlots, dropped)
	}
	return c.Reply(bot.Message{Content: msg, Embeds: []*discordgo.MessageEmbed{presetEmbed(p, false)}, Ephemeral: true})
}

// presetFromRequest keeps what a preset holds: the LoRAs with the weights
// really used (typed tags included), the preset's prompt prefix, negative,
// checkpoint, sampler, steps, cfg and size — not the user's own prompt,
// which a preset is meant to be combined with.
func presetFromRequest(x *job) (gen.Preset, int) {
	r := x.req
	o := r.Options.ForPreset()
	o.Prompt = r.PresetPrompt
	o.LoRAs = [gen.LoRASlots]gen.LoRAChoice{}
	dropped := 0
	for i, a := range r.Prompt.LoRAs {
		if i >= gen.LoRASlots {
			dropped++
			continue
		}
		o.LoRAs[i] = gen.LoRAChoice{Name: a.LoRA.Name, Weight: ptr(a.Weight)}
	}
	return gen.Preset{Options: o}, dropped
}

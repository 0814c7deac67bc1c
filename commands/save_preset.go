package commands

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bwmarrin/discordgo"

	"lorabot/bot"
	"lorabot/gen"
	"lorabot/imagine"
	"lorabot/store"
)

const savePresetPrefix = "savepreset"

func savePresetButton(jobID string) discordgo.Button {
	return discordgo.Button{Label: "Save as preset", Style: discordgo.SecondaryButton, CustomID: savePresetPrefix + ":" + jobID, Emoji: &discordgo.ComponentEmoji{Name: "💾"}}
}

// askPresetName serves the "Save as preset" button under a result: a form
// asks for the name. Anyone may save a result's settings into their own
// presets; nobody else's presets change.
func (im *imagineCmd) askPresetName(c *bot.Ctx, jobID string) error {
	if _, err := im.deps.Results.Result(jobID); err != nil {
		return resultRefusal(err)
	}
	return presetNameForm(c, savePresetPrefix+":"+jobID)
}

// presetNameForm asks for a preset's name in a form whose submission comes
// back as customID (and is read by saveAsPreset).
func presetNameForm(c *bot.Ctx, customID string) error {
	return c.Modal(customID, "Save as preset", discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.TextInput{CustomID: "name", Label: "Preset name", Style: discordgo.TextInputShort, Required: true, MinLength: 1, MaxLength: gen.MaxPresetNameLen, Placeholder: "e.g. pixel castles"},
	}})
}

// savePreset serves the form: the result's settings become the caller's preset.
func (im *imagineCmd) savePreset(c *bot.Ctx, jobID string) error {
	o, err := im.deps.Results.Result(jobID)
	if err != nil {
		return resultRefusal(err)
	}
	return im.saveAsPreset(c, o)
}

// saveAsPreset saves o as the caller's preset under the name the form
// (c, a submission of the name form of askPresetName) gives.
func (im *imagineCmd) saveAsPreset(c *bot.Ctx, o gen.Options) error {
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
	p := gen.Preset{Name: name, Options: o}
	if err := im.deps.Presets.SavePreset(c.UserID(), p); err != nil {
		return presetRefusal(err, name)
	}
	if saved, err := im.deps.Presets.Preset(c.UserID(), name); err == nil {
		p = saved
	}
	msg := fmt.Sprintf("Saved as your preset **%s**. Use it with `/imagine preset:%s`.", p.Name, p.Name)
	return c.Reply(bot.Message{Content: msg, Embeds: []*discordgo.MessageEmbed{presetEmbed(p, false)}, Ephemeral: true})
}

func resultRefusal(err error) error {
	if errors.Is(err, gen.ErrResultNotFound) {
		return bot.Failf("This result is too old to save (only the last %d are kept); use /preset save with its settings instead.", store.KeepResults)
	}
	return err
}

// presetOptions keeps what a preset holds of a job: the LoRAs with the
// weights really used (typed tags included; beyond the preset's slots as
// tags in its prompt), the preset's prompt prefix, negative, checkpoint,
// sampler as the servers spell it, steps, cfg and size — not the user's own
// prompt, which a preset is meant to be combined with.
func presetOptions(r *imagine.Request, servers *imagine.Servers) gen.Options {
	o := r.Options.ForPreset()
	o.Prompt = r.PresetPrompt
	o.LoRAs = [gen.LoRASlots]gen.LoRAChoice{}
	slot := 0
	for _, a := range r.Prompt.LoRAs {
		// A slot holds a name and one weight; a tag with separate UNet or
		// dyn weights, or one past the slots, stays a tag in the prompt.
		if slot < gen.LoRASlots && a.Tag == a.LoRA.Tag(a.Weight) {
			o.LoRAs[slot] = gen.LoRAChoice{Name: a.LoRA.Name, Weight: ptr(a.Weight)}
			slot++
		} else if !strings.Contains(o.Prompt, a.Tag) {
			o.Prompt = strings.TrimSpace(o.Prompt + " " + a.Tag)
		}
	}
	if r.Sampler != "" && !r.SamplerIsDefault { // a family default is not the user's choice
		o.Sampler = samplerSpelling(servers, r.Sampler, r.Scheduler)
	}
	return o
}

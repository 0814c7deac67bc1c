package commands

import (
	"math"
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"

	"lorabot/bot"
	"lorabot/gen"
	"lorabot/imagine"
	"lorabot/lora"
	"lorabot/prompt"
)

// loraTryPrefix starts the custom_id of a card's Try it button and of the
// form it opens: "loratry:KEY" (loraKey).
const loraTryPrefix = "loratry"

// maxModalTitle is Discord's bound on a modal's title.
const maxModalTitle = 45

// tryIt opens an /imagine-like form for the card's LoRA: the prompt starts
// with its trigger words (as this server sees them), the weight is its
// preferred one.
//
// Issue 11's shared "imagine from a modal" path was not on main when this
// was written; this is the smallest form that goes through /imagine's own
// planning and queue (imagineCmd.Plan and enqueue).
func (im *imagineCmd) tryIt(c *bot.Ctx, key string) error {
	lr, err := resolveKey(im.deps.Catalog.Index(), key)
	if err != nil {
		return err
	}
	if own, ok := settingsOf(c).LoRAs[lr.Name]; ok {
		lr = imagine.OverrideOf(own).Apply(lr)
	}
	start := ""
	if len(lr.Triggers) > 0 {
		start = strings.Join(lr.Triggers, ", ") + ", "
	}
	row := func(t discordgo.TextInput) discordgo.ActionsRow {
		return discordgo.ActionsRow{Components: []discordgo.MessageComponent{t}}
	}
	return c.Modal(loraTryPrefix+":"+key, clip("Try "+lr.Name, maxModalTitle),
		row(discordgo.TextInput{CustomID: "prompt", Label: "Prompt", Style: discordgo.TextInputParagraph, Required: true, MinLength: 1,
			MaxLength: prompt.MaxPromptRunes, Value: clip(start, prompt.MaxPromptRunes), Placeholder: "What should the image show?"}),
		row(discordgo.TextInput{CustomID: "weight", Label: "Weight of " + clip(lr.Name, 30), Style: discordgo.TextInputShort, Required: false,
			MaxLength: 8, Value: lora.FormatWeight(lr.Weight())}),
		row(discordgo.TextInput{CustomID: "negative", Label: "Negative prompt", Style: discordgo.TextInputParagraph, Required: false,
			MaxLength: prompt.MaxPromptRunes}),
	)
}

// tryItSubmit turns the form into an /imagine job with the LoRA.
func (im *imagineCmd) tryItSubmit(c *bot.Ctx, key string) error {
	lr, err := resolveKey(im.deps.Catalog.Index(), key)
	if err != nil {
		return err
	}
	v := modalValues(c)
	var o gen.Options
	o.Prompt, o.Negative = strings.TrimSpace(v["prompt"]), strings.TrimSpace(v["negative"])
	if o.Prompt == "" {
		return bot.Failf("Write a prompt: what should the image show?")
	}
	o.LoRAs[0].Name = lr.Name
	if w := strings.TrimSpace(v["weight"]); w != "" {
		f, err := strconv.ParseFloat(strings.Replace(w, ",", ".", 1), 64)
		if err != nil || math.IsNaN(f) || f < prompt.MinWeight || f > prompt.MaxWeight {
			return bot.Failf("The weight must be a number from %s to %s; you wrote %q.", lora.FormatWeight(prompt.MinWeight), lora.FormatWeight(prompt.MaxWeight), clip(w, 20))
		}
		o.LoRAs[0].Weight = ptr(f)
	}
	scope := scopeOf(c)
	req, err := im.planner.Plan(c.UserID(), o, "", scope)
	if err != nil {
		return publicError(c, err)
	}
	return im.enqueue(c, req, scope.Settings.Bounds)
}

// modalValues are a submitted form's text inputs by custom_id.
func modalValues(c *bot.Ctx) map[string]string {
	out := map[string]string{}
	data, ok := c.I.Data.(discordgo.ModalSubmitInteractionData)
	if !ok {
		return out
	}
	for _, row := range data.Components {
		if r, ok := row.(*discordgo.ActionsRow); ok {
			for _, comp := range r.Components {
				if ti, ok := comp.(*discordgo.TextInput); ok {
					out[ti.CustomID] = ti.Value
				}
			}
		}
	}
	return out
}

package commands

import (
	"strings"

	"github.com/bwmarrin/discordgo"

	"lorabot/actions"
	"lorabot/bot"
	"lorabot/imagine"
	"lorabot/prompt"
)

// The form that starts an /imagine from a button (a result's Edit, a
// description's "Imagine this", a LoRA card's "Try it"): the prompt, the
// negative prompt, the LoRAs with their weights and the seed, prefilled.
// Its text inputs' custom_ids:
const (
	formPrompt   = "prompt"
	formNegative = "negative"
	formLoRAs    = "loras"
	formSeed     = "seed"
)

// maxModalValue is Discord's longest text input value.
const maxModalValue = 4000

// imagineForm opens the form on c, prefilled with f. customID routes its
// submission (Router.Modal).
func imagineForm(c *bot.Ctx, customID, title string, f actions.EditForm) error {
	input := func(id, label string, style discordgo.TextInputStyle, value, placeholder string, required bool, max int) discordgo.MessageComponent {
		return discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.TextInput{
			CustomID: id, Label: label, Style: style, Value: cutRunes(value, max), Placeholder: placeholder, Required: required, MaxLength: max,
		}}}
	}
	maxPrompt := min(prompt.MaxPromptRunes, maxModalValue)
	return c.Modal(customID, clip(title, 45),
		input(formPrompt, "Prompt", discordgo.TextInputParagraph, f.Prompt, "What should the image show?", true, maxPrompt),
		input(formNegative, "Negative prompt", discordgo.TextInputParagraph, f.Negative, "What to keep out of the image", false, maxPrompt),
		input(formLoRAs, "LoRAs (name:weight, comma-separated)", discordgo.TextInputShort, f.LoRAs, "e.g. revAnimated_v122:0.8, add_detail:0.5", false, 400),
		input(formSeed, "Seed (a number, or empty for random)", discordgo.TextInputShort, f.Seed, "random", false, 20),
	)
}

// cutRunes keeps the first n characters of s: a form's value is what will
// be sent, so it gets no "…" as clip gives.
func cutRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// readImagineForm is what the user left in the form.
func readImagineForm(c *bot.Ctx) actions.EditForm {
	var f actions.EditForm
	data, ok := c.I.Data.(discordgo.ModalSubmitInteractionData)
	if !ok {
		return f
	}
	for _, row := range data.Components {
		r, ok := row.(*discordgo.ActionsRow)
		if !ok {
			continue
		}
		for _, comp := range r.Components {
			ti, ok := comp.(*discordgo.TextInput)
			if !ok {
				continue
			}
			switch v := strings.TrimSpace(ti.Value); ti.CustomID {
			case formPrompt:
				f.Prompt = v
			case formNegative:
				f.Negative = v
			case formLoRAs:
				f.LoRAs = v
			case formSeed:
				f.Seed = v
			}
		}
	}
	return f
}

// startFromForm plans l for the user who submitted the form, under this
// server's rules, and queues it: the job's message is a new one (the form
// was opened from a message, which stays as it is).
func (im *imagineCmd) startFromForm(c *bot.Ctx, l imagine.Layers) error {
	if err := c.DeferMessage(); err != nil {
		return err
	}
	scope := scopeOf(c)
	req, err := im.planner.PlanLayers(c.UserID(), l, scope)
	if err != nil {
		return publicError(c, err)
	}
	return im.enqueue(c, req, scope.Settings.Bounds)
}

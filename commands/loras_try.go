package commands

import (
	"strings"

	"lorabot/actions"
	"lorabot/bot"
	"lorabot/imagine"
	"lorabot/lora"
)

// loraTryPrefix starts the custom_id of a card's Try it button and of the
// form it opens: "loratry:KEY" (loraKey).
const loraTryPrefix = "loratry"

// tryIt opens the shared /imagine form (imagine_modal.go) for the card's
// LoRA: the prompt starts with its trigger words as this server sees them,
// and the LoRAs field holds it at its preferred weight.
func (im *imagineCmd) tryIt(c *bot.Ctx, key string) error {
	lr, err := resolveKey(im.deps.Catalog.Index(), key)
	if err != nil {
		return err
	}
	if own, ok := settingsOf(c).LoRAs[lr.Name]; ok {
		lr = imagine.OverrideOf(own).Apply(lr)
	}
	f := actions.EditForm{LoRAs: lr.Name + ":" + lora.FormatWeight(lr.Weight())}
	if len(lr.Triggers) > 0 {
		f.Prompt = strings.Join(lr.Triggers, ", ") + ", "
	}
	return imagineForm(c, loraTryPrefix+":"+key, "Try "+lr.Name, f)
}

// tryItSubmit turns the form into an /imagine job of whoever submits it,
// planned like the command (their default preset applies). The key only
// checks that the LoRA still exists: the form's LoRAs field, which the
// user may change, says what is used.
func (im *imagineCmd) tryItSubmit(c *bot.Ctx, key string) error {
	if _, err := resolveKey(im.deps.Catalog.Index(), key); err != nil {
		return err
	}
	o, err := actions.FormOptions(readImagineForm(c))
	if err != nil {
		return err
	}
	return im.startFromForm(c, imagine.Layers{Cmd: o})
}

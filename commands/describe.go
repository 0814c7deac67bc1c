package commands

import (
	"github.com/bwmarrin/discordgo"

	"lorabot/a1111"
	"lorabot/actions"
	"lorabot/bot"
	"lorabot/imagine"
)

// describeUsePrefix is the "Imagine this…" button under a description and
// the form it opens: describeuse:JOB.
const describeUsePrefix = "describeuse"

// describeCommand is /describe: A1111's interrogator describes a picture,
// and the description's button starts an /imagine from it. The
// interrogator holds the server's generation lock like a job, so the
// description is a job in the queue.
func (im *imagineCmd) describeCommand() bot.Command {
	return bot.Command{
		Def: &discordgo.ApplicationCommand{
			Name:        "describe",
			Description: "Describe a picture in words you can imagine from (A1111's interrogator)",
			Options: []*discordgo.ApplicationCommandOption{
				{Type: discordgo.ApplicationCommandOptionAttachment, Name: "image", Description: "The picture (PNG, JPEG or WEBP, at most 10 MiB)", Required: true},
				{Type: discordgo.ApplicationCommandOptionString, Name: "model", Description: "How to describe it (default: a sentence)", Choices: []*discordgo.ApplicationCommandOptionChoice{
					{Name: "a sentence (CLIP)", Value: a1111.InterrogatorCLIP},
					{Name: "booru tags (DeepDanbooru)", Value: a1111.InterrogatorDeepDanbooru},
				}},
			},
		},
		Handle: im.describe,
	}
}

func (im *imagineCmd) describe(c *bot.Ctx) error {
	a := c.Args()
	model, _ := a.String("model")
	switch model {
	case "":
		model = a1111.InterrogatorCLIP
	case a1111.InterrogatorCLIP, a1111.InterrogatorDeepDanbooru:
	default:
		return bot.Failf("The model must be CLIP or DeepDanbooru.")
	}
	// The description shows the picture: the place's content policy
	// applies to it as to an image the bot made, before anything is
	// downloaded.
	spoiler, err := scopeOf(c).Place()
	if err != nil {
		return err
	}
	pic, data, err := attachedPicture(c, a, "image")
	if err != nil {
		return err
	}
	if pic == nil {
		return bot.Failf("Attach the picture to describe.")
	}
	req := &imagine.Request{User: c.UserID(), Kind: imagine.Describe, Init: pic, Interrogator: model, Spoiler: spoiler}
	req.Options.Count = 1
	return im.enqueueWith(c, req, settingsOf(c).Bounds, data)
}

// askImagineFromCaption serves "Imagine this…": the form, with the
// description as the prompt.
func (im *imagineCmd) askImagineFromCaption(c *bot.Ctx, id string) error {
	rec, err := im.recordOf(id, c)
	if err != nil {
		return err
	}
	if rec.Caption == "" {
		return bot.Failf("This description is not finished, so there is nothing to imagine from yet.")
	}
	return imagineForm(c, describeUsePrefix+":"+id, "Imagine from the description", actions.EditForm{Prompt: rec.Caption})
}

// imagineFromCaption serves that form: a new /imagine of whoever submits
// it, planned like the command (their default preset applies).
func (im *imagineCmd) imagineFromCaption(c *bot.Ctx, id string) error {
	if _, err := im.recordOf(id, c); err != nil {
		return err
	}
	o, err := actions.FormOptions(readImagineForm(c))
	if err != nil {
		return err
	}
	return im.startFromForm(c, imagine.Layers{Cmd: o})
}

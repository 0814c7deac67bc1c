package commands

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"lorabot/actions"
	"lorabot/bot"
	"lorabot/imagine"
	"lorabot/jobs"
	"lorabot/queue"
)

// pressResult serves a result's buttons. Anyone who may generate in the
// channel may press Reroll, Vary, Upscale or Edit: the new job is theirs,
// counts against their limits and this server's bounds, and its message
// answers the result it came from.
func (im *imagineCmd) pressResult(c *bot.Ctx, arg string) error {
	a, id, image, ok := parseActionArg(arg)
	if !ok || a == actions.Delete {
		return bot.Failf("This button is not one this bot made.")
	}
	return im.act(c, a, id, image)
}

// pickResult serves the select menu of per-image actions.
func (im *imagineCmd) pickResult(c *bot.Ctx, id string) error {
	data, _ := c.I.Data.(discordgo.MessageComponentInteractionData)
	if len(data.Values) != 1 {
		return bot.Failf("Pick one action from the menu.")
	}
	act, img, _ := strings.Cut(data.Values[0], ":")
	a, ok := actions.Parse(act)
	n, err := strconv.Atoi(img)
	if !ok || !a.PerImage() || err != nil {
		return bot.Failf("This menu entry is not one this bot made.")
	}
	return im.act(c, a, id, n)
}

func (im *imagineCmd) act(c *bot.Ctx, a actions.Action, id string, image int) error {
	src, _, err := im.source(c, id)
	if err != nil {
		return err
	}
	if err := src.CheckImage(a, image); err != nil {
		return err
	}
	switch a {
	case actions.Edit:
		return imagineForm(c, editPrefix+":"+id, "Edit and run again", actions.EditDefaults(src))
	case actions.Reroll:
		return im.startJob(c, actions.RerollLayers(src))
	case actions.VarySubtle, actions.VaryStrong:
		l, err := actions.VaryLayers(src, a, image)
		if err != nil {
			return err
		}
		return im.startJob(c, l)
	case actions.UpscaleCreative:
		pic, err := resultPicture(c, id, image)
		if err != nil {
			return err
		}
		l, err := actions.CreativeLayers(src, image, pic)
		if err != nil {
			return err
		}
		return im.startJob(c, l)
	case actions.Upscale:
		pic, err := resultPicture(c, id, image)
		if err != nil {
			return err
		}
		name, servers := im.deps.Servers.Upscaler(0)
		req, err := actions.UpscaleRequest(src, image, pic, name, c.UserID())
		if err != nil {
			return err
		}
		req.Backends = servers
		req.From.Message, req.From.Channel, req.From.Guild = pressedMessage(c)
		// The presser's place decides, as for a job planned anew; a spoiler
		// stays one.
		spoiler, err := scopeOf(c).Place()
		if err != nil {
			return err
		}
		req.Spoiler = req.Spoiler || spoiler
		if err := imagine.CheckSize(settingsOf(c).Bounds, req.Options.Width, req.Options.Height); err != nil {
			return err
		}
		if err := c.DeferMessage(); err != nil {
			return err
		}
		return im.enqueue(c, req, settingsOf(c).Bounds)
	}
	return bot.Failf("This button is not one this bot made.")
}

// submitEdit serves the Edit form: the result's settings with the form's
// changes, as a new job of whoever submitted it.
func (im *imagineCmd) submitEdit(c *bot.Ctx, id string) error {
	src, _, err := im.source(c, id)
	if err != nil {
		return err
	}
	l, err := actions.EditLayers(src, readImagineForm(c))
	if err != nil {
		return err
	}
	return im.startJob(c, l)
}

// startJob is startFromForm for a job made from the result c was pressed
// on: the new result points back to that message.
func (im *imagineCmd) startJob(c *bot.Ctx, l imagine.Layers) error {
	l.Lineage.Message, l.Lineage.Channel, l.Lineage.Guild = pressedMessage(c)
	return im.startFromForm(c, l)
}

// pressedMessage is the message c's component (or the form it opened) is
// on.
func pressedMessage(c *bot.Ctx) (id, channel, guild string) {
	if c.I.Message == nil {
		return "", "", ""
	}
	return c.I.Message.ID, c.I.ChannelID, c.GuildID()
}

// source reads the result a button names, for an action on it. Its record
// must exist (results are forgotten after a week, or beyond the newest
// 2000), belong to this server, be finished, and be a generated result.
func (im *imagineCmd) source(c *bot.Ctx, id string) (actions.Source, jobs.Record, error) {
	rec, err := im.recordOf(id, c)
	if err != nil {
		return actions.Source{}, rec, err
	}
	switch {
	case rec.State.Pending():
		return actions.Source{}, rec, bot.Failf("This job has not finished, so there is nothing to start from yet.")
	case rec.State != jobs.Done:
		return actions.Source{}, rec, bot.Failf("This job did not finish, so there is nothing to start from.")
	case rec.Request.Compare != nil:
		return actions.Source{}, rec, bot.Failf("This is a /compare grid: its menus post a cell or save its weights.")
	case rec.Request.Kind != imagine.Txt2Img && rec.Request.Kind != imagine.Img2Img:
		return actions.Source{}, rec, bot.Failf("This result was not generated from a prompt, so it cannot be run again.")
	case rec.Request.Init != nil && rec.Request.Init.Expired(time.Now()):
		return actions.Source{}, rec, bot.Failf("The picture this result started from is no longer available from Discord (its link has run out); attach it again with /imagine image:.")
	}
	n := max(len(rec.Seeds), rec.Request.Options.Count)
	return actions.Source{ID: rec.ID, Request: &rec.Request, Seeds: rec.Seeds, Images: n}, rec, nil
}

// recordOf is the job record a button names, when it is this place's.
func (im *imagineCmd) recordOf(id string, c *bot.Ctx) (jobs.Record, error) {
	rec, found, err := im.pressedRecord(id, c)
	if err == nil && !found {
		err = bot.Failf("The bot no longer knows this result (it keeps results for a week, the newest %d); run /imagine again.", keptResults)
	}
	return rec, err
}

// pressedRecord is the one check of a press against the job it names:
// the pressed message must carry a component naming the job (namesJob),
// and the record, when the bot still has it (found), must be this
// channel's (sameChannel).
func (im *imagineCmd) pressedRecord(id string, c *bot.Ctx) (rec jobs.Record, found bool, err error) {
	if !queue.ValidID(id) || !namesJob(c, id) {
		return rec, false, bot.Failf("This button is not one this bot made.")
	}
	rec, err = im.deps.Jobs.Job(id)
	switch {
	case errors.Is(err, jobs.ErrNotFound):
		return rec, false, nil
	case err != nil:
		return rec, false, fmt.Errorf("read job record %s: %w", id, err)
	case !sameChannel(rec, c):
		return rec, true, bot.Failf("This button belongs to a result from elsewhere, so it does nothing here.")
	}
	return rec, true, nil
}

// keptResults is how many finished job records the bot keeps (app prunes
// beyond it), for the sentence about a forgotten result.
const keptResults = 2000

// sameChannel reports whether rec's result belongs where c was pressed:
// its server and its channel (a DM is its own channel), so that no press
// reaches another place's job, however its custom_id was made.
func sameChannel(rec jobs.Record, c *bot.Ctx) bool {
	return rec.Reply.GuildID == c.GuildID() && rec.Reply.ChannelID == c.I.ChannelID
}

// namesJob reports whether the message c was pressed on (or opened the
// form from) carries a component for job: Discord forwards only the
// custom_ids of a message's components, so a custom_id naming another job
// is a crafted request.
func namesJob(c *bot.Ctx, job string) bool {
	if c.I.Message == nil {
		return false
	}
	var walk func([]discordgo.MessageComponent) bool
	walk = func(cs []discordgo.MessageComponent) bool {
		for _, mc := range cs {
			var id string
			switch v := mc.(type) {
			case *discordgo.ActionsRow:
				if walk(v.Components) {
					return true
				}
			case *discordgo.Button:
				id = v.CustomID
			case *discordgo.SelectMenu:
				id = v.CustomID
			}
			if id != "" && slices.Contains(strings.Split(id, ":"), job) {
				return true
			}
		}
		return false
	}
	return walk(c.I.Message.Components)
}

// resultPicture finds image i of job on the message c was pressed on, as
// Discord serves it. The file is named lorabot_JOB_I (SPOILER_ first when
// posted as a spoiler).
func resultPicture(c *bot.Ctx, job string, i int) (imagine.Picture, error) {
	if c.I.Message != nil {
		want := fmt.Sprintf("lorabot_%s_%d.", job, i)
		for _, a := range c.I.Message.Attachments {
			if a != nil && strings.HasPrefix(strings.TrimPrefix(a.Filename, spoilerPrefix), want) && a.URL != "" {
				return imagine.Picture{URL: a.URL, Name: a.Filename, Width: a.Width, Height: a.Height, Bytes: int64(a.Size)}, nil
			}
		}
	}
	return imagine.Picture{}, bot.Failf("Image %d is no longer on this message, so there is nothing to work from.", i)
}

// deleteResult serves Delete: the job's owner, or a member who may manage
// messages here, removes the result's message and the bot forgets its
// record and settings. Anyone else is told who may.
func (im *imagineCmd) deleteResult(c *bot.Ctx, id string) error {
	rec, found, err := im.pressedRecord(id, c)
	if err != nil {
		return err
	}
	owner := rec.User // "" when forgotten: only a moderator may remove it now
	mod := c.HasPermission(discordgo.PermissionManageMessages)
	if c.UserID() != owner && !mod {
		if owner == "" {
			return bot.Failf("Only a member who may manage messages can delete this result.")
		}
		return bot.Failf("Only <@%s>, who asked for it, or a member who may manage messages can delete this result.", owner)
	}
	if err := c.Defer(false); err != nil {
		return err
	}
	if err := c.DeleteOriginal(); err != nil {
		return fmt.Errorf("delete result message of job %s: %w", id, err)
	}
	if found {
		if err := im.deps.Jobs.DeleteJob(id); err != nil {
			c.Log.Error("could not forget a deleted result's record", "job", id, "err", err)
		}
		if err := im.deps.Results.ForgetResult(id); err != nil {
			c.Log.Error("could not forget a deleted result's settings", "job", id, "err", err)
		}
	}
	return c.Reply(bot.Message{Content: "🗑️ Deleted.", Ephemeral: true})
}

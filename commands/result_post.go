package commands

import (
	"bytes"
	"fmt"
	"image"
	"strings"

	"github.com/bwmarrin/discordgo"

	"lorabot/actions"
	"lorabot/bot"
	"lorabot/imagine"
)

// postUpscale replaces the job's message with the upscaled image, re-encoded
// when it is over Discord's limit (said in the message), and its new size.
func (im *imagineCmd) postUpscale(x *job) {
	x.mu.Lock()
	res, took := x.result, x.took
	x.mu.Unlock()
	if len(res.Images) == 0 || len(res.Images[0]) == 0 {
		im.deliver(x, bot.Message{Content: "⚠️ The image server answered without an image.", Embeds: []*discordgo.MessageEmbed{requestEmbed(x.req, nil, took)}})
		return
	}
	img := res.Images[0]
	size := fmt.Sprintf("%dx%d", x.req.Options.Width, x.req.Options.Height)
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(img)); err == nil {
		size = fmt.Sprintf("%dx%d", cfg.Width, cfg.Height)
	}
	f, note, err := fitImage(img, fileBudget(x.c.AttachmentLimit, 1), fmt.Sprintf("lorabot_%s_1", x.id))
	if err != nil {
		x.c.Log.Error("upscaled image does not fit Discord's limit", "job", x.id, "bytes", len(img), "err", err)
		im.deliver(x, bot.Message{Content: "⚠️ The upscaled image could not be made small enough to upload.", Embeds: []*discordgo.MessageEmbed{requestEmbed(x.req, nil, took)}})
		return
	}
	posted := int64(len(img))
	if r, ok := f.Reader.(*bytes.Reader); ok {
		posted = r.Size()
	}
	x.c.Log.Info("upscale posted", "job", x.id, "bytes", len(img), "posted_bytes", posted, "limit", x.c.AttachmentLimit)
	content := fmt.Sprintf("🔍 <@%s>'s upscale: %s", x.req.User, size) + lineageNote(x.req.From)
	if note != "" {
		content += " (it " + note + ")"
	}
	e := requestEmbed(x.req, nil, took)
	files := []*discordgo.File{f}
	showImages(e, files, x.req.Spoiler)
	im.deliver(x, bot.Message{Content: content, Embeds: []*discordgo.MessageEmbed{e}, Files: files,
		Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{deleteButton(x.id)}}}})
}

// postDescription replaces the job's message with the description, and
// buttons to start an /imagine from it.
func (im *imagineCmd) postDescription(x *job) {
	x.mu.Lock()
	caption, took := x.caption, x.took
	x.mu.Unlock()
	e := requestEmbed(x.req, nil, took)
	if strings.TrimSpace(caption) == "" {
		im.deliver(x, bot.Message{Content: "⚠️ The image server had nothing to say about this picture.", Embeds: []*discordgo.MessageEmbed{e}})
		return
	}
	e.Description = clip(caption, bot.MaxEmbedDescLen)
	if x.req.Init != nil && !x.req.Spoiler {
		e.Thumbnail = &discordgo.MessageEmbedThumbnail{URL: x.req.Init.URL}
	}
	im.deliver(x, bot.Message{Content: fmt.Sprintf("📝 <@%s>'s picture, described:", x.req.User), Embeds: []*discordgo.MessageEmbed{e},
		Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			discordgo.Button{Label: "Imagine this…", Style: discordgo.PrimaryButton, CustomID: describeUsePrefix + ":" + x.id, Emoji: &discordgo.ComponentEmoji{Name: "🎨"}},
			deleteButton(x.id),
		}}}})
}

// lineageNote says, after a result's first words, which earlier result
// it was made from, with a link to it: "" for a job a command started.
func lineageNote(from imagine.Lineage) string {
	a, ok := actions.Parse(from.Action)
	if !ok || from.Job == "" {
		return ""
	}
	what := a.Name()
	if from.Image > 0 {
		what += fmt.Sprintf(" of image %d", from.Image)
	}
	if from.Message == "" || from.Channel == "" {
		return " (" + what + ")"
	}
	guild := from.Guild
	if guild == "" {
		guild = "@me"
	}
	return fmt.Sprintf(" (%s of https://discord.com/channels/%s/%s/%s)", what, guild, from.Channel, from.Message)
}

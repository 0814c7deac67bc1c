package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/bwmarrin/discordgo"

	"lorabot/bot"
	"lorabot/lora"
)

// lorasCardPrefix is the custom_id of a list page's menu that opens a
// LoRA's card; the values are loraKeys.
const lorasCardPrefix = "lorascard"

// maxListPreviews is how many previews a list page shows: Discord shows
// up to 10 embeds a message, and four small cards keep a page readable.
const maxListPreviews = 4

// listPreviews are small cards of the page's first LoRAs with a preview
// (a file in LORA_DIR or Civitai's image), each its own embed with a
// thumbnail. The image servers are not asked: a page turn stays quick.
// NSFW LoRAs show none outside age-restricted channels.
func (l *lorasCmd) listPreviews(shown []lora.LoRA, ageRestricted bool) ([]*discordgo.MessageEmbed, []*discordgo.File) {
	var embeds []*discordgo.MessageEmbed
	var files []*discordgo.File
	for _, lr := range shown {
		if len(embeds) == maxListPreviews {
			break
		}
		if lr.NSFW && !ageRestricted {
			continue
		}
		p := l.previewOf(context.Background(), lr, fmt.Sprintf("preview_%d", len(embeds)+1), false)
		if p.file == nil && p.url == "" {
			continue
		}
		e := &discordgo.MessageEmbed{Title: clip(lr.Name, bot.MaxEmbedTitleLen), Color: 0x5865F2, Description: lr.Family.String()}
		if len(lr.Triggers) > 0 {
			e.Description += " · " + clip(strings.Join(lr.Triggers, ", "), 200)
		}
		files = append(files, showPreview(e, p, lr.NSFW, ageRestricted)...)
		embeds = append(embeds, e)
	}
	return embeds, files
}

// cardMenu lets the user open one of the page's LoRAs' card.
func cardMenu(shown []lora.LoRA) discordgo.ActionsRow {
	opts := make([]discordgo.SelectMenuOption, 0, len(shown))
	for _, lr := range shown {
		desc := lr.Family.String()
		if len(lr.Triggers) > 0 {
			desc += " · " + strings.Join(lr.Triggers, ", ")
		}
		opts = append(opts, discordgo.SelectMenuOption{Label: clip(lr.Name, 100), Value: loraKey(lr.Name), Description: clip(desc, 100)})
	}
	return discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.SelectMenu{CustomID: lorasCardPrefix, Placeholder: "Open a LoRA's card…", Options: opts},
	}}
}

// openCard answers the menu with the picked LoRA's card, for the user only.
func (l *lorasCmd) openCard(c *bot.Ctx, _ string) error {
	data, _ := c.I.Data.(discordgo.MessageComponentInteractionData)
	if len(data.Values) != 1 {
		return bot.Failf("Pick one LoRA from the menu.")
	}
	lr, err := resolveKey(l.deps.Catalog.Index(), data.Values[0])
	if err != nil {
		return err
	}
	return c.Reply(l.card(c, lr))
}

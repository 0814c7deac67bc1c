package commands

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"

	"lorabot/actions"
)

// The custom_ids of a result's components. Each carries the job record's
// ID, so a press works after a restart and on any message the bot posted:
//
//	res:ACTION:JOB[:IMAGE]   a button (actions.Action; IMAGE 1-based)
//	resmore:JOB              the select menu of per-image actions, values ACTION:IMAGE
//	resdel:JOB               Delete (not bound by the channel rules: one may
//	                         always remove one's own result)
//	resedit:JOB              the Edit form
const (
	resultPrefix     = "res"
	resultMorePrefix = "resmore"
	deletePrefix     = "resdel"
	editPrefix       = "resedit"
)

func actionID(a actions.Action, job string, image int) string {
	id := resultPrefix + ":" + string(a) + ":" + job
	if image > 0 {
		id += ":" + strconv.Itoa(image)
	}
	return id
}

// parseActionArg reads "ACTION:JOB[:IMAGE]" (a button's custom_id after
// its prefix). ok is false for anything the bot never made.
func parseActionArg(arg string) (a actions.Action, job string, image int, ok bool) {
	parts := strings.Split(arg, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return "", "", 0, false
	}
	a, ok = actions.Parse(parts[0])
	if !ok || parts[1] == "" {
		return "", "", 0, false
	}
	if len(parts) == 3 {
		n, err := strconv.Atoi(parts[2])
		if err != nil || n < 1 {
			return "", "", 0, false
		}
		image = n
	}
	if a.PerImage() && image == 0 {
		image = 1
	}
	return a, parts[1], image, true
}

// resultComponents are the buttons under a result of n images. One image:
// its actions as buttons. Several: U1…Un (upscale) and V1…Vn (subtle
// variation) buttons, the other per-image actions in a select menu, as
// Midjourney users know it. Then Reroll, Edit, Save as preset and Delete.
func resultComponents(job string, n int) []discordgo.MessageComponent {
	btn := func(label, emoji, id string, style discordgo.ButtonStyle) discordgo.MessageComponent {
		b := discordgo.Button{Label: label, Style: style, CustomID: id}
		if emoji != "" {
			b.Emoji = &discordgo.ComponentEmoji{Name: emoji}
		}
		return b
	}
	grey := discordgo.SecondaryButton
	var rows []discordgo.MessageComponent
	if n <= 1 {
		rows = append(rows, discordgo.ActionsRow{Components: []discordgo.MessageComponent{
			btn("Vary (subtle)", "🌱", actionID(actions.VarySubtle, job, 1), grey),
			btn("Vary (strong)", "🌪️", actionID(actions.VaryStrong, job, 1), grey),
			btn("Upscale 2×", "🔍", actionID(actions.Upscale, job, 1), grey),
			btn("Upscale (creative)", "✨", actionID(actions.UpscaleCreative, job, 1), grey),
		}})
	} else {
		n = min(n, 5) // a row holds 5 buttons; count is at most 4
		var ups, vars []discordgo.MessageComponent
		var more []discordgo.SelectMenuOption
		for i := 1; i <= n; i++ {
			ups = append(ups, btn(fmt.Sprintf("U%d", i), "", actionID(actions.Upscale, job, i), grey))
			vars = append(vars, btn(fmt.Sprintf("V%d", i), "", actionID(actions.VarySubtle, job, i), grey))
		}
		for i := 1; i <= n; i++ {
			more = append(more,
				discordgo.SelectMenuOption{Label: fmt.Sprintf("Vary image %d (strong)", i), Value: fmt.Sprintf("%s:%d", actions.VaryStrong, i), Emoji: &discordgo.ComponentEmoji{Name: "🌪️"}},
				discordgo.SelectMenuOption{Label: fmt.Sprintf("Upscale image %d (creative)", i), Value: fmt.Sprintf("%s:%d", actions.UpscaleCreative, i), Emoji: &discordgo.ComponentEmoji{Name: "✨"}})
		}
		rows = append(rows,
			discordgo.ActionsRow{Components: ups},
			discordgo.ActionsRow{Components: vars},
			discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.SelectMenu{
				MenuType: discordgo.StringSelectMenu, CustomID: resultMorePrefix + ":" + job, Placeholder: "More for one image…", Options: more,
			}}})
	}
	rows = append(rows, discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		btn("Reroll", "🔄", actionID(actions.Reroll, job, 0), discordgo.PrimaryButton),
		btn("Edit", "✏️", actionID(actions.Edit, job, 0), grey),
		savePresetButton(job),
		deleteButton(job),
	}})
	return rows
}

func deleteButton(job string) discordgo.MessageComponent {
	return discordgo.Button{Label: "Delete", Style: discordgo.DangerButton, CustomID: deletePrefix + ":" + job, Emoji: &discordgo.ComponentEmoji{Name: "🗑️"}}
}

package commands

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/bwmarrin/discordgo"

	"lorabot/bot"
	"lorabot/lora"
)

const (
	lorasPagePrefix = "loras"
	lorasPerPage    = 10
	// maxQueryInID keeps "loras:PAGE:QUERY" within custom_id's 100 characters.
	maxQueryInID = 80
)

// lorasCmd serves /loras: browsing the catalog, one LoRA in full, and a
// rescan that only server managers may start.
type lorasCmd struct{ deps *Deps }

func (l *lorasCmd) command() bot.Command {
	sub := discordgo.ApplicationCommandOptionSubCommand
	return bot.Command{
		Def: &discordgo.ApplicationCommand{
			Name:        "loras",
			Description: "Browse the LoRAs the image server has",
			Options: []*discordgo.ApplicationCommandOption{
				{Type: sub, Name: "list", Description: "Browse the catalog, page by page", Options: []*discordgo.ApplicationCommandOption{
					{Type: discordgo.ApplicationCommandOptionString, Name: "query", Description: "Only LoRAs matching this", MaxLength: maxQueryInID},
				}},
				{Type: sub, Name: "info", Description: "One LoRA in full: trigger words, weight, the tag to type", Options: []*discordgo.ApplicationCommandOption{
					{Type: discordgo.ApplicationCommandOptionString, Name: "name", Description: "The LoRA", Required: true, Autocomplete: true},
				}},
				{Type: sub, Name: "refresh", Description: "Rescan the servers' LoRA folders (needs Manage Server)"},
				{Type: sub, Name: "triggers", Description: "Set the trigger words the bot adds for a LoRA (needs Manage Server)", Options: []*discordgo.ApplicationCommandOption{
					{Type: discordgo.ApplicationCommandOptionString, Name: "name", Description: "The LoRA", Required: true, Autocomplete: true, MaxLength: bot.MaxChoiceLen},
					{Type: discordgo.ApplicationCommandOptionString, Name: "words", Description: "Comma-separated trigger words; leave out (or none) to go back to the LoRA's own", MaxLength: 500},
				}},
			},
		},
		Handle: l.handle,
		Autocomplete: func(c *bot.Ctx) error {
			_, typed := c.Args().Focused()
			return c.Choices(loraChoices(l.deps.Catalog.Index(), typed, lora.FamilyUnknown))
		},
	}
}

func (l *lorasCmd) handle(c *bot.Ctx) error {
	a := c.Args()
	switch a.Sub {
	case "list":
		q, _ := a.String("query")
		m := l.page(strings.TrimSpace(q), 0)
		m.Ephemeral = true
		return c.Reply(m)
	case "info":
		name, _ := a.String("name")
		lr, err := l.deps.Catalog.Index().Resolve(name)
		if err != nil {
			return err
		}
		return c.Reply(bot.Message{Embeds: []*discordgo.MessageEmbed{loraEmbed(lr)}, Ephemeral: true})
	case "triggers":
		return l.setTriggers(c, a)
	case "refresh":
		if !c.HasPermission(discordgo.PermissionManageGuild) {
			return bot.Failf("Only members with the Manage Server permission can rescan the LoRA folders.")
		}
		if err := c.Defer(true); err != nil {
			return err
		}
		return c.Reply(bot.Message{Content: l.refresh(), Ephemeral: true})
	}
	return bot.Failf("Unknown /loras subcommand.")
}

// setTriggers stores an admin's trigger words for a LoRA. They win over the
// sidecar's, the metadata's and the most frequent tag (interface.md), and
// survive restarts.
func (l *lorasCmd) setTriggers(c *bot.Ctx, a bot.Args) error {
	if !c.HasPermission(discordgo.PermissionManageGuild) {
		return bot.Failf("Only members with the Manage Server permission can set trigger words.")
	}
	name, _ := a.String("name")
	lr, err := l.deps.Catalog.Index().Resolve(name)
	if err != nil {
		return err
	}
	words, _ := a.String("words")
	if w := strings.TrimSpace(words); strings.EqualFold(w, "none") {
		words = ""
	}
	if err := l.deps.Triggers.SetTriggerOverride(lr.Name, words); err != nil {
		return err
	}
	all, err := l.deps.Triggers.TriggerOverrides()
	if err != nil {
		return err
	}
	l.deps.Catalog.SetTriggerOverrides(all)
	now, _ := l.deps.Catalog.Index().Get(lr.Name)
	trig := "none"
	if len(now.Triggers) > 0 {
		trig = strings.Join(now.Triggers, ", ")
	}
	msg := fmt.Sprintf("Trigger words of **%s** are now: %s.", lr.Name, trig)
	if strings.TrimSpace(words) == "" {
		msg = fmt.Sprintf("Trigger words of **%s** are back to its own: %s.", lr.Name, trig)
	}
	return c.Reply(bot.Message{Content: msg, Ephemeral: true})
}

// refresh asks every backend to rescan, then reloads the catalog.
func (l *lorasCmd) refresh() string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var failed []string
	for _, cl := range l.deps.Servers.Clients() {
		if err := cl.RefreshLoRAs(ctx); err != nil {
			l.deps.Log.Warn("refresh-loras failed", "server", cl.Addr(), "err", err)
			failed = append(failed, userText(err))
		}
	}
	ch, err := l.deps.Catalog.Refresh(ctx)
	if err != nil {
		l.deps.Log.Warn("catalog refresh failed", "err", err)
		return "⚠️ The rescan failed, so the LoRA list stays as it was: " + userText(err)
	}
	msg := fmt.Sprintf("Rescanned: %d LoRAs (%d new, %d removed, %d changed).", ch.Total, ch.Added, ch.Removed, ch.Changed)
	if err := l.deps.Servers.Refresh(ctx); err != nil {
		l.deps.Log.Warn("checkpoint and sampler lists not refreshed", "err", err)
		msg += " The checkpoint and sampler lists could not be reread: " + userText(err)
	}
	if len(failed) > 0 {
		msg += " Some servers did not rescan: " + strings.Join(failed, " ")
	}
	return msg
}

// userText is the sentence of an error meant for users, else a generic one.
func userText(err error) string {
	if msg, ok := bot.UserMessage(err); ok {
		return msg
	}
	return "the image server could not be reached."
}

// page renders one page of the catalog with Previous/Next buttons whose
// custom_id carries the page and the query, so paging needs no state.
func (l *lorasCmd) page(query string, page int) bot.Message {
	idx := l.deps.Catalog.Index()
	list := idx.All()
	if query != "" {
		list = matching(idx, query)
	}
	if len(list) == 0 {
		if query != "" {
			return bot.Message{Content: fmt.Sprintf("No LoRA matches %q.", query)}
		}
		return bot.Message{Content: "The image server has no LoRAs (or has not been reached yet)."}
	}
	pages := (len(list) + lorasPerPage - 1) / lorasPerPage
	page = max(0, min(page, pages-1))
	var b strings.Builder
	for _, lr := range list[page*lorasPerPage : min(len(list), (page+1)*lorasPerPage)] {
		line := fmt.Sprintf("**%s** · %s", lr.Name, lr.Family)
		if lr.Alias != "" && lr.Alias != lr.Name {
			line += " · alias " + lr.Alias
		}
		if len(lr.Triggers) > 0 {
			line += " · " + strings.Join(lr.Triggers, ", ")
		}
		b.WriteString(clip(line, 380) + "\n")
	}
	title := fmt.Sprintf("LoRAs (%d)", len(list))
	if query != "" {
		title = fmt.Sprintf("LoRAs matching %q (%d)", query, len(list))
	}
	e := &discordgo.MessageEmbed{Title: clip(title, bot.MaxEmbedTitleLen), Description: b.String(), Color: 0x5865F2,
		Footer: &discordgo.MessageEmbedFooter{Text: fmt.Sprintf("Page %d of %d · /loras info shows one in full", page+1, pages)}}
	q := []rune(query)
	if len(q) > maxQueryInID {
		q = q[:maxQueryInID]
	}
	id := func(p int) string { return lorasPagePrefix + ":" + strconv.Itoa(p) + ":" + string(q) }
	row := discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.Button{Label: "◀ Previous", Style: discordgo.SecondaryButton, CustomID: id(page - 1), Disabled: page == 0},
		discordgo.Button{Label: "Next ▶", Style: discordgo.SecondaryButton, CustomID: id(page + 1), Disabled: page >= pages-1},
	}}
	return bot.Message{Embeds: []*discordgo.MessageEmbed{e}, Components: []discordgo.MessageComponent{row}}
}

// matching lists the LoRAs a /loras list query finds: Search's ranking
// first (it forgives typos), then every other LoRA whose name, alias or
// trigger words contain the query. Search stops at autocomplete's 25
// choices; a list must not silently drop the rest.
func matching(idx *lora.Index, query string) []lora.LoRA {
	var list []lora.LoRA
	seen := map[string]bool{}
	for _, ch := range idx.Search(query, lora.SearchOptions{Limit: lora.ChoiceLimit}) {
		if lr, err := idx.Resolve(ch.Value); err == nil && !seen[lr.Name] {
			seen[lr.Name] = true
			list = append(list, lr)
		}
	}
	q := looseFold(query)
	if q == "" {
		return list
	}
	for _, lr := range idx.All() {
		if seen[lr.Name] {
			continue
		}
		hit := strings.Contains(looseFold(lr.Name), q) || strings.Contains(looseFold(lr.Alias), q)
		for _, t := range lr.Triggers {
			hit = hit || strings.Contains(looseFold(t), q)
		}
		if hit {
			seen[lr.Name] = true
			list = append(list, lr)
		}
	}
	return list
}

// looseFold compares text as Search does: case ignored, and '_', '-', '.'
// taken as spaces.
func looseFold(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', '.':
			return ' '
		}
		return unicode.ToLower(r)
	}, s))
}

// turnPage serves the paging buttons.
func (l *lorasCmd) turnPage(c *bot.Ctx, arg string) error {
	p, query, _ := strings.Cut(arg, ":")
	n, err := strconv.Atoi(p)
	if err != nil {
		return bot.Failf("This button no longer works; run /loras list again.")
	}
	return c.Update(l.page(query, n))
}

func loraEmbed(l lora.LoRA) *discordgo.MessageEmbed {
	e := &discordgo.MessageEmbed{Title: clip(l.Name, bot.MaxEmbedTitleLen), Color: 0x5865F2}
	field := func(name, value string, inline bool) {
		if value != "" {
			e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: name, Value: clip(value, bot.MaxEmbedFieldLen), Inline: inline})
		}
	}
	if l.Alias != "" && l.Alias != l.Name {
		field("Alias", l.Alias, true)
	}
	field("Family", l.Family.String(), true)
	if l.Title != "" {
		field("Title", l.Title, true)
	}
	if l.BaseModel != "" {
		field("Trained on", l.BaseModel, true)
	}
	trig := "none known"
	if len(l.Triggers) > 0 {
		trig = strings.Join(l.Triggers, ", ")
	}
	field("Trigger words", trig, false)
	w := "not set (1 is used)"
	if l.PreferredWeight != 0 {
		w = lora.FormatWeight(l.PreferredWeight)
	}
	field("Preferred weight", w, true)
	field("Tag to type", "`"+l.Tag(l.Weight())+"`", false)
	return e
}

package commands

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/bwmarrin/discordgo"

	"lorabot/bot"
	"lorabot/guild"
	"lorabot/imagine"
	"lorabot/lora"
	"lorabot/prompt"
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
				{Type: sub, Name: "set", Description: "Set a LoRA's trigger words, weight or NSFW mark in this server (needs Manage Server)", Options: []*discordgo.ApplicationCommandOption{
					{Type: discordgo.ApplicationCommandOptionString, Name: "name", Description: "The LoRA", Required: true, Autocomplete: true, MaxLength: bot.MaxChoiceLen},
					{Type: discordgo.ApplicationCommandOptionString, Name: "triggers", Description: "Comma-separated trigger words; none: back to the LoRA's own", MaxLength: guild.MaxTriggerLen},
					{Type: discordgo.ApplicationCommandOptionNumber, Name: "weight", Description: "Preferred weight (-2 to 2); 0: back to the LoRA's own", MinValue: ptr(prompt.MinWeight), MaxValue: prompt.MaxWeight},
					{Type: discordgo.ApplicationCommandOptionBoolean, Name: "nsfw", Description: "Mark it age-restricted (true) or not (false), over what its training tags say"},
					{Type: discordgo.ApplicationCommandOptionBoolean, Name: "reset", Description: "Forget everything this server set for the LoRA"},
				}},
			},
		},
		Handle: l.handle,
		Autocomplete: func(c *bot.Ctx) error {
			_, typed := c.Args().Focused()
			return c.Choices(loraChoices(l.deps.Catalog.Index(), typed, lora.FamilyUnknown, lora.FamilyUnknown))
		},
	}
}

func (l *lorasCmd) handle(c *bot.Ctx) error {
	a := c.Args()
	switch a.Sub {
	case "list":
		q, _ := a.String("query")
		m := l.page(c, strings.TrimSpace(q), 0)
		m.Ephemeral = true
		return c.Reply(m)
	case "info":
		name, _ := a.String("name")
		lr, err := l.deps.Catalog.Index().Resolve(name)
		if err != nil {
			return err
		}
		return c.Reply(l.card(c, lr))
	case "set":
		return l.set(c, a)
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

// set changes what this server set for one LoRA (/loras set): its trigger
// words and preferred weight, the first source of both in this server
// (interface.md), and its NSFW mark, which wins over the training tags'.
// Only the interaction's own server changes, and only for a member who may
// manage it.
func (l *lorasCmd) set(c *bot.Ctx, a bot.Args) error {
	if c.GuildID() == "" {
		return bot.Failf("LoRA settings belong to a server; run /loras set in the server they are for.")
	}
	if !c.HasPermission(discordgo.PermissionManageGuild) {
		return bot.Failf("Only members with the Manage Server permission can change a LoRA's settings.")
	}
	if l.deps.Guilds == nil {
		return errors.New("loras set: no guild settings store")
	}
	name, _ := a.String("name")
	lr, err := l.deps.Catalog.Index().Resolve(name)
	if err != nil {
		return err
	}
	change, err := readLoRAChange(a)
	if err != nil {
		return err
	}
	updated, err := l.deps.Guilds.UpdateGuildSettings(c.GuildID(), func(s *guild.Settings) error {
		return s.SetLoRA(lr.Name, change)
	})
	if err != nil {
		return fmt.Errorf("loras set %s: %w", lr.Name, err)
	}
	// What the server sees now: its own entry for the LoRA wins whole over
	// the defaults' (guild.Settings.Over); without one, the defaults' applies.
	now := updated
	if _, defaults, err := l.deps.Guilds.GuildAndDefaults(c.GuildID()); err == nil {
		now = updated.Over(defaults)
	} else {
		c.Log.Warn("could not read the defaults to show the LoRA's settings", "err", err)
	}
	own, has := now.LoRAs[lr.Name]
	return c.Reply(bot.Message{Content: loraSettingsText(lr, own, has), Ephemeral: true})
}

// readLoRAChange reads /loras set's options into a change of the LoRA's
// entry. At least one must be given.
func readLoRAChange(a bot.Args) (func(*guild.LoRA), error) {
	var steps []func(*guild.LoRA)
	if reset, ok := a.Bool("reset"); ok && reset {
		steps = append(steps, func(g *guild.LoRA) { *g = guild.LoRA{} })
	}
	if words, ok := a.String("triggers"); ok {
		var t []string
		if w := strings.TrimSpace(words); !strings.EqualFold(w, "none") {
			if len([]rune(w)) > guild.MaxTriggerLen {
				return nil, bot.Failf("Trigger words can be at most %d characters long.", guild.MaxTriggerLen)
			}
			if t = lora.SplitTriggers(w); len(t) == 0 {
				return nil, bot.Failf("Give trigger words separated by commas, or none to go back to the LoRA's own.")
			}
		}
		steps = append(steps, func(g *guild.LoRA) { g.Triggers = t })
	}
	if w, ok := a.Float("weight"); ok {
		if math.IsNaN(w) || w < prompt.MinWeight || w > prompt.MaxWeight {
			return nil, bot.Failf("The weight must be from %s to %s (0 goes back to the LoRA's own).", lora.FormatWeight(prompt.MinWeight), lora.FormatWeight(prompt.MaxWeight))
		}
		steps = append(steps, func(g *guild.LoRA) { g.Weight = w })
	}
	if n, ok := a.Bool("nsfw"); ok {
		steps = append(steps, func(g *guild.LoRA) { g.NSFW = &n })
	}
	if len(steps) == 0 {
		return nil, bot.Failf("Give triggers, weight or nsfw to change (or reset to forget this server's settings for the LoRA).")
	}
	return func(g *guild.LoRA) {
		for _, f := range steps {
			f(g)
		}
	}, nil
}

// loraSettingsText says how this server now sees a LoRA, and which of it
// is the server's own.
func loraSettingsText(lr lora.LoRA, own guild.LoRA, has bool) string {
	v := lr
	if has {
		v = imagine.OverrideOf(own).Apply(lr)
	}
	trig := "none"
	if len(v.Triggers) > 0 {
		trig = strings.Join(v.Triggers, ", ")
	}
	var b strings.Builder
	if has && len(own.Triggers) > 0 {
		fmt.Fprintf(&b, "Trigger words of **%s** in this server are now: %s.", lr.Name, trig)
	} else {
		fmt.Fprintf(&b, "Trigger words of **%s** are back to its own: %s.", lr.Name, trig)
	}
	if has && own.Weight != 0 {
		fmt.Fprintf(&b, " Preferred weight here: %s.", lora.FormatWeight(own.Weight))
	} else {
		fmt.Fprintf(&b, " Preferred weight: its own (%s).", lora.FormatWeight(lr.Weight()))
	}
	b.WriteString(" " + nsfwText(lr, own, has) + ".")
	return b.String()
}

// nsfwText says whether a LoRA counts as NSFW in this server, and why.
func nsfwText(lr lora.LoRA, own guild.LoRA, has bool) string {
	switch {
	case has && own.NSFW != nil && *own.NSFW:
		return "NSFW: yes (this server's mark)"
	case has && own.NSFW != nil:
		return "NSFW: no (this server's mark)"
	case lr.NSFW:
		return "NSFW: yes (by its training tags)"
	}
	return "NSFW: no"
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

// page renders one page of the catalog, as the server of c sees it (its
// trigger words and NSFW marks), with Previous/Next buttons whose custom_id
// carries the page and the query, so paging needs no state; small previews
// of the page's first LoRAs that have one (listPreviews); and a menu that
// opens one LoRA's card.
func (l *lorasCmd) page(c *bot.Ctx, query string, page int) bot.Message {
	s := settingsOf(c)
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
	shown := list[page*lorasPerPage : min(len(list), (page+1)*lorasPerPage)]
	for i, lr := range shown {
		if own, ok := s.LoRAs[lr.Name]; ok {
			lr = imagine.OverrideOf(own).Apply(lr)
			shown[i] = lr
		}
		line := fmt.Sprintf("**%s** · %s", lr.Name, lr.Family)
		if lr.NSFW {
			line += " · NSFW"
		}
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
		Footer: &discordgo.MessageEmbedFooter{Text: fmt.Sprintf("Page %d of %d · pick one below to see its card", page+1, pages)}}
	q := []rune(query)
	if len(q) > maxQueryInID {
		q = q[:maxQueryInID]
	}
	id := func(p int) string { return lorasPagePrefix + ":" + strconv.Itoa(p) + ":" + string(q) }
	row := discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.Button{Label: "◀ Previous", Style: discordgo.SecondaryButton, CustomID: id(page - 1), Disabled: page == 0},
		discordgo.Button{Label: "Next ▶", Style: discordgo.SecondaryButton, CustomID: id(page + 1), Disabled: page >= pages-1},
	}}
	embeds, files := l.listPreviews(shown, c.ChannelNSFW)
	return bot.Message{Embeds: append([]*discordgo.MessageEmbed{e}, embeds...), Files: files,
		Components: []discordgo.MessageComponent{row, cardMenu(shown)}}
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
	return c.Update(l.page(c, query, n))
}

// loraEmbed shows one LoRA as this server sees it: own is what the server
// set for it (has: anything), marked as the server's.
func loraEmbed(lr lora.LoRA, own guild.LoRA, has bool) *discordgo.MessageEmbed {
	l := lr
	if has {
		l = imagine.OverrideOf(own).Apply(lr)
	}
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
		if has && len(own.Triggers) > 0 {
			trig += " (this server's)"
		}
	}
	field("Trigger words", trig, false)
	w := "not set (1 is used)"
	if l.PreferredWeight != 0 {
		w = lora.FormatWeight(l.PreferredWeight)
		if has && own.Weight != 0 {
			w += " (this server's)"
		}
	}
	field("Preferred weight", w, true)
	_, why, _ := strings.Cut(nsfwText(lr, own, has), ": ")
	field("NSFW", why, true)
	field("Tag to type", "`"+l.Tag(l.Weight())+"`", false)
	return e
}

package commands

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"lorabot/bot"
	"lorabot/gen"
	"lorabot/guild"
	"lorabot/imagine"
)

// settingsCmd is /settings: a server's admins set how the bot behaves in
// their server (interface.md). Every change is keyed by the guild the
// interaction came from, never by an ID anyone typed, and is shown back.
type settingsCmd struct{ deps *Deps }

// textChannels are the channel types /imagine can be used in, and so the
// only ones /settings channels takes.
var textChannels = []discordgo.ChannelType{
	discordgo.ChannelTypeGuildText, discordgo.ChannelTypeGuildNews,
	discordgo.ChannelTypeGuildPublicThread, discordgo.ChannelTypeGuildPrivateThread, discordgo.ChannelTypeGuildNewsThread,
}

func (s *settingsCmd) command() bot.Command {
	str := discordgo.ApplicationCommandOptionString
	integer := discordgo.ApplicationCommandOptionInteger
	sub := func(name, desc string, opts ...*discordgo.ApplicationCommandOption) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionSubCommand, Name: name, Description: desc, Options: opts}
	}
	choices := func(values ...string) []*discordgo.ApplicationCommandOptionChoice {
		out := make([]*discordgo.ApplicationCommandOptionChoice, len(values))
		for i, v := range values {
			out[i] = choice(v, v)
		}
		return out
	}
	bound := func(name, desc string, max int) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{Type: integer, Name: name, Description: desc, MinValue: ptr(0.0), MaxValue: float64(max)}
	}
	maxJobs := bound("max_jobs", "Jobs one user may have queued or running (0: the bot's own)", s.deps.MaxPerUser)
	if s.deps.MaxPerUser <= 0 {
		maxJobs.MaxValue = 0
	}
	word := func(desc string, ac bool) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{Type: str, Name: "word", Description: desc, Required: true, MaxLength: guild.MaxBannedLen, Autocomplete: ac}
	}
	manage := int64(discordgo.PermissionManageGuild)
	return bot.Command{
		Def: &discordgo.ApplicationCommand{
			Name:                     "settings",
			Description:              "This server's settings for the bot (Manage Server)",
			DefaultMemberPermissions: &manage,
			Contexts:                 &[]discordgo.InteractionContextType{discordgo.InteractionContextGuild},
			IntegrationTypes:         &[]discordgo.ApplicationIntegrationType{discordgo.ApplicationIntegrationGuildInstall},
			Options: []*discordgo.ApplicationCommandOption{
				sub("show", "Every setting of this server"),
				sub("policy", "How the bot treats age-restricted content here",
					&discordgo.ApplicationCommandOption{Type: str, Name: "value", Description: "block, spoiler or allow", Required: true, Choices: choices("block", "spoiler", "allow")}),
				sub("channels", "Where /imagine may run; none listed = everywhere",
					&discordgo.ApplicationCommandOption{Type: str, Name: "action", Description: "Add or remove a channel, or clear the list", Required: true, Choices: choices("add", "remove", "clear")},
					&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionChannel, Name: "channel", Description: "The channel to add or remove", ChannelTypes: textChannels}),
				sub("limits", "Tighter limits than the bot's own; 0 goes back to the bot's",
					bound("max_steps", fmt.Sprintf("Most sampling steps (at most %d)", gen.MaxSteps), gen.MaxSteps),
					bound("max_count", fmt.Sprintf("Most images per job (at most %d)", gen.MaxCount), gen.MaxCount),
					&discordgo.ApplicationCommandOption{Type: str, Name: "max_size", Description: "Largest image, WIDTHxHEIGHT (none: the bot's own)", MaxLength: 16},
					maxJobs,
					bound("cooldown", "Seconds between the starts of one user's jobs", int(guild.MaxCooldown/time.Second))),
				sub("defaults", "What every job here starts from; none clears one",
					&discordgo.ApplicationCommandOption{Type: str, Name: "negative", Description: "Added to every job's negative prompt", MaxLength: guild.MaxNegative},
					&discordgo.ApplicationCommandOption{Type: str, Name: "checkpoint", Description: "The base model when a job names none", Autocomplete: true, MaxLength: bot.MaxChoiceLen}),
				{Type: discordgo.ApplicationCommandOptionSubCommandGroup, Name: "ban", Description: "Words and LoRA names refused in this server",
					Options: []*discordgo.ApplicationCommandOption{
						sub("add", "Ban a word or a LoRA name", word("The word, phrase or LoRA name", false)),
						sub("remove", "Lift a ban", word("A banned word", true)),
						sub("list", "The banned words"),
					}},
				sub("dms", "Whether /imagine works in direct messages (the home server only)",
					&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionBoolean, Name: "allow", Description: "On or off, for the whole bot", Required: true}),
			},
		},
		Handle:       s.handle,
		Autocomplete: s.autocomplete,
	}
}

func (s *settingsCmd) handle(c *bot.Ctx) error {
	if c.GuildID() == "" {
		return bot.Failf("/settings sets up a server, so it works only in one, not in direct messages.")
	}
	if !c.HasPermission(discordgo.PermissionManageGuild) {
		return bot.Failf("Only members with the Manage Server permission can see or change this server's settings.")
	}
	a := c.Args()
	var msg string
	var err error
	switch a.Sub {
	case "show":
		return c.Reply(bot.Message{Embeds: []*discordgo.MessageEmbed{s.show(ownSettingsOf(c), defaultsOf(c))}, Ephemeral: true})
	case "policy":
		msg, err = s.policy(c, a)
	case "channels":
		msg, err = s.channels(c, a)
	case "limits":
		msg, err = s.limits(c, a)
	case "defaults":
		msg, err = s.defaults(c, a)
	case "ban add", "ban remove":
		msg, err = s.ban(c, a)
	case "ban list":
		msg = s.banList(ownSettingsOf(c), defaultsOf(c))
	case "dms":
		msg, err = s.dms(c, a)
	default:
		return bot.Failf("Unknown /settings subcommand.")
	}
	if err != nil {
		return err
	}
	return c.Reply(bot.Message{Content: clip(msg, bot.MaxContentLen), Ephemeral: true})
}

// update changes this guild's own settings in one transaction.
func (s *settingsCmd) update(c *bot.Ctx, change func(*guild.Settings) error) (guild.Settings, error) {
	return s.deps.Guilds.UpdateGuildSettings(c.GuildID(), change)
}

func (s *settingsCmd) policy(c *bot.Ctx, a bot.Args) (string, error) {
	v, _ := a.String("value")
	p, ok := guild.ParsePolicy(v)
	if !ok || strings.TrimSpace(v) == "" {
		return "", bot.Failf("The content policy must be block, spoiler or allow.")
	}
	saved, err := s.update(c, func(g *guild.Settings) error { g.Policy = p; return nil })
	if err != nil {
		return "", err
	}
	return "Content policy of this server is now " + describePolicy(saved.Policy) + ".", nil
}

func (s *settingsCmd) channels(c *bot.Ctx, a bot.Args) (string, error) {
	action, _ := a.String("action")
	if action == "clear" {
		if _, err := s.update(c, func(g *guild.Settings) error { g.Channels = nil; return nil }); err != nil {
			return "", err
		}
		return "The bot now generates in every channel of this server.", nil
	}
	if action != "add" && action != "remove" {
		return "", bot.Failf("The action must be add, remove or clear.")
	}
	id, ch, ok := a.Channel("channel")
	if !ok {
		return "", bot.Failf("Pick the channel to %s.", action)
	}
	var saved guild.Settings
	var err error
	if action == "add" {
		switch {
		case ch == nil || !guild.IsSnowflake(id):
			return "", bot.Failf("Pick the channel from Discord's list.")
		case ch.GuildID != "" && ch.GuildID != c.GuildID():
			return "", bot.Failf("That channel is in another server; pick one of this server's channels.")
		case !slices.Contains(textChannels, ch.Type):
			return "", bot.Failf("<#%s> is not a text channel; pick a text or announcement channel or a thread.", id)
		}
		saved, err = s.update(c, func(g *guild.Settings) error {
			if slices.Contains(g.Channels, id) {
				return nil
			}
			if len(g.Channels) >= guild.MaxChannels {
				return bot.Failf("This server already lists %d channels, the most it can; remove one first.", guild.MaxChannels)
			}
			g.Channels = append(g.Channels, id)
			return nil
		})
	} else {
		saved, err = s.update(c, func(g *guild.Settings) error {
			i := slices.Index(g.Channels, id)
			if i < 0 {
				return bot.Failf("<#%s> is not on this server's list of channels.", id)
			}
			g.Channels = slices.Delete(g.Channels, i, i+1)
			return nil
		})
	}
	if err != nil {
		return "", err
	}
	if len(saved.Channels) == 0 {
		return "The list is empty: the bot now generates in every channel of this server.", nil
	}
	return "In this server the bot now generates only in " + channelList(saved.Channels) + ".", nil
}

func (s *settingsCmd) limits(c *bot.Ctx, a bot.Args) (string, error) {
	var changes []func(*guild.Bounds)
	number := func(name string, max int, unit string, set func(*guild.Bounds, int)) error {
		n, ok := a.Int(name)
		if !ok {
			return nil
		}
		if n < 0 {
			return bot.Failf("%s must be 0 (the bot's own limit) or more; you gave %d.", name, n)
		}
		if max > 0 && n > int64(max) {
			return bot.Failf("Limits can only tighten the bot's own: %s can be at most %d %s; you gave %d.", name, max, unit, n)
		}
		v := int(n)
		changes = append(changes, func(b *guild.Bounds) { set(b, v) })
		return nil
	}
	for _, err := range []error{
		number("max_steps", gen.MaxSteps, "steps", func(b *guild.Bounds, v int) { b.MaxSteps = v }),
		number("max_count", gen.MaxCount, "images", func(b *guild.Bounds, v int) { b.MaxCount = v }),
		number("max_jobs", s.deps.MaxPerUser, "jobs (MAX_QUEUE_PER_USER)", func(b *guild.Bounds, v int) { b.MaxJobs = v }),
		number("cooldown", int(guild.MaxCooldown/time.Second), "seconds", func(b *guild.Bounds, v int) { b.Cooldown = time.Duration(v) * time.Second }),
	} {
		if err != nil {
			return "", err
		}
	}
	if v, ok := a.String("max_size"); ok {
		v = strings.TrimSpace(v)
		if v == "" || v == "0" || strings.EqualFold(v, "none") {
			changes = append(changes, func(b *guild.Bounds) { b.MaxWidth, b.MaxHeight = 0, 0 })
		} else {
			// ParseSize refuses what the bot itself would: a side over
			// gen.MaxSide, an area over gen.MaxPixels.
			sz, err := gen.ParseSize(v)
			if err != nil {
				return "", err
			}
			changes = append(changes, func(b *guild.Bounds) { b.MaxWidth, b.MaxHeight = sz.Width, sz.Height })
		}
	}
	if len(changes) == 0 {
		return "", bot.Failf("Give at least one limit to change: max_steps, max_count, max_size, max_jobs or cooldown (0 goes back to the bot's own).")
	}
	saved, err := s.update(c, func(g *guild.Settings) error {
		for _, ch := range changes {
			ch(&g.Bounds)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return "Limits of this server are now: " + strings.Join(s.limitLines(saved.Over(defaultsOf(c)).Bounds), "; ") + ".", nil
}

// limitLines describes bounds, the bot's own where a bound is not set.
func (s *settingsCmd) limitLines(b guild.Bounds) []string {
	own := func(v, bots int) string {
		if v > 0 {
			return strconv.Itoa(v)
		}
		if bots <= 0 {
			return "no limit (the bot's own)"
		}
		return strconv.Itoa(bots) + " (the bot's own)"
	}
	size := fmt.Sprintf("%d pixels, sides up to %d (the bot's own)", gen.MaxPixels, gen.MaxSide)
	if b.MaxWidth > 0 && b.MaxHeight > 0 {
		size = fmt.Sprintf("%dx%d", b.MaxWidth, b.MaxHeight)
	}
	cooldown := "none"
	if b.Cooldown > 0 {
		cooldown = b.Cooldown.String()
	}
	return []string{
		"steps at most " + own(b.MaxSteps, gen.MaxSteps),
		"images per job at most " + own(b.MaxCount, gen.MaxCount),
		"size at most " + size,
		"jobs per user at most " + own(b.MaxJobs, s.deps.MaxPerUser),
		"cooldown " + cooldown,
	}
}

func (s *settingsCmd) defaults(c *bot.Ctx, a bot.Args) (string, error) {
	neg, hasNeg := a.String("negative")
	cp, hasCp := a.String("checkpoint")
	if !hasNeg && !hasCp {
		return "", bot.Failf("Give a negative prompt or a checkpoint; none clears either.")
	}
	neg = strings.TrimSpace(neg)
	if strings.EqualFold(neg, "none") {
		neg = ""
	}
	cp = strings.TrimSpace(cp)
	if hasCp && !strings.EqualFold(cp, "none") {
		m, err := s.deps.Servers.ResolveCheckpoint(cp)
		if err != nil {
			return "", err
		}
		// The file, not the title: the same on every image server.
		cp = imagine.CheckpointKey(m)
	} else {
		cp = ""
	}
	saved, err := s.update(c, func(g *guild.Settings) error {
		if hasNeg {
			g.DefaultNegative = neg
		}
		if hasCp {
			g.DefaultCheckpoint = cp
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return "Defaults of this server are now: " + strings.Join(defaultLines(saved.Over(defaultsOf(c))), "; ") + ".", nil
}

func defaultLines(s guild.Settings) []string {
	neg, cp := "none", "the image server's current one"
	if s.DefaultNegative != "" {
		neg = "“" + s.DefaultNegative + "”"
	}
	if s.DefaultCheckpoint != "" {
		cp = s.DefaultCheckpoint
	}
	return []string{"negative prompt " + neg, "checkpoint " + cp}
}

func (s *settingsCmd) ban(c *bot.Ctx, a bot.Args) (string, error) {
	w, _ := a.String("word")
	if a.Sub == "ban add" {
		saved, err := s.update(c, func(g *guild.Settings) error { return g.Ban(w) })
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("“%s” is now banned in this server (%d of %d banned words).", saved.Banned[len(saved.Banned)-1], len(saved.Banned), guild.MaxBanned), nil
	}
	saved, err := s.update(c, func(g *guild.Settings) error {
		if !g.Unban(w) {
			return bot.Failf("“%s” is not banned in this server.", clip(guild.NormalWord(w), guild.MaxBannedLen))
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("“%s” is no longer banned in this server (%d banned words left).", guild.NormalWord(w), len(saved.Banned)), nil
}

func (s *settingsCmd) banList(own, defaults guild.Settings) string {
	msg := "This server bans no words."
	if len(own.Banned) > 0 {
		msg = fmt.Sprintf("This server bans %d: %s.", len(own.Banned), quoteList(own.Banned, bot.MaxContentLen-200))
	}
	if len(defaults.Banned) > 0 {
		msg += fmt.Sprintf(" The bot bans everywhere: %s.", quoteList(defaults.Banned, 150))
	}
	return msg
}

func (s *settingsCmd) dms(c *bot.Ctx, a bot.Args) (string, error) {
	allow, ok := a.Bool("allow")
	if !ok {
		return "", bot.Failf("Say whether /imagine may work in direct messages: allow true or false.")
	}
	switch home := s.deps.HomeGuild; {
	case home == "":
		return "", bot.Failf("Direct messages follow the bot-wide default (%s); only a bot with a home server (DISCORD_GUILD_ID) lets that server's admins change it.", onOff(defaultsOf(c).DMsAllowed()))
	case c.GuildID() != home:
		return "", bot.Failf("Whether the bot works in direct messages is set by the bot's home server, not here.")
	}
	saved, err := s.deps.Guilds.UpdateGuildSettings("", func(g *guild.Settings) error { g.DMs = &allow; return nil })
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Image generation in direct messages is now %s, for everyone who uses the bot.", onOff(saved.DMsAllowed())), nil
}

// show is every setting of the server, each with where it comes from.
func (s *settingsCmd) show(own, defaults guild.Settings) *discordgo.MessageEmbed {
	eff := own.Over(defaults)
	inherited := func(set bool) string {
		if set {
			return ""
		}
		return " (the bot's default)"
	}
	field := func(name, value string) *discordgo.MessageEmbedField {
		return &discordgo.MessageEmbedField{Name: name, Value: clip(value, bot.MaxEmbedFieldLen)}
	}
	channels := "every channel"
	if len(eff.Channels) > 0 {
		channels = channelList(eff.Channels) + inherited(len(own.Channels) > 0)
	}
	banned := "none"
	if len(eff.Banned) > 0 {
		banned = fmt.Sprintf("%d: %s", len(eff.Banned), quoteList(eff.Banned, bot.MaxEmbedFieldLen-20))
	}
	dms := onOff(defaults.DMsAllowed()) + ", for the whole bot"
	if s.deps.HomeGuild != "" {
		dms += " (set in the home server)"
	}
	return &discordgo.MessageEmbed{
		Title: "Settings of this server",
		Fields: []*discordgo.MessageEmbedField{
			field("Content policy", describePolicy(eff.EffectivePolicy())+inherited(own.Policy != "")),
			field("Channels", channels),
			field("Limits", strings.Join(s.limitLines(eff.Bounds), "\n")),
			field("Defaults", strings.Join(defaultLines(eff), "\n")),
			field("Banned words", banned),
			field("Direct messages", dms),
			field("LoRAs", loraLines(own, defaults, bot.MaxEmbedFieldLen)),
		},
		Footer: &discordgo.MessageEmbedFooter{Text: "Change them with /settings policy, channels, limits, defaults, ban or dms; a LoRA's with /loras set."},
	}
}

// loraLines lists what this server (and the defaults, where it set nothing)
// set for LoRAs, within n characters.
func loraLines(own, defaults guild.Settings, n int) string {
	eff := own.Over(defaults)
	names := make([]string, 0, len(eff.LoRAs))
	for name := range eff.LoRAs {
		names = append(names, name)
	}
	if len(names) == 0 {
		return "none"
	}
	slices.Sort(names)
	lines := make([]string, 0, len(names))
	for _, name := range names {
		l := eff.LoRAs[name]
		var parts []string
		if len(l.Triggers) > 0 {
			parts = append(parts, strings.Join(l.Triggers, ", "))
		}
		if l.Weight != 0 {
			parts = append(parts, "weight "+strconv.FormatFloat(l.Weight, 'f', -1, 64))
		}
		if l.NSFW != nil {
			parts = append(parts, map[bool]string{true: "NSFW", false: "not NSFW"}[*l.NSFW])
		}
		line := "**" + name + "**: " + strings.Join(parts, " · ")
		if _, mine := own.LoRAs[name]; !mine {
			line += " (the bot's default)"
		}
		lines = append(lines, line)
	}
	return joinUpTo(lines, "\n", n)
}

// joinUpTo joins items within n characters; when they do not all fit it
// ends with how many were left out.
func joinUpTo(items []string, sep string, n int) string {
	out := ""
	for i, it := range items {
		next := it
		if i > 0 {
			next = out + sep + it
		}
		tail := ""
		if i < len(items)-1 {
			tail = fmt.Sprintf("%s… and %d more", sep, len(items)-i-1)
		}
		if utf8.RuneCountInString(next)+utf8.RuneCountInString(tail) <= n {
			out = next
			continue
		}
		if i == 0 {
			if room := n - utf8.RuneCountInString(tail); room >= 2 {
				return clip(it, room) + tail
			}
			return clip(fmt.Sprintf("… and %d more", len(items)), max(n, 1))
		}
		// The previous item fitted with room for exactly this tail.
		return fmt.Sprintf("%s%s… and %d more", out, sep, len(items)-i)
	}
	return out
}

func quoteList(words []string, n int) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "“" + w + "”"
	}
	return joinUpTo(q, ", ", n)
}

func describePolicy(p guild.Policy) string {
	switch p {
	case guild.Spoiler:
		return "**spoiler**: results outside age-restricted channels are posted as spoilers"
	case guild.Allow:
		return "**allow**: anything goes, but only in age-restricted channels"
	}
	return "**block**: banned words and NSFW LoRAs are refused outside age-restricted channels"
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func (s *settingsCmd) autocomplete(c *bot.Ctx) error {
	if c.GuildID() == "" || !c.HasPermission(discordgo.PermissionManageGuild) {
		return c.Choices(nil)
	}
	name, typed := c.Args().Focused()
	switch name {
	case "checkpoint":
		return c.Choices(checkpointChoices(s.deps.Servers, typed))
	case "word":
		q := strings.ToLower(strings.TrimSpace(typed))
		var out []*discordgo.ApplicationCommandOptionChoice
		for _, w := range ownSettingsOf(c).Banned {
			if strings.Contains(w, q) {
				out = append(out, choice(w, w))
			}
		}
		return c.Choices(limit(out))
	}
	return c.Choices(nil)
}

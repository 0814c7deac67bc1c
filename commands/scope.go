package commands

import (
	"fmt"
	"slices"
	"strings"

	"lorabot/bot"
	"lorabot/guild"
)

// scopeKey is where the scope middleware keeps the interaction's effective
// guild settings on the Ctx; ownKey and defaultsKey the two it made them
// from, for /settings.
type (
	scopeKey    struct{}
	ownKey      struct{}
	defaultsKey struct{}
)

// settingsOf is the settings in force for c's interaction: its guild's over
// the bot-wide defaults, or the defaults alone in a DM. The scope
// middleware sets them before any handler runs; every command reads them
// here and nowhere else.
func settingsOf(c *bot.Ctx) guild.Settings {
	if s, ok := c.Value(scopeKey{}).(guild.Settings); ok {
		return s
	}
	return guild.Settings{GuildID: c.GuildID()}
}

// ownSettingsOf is what the interaction's guild set itself, without the
// defaults: what /settings shows as this server's and changes. In a DM it
// is the defaults.
func ownSettingsOf(c *bot.Ctx) guild.Settings {
	if s, ok := c.Value(ownKey{}).(guild.Settings); ok {
		return s
	}
	return guild.Settings{GuildID: c.GuildID()}
}

// defaultsOf is the bot-wide defaults as the scope middleware read them
// with the guild's own.
func defaultsOf(c *bot.Ctx) guild.Settings {
	if s, ok := c.Value(defaultsKey{}).(guild.Settings); ok {
		return s
	}
	return guild.Settings{}
}

// generating are the routes that start a generation: a server's channel
// list binds them, and in direct messages they need the owner's leave
// (guild.Settings.DMsAllowed). A button that generates from a result
// (reroll, vary, upscale) belongs here too.
var generating = []bot.Route{
	{Kind: "command", Name: "imagine"},
	{Kind: "command", Name: "compare"},
	{Kind: "command", Name: "describe"},
	{Kind: "button", Name: resultPrefix},
	{Kind: "button", Name: resultMorePrefix},
	{Kind: "modal", Name: editPrefix},
	{Kind: "button", Name: describeUsePrefix},
	{Kind: "modal", Name: describeUsePrefix},
	{Kind: "modal", Name: loraTryPrefix},
	{Kind: "button", Name: compareCellPrefix}, // a compare's cell at full size
}

// resultActions are the buttons on a result message. A server's channel
// list binds them like generation, so that a result posted before the list
// changed is not a way around it. Cancel is not one: a user may always
// stop their own job.
var resultActions = []bot.Route{
	{Kind: "button", Name: savePresetPrefix},
	{Kind: "button", Name: compareSavePrefix},
}

// loadScope reads the settings of c's interaction in one store read and
// keeps them on c for settingsOf and ownSettingsOf. The scope middleware
// calls it for every interaction; code that rebuilds a Ctx outside the
// router (resuming jobs after a restart) calls it too.
func (d *Deps) loadScope(c *bot.Ctx) error {
	if d.Guilds == nil {
		return nil
	}
	own, defaults, err := d.Guilds.GuildAndDefaults(c.GuildID())
	if err != nil {
		return fmt.Errorf("read the settings of guild %q: %w", c.GuildID(), err)
	}
	eff := defaults
	if c.GuildID() != "" {
		eff = own.Over(defaults)
	}
	c.Set(ownKey{}, own)
	c.Set(defaultsKey{}, defaults)
	c.Set(scopeKey{}, eff)
	return nil
}

// scope is the middleware that makes each Discord server its own place,
// for every interaction before any handler: it refuses other servers when
// the bot has a home server (DISCORD_GUILD_ID), loads the settings in
// force, and applies the rules of where generation may happen (the
// server's channels; the owner's choice for direct messages). Handlers
// then only read settingsOf(c).
//
// An interaction may come with no guild (a DM, or a user-installed command
// in someone else's DM), no member and even no channel; none of that is a
// reason to fail, only to apply the defaults.
func (d *Deps) scope(c *bot.Ctx, r bot.Route, next func() error) error {
	gid := c.GuildID()
	if d.HomeGuild != "" && gid != "" && gid != d.HomeGuild {
		// Autocomplete gets no choices from the router for this refusal.
		return bot.Failf("This bot is set up for one server only, so it does not work here.")
	}
	if c.UserID() == "" {
		return bot.Failf("Discord did not say who sent this, so the bot cannot act on it.")
	}
	if err := d.loadScope(c); err != nil {
		return err
	}
	if r.Kind == "autocomplete" {
		return next()
	}
	s := settingsOf(c)
	gen := slices.Contains(generating, r)
	switch {
	case gid == "" && gen:
		if !s.DMsAllowed() {
			return bot.Failf("Image generation in direct messages is turned off by the bot's owner.")
		}
	case gid != "" && (gen || slices.Contains(resultActions, r)):
		if !s.ChannelAllowed(c.I.ChannelID) {
			return bot.Failf("In this server the bot generates only in %s.", channelList(s.Channels))
		}
	}
	return next()
}

// channelList writes channel IDs as Discord mentions: <#1>, <#2>.
func channelList(ids []string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = "<#" + id + ">"
	}
	return strings.Join(out, ", ")
}

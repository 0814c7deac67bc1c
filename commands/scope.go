package commands

import (
	"lorabot/bot"
	"lorabot/guild"
)

// scopeKey is where the scope middleware keeps the interaction's guild
// settings on the Ctx.
type scopeKey struct{}

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

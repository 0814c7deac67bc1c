package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"lorabot/bot/discordtest"
	"lorabot/config"
)

// The places of the guild tests: two servers, each with channels of its
// own (the fake refuses a declared channel used from another server).
const (
	guildA = "100000000000000101"
	guildB = "100000000000000102"
	chanA  = "200000000000000101"
	chanB  = "200000000000000201" // B's general channel
	chanB2 = "200000000000000202" // B's image channel
	voiceB = "200000000000000203"
)

// manager has Manage Server wherever they act.
var manager = discordtest.User{ID: "300000000000000077", Name: "manager", Permissions: strconv.FormatInt(discordgo.PermissionManageGuild, 10)}

// startGlobal runs the bot with global registration (no DISCORD_GUILD_ID),
// as a bot serving many servers does, with guilds A and B declared.
func startGlobal(t *testing.T, s setup) *env {
	tweak := s.tweak
	s.tweak = func(c *config.Config) {
		c.GuildID = ""
		if tweak != nil {
			tweak(c)
		}
	}
	e := start(t, s)
	e.addGuildChannels()
	return e
}

func (e *env) addGuildChannels() {
	for _, c := range []discordtest.Channel{
		{ID: chanA, GuildID: guildA, Name: "art"},
		{ID: chanB, GuildID: guildB, Name: "general"},
		{ID: chanB2, GuildID: guildB, Name: "images"},
		{ID: voiceB, GuildID: guildB, Name: "voice", Type: discordgo.ChannelTypeGuildVoice},
	} {
		e.dc.AddChannel(c)
	}
}

// at is user acting in a guild's channel.
func at(guildID, channelID string, user discordtest.User) discordtest.CommandSpec {
	return discordtest.CommandSpec{User: user, GuildID: guildID, ChannelID: channelID}
}

// sendSettings sends /settings with one subcommand (or a group holding
// one) as spec.
func (e *env) sendSettings(spec discordtest.CommandSpec, sub discordtest.Option) discordtest.Callback {
	e.t.Helper()
	spec.Name, spec.Options = "settings", []discordtest.Option{sub}
	cb := e.response(e.dc.SendCommand(spec))
	if !cb.Ephemeral() {
		e.t.Errorf("/settings %s answered publicly: %+v", sub.Name, cb)
	}
	return cb
}

// changed runs /settings as spec, which must be accepted, and returns its
// answer, which must say every want.
func (e *env) changed(spec discordtest.CommandSpec, sub discordtest.Option, want ...string) string {
	e.t.Helper()
	cb := e.sendSettings(spec, sub)
	for _, w := range want {
		if !strings.Contains(cb.Content, w) {
			e.t.Errorf("/settings %s answered %q; want it to show %q", sub.Name, cb.Content, w)
		}
	}
	return cb.Content
}

// shown is /settings show as spec: each field's name → value.
func (e *env) shown(spec discordtest.CommandSpec) map[string]string {
	e.t.Helper()
	cb := e.sendSettings(spec, discordtest.Subcommand("show"))
	if len(cb.Embeds) != 1 {
		e.t.Fatalf("/settings show answered %+v", cb)
	}
	out := map[string]string{}
	for _, f := range cb.Embeds[0].Fields {
		out[f.Name] = f.Value
	}
	return out
}

// imagineAt sends /imagine with prompt as spec.
func (e *env) imagineAt(spec discordtest.CommandSpec, prompt string) *discordtest.Interaction {
	spec.Name, spec.Options = "imagine", []discordtest.Option{discordtest.String("prompt", prompt)}
	return e.dc.SendCommand(spec)
}

// imaged runs /imagine as spec to its images.
func (e *env) imaged(spec discordtest.CommandSpec, prompt string) discordtest.Message {
	e.t.Helper()
	it := e.imagineAt(spec, prompt)
	if cb := e.response(it); cb.Ephemeral() {
		e.t.Fatalf("/imagine in guild %q channel %q refused: %q", spec.GuildID, spec.ChannelID, cb.Content)
	}
	m := e.finished(it)
	if len(m.Attachments) == 0 {
		e.t.Fatalf("/imagine in guild %q gave no image: %q", spec.GuildID, m.Content)
	}
	return m
}

// commandNames lists a scope's registered commands.
func (e *env) commandNames(scope string) string {
	var out []string
	for _, c := range e.dc.CommandsIn(scope) {
		out = append(out, c.Name)
	}
	return strings.Join(out, ",")
}

func mkdirFor(path string) error { return os.MkdirAll(filepath.Dir(path), 0o700) }

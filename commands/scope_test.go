package commands

import (
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/bwmarrin/discordgo"

	"lorabot/bot"
	"lorabot/guild"
)

// memGuilds is a guild.Store in memory.
type memGuilds struct {
	mu    sync.Mutex
	m     map[string]guild.Settings
	reads int
	err   error
}

func (g *memGuilds) GuildSettings(id string) (guild.Settings, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.m[id]
	s.GuildID = id
	return s, g.err
}

func (g *memGuilds) UpdateGuildSettings(id string, change func(*guild.Settings) error) (guild.Settings, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.m[id]
	s.GuildID = id
	if err := change(&s); err != nil {
		return guild.Settings{}, err
	}
	if err := s.Validate(); err != nil {
		return guild.Settings{}, err
	}
	if g.m == nil {
		g.m = map[string]guild.Settings{}
	}
	g.m[id] = s
	return s, nil
}

func (g *memGuilds) GuildAndDefaults(id string) (guild.Settings, guild.Settings, error) {
	g.mu.Lock()
	g.reads++
	g.mu.Unlock()
	own, err := g.GuildSettings(id)
	if err != nil {
		return guild.Settings{}, guild.Settings{}, err
	}
	d, err := g.GuildSettings("")
	return own, d, err
}

const (
	homeGuildID  = "100000000000000001"
	otherGuildID = "100000000000000002"
	chanA        = "200000000000000001"
	chanB        = "200000000000000002"
	userA        = "300000000000000001"
)

// place is an interaction's place: guild "" is a DM; member false leaves
// the member out (a DM or a user-installed command), so only user is set.
type place struct {
	guild, channel string
	member         bool
	perms          int64
	noUser         bool
}

func ctxIn(w place, typ discordgo.InteractionType, data discordgo.InteractionData) *bot.Ctx {
	i := &discordgo.Interaction{ID: "1", Type: typ, GuildID: w.guild, ChannelID: w.channel, Data: data}
	u := &discordgo.User{ID: userA}
	switch {
	case w.noUser:
	case w.member:
		i.Member = &discordgo.Member{User: u, Permissions: w.perms}
	default:
		i.User = u
	}
	return &bot.Ctx{I: i, Log: slog.New(slog.DiscardHandler)}
}

// through runs the scope middleware for route r and reports whether the
// handler ran, and the refusal's sentence.
func through(t *testing.T, d *Deps, c *bot.Ctx, r bot.Route) (ran bool, refusal string) {
	t.Helper()
	err := d.scope(c, r, func() error { ran = true; return nil })
	if err != nil {
		msg, ok := bot.UserMessage(err)
		if !ok {
			t.Fatalf("%v: the middleware failed with no sentence for the user: %v", r, err)
		}
		if ran {
			t.Errorf("%v: refused after the handler ran", r)
		}
		return false, msg
	}
	return ran, ""
}

var (
	imagineRoute   = bot.Route{Kind: "command", Name: "imagine"}
	statusRoute    = bot.Route{Kind: "command", Name: "status"}
	saveRoute      = bot.Route{Kind: "button", Name: savePresetPrefix}
	cancelRoute    = bot.Route{Kind: "button", Name: cancelPrefix}
	imagineACRoute = bot.Route{Kind: "autocomplete", Name: "imagine"}
)

func TestScopeServesOnlyTheHomeGuildAndDMs(t *testing.T) {
	d := &Deps{Guilds: &memGuilds{}, HomeGuild: homeGuildID}
	for _, r := range []bot.Route{imagineRoute, statusRoute, saveRoute, cancelRoute, imagineACRoute, {Kind: "modal", Name: savePresetPrefix}} {
		ran, msg := through(t, d, ctxIn(place{guild: otherGuildID, channel: chanB, member: true}, discordgo.InteractionApplicationCommand, nil), r)
		if ran || !strings.Contains(msg, "one server only") {
			t.Errorf("%v from another guild: ran=%v %q", r, ran, msg)
		}
	}
	for _, w := range []place{{guild: homeGuildID, channel: chanA, member: true}, {channel: "dm"}, {}} {
		if ran, msg := through(t, d, ctxIn(w, discordgo.InteractionApplicationCommand, nil), imagineRoute); !ran {
			t.Errorf("/imagine at %+v was refused: %q", w, msg)
		}
	}
	// Without a homeGuildID guild every guild is served.
	d.HomeGuild = ""
	if ran, msg := through(t, d, ctxIn(place{guild: otherGuildID, channel: chanB, member: true}, discordgo.InteractionApplicationCommand, nil), imagineRoute); !ran {
		t.Errorf("another guild without a homeGuildID guild: %q", msg)
	}
}

func TestScopeLoadsTheEffectiveSettingsOnce(t *testing.T) {
	g := &memGuilds{m: map[string]guild.Settings{
		"":           {Banned: []string{"gore"}, DMs: ptr(true), DefaultNegative: "blurry"},
		otherGuildID: {Policy: guild.Spoiler, Banned: []string{"dragon"}},
	}}
	d := &Deps{Guilds: g}
	c := ctxIn(place{guild: otherGuildID, channel: chanB, member: true}, discordgo.InteractionApplicationCommand, nil)
	if ran, msg := through(t, d, c, imagineRoute); !ran {
		t.Fatalf("refused: %q", msg)
	}
	s := settingsOf(c)
	if s.GuildID != otherGuildID || s.Policy != guild.Spoiler || !slices.Equal(s.Banned, []string{"gore", "dragon"}) || s.DefaultNegative != "blurry" {
		t.Errorf("effective settings in the guild: %+v", s)
	}
	if own := ownSettingsOf(c); !slices.Equal(own.Banned, []string{"dragon"}) || own.DefaultNegative != "" {
		t.Errorf("the guild's own: %+v", own)
	}
	if g.reads != 1 {
		t.Errorf("%d store reads for one interaction, want 1", g.reads)
	}
	// A DM is the defaults alone, even place a guild would override them.
	c = ctxIn(place{channel: "dm"}, discordgo.InteractionApplicationCommand, nil)
	through(t, d, c, imagineRoute)
	if s := settingsOf(c); s.GuildID != "" || s.Policy != "" || !slices.Equal(s.Banned, []string{"gore"}) {
		t.Errorf("effective settings in a DM: %+v", s)
	}
	// A store that fails stops the interaction: no rule is skipped.
	g.err = errors.New("disk on fire")
	err := d.scope(ctxIn(place{guild: otherGuildID, channel: chanB, member: true}, discordgo.InteractionApplicationCommand, nil), imagineRoute, func() error {
		t.Error("the handler ran without settings")
		return nil
	})
	if err == nil || !errors.Is(err, g.err) {
		t.Errorf("a failed read: %v", err)
	}
}

func TestScopeKeepsGenerationInTheServersChannels(t *testing.T) {
	g := &memGuilds{m: map[string]guild.Settings{otherGuildID: {Channels: []string{chanA, "200000000000000003"}}}}
	d := &Deps{Guilds: g}
	at := func(channel string) *bot.Ctx {
		return ctxIn(place{guild: otherGuildID, channel: channel, member: true}, discordgo.InteractionApplicationCommand, nil)
	}
	for _, r := range []bot.Route{imagineRoute, {Kind: "command", Name: "compare"}, saveRoute} {
		ran, msg := through(t, d, at(chanB), r)
		if want := "In this server the bot generates only in <#" + chanA + ">, <#200000000000000003>."; ran || msg != want {
			t.Errorf("%v outside the channels: ran=%v %q, want %q", r, ran, msg, want)
		}
		if ran, msg := through(t, d, at(chanA), r); !ran {
			t.Errorf("%v in a listed channel: %q", r, msg)
		}
		// An interaction that names no channel is not in a listed one.
		if ran, _ := through(t, d, at(""), r); ran {
			t.Errorf("%v with no channel ran", r)
		}
	}
	for _, r := range []bot.Route{statusRoute, cancelRoute, imagineACRoute, {Kind: "command", Name: "settings"}} {
		if ran, msg := through(t, d, at(chanB), r); !ran {
			t.Errorf("%v is not bound to channels, but was refused: %q", r, msg)
		}
	}
	// Another guild's list binds nothing here.
	if ran, msg := through(t, d, ctxIn(place{guild: homeGuildID, channel: chanB, member: true}, discordgo.InteractionApplicationCommand, nil), imagineRoute); !ran {
		t.Errorf("a guild without a list: %q", msg)
	}
}

func TestScopeAppliesTheOwnersChoiceForDMs(t *testing.T) {
	g := &memGuilds{m: map[string]guild.Settings{"": {DMs: ptr(false)}}}
	d := &Deps{Guilds: g, HomeGuild: homeGuildID}
	for _, w := range []place{{channel: "dm"}, {channel: "pc-1"}, {}} {
		ran, msg := through(t, d, ctxIn(w, discordgo.InteractionApplicationCommand, nil), imagineRoute)
		if ran || msg != "Image generation in direct messages is turned off by the bot's owner." {
			t.Errorf("/imagine in a DM %+v with DMs off: ran=%v %q", w, ran, msg)
		}
		for _, r := range []bot.Route{statusRoute, imagineACRoute, cancelRoute, {Kind: "command", Name: "preset"}} {
			if ran, msg := through(t, d, ctxIn(w, discordgo.InteractionApplicationCommand, nil), r); !ran {
				t.Errorf("%v in a DM with DMs off: %q", r, msg)
			}
		}
	}
	// The homeGuildID guild's own DMs value does not count: a DM is no server's.
	g.m[homeGuildID] = guild.Settings{DMs: ptr(true)}
	if ran, _ := through(t, d, ctxIn(place{channel: "dm"}, discordgo.InteractionApplicationCommand, nil), imagineRoute); ran {
		t.Error("a guild's DMs value opened DMs")
	}
	if ran, msg := through(t, d, ctxIn(place{guild: homeGuildID, channel: chanA, member: true}, discordgo.InteractionApplicationCommand, nil), imagineRoute); !ran {
		t.Errorf("the homeGuildID guild is not a DM: %q", msg)
	}
}

func TestScopeNeedsToKnowWhoActs(t *testing.T) {
	d := &Deps{Guilds: &memGuilds{}}
	for _, w := range []place{{guild: otherGuildID, channel: chanA, noUser: true}, {noUser: true}} {
		if ran, msg := through(t, d, ctxIn(w, discordgo.InteractionApplicationCommand, nil), statusRoute); ran || msg == "" {
			t.Errorf("no user at %+v: ran=%v %q", w, ran, msg)
		}
	}
	// A member without a user object is no one either; nothing panics.
	c := ctxIn(place{guild: otherGuildID, channel: chanA}, discordgo.InteractionApplicationCommand, nil)
	c.I.User, c.I.Member = nil, &discordgo.Member{Permissions: discordgo.PermissionManageGuild}
	if ran, _ := through(t, d, c, statusRoute); ran {
		t.Error("a member with no user was served")
	}
}

// settingsAt is /settings with one subcommand (a group and its
// subcommand when group is set).
func settingsAt(w place, group, sub string, opts ...*discordgo.ApplicationCommandInteractionDataOption) *bot.Ctx {
	s := &discordgo.ApplicationCommandInteractionDataOption{Name: sub, Type: discordgo.ApplicationCommandOptionSubCommand, Options: opts}
	if group != "" {
		s = &discordgo.ApplicationCommandInteractionDataOption{Name: group, Type: discordgo.ApplicationCommandOptionSubCommandGroup,
			Options: []*discordgo.ApplicationCommandInteractionDataOption{s}}
	}
	return ctxIn(w, discordgo.InteractionApplicationCommand, discordgo.ApplicationCommandInteractionData{
		Name: "settings", Options: []*discordgo.ApplicationCommandInteractionDataOption{s}})
}

func optIn(name string, t discordgo.ApplicationCommandOptionType, v any) *discordgo.ApplicationCommandInteractionDataOption {
	return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: t, Value: v}
}

// refusedBefore runs /settings through the middleware and its handler,
// which must refuse before it answers anything (the Ctx has no session).
func refusedBefore(t *testing.T, d *Deps, c *bot.Ctx) string {
	t.Helper()
	s := &settingsCmd{deps: d}
	err := d.scope(c, bot.Route{Kind: "command", Name: "settings"}, func() error { return s.handle(c) })
	msg, ok := bot.UserMessage(err)
	if !ok {
		t.Fatalf("want a refusal, got %v", err)
	}
	return msg
}

func TestSettingsRefusals(t *testing.T) {
	g := &memGuilds{m: map[string]guild.Settings{}}
	d := &Deps{Guilds: g, MaxPerUser: 3}
	admin := place{guild: otherGuildID, channel: chanA, member: true, perms: discordgo.PermissionManageGuild}
	str, num := discordgo.ApplicationCommandOptionString, discordgo.ApplicationCommandOptionInteger
	for _, tc := range []struct {
		name string
		c    *bot.Ctx
		want string
	}{
		{"in a DM", settingsAt(place{channel: "dm"}, "", "show"), "not in direct messages"},
		{"a user install", settingsAt(place{}, "", "policy", optIn("value", str, "allow")), "not in direct messages"},
		{"no Manage Server", settingsAt(place{guild: otherGuildID, channel: chanA, member: true, perms: discordgo.PermissionSendMessages}, "", "policy", optIn("value", str, "allow")), "Manage Server"},
		{"no Manage Server, show", settingsAt(place{guild: otherGuildID, channel: chanA, member: true}, "", "show"), "Manage Server"},
		{"an unknown policy", settingsAt(admin, "", "policy", optIn("value", str, "sometimes")), "block, spoiler or allow"},
		{"steps above the bot's", settingsAt(admin, "", "limits", optIn("max_steps", num, 151.0)), "at most 150"},
		{"negative steps", settingsAt(admin, "", "limits", optIn("max_steps", num, -1.0)), "0"},
		{"images above the bot's", settingsAt(admin, "", "limits", optIn("max_count", num, 5.0)), "at most 4"},
		{"jobs above MAX_QUEUE_PER_USER", settingsAt(admin, "", "limits", optIn("max_jobs", num, 4.0)), "MAX_QUEUE_PER_USER"},
		{"a cooldown over an hour", settingsAt(admin, "", "limits", optIn("cooldown", num, 3601.0)), "3600"},
		{"a size over the bot's", settingsAt(admin, "", "limits", optIn("max_size", str, "4096x4096")), "2048"},
		{"an area over the bot's", settingsAt(admin, "", "limits", optIn("max_size", str, "2048x2048")), "pixels"},
		{"no limit given", settingsAt(admin, "", "limits"), "at least one"},
		{"nothing to default", settingsAt(admin, "", "defaults"), "negative prompt or a checkpoint"},
		{"an empty ban", settingsAt(admin, "ban", "add", optIn("word", str, "   ")), "empty"},
		{"a long ban", settingsAt(admin, "ban", "add", optIn("word", str, strings.Repeat("w", guild.MaxBannedLen+1))), strconv.Itoa(guild.MaxBannedLen)},
		{"lifting no ban", settingsAt(admin, "ban", "remove", optIn("word", str, "dragon")), "not banned"},
		{"a channel of no kind", settingsAt(admin, "", "channels", optIn("action", str, "add")), "Pick the channel"},
		{"dms without a home server", settingsAt(admin, "", "dms", optIn("allow", discordgo.ApplicationCommandOptionBoolean, false)), "bot-wide default (on)"},
	} {
		if msg := refusedBefore(t, d, tc.c); !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %q, want it to say %q", tc.name, msg, tc.want)
		}
	}
	d.HomeGuild = homeGuildID
	// Another guild than the homeGuildID one cannot even reach /settings then;
	// the handler refuses on its own too.
	c := settingsAt(admin, "", "dms", optIn("allow", discordgo.ApplicationCommandOptionBoolean, false))
	c.Set(scopeKey{}, guild.Settings{GuildID: otherGuildID})
	s := &settingsCmd{deps: d}
	if msg, _ := bot.UserMessage(s.handle(c)); !strings.Contains(msg, "home server") {
		t.Errorf("dms outside the home server: %q", msg)
	}
	if len(g.m) != 0 {
		t.Errorf("a refused /settings stored something: %+v", g.m)
	}
}

func TestSettings201stBanIsRefused(t *testing.T) {
	s := guild.Settings{GuildID: otherGuildID}
	for i := range guild.MaxBanned {
		if err := s.Ban("w" + strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	g := &memGuilds{m: map[string]guild.Settings{otherGuildID: s}}
	d := &Deps{Guilds: g}
	admin := place{guild: otherGuildID, channel: chanA, member: true, perms: discordgo.PermissionAdministrator}
	msg := refusedBefore(t, d, settingsAt(admin, "ban", "add", optIn("word", discordgo.ApplicationCommandOptionString, "one more")))
	if !strings.Contains(msg, "200") {
		t.Errorf("the 201st ban: %q", msg)
	}
	if got, _ := g.GuildSettings(otherGuildID); !reflect.DeepEqual(got.Banned, s.Banned) {
		t.Errorf("the refused ban changed the list")
	}
}

func TestSettingsChannelOfAnotherGuildOrKindIsRefused(t *testing.T) {
	g := &memGuilds{m: map[string]guild.Settings{}}
	d := &Deps{Guilds: g}
	admin := place{guild: otherGuildID, channel: chanA, member: true, perms: discordgo.PermissionManageGuild}
	pick := func(ch *discordgo.Channel) *bot.Ctx {
		c := settingsAt(admin, "", "channels", optIn("action", discordgo.ApplicationCommandOptionString, "add"),
			optIn("channel", discordgo.ApplicationCommandOptionChannel, ch.ID))
		data := c.I.Data.(discordgo.ApplicationCommandInteractionData)
		data.Resolved = &discordgo.ApplicationCommandInteractionDataResolved{Channels: map[string]*discordgo.Channel{ch.ID: ch}}
		c.I.Data = data
		return c
	}
	if msg := refusedBefore(t, d, pick(&discordgo.Channel{ID: chanB, GuildID: homeGuildID, Type: discordgo.ChannelTypeGuildText})); !strings.Contains(msg, "another server") {
		t.Errorf("a channel of another guild: %q", msg)
	}
	for _, typ := range []discordgo.ChannelType{discordgo.ChannelTypeGuildVoice, discordgo.ChannelTypeGuildCategory, discordgo.ChannelTypeGuildForum} {
		if msg := refusedBefore(t, d, pick(&discordgo.Channel{ID: chanB, GuildID: otherGuildID, Type: typ})); !strings.Contains(msg, "not a text channel") {
			t.Errorf("a channel of type %d: %q", typ, msg)
		}
	}
	if len(g.m) != 0 {
		t.Errorf("a refused channel was stored: %+v", g.m)
	}
}

func TestJoinUpToSaysWhatIsLeftOut(t *testing.T) {
	items := []string{"alpha", "beta", "gamma", "delta"}
	if got := joinUpTo(items, ", ", 100); got != "alpha, beta, gamma, delta" {
		t.Errorf("all fit: %q", got)
	}
	got := joinUpTo(items, ", ", 30)
	if got != "alpha, beta, … and 2 more" {
		t.Errorf("cut: %q", got)
	}
	for n := 5; n < 40; n++ {
		if got := joinUpTo(items, ", ", n); len([]rune(got)) > n {
			t.Errorf("joinUpTo(%d) = %q, %d characters", n, got, len([]rune(got)))
		}
	}
}

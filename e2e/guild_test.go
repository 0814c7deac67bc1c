package e2e

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
	bolt "go.etcd.io/bbolt"

	"lorabot/bot/discordtest"
)

// Each Discord server is its own place: with global registration one bot
// serves many, and what one server's admins set stays in that server.

func TestGuildSettingsStayInTheirGuild(t *testing.T) {
	e := startGlobal(t, setup{})
	adminA, adminB := at(guildA, chanA, manager), at(guildB, chanB, manager)
	// A result posted in B's general channel before B had rules.
	early := e.imaged(at(guildB, chanB, carol), "a lighthouse")

	e.changed(adminB, discordtest.Subcommand("policy", discordtest.String("value", "spoiler")), "spoiler")
	e.changed(adminB, discordtest.SubcommandGroup("ban", discordtest.Subcommand("add", discordtest.String("word", "  Sea   Dragon "))), "“sea dragon”")
	e.changed(adminB, discordtest.Subcommand("channels", discordtest.String("action", "add"),
		discordtest.ChannelOption("channel", discordtest.Channel{ID: chanB2, GuildID: guildB, Name: "images"})), "<#"+chanB2+">")
	e.changed(adminB, discordtest.Subcommand("limits", discordtest.Int("max_steps", 30), discordtest.String("max_size", "1024x1024"), discordtest.Int("cooldown", 10)),
		"steps at most 30", "size at most 1024x1024", "cooldown 10s", "images per job at most 4 (the bot's own)")
	e.changed(adminB, discordtest.Subcommand("defaults", discordtest.String("negative", "blurry, lowres")), "“blurry, lowres”")

	for _, tc := range []struct {
		what string
		sub  discordtest.Option
		want string
	}{
		{"a channel of another server", discordtest.Subcommand("channels", discordtest.String("action", "add"),
			discordtest.ChannelOption("channel", discordtest.Channel{ID: chanA, GuildID: guildA})), "another server"},
		{"a voice channel", discordtest.Subcommand("channels", discordtest.String("action", "add"),
			discordtest.ChannelOption("channel", discordtest.Channel{ID: voiceB, GuildID: guildB, Type: discordgo.ChannelTypeGuildVoice})), "not a text channel"},
		{"more steps than the bot's", discordtest.Subcommand("limits", discordtest.Int("max_steps", 151)), "150"},
		{"more jobs than MAX_QUEUE_PER_USER", discordtest.Subcommand("limits", discordtest.Int("max_jobs", 4)), "MAX_QUEUE_PER_USER"},
		{"a size beyond the bot's", discordtest.Subcommand("limits", discordtest.String("max_size", "4096x4096")), "2048"},
		{"lifting a ban never set", discordtest.SubcommandGroup("ban", discordtest.Subcommand("remove", discordtest.String("word", "kraken"))), "not banned"},
	} {
		refused(t, tc.what, e.sendSettings(adminB, tc.sub), tc.want)
	}

	b := e.shown(adminB)
	for field, want := range map[string]string{
		"Content policy": "spoiler", "Channels": "<#" + chanB2 + ">", "Banned words": "“sea dragon”",
		"Limits": "steps at most 30", "Defaults": "blurry, lowres",
	} {
		if !strings.Contains(b[field], want) {
			t.Errorf("B's %s shows %q; want %q", field, b[field], want)
		}
	}
	a := e.shown(adminA)
	for field, want := range map[string]string{
		"Content policy": "block", "Channels": "every channel", "Banned words": "none",
		"Limits": "steps at most 150 (the bot's own)", "Defaults": "negative prompt none",
	} {
		if !strings.Contains(a[field], want) {
			t.Errorf("A's %s shows %q; want %q, untouched by B", field, a[field], want)
		}
	}
	if !strings.Contains(a["Content policy"], "the bot's default") || !strings.Contains(a["Limits"], "cooldown none") {
		t.Errorf("A shows settings it never set: %q", a)
	}

	// B's channel rule binds B alone.
	e.imaged(at(guildA, chanA, alice), "a castle")
	e.imaged(discordtest.CommandSpec{User: alice, GuildID: guildA, ChannelID: "200000000000000102"}, "a castle at night")
	before := e.sd.Hits("/sdapi/v1/txt2img")
	refused(t, "/imagine outside B's channels", e.response(e.imagineAt(at(guildB, chanB, alice), "a fox")),
		"In this server the bot generates only in <#"+chanB2+">.")
	btn, ok := early.FindButton("Save as preset")
	if !ok {
		t.Fatalf("no Save as preset button on the early result: %+v", early.Components)
	}
	refused(t, "a result's button outside B's channels", e.response(e.dc.ClickButton(early, btn.CustomID, carol)),
		"only in <#"+chanB2+">")
	if n := e.sd.Hits("/sdapi/v1/txt2img"); n != before {
		t.Errorf("a refused job reached A1111")
	}
	e.imaged(at(guildB, chanB2, bob), "a fox") // bob has started no job: B's cooldown is not this test's

	// Back to everywhere.
	e.changed(adminB, discordtest.Subcommand("channels", discordtest.String("action", "clear")), "every channel")
	e.changed(adminB, discordtest.SubcommandGroup("ban", discordtest.Subcommand("list")), "“sea dragon”")
	e.changed(adminB, discordtest.SubcommandGroup("ban", discordtest.Subcommand("remove", discordtest.String("word", "SEA DRAGON"))), "no longer banned")
	if b := e.shown(adminB); b["Channels"] != "every channel" || b["Banned words"] != "none" {
		t.Errorf("after clearing: %q", b)
	}
}

func TestSettingsNeedManageServer(t *testing.T) {
	e := startGlobal(t, setup{})
	byName := map[string]*discordgo.ApplicationCommand{}
	for _, c := range e.dc.CommandsIn("") {
		byName[c.Name] = c
	}
	st, im := byName["settings"], byName["imagine"]
	if st == nil || im == nil {
		t.Fatalf("registered %s", e.commandNames(""))
	}
	if st.DefaultMemberPermissions == nil || *st.DefaultMemberPermissions != discordgo.PermissionManageGuild {
		t.Errorf("/settings default_member_permissions = %v, want Manage Server", st.DefaultMemberPermissions)
	}
	if st.Contexts == nil || !slices.Equal(*st.Contexts, []discordgo.InteractionContextType{discordgo.InteractionContextGuild}) ||
		st.IntegrationTypes == nil || !slices.Equal(*st.IntegrationTypes, []discordgo.ApplicationIntegrationType{discordgo.ApplicationIntegrationGuildInstall}) {
		t.Errorf("/settings should be for servers only: contexts %v, integration types %v", st.Contexts, st.IntegrationTypes)
	}
	if im.Contexts == nil || len(*im.Contexts) != 3 || im.IntegrationTypes == nil || len(*im.IntegrationTypes) != 2 {
		t.Errorf("/imagine should work in servers, DMs and user installs: contexts %v, integration types %v", im.Contexts, im.IntegrationTypes)
	}
	var subs []string
	for _, o := range st.Options {
		subs = append(subs, o.Name)
	}
	if got := strings.Join(subs, ","); got != "show,policy,channels,limits,defaults,ban,dms" {
		t.Errorf("/settings subcommands: %s", got)
	}

	// Discord hides /settings from members without Manage Server; a
	// crafted request from one still changes nothing.
	member := at(guildB, chanB, alice)
	refused(t, "a member's /settings policy", e.sendSettings(member, discordtest.Subcommand("policy", discordtest.String("value", "allow"))), "Manage Server")
	refused(t, "a member's /settings show", e.sendSettings(member, discordtest.Subcommand("show")), "Manage Server")
	refused(t, "a member's /settings ban add", e.sendSettings(member, discordtest.SubcommandGroup("ban", discordtest.Subcommand("add", discordtest.String("word", "cats")))), "Manage Server")
	b := e.shown(at(guildB, chanB, manager))
	if !strings.Contains(b["Content policy"], "block") || b["Banned words"] != "none" {
		t.Errorf("a refused /settings changed something: %q", b)
	}
}

func TestDMImagineWorksWithTheDefaults(t *testing.T) {
	e := startGlobal(t, setup{})
	e.imaged(discordtest.CommandSpec{User: alice, DM: true}, "a cat in a DM")
}

func TestUserInstallWithoutGuildIsAnswered(t *testing.T) {
	e := startGlobal(t, setup{})
	// Used in someone else's DM: no guild, no member, and the bot cannot
	// post in that channel; the interaction's own messages still work.
	e.imaged(discordtest.CommandSpec{User: alice, UserInstall: true}, "a fox")
	cb := e.response(e.dc.SendCommand(discordtest.CommandSpec{User: alice, UserInstall: true, Name: "status"}))
	if cb.Content == "" && len(cb.Embeds) == 0 {
		t.Errorf("/status in a user install answered nothing: %+v", cb)
	}
	if strings.Contains(e.logs.String(), "panicked") {
		t.Errorf("a handler panicked:\n%s", e.logs)
	}
}

// The home server's admins turn DMs off for the whole bot; the choice
// lasts when the bot later serves every server.
func TestDMsTurnedOffByTheHomeGuild(t *testing.T) {
	e := start(t, setup{})
	home := discordtest.CommandSpec{User: manager}
	e.changed(home, discordtest.Subcommand("dms", discordtest.Bool("allow", false)), "now off")
	if s := e.shown(home); !strings.Contains(s["Direct messages"], "off") {
		t.Errorf("show: %q", s["Direct messages"])
	}

	e.cfg.GuildID = ""
	e.restart()
	e.addGuildChannels()
	before := e.sd.Hits("/sdapi/v1/txt2img")
	refused(t, "a DM /imagine with DMs off", e.response(e.imagineAt(discordtest.CommandSpec{User: alice, DM: true}, "a cat")),
		"Image generation in direct messages is turned off by the bot's owner.")
	refused(t, "a user-install /imagine with DMs off", e.response(e.imagineAt(discordtest.CommandSpec{User: alice, UserInstall: true}, "a cat")),
		"turned off by the bot's owner")
	if n := e.sd.Hits("/sdapi/v1/txt2img"); n != before {
		t.Errorf("a refused DM job reached A1111")
	}
	// Servers still work, and with no home server nobody changes DMs.
	e.imaged(at(guildA, chanA, alice), "a cat in a server")
	refused(t, "/settings dms without a home server", e.sendSettings(at(guildA, chanA, manager), discordtest.Subcommand("dms", discordtest.Bool("allow", true))),
		"bot-wide default (off)")
}

// A bot that moves from global commands to DISCORD_GUILD_ID (and back)
// leaves one set of commands, and serves only its home server.
func TestRegisterGlobalThenHomeGuildLeavesOneSet(t *testing.T) {
	e := startGlobal(t, setup{})
	all := e.commandNames("")
	if !strings.Contains(all, "imagine") || !strings.Contains(all, "settings") {
		t.Fatalf("global commands: %s", all)
	}
	fromB := e.imaged(at(guildB, chanB, alice), "a harbour")

	e.cfg.GuildID = guildA
	e.restart()
	if got := e.commandNames(""); got != "" {
		t.Errorf("global commands left after moving to the home guild: %s", got)
	}
	if got := e.commandNames(guildA); got != all {
		t.Errorf("home guild commands: %s, want %s", got, all)
	}
	// Another server can still press a button on an old result.
	btn, ok := fromB.FindButton("Save as preset")
	if !ok {
		t.Fatalf("no Save as preset button: %+v", fromB.Components)
	}
	refused(t, "a button in another server", e.response(e.dc.ClickButton(fromB, btn.CustomID, alice)), "set up for one server only")
	e.imaged(at(guildA, chanA, alice), "a harbour at dawn")

	e.cfg.GuildID = ""
	e.restart()
	if got := e.commandNames(guildA); got != "" {
		t.Errorf("home guild commands left after moving to global: %s", got)
	}
	if got := e.commandNames(""); got != all {
		t.Errorf("global commands: %s, want %s", got, all)
	}
	e.imaged(at(guildB, chanB, alice), "a harbour at night")
}

// A database of the version before servers had settings keeps its global
// trigger words: with DISCORD_GUILD_ID they become the home guild's.
func TestGuildTriggerWordsFromAVersion2Database(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "bot.db")
	writeV2DB(t, path, map[string]string{"trigger/pixel-art-xl": "pixelated, 8-bit"})
	e := start(t, setup{dbPath: path})
	home := discordtest.CommandSpec{User: manager}
	want := "**pixel-art-xl**: pixelated, 8-bit"
	for range 2 {
		l := e.shown(home)["LoRAs"]
		if !strings.Contains(l, want) || strings.Contains(l, "bot's default") {
			t.Errorf("the home guild's LoRAs: %q, want %q as its own", l, want)
		}
		e.restart()
	}
}

// writeV2DB makes a bbolt file as lorabot with schema version 2 left it,
// with settings (key → value).
func writeV2DB(t *testing.T, path string, settings map[string]string) {
	t.Helper()
	if err := mkdirFor(path); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range []string{"meta", "users", "shares", "settings", "results", "resultseq", "jobs", "jobseq", "jobpending"} {
			if _, err := tx.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		if err := tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte("2")); err != nil {
			return err
		}
		for k, v := range settings {
			if err := tx.Bucket([]byte("settings")).Put([]byte(k), []byte(v)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

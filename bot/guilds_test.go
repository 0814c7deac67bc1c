package bot_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bwmarrin/discordgo"

	"lorabot/bot"
	"lorabot/bot/discordtest"
)

// registerAs puts commands in scope (a guild, or "" for global) as an
// earlier run of the bot would have.
func registerAs(h *harness, scope string, names ...string) {
	h.t.Helper()
	if err := bot.RedirectEndpoints(h.dc.APIURL()); err != nil {
		h.t.Fatal(err)
	}
	dg, err := discordgo.New("Bot " + h.dc.Token())
	if err != nil {
		h.t.Fatal(err)
	}
	var cmds []*discordgo.ApplicationCommand
	for _, n := range names {
		cmds = append(cmds, command(n))
	}
	if _, err := dg.ApplicationCommandBulkOverwrite(h.dc.AppID(), scope, cmds); err != nil {
		h.t.Fatal(err)
	}
}

func names(cmds []*discordgo.ApplicationCommand) string {
	var out []string
	for _, c := range cmds {
		out = append(out, c.Name)
	}
	return strings.Join(out, ",")
}

// recorded is what bot.Options.Registered heard.
type recorded struct {
	mu     sync.Mutex
	scopes []string
}

func (r *recorded) hook(o *bot.Options) {
	o.Registered = func(g string) { r.mu.Lock(); r.scopes = append(r.scopes, g); r.mu.Unlock() }
}

func (r *recorded) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.scopes)
}

const oldGuild = "100000000000000042"

func TestRegisterLeavesOneSetOfCommands(t *testing.T) {
	routes := func(_ *harness, r *bot.Router) {
		nop := func(c *bot.Ctx) error { return nil }
		r.Command(bot.Command{Def: command("first"), Handle: nop})
		r.Command(bot.Command{Def: command("second"), Handle: nop})
	}
	t.Run("to a guild after global", func(t *testing.T) {
		var rec recorded
		h := start(t, setup{routes: routes, options: rec.hook, prepare: func(h *harness) { registerAs(h, "", "first", "old") }})
		if got := names(h.dc.CommandsIn("")); got != "" {
			t.Errorf("global commands left: %s", got)
		}
		if got := names(h.dc.CommandsIn(discordtest.DefaultGuildID)); got != "first,second" {
			t.Errorf("guild commands: %s", got)
		}
		if got := rec.got(); !slices.Equal(got, []string{discordtest.DefaultGuildID}) {
			t.Errorf("Registered heard %q", got)
		}
	})
	t.Run("to a guild, never global", func(t *testing.T) {
		h := start(t, setup{routes: routes})
		if n := h.dc.RequestCount(discordtest.RoutePutGlobalCommands, 0); n != 0 {
			t.Errorf("%d writes of the (empty) global set; a read is enough", n)
		}
		if n := h.dc.RequestCount(discordtest.RouteGetGlobalCommands, 200); n != 1 {
			t.Errorf("%d reads of the global set, want 1", n)
		}
	})
	t.Run("global after a guild", func(t *testing.T) {
		var rec recorded
		h := start(t, setup{global: true, routes: routes, prepare: func(h *harness) { registerAs(h, oldGuild, "first", "old") },
			options: func(o *bot.Options) { rec.hook(o); o.PreviousGuild = oldGuild }})
		if got := names(h.dc.CommandsIn(oldGuild)); got != "" {
			t.Errorf("the earlier guild's commands left: %s", got)
		}
		if got := names(h.dc.CommandsIn("")); got != "first,second" {
			t.Errorf("global commands: %s", got)
		}
		if got := rec.got(); !slices.Equal(got, []string{""}) {
			t.Errorf("Registered heard %q", got)
		}
	})
	t.Run("another guild after a guild", func(t *testing.T) {
		h := start(t, setup{routes: routes, prepare: func(h *harness) { registerAs(h, oldGuild, "old") },
			options: func(o *bot.Options) { o.PreviousGuild = oldGuild }})
		if got := names(h.dc.CommandsIn(oldGuild)); got != "" {
			t.Errorf("the earlier guild's commands left: %s", got)
		}
	})
	t.Run("a failed clean-up is tried again", func(t *testing.T) {
		var rec recorded
		h := start(t, setup{global: true, routes: routes,
			prepare: func(h *harness) { h.dc.FailNext(discordtest.RoutePutGuildCommands, 500) },
			options: func(o *bot.Options) { rec.hook(o); o.PreviousGuild = oldGuild }})
		if got := names(h.dc.CommandsIn("")); got != "first,second" {
			t.Errorf("the commands must be registered anyway: %s", got)
		}
		if got := rec.got(); len(got) != 0 {
			t.Errorf("Registered heard %q after a failed clean-up; the next start would not try again", got)
		}
		if !strings.Contains(h.logs.String(), "next start tries again") {
			t.Errorf("the failed clean-up is not logged:\n%s", h.logs)
		}
	})
}

func TestDefinitionsDeclareWhereCommandsWork(t *testing.T) {
	anywhere := command("anywhere")
	routes := func(_ *harness, r *bot.Router) {
		nop := func(c *bot.Ctx) error { return c.Reply(bot.Message{Content: "ok", Ephemeral: true}) }
		r.Command(bot.Command{Def: anywhere, Handle: nop})
		own := command("serveronly")
		own.Contexts = &[]discordgo.InteractionContextType{discordgo.InteractionContextGuild}
		own.IntegrationTypes = &[]discordgo.ApplicationIntegrationType{discordgo.ApplicationIntegrationGuildInstall}
		r.Command(bot.Command{Def: own, Handle: nop})
	}
	h := start(t, setup{global: true, routes: routes})
	cmds := h.dc.CommandsIn("")
	if len(cmds) != 2 {
		t.Fatalf("registered %s", names(cmds))
	}
	for _, tc := range []struct {
		c        *discordgo.ApplicationCommand
		contexts []discordgo.InteractionContextType
		installs []discordgo.ApplicationIntegrationType
	}{
		{cmds[0], bot.DefaultContexts, bot.DefaultIntegrationTypes},
		{cmds[1], []discordgo.InteractionContextType{0}, []discordgo.ApplicationIntegrationType{0}},
	} {
		if tc.c.Contexts == nil || !slices.Equal(*tc.c.Contexts, tc.contexts) {
			t.Errorf("/%s contexts %v, want %v", tc.c.Name, tc.c.Contexts, tc.contexts)
		}
		if tc.c.IntegrationTypes == nil || !slices.Equal(*tc.c.IntegrationTypes, tc.installs) {
			t.Errorf("/%s integration types %v, want %v", tc.c.Name, tc.c.IntegrationTypes, tc.installs)
		}
	}
	// The routed definition itself is left as the command wrote it.
	if anywhere.Contexts != nil || anywhere.IntegrationTypes != nil {
		t.Error("Definitions changed the command's own definition")
	}
	// A user-installed command in someone's DM, and the bot's own DM.
	for _, spec := range []discordtest.CommandSpec{{Name: "anywhere", UserInstall: true}, {Name: "anywhere", DM: true}} {
		h.response(h.dc.SendCommand(spec))
	}
}

func TestGuildCommandsCarryNoContexts(t *testing.T) {
	h := start(t, setup{routes: func(_ *harness, r *bot.Router) {
		r.Command(bot.Command{Def: command("x"), Handle: func(c *bot.Ctx) error { return nil }})
	}})
	for _, c := range h.dc.CommandsIn(discordtest.DefaultGuildID) {
		if c.Contexts != nil || c.IntegrationTypes != nil {
			t.Errorf("/%s registered to a guild with contexts %v and integration types %v, which Discord reads only on global commands", c.Name, c.Contexts, c.IntegrationTypes)
		}
	}
}

// An interaction may lack a guild (DMs, user installs), a member (the same)
// and even a channel; middleware and handlers read all of them.
func TestRouterServesInteractionsWithoutGuildMemberOrChannel(t *testing.T) {
	type seen struct {
		guild, user, channel string
		manage               bool
		postErr              bool
	}
	got := make(chan seen, 1)
	var mwSaw []string
	var mu sync.Mutex
	h := start(t, setup{global: true, routes: func(h *harness, r *bot.Router) {
		r.Use(func(c *bot.Ctx, rt bot.Route, next func() error) error {
			mu.Lock()
			mwSaw = append(mwSaw, fmt.Sprintf("%s/%s guild=%q user=%q channel=%q manage=%v", rt.Kind, rt.Name, c.GuildID(), c.UserID(), c.I.ChannelID, c.HasPermission(discordgo.PermissionManageGuild)))
			mu.Unlock()
			c.Set("where", c.GuildID())
			return next()
		})
		r.Command(bot.Command{Def: command("where"), Handle: func(c *bot.Ctx) error {
			_, err := c.ChannelMessage(bot.Message{Content: "hello"})
			got <- seen{c.Value("where").(string), c.UserID(), c.I.ChannelID, c.HasPermission(discordgo.PermissionManageGuild), err != nil}
			return c.Reply(bot.Message{Content: "ok", Ephemeral: true})
		}})
	}})
	alice := discordtest.User{ID: "300000000000000011", Name: "alice"}
	for _, tc := range []struct {
		name string
		spec discordtest.CommandSpec
		want seen
	}{
		{"user install", discordtest.CommandSpec{User: alice, UserInstall: true}, seen{"", alice.ID, "pc-" + alice.ID, false, true}},
		{"DM", discordtest.CommandSpec{User: alice, DM: true}, seen{"", alice.ID, "dm-" + alice.ID, false, false}},
		{"no channel", discordtest.CommandSpec{User: alice, NoChannel: true}, seen{discordtest.DefaultGuildID, alice.ID, "", false, true}},
		{"DM, no channel", discordtest.CommandSpec{User: alice, DM: true, NoChannel: true}, seen{"", alice.ID, "", false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.Name = "where"
			it := h.dc.SendCommand(tc.spec)
			if s := receive(t, got); s != tc.want {
				t.Errorf("handler saw %+v, want %+v", s, tc.want)
			}
			if cb := h.response(it); cb.Content != "ok" {
				t.Errorf("answer %+v", cb)
			}
		})
	}
	h.settle()
	if strings.Contains(h.logs.String(), "panicked") {
		t.Errorf("a handler panicked:\n%s", h.logs)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(mwSaw) != 4 {
		t.Errorf("the middleware saw %q", mwSaw)
	}
}

package bot_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"lorabot/bot"
	"lorabot/bot/discordtest"
	"lorabot/internal/testkit"
)

// These tests run a real bot.Bot (discordgo session, gateway, REST) against
// the fake Discord over 127.0.0.1. discordgo's endpoints are package
// globals, so they never run in parallel.

// wait bounds every wait: long enough for a loaded 2-core machine running
// -race, short enough that a hang fails the run.
const wait = 20 * time.Second

type harness struct {
	t    *testing.T
	dc   *discordtest.Server
	r    *bot.Router
	b    *bot.Bot
	logs *testkit.LogBuffer
	ctx  context.Context
	// quit is closed when the test ends, before the bot closes, so that
	// handlers blocked on a test's gate return.
	quit chan struct{}
}

type setup struct {
	discord discordtest.Options
	// global registers the commands globally instead of to
	// discordtest.DefaultGuildID.
	global bool
	// watchdog sets Router.WatchdogDelay; zero keeps the default.
	watchdog time.Duration
	routes   func(h *harness, r *bot.Router)
	// options changes the bot's Options before it opens.
	options func(*bot.Options)
	// prepare runs once the fake is up, before the bot connects.
	prepare func(h *harness)
}

// start opens a bot serving the routes s.routes adds, and waits until it
// registered its commands. It closes when the test ends.
func start(t *testing.T, s setup) *harness {
	t.Helper()
	if s.discord.HeartbeatInterval == 0 {
		s.discord.HeartbeatInterval = 100 * time.Millisecond
	}
	h := &harness{t: t, logs: &testkit.LogBuffer{}, quit: make(chan struct{})}
	h.dc = discordtest.New(t, s.discord)
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.r = bot.NewRouter(log)
	if s.watchdog != 0 {
		h.r.WatchdogDelay = s.watchdog
	}
	if s.routes != nil {
		s.routes(h, h.r)
	}
	if s.prepare != nil {
		s.prepare(h)
	}
	guild := discordtest.DefaultGuildID
	if s.global {
		guild = ""
	}
	o := bot.Options{Token: h.dc.Token(), APIURL: h.dc.APIURL(), GuildID: guild, Router: h.r, Logger: log}
	if s.options != nil {
		s.options(&o)
	}
	b, err := bot.New(o)
	if err != nil {
		t.Fatal(err)
	}
	h.b = b
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	h.ctx = ctx
	if err := b.Open(ctx); err != nil {
		t.Fatalf("Open: %v\nlogs:\n%s", err, h.logs)
	}
	// Registered after the fake's own cleanup, so it runs first: the bot
	// stops before the fake does.
	t.Cleanup(func() {
		close(h.quit)
		cctx, ccancel := context.WithTimeout(context.Background(), wait)
		defer ccancel()
		// A discordgo session closed before its first heartbeat can leave
		// a reconnect loop behind (see discordtest's doc).
		_ = h.dc.WaitHeartbeat(cctx)
		if err := b.Close(cctx); err != nil {
			t.Errorf("closing the bot: %v", err)
		}
		if t.Failed() {
			t.Logf("bot logs:\n%s", h.logs)
		}
	})
	return h
}

// command builds a slash command definition.
func command(name string, opts ...*discordgo.ApplicationCommandOption) *discordgo.ApplicationCommand {
	return &discordgo.ApplicationCommand{Name: name, Description: "test command " + name, Options: opts}
}

func option(typ discordgo.ApplicationCommandOptionType, name string, subs ...*discordgo.ApplicationCommandOption) *discordgo.ApplicationCommandOption {
	return &discordgo.ApplicationCommandOption{Type: typ, Name: name, Description: "option " + name, Options: subs}
}

func autocompleted(o *discordgo.ApplicationCommandOption) *discordgo.ApplicationCommandOption {
	o.Autocomplete = true
	return o
}

func buttons(ids ...string) []discordgo.MessageComponent {
	var row []discordgo.MessageComponent
	for _, id := range ids {
		row = append(row, discordgo.Button{Label: id, CustomID: id, Style: discordgo.PrimaryButton})
	}
	return []discordgo.MessageComponent{discordgo.ActionsRow{Components: row}}
}

func (h *harness) send(name string, opts ...discordtest.Option) *discordtest.Interaction {
	h.t.Helper()
	return h.dc.SendCommand(discordtest.CommandSpec{Name: name, Options: opts})
}

func (h *harness) autocomplete(name string, opts ...discordtest.Option) *discordtest.Interaction {
	h.t.Helper()
	return h.dc.SendAutocomplete(discordtest.CommandSpec{Name: name, Options: opts})
}

func (h *harness) response(it *discordtest.Interaction) discordtest.Callback {
	h.t.Helper()
	cb, err := it.WaitResponse(h.ctx)
	if err != nil {
		h.t.Fatalf("no answer to %v: %v", it, err)
	}
	return cb
}

func (h *harness) original(it *discordtest.Interaction, cond func(discordtest.Message) bool) discordtest.Message {
	h.t.Helper()
	m, err := it.WaitOriginal(h.ctx, cond)
	if err != nil {
		h.t.Fatalf("%v; original now %+v", err, it.Original())
	}
	return m
}

func (h *harness) followup(it *discordtest.Interaction, cond func(discordtest.Message) bool) discordtest.Message {
	h.t.Helper()
	m, err := it.WaitFollowup(h.ctx, cond)
	if err != nil {
		h.t.Fatalf("%v; follow-ups now %+v", err, it.Followups())
	}
	return m
}

// settle waits until every handler running now has returned, so that all
// the bot will ever send about the interactions so far has been sent.
func (h *harness) settle() {
	h.t.Helper()
	if err := h.r.Wait(h.ctx); err != nil {
		h.t.Fatalf("handlers still running: %v", err)
	}
}

// gate blocks a handler until the test opens it (or the test ends).
type gate struct {
	open chan struct{}
	quit chan struct{}
}

func (h *harness) gate() *gate { return &gate{open: make(chan struct{}), quit: h.quit} }

func (g *gate) wait() error {
	select {
	case <-g.open:
		return nil
	case <-g.quit:
		return errors.New("test ended")
	}
}

// receive waits for a value a handler sent.
func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("no value from the handler within %v", wait)
	}
	var zero T
	return zero
}

// publicMessages lists what everyone sees in the default channel.
func (h *harness) publicMessages() []discordtest.Message {
	return h.dc.ChannelMessages(discordtest.DefaultChannelID)
}

// wantPrivateSentence checks a failure answer: the first response, an
// ephemeral message of one line that says nothing of the bot's insides.
func wantPrivateSentence(t *testing.T, cb discordtest.Callback, leaks ...string) {
	t.Helper()
	if cb.Type != discordgo.InteractionResponseChannelMessageWithSource || !cb.Ephemeral() {
		t.Fatalf("answer is type %d ephemeral=%v, want an ephemeral message (type 4): %q", cb.Type, cb.Ephemeral(), cb.Content)
	}
	checkSentence(t, cb.Content, leaks...)
}

func checkSentence(t *testing.T, s string, leaks ...string) {
	t.Helper()
	if s == "" || strings.Contains(s, "\n") {
		t.Errorf("answer %q is not one sentence", s)
	}
	for _, l := range append(leaks, "panic", "goroutine", ".go:", "runtime") {
		if strings.Contains(strings.ToLower(s), strings.ToLower(l)) {
			t.Errorf("answer %q shows the user %q", s, l)
		}
	}
}

func TestOpenRegistersCommandsInOneBulkOverwrite(t *testing.T) {
	routes := func(_ *harness, r *bot.Router) {
		nop := func(c *bot.Ctx) error { return nil }
		r.Command(bot.Command{Def: command("first", autocompleted(option(discordgo.ApplicationCommandOptionString, "q"))), Handle: nop, Autocomplete: nop})
		r.Command(bot.Command{Def: command("second"), Handle: nop})
		r.Command(bot.Command{Def: command("third", option(discordgo.ApplicationCommandOptionInteger, "n")), Handle: nop})
	}
	for _, tc := range []struct {
		name   string
		global bool
		scope  string
		put    discordtest.Route
		notPut discordtest.Route
	}{
		{"to the guild", false, discordtest.DefaultGuildID, discordtest.RoutePutGuildCommands, discordtest.RoutePutGlobalCommands},
		{"globally", true, "", discordtest.RoutePutGlobalCommands, discordtest.RoutePutGuildCommands},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, setup{global: tc.global, routes: routes})
			if n := h.dc.Registrations(); n != 1 {
				t.Errorf("%d bulk overwrites, want 1", n)
			}
			if n := h.dc.RequestCount(tc.put, 200); n != 1 {
				t.Errorf("%d accepted %s, want 1", n, tc.put)
			}
			if n := h.dc.RequestCount(tc.notPut, 0); n != 0 {
				t.Errorf("%d requests to %s, want none", n, tc.notPut)
			}
			if got := h.dc.CommandScope(); got != tc.scope {
				t.Errorf("registered in scope %q, want %q", got, tc.scope)
			}
			var names []string
			for _, c := range h.dc.CommandsIn(tc.scope) {
				names = append(names, c.Name)
			}
			if got := strings.Join(names, ","); got != "first,second,third" {
				t.Errorf("registered %s, want first,second,third", got)
			}
			if cs := h.dc.CommandsIn(tc.scope); len(cs) == 3 && (len(cs[0].Options) != 1 || !cs[0].Options[0].Autocomplete) {
				t.Errorf("/first registered without its autocomplete option: %+v", cs[0].Options)
			}
			// Registration goes through the fake only: every request
			// reached a route Discord has.
			for _, r := range h.dc.Requests() {
				if r.Route == "" || strings.HasPrefix(string(r.Route), "POST /applications") {
					t.Errorf("unexpected request %s %s", r.Method, r.Path)
				}
			}
			if h.b.AppID() != h.dc.AppID() {
				t.Errorf("AppID %q, want %q", h.b.AppID(), h.dc.AppID())
			}
		})
	}
}

func TestOpenNamesTheSettingWhenDiscordRefusesTheToken(t *testing.T) {
	dc := discordtest.New(t, discordtest.Options{HeartbeatInterval: 100 * time.Millisecond})
	const token = "MTIzNDU2.wrong.token"
	b, err := bot.New(bot.Options{Token: token, APIURL: dc.APIURL(), Router: bot.NewRouter(slog.New(slog.DiscardHandler)), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	err = b.Open(ctx)
	if err == nil {
		b.Close(ctx)
		t.Fatal("Open accepted a token Discord refused")
	}
	if !strings.Contains(err.Error(), "DISCORD_TOKEN") || strings.Contains(err.Error(), token) {
		t.Errorf("Open's error %q should name DISCORD_TOKEN and not show the token", err)
	}
	if n := dc.Registrations(); n != 0 {
		t.Errorf("%d registrations with a refused token", n)
	}
}

// userFacing is an error that carries its own sentence, like a1111.Error.
type userFacing struct{}

func (userFacing) Error() string       { return "a1111: 503 from http://10.1.2.3:7860/sdapi/v1/txt2img" }
func (userFacing) UserMessage() string { return "The image server is busy; try again in a minute." }

func failureRoutes(h *harness, r *bot.Router) {
	r.Command(bot.Command{Def: command("echo", option(discordgo.ApplicationCommandOptionString, "text")),
		Handle: func(c *bot.Ctx) error {
			s, _ := c.Args().String("text")
			return c.Reply(bot.Message{Content: "echo: " + s})
		}})
	r.Command(bot.Command{Def: command("boom", autocompleted(option(discordgo.ApplicationCommandOptionString, "q"))),
		Handle:       func(c *bot.Ctx) error { panic("index out of range [3] with length 3") },
		Autocomplete: func(c *bot.Ctx) error { panic("autocomplete blew up") }})
	r.Command(bot.Command{Def: command("boomlate"), Handle: func(c *bot.Ctx) error {
		if err := c.Defer(false); err != nil {
			return err
		}
		var m map[string]int
		m["x"] = 1 // nil map write
		return nil
	}})
	r.Command(bot.Command{Def: command("refuse"), Handle: func(c *bot.Ctx) error {
		return bot.Failf("No LoRA is called %q; the closest are %s.", "pixl", "pixel, pixelart")
	}})
	r.Command(bot.Command{Def: command("refusewrapped"), Handle: func(c *bot.Ctx) error {
		return fmt.Errorf("plan request: %w", bot.Failf("Steps must be between 1 and 150."))
	}})
	r.Command(bot.Command{Def: command("busy"), Handle: func(c *bot.Ctx) error {
		return fmt.Errorf("generate: %w", userFacing{})
	}})
	r.Command(bot.Command{Def: command("broken"), Handle: func(c *bot.Ctx) error {
		return errors.New("dial tcp 10.1.2.3:7860: connect: connection refused")
	}})
	r.Command(bot.Command{Def: command("menu"), Handle: func(c *bot.Ctx) error {
		return c.Reply(bot.Message{Content: "pick one", Components: buttons("boom:1", "gone:7", "refuse:2")})
	}})
	r.Component("boom", func(c *bot.Ctx, arg string) error { panic("button " + arg) })
	r.Component("refuse", func(c *bot.Ctx, arg string) error { return bot.Failf("Only the owner may press this.") })
}

func TestRouterSurvivesAPanicAndTellsTheUser(t *testing.T) {
	h := start(t, setup{routes: failureRoutes})

	it := h.send("boom")
	cb := h.response(it)
	wantPrivateSentence(t, cb, "index out of range")
	h.settle()
	if f := it.Followups(); len(f) != 0 {
		t.Errorf("the user got %d more messages: %+v", len(f), f)
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "handler panicked") || !strings.Contains(logs, "index out of range") || !strings.Contains(logs, "router_test.go") {
		t.Errorf("the panic, its value and its stack are not in the logs:\n%s", logs)
	}

	// The process is alive and serves the next interaction.
	next := h.send("echo", discordtest.String("text", "still here"))
	if cb := h.response(next); cb.Content != "echo: still here" || cb.Ephemeral() {
		t.Errorf("next interaction answered %q (ephemeral %v)", cb.Content, cb.Ephemeral())
	}

	// A panic after the handler deferred publicly: the sentence is still
	// private, and no public "thinking…" is left in the channel.
	late := h.send("boomlate")
	if cb := h.response(late); cb.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource {
		t.Fatalf("boomlate answered with type %d, want its own defer (5)", cb.Type)
	}
	m := h.followup(late, func(m discordtest.Message) bool { return m.Content != "" })
	if !m.Ephemeral() {
		t.Errorf("the failure after a public defer is public: %q", m.Content)
	}
	checkSentence(t, m.Content, "nil map")
	h.settle()
	if !late.Original().Deleted {
		t.Errorf("the public placeholder remains: %+v", late.Original())
	}

	// Autocomplete has nowhere for a sentence: its panic gets no choices,
	// which at least stops the client's spinner.
	ac := h.autocomplete("boom", discordtest.String("q", "ab").Focus())
	if cb := h.response(ac); cb.Type != discordgo.InteractionApplicationCommandAutocompleteResult || len(cb.Choices) != 0 {
		t.Errorf("panicking autocomplete answered type %d with %d choices, want type 8 with none", cb.Type, len(cb.Choices))
	}

	// A button's panic, the same.
	menu := h.send("menu")
	src := h.original(menu, func(m discordtest.Message) bool { return len(m.Buttons()) == 3 })
	click := h.dc.ClickButton(src, "boom:1", discordtest.User{})
	wantPrivateSentence(t, h.response(click), "button 1")

	h.settle()
	for _, p := range h.publicMessages() {
		if p.InteractionID != menu.ID && p.InteractionID != next.ID {
			t.Errorf("a failure left a public message: %+v", p)
		}
	}
}

func TestRouterShowsUserErrorsAndHidesInternalOnes(t *testing.T) {
	h := start(t, setup{routes: failureRoutes})

	for _, tc := range []struct{ command, want string }{
		{"refuse", `No LoRA is called "pixl"; the closest are pixel, pixelart.`},
		{"refusewrapped", "Steps must be between 1 and 150."},
		{"busy", "The image server is busy; try again in a minute."},
	} {
		cb := h.response(h.send(tc.command))
		if cb.Type != discordgo.InteractionResponseChannelMessageWithSource || !cb.Ephemeral() || cb.Content != tc.want {
			t.Errorf("/%s: answered type %d ephemeral=%v %q, want an ephemeral %q", tc.command, cb.Type, cb.Ephemeral(), cb.Content, tc.want)
		}
	}

	it := h.send("broken")
	cb := h.response(it)
	wantPrivateSentence(t, cb, "10.1.2.3", "dial", "refused", "7860")
	if !strings.Contains(h.logs.String(), "connection refused") {
		t.Errorf("the internal error is not logged for the operator:\n%s", h.logs)
	}
	// The sentence for a failure is the same whatever failed.
	boom := h.response(h.send("boom"))
	if boom.Content != cb.Content {
		t.Errorf("a panic says %q, an error %q: the user should get the same sentence", boom.Content, cb.Content)
	}

	menu := h.send("menu")
	src := h.original(menu, func(m discordtest.Message) bool { return len(m.Buttons()) == 3 })
	click := h.dc.ClickButton(src, "refuse:2", discordtest.User{ID: "300000000000000099", Name: "bob"})
	if cb := h.response(click); !cb.Ephemeral() || cb.Content != "Only the owner may press this." {
		t.Errorf("button refusal answered %q ephemeral=%v", cb.Content, cb.Ephemeral())
	}
	h.settle()
	if m, _ := h.dc.Message(src.ID); m.Content != "pick one" || len(m.Buttons()) != 3 {
		t.Errorf("a refused click changed the message it was on: %+v", m)
	}
	if p := h.publicMessages(); len(p) != 1 {
		t.Errorf("public messages: %+v, want only the menu", p)
	}
}

func TestRouterAnswersWhatItCannotRoute(t *testing.T) {
	h := start(t, setup{routes: failureRoutes})

	// Discord may still show a command the bot no longer has: here a
	// global one left from an earlier registration.
	rest, err := discordgo.New("Bot " + h.dc.Token())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rest.ApplicationCommandBulkOverwrite(h.dc.AppID(), "", []*discordgo.ApplicationCommand{command("oldcommand", autocompleted(option(discordgo.ApplicationCommandOptionString, "q")))}); err != nil {
		t.Fatal(err)
	}
	cb := h.response(h.send("oldcommand"))
	wantPrivateSentence(t, cb)
	if !strings.Contains(strings.ToLower(cb.Content), "command") {
		t.Errorf("unknown command answered %q: it should say the command is not known", cb.Content)
	}
	if cb := h.response(h.autocomplete("oldcommand", discordtest.String("q", "x").Focus())); cb.Type != discordgo.InteractionApplicationCommandAutocompleteResult || len(cb.Choices) != 0 {
		t.Errorf("autocomplete of an unknown command answered type %d, %d choices; want no choices", cb.Type, len(cb.Choices))
	}

	menu := h.send("menu")
	src := h.original(menu, func(m discordtest.Message) bool { return len(m.Buttons()) == 3 })
	cb = h.response(h.dc.ClickButton(src, "gone:7", discordtest.User{}))
	wantPrivateSentence(t, cb, "gone")
	if !strings.Contains(strings.ToLower(cb.Content), "button") {
		t.Errorf("unknown button answered %q: it should say the button no longer works", cb.Content)
	}

	cb = h.response(h.dc.SubmitModalCustomID("oldform:3", map[string]string{"name": "x"}, discordtest.CommandSpec{}))
	wantPrivateSentence(t, cb, "oldform")
	if !strings.Contains(strings.ToLower(cb.Content), "form") {
		t.Errorf("unknown form answered %q: it should say the form no longer works", cb.Content)
	}
	h.settle()
	if m, _ := h.dc.Message(src.ID); m.Content != "pick one" || len(m.Buttons()) != 3 {
		t.Errorf("a dead button changed the message it was on: %+v", m)
	}
}

// slowRoutes are handlers that block on their gate past the watchdog.
type slowGates struct {
	reply, private, refuse, suggest, button, update *gate
	// What the handlers' own late answers returned.
	replied, privateReplied, suggested, updated chan error
}

func slowRoutes(g *slowGates) func(h *harness, r *bot.Router) {
	return func(h *harness, r *bot.Router) {
		g.reply, g.private, g.refuse, g.suggest, g.button, g.update = h.gate(), h.gate(), h.gate(), h.gate(), h.gate(), h.gate()
		g.replied, g.privateReplied, g.suggested, g.updated = make(chan error, 10), make(chan error, 1), make(chan error, 1), make(chan error, 1)
		r.Command(bot.Command{Def: command("slow", autocompleted(option(discordgo.ApplicationCommandOptionString, "q"))),
			Handle: func(c *bot.Ctx) error {
				if err := g.reply.wait(); err != nil {
					return err
				}
				err := c.Reply(bot.Message{Content: "here it is", Components: buttons("slowbutton:1", "slowupdate:2")})
				g.replied <- err
				return err
			},
			Autocomplete: func(c *bot.Ctx) error {
				if err := g.suggest.wait(); err != nil {
					return err
				}
				err := c.Choices([]*discordgo.ApplicationCommandOptionChoice{{Name: "late", Value: "late"}})
				g.suggested <- err
				return err
			}})
		r.Command(bot.Command{Def: command("slowprivate"), Handle: func(c *bot.Ctx) error {
			if err := g.private.wait(); err != nil {
				return err
			}
			err := c.Reply(bot.Message{Content: "only you see this", Ephemeral: true})
			g.privateReplied <- err
			return err
		}})
		r.Command(bot.Command{Def: command("slowrefuse"), Handle: func(c *bot.Ctx) error {
			if err := g.refuse.wait(); err != nil {
				return err
			}
			return bot.Failf("You already have 3 jobs queued.")
		}})
		r.Component("slowbutton", func(c *bot.Ctx, arg string) error {
			if err := g.button.wait(); err != nil {
				return err
			}
			return bot.Failf("Only the person who asked for this job can cancel it.")
		})
		r.Component("slowupdate", func(c *bot.Ctx, arg string) error {
			if err := g.update.wait(); err != nil {
				return err
			}
			err := c.Update(bot.Message{Content: "updated late"})
			g.updated <- err
			return err
		})
	}
}

// slowSetup shortens the watchdog and the fake's deadline together, keeping
// their ratio to Discord's 3 seconds roughly and a wide margin for -race.
var slowSetup = setup{watchdog: 200 * time.Millisecond, discord: discordtest.Options{ResponseDeadline: 1500 * time.Millisecond}}

func TestSlowHandlersAreDeferredInTime(t *testing.T) {
	g := &slowGates{}
	s := slowSetup
	s.routes = slowRoutes(g)
	h := start(t, s)

	t.Run("public reply edits the deferred message", func(t *testing.T) {
		it := h.send("slow")
		cb := h.response(it)
		if cb.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource || cb.Ephemeral() {
			t.Fatalf("slow handler: router answered type %d ephemeral=%v, want a public defer (5)", cb.Type, cb.Ephemeral())
		}
		if !it.Original().Loading() {
			t.Errorf("the deferred message does not show thinking: %+v", it.Original())
		}
		close(g.reply.open)
		if err := receive(t, g.replied); err != nil {
			t.Fatalf("the handler's Reply failed: %v", err)
		}
		m := h.original(it, func(m discordtest.Message) bool { return !m.Loading() })
		if m.Content != "here it is" || len(m.Buttons()) != 2 || m.Ephemeral() {
			t.Errorf("deferred message became %+v, want the public reply with its buttons", m)
		}
		if f := it.Followups(); len(f) != 0 {
			t.Errorf("the reply also made follow-ups: %+v", f)
		}
	})

	t.Run("private reply replaces the public placeholder", func(t *testing.T) {
		it := h.send("slowprivate")
		if cb := h.response(it); cb.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource {
			t.Fatalf("router answered type %d, want a defer (5)", cb.Type)
		}
		close(g.private.open)
		if err := receive(t, g.privateReplied); err != nil {
			t.Fatalf("the handler's Reply failed: %v", err)
		}
		h.settle()
		wantOnlyPrivate(t, h, it, "only you see this")
	})

	t.Run("refusal after the defer stays private", func(t *testing.T) {
		it := h.send("slowrefuse")
		h.response(it)
		close(g.refuse.open)
		h.settle()
		wantOnlyPrivate(t, h, it, "You already have 3 jobs queued.")
	})

	t.Run("autocomplete gets no choices in time", func(t *testing.T) {
		it := h.autocomplete("slow", discordtest.String("q", "ab").Focus())
		cb := h.response(it)
		if cb.Type != discordgo.InteractionApplicationCommandAutocompleteResult || len(cb.Choices) != 0 {
			t.Errorf("slow autocomplete answered type %d with %d choices, want type 8 with none", cb.Type, len(cb.Choices))
		}
		close(g.suggest.open)
		if err := receive(t, g.suggested); !errors.Is(err, bot.ErrAnswered) {
			t.Errorf("the handler's late Choices returned %v, want ErrAnswered", err)
		}
		h.settle() // a second callback would be a violation, reported by the fake
		if strings.Contains(h.logs.String(), `msg="interaction failed" kind=autocomplete`) {
			t.Errorf("a slow autocomplete is logged as a failure:\n%s", h.logs)
		}
	})

	t.Run("button refusal after the defer leaves the message alone", func(t *testing.T) {
		// The reply gate is open since the first subtest.
		src := h.original(h.send("slow"), func(m discordtest.Message) bool { return len(m.Buttons()) == 2 })
		it := h.dc.ClickButton(src, "slowbutton:1", discordtest.User{ID: "300000000000000099", Name: "bob"})
		cb := h.response(it)
		if cb.Type != discordgo.InteractionResponseDeferredMessageUpdate && cb.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource {
			t.Fatalf("slow button: router answered type %d, want a defer (5 or 6)", cb.Type)
		}
		close(g.button.open)
		h.settle()
		m, _ := h.dc.Message(src.ID)
		if m.Content != "here it is" || len(m.Buttons()) != 2 {
			t.Errorf("the refusal changed the message the button is on: %+v", m)
		}
		var private []string
		for _, f := range it.Followups() {
			if !f.Ephemeral() {
				t.Errorf("public follow-up %q", f.Content)
			}
			private = append(private, f.Content)
		}
		if o := it.Original(); o.ID != src.ID && !o.Deleted && o.Content != "" {
			private = append(private, o.Content)
			if !o.Ephemeral() {
				t.Errorf("public answer %q", o.Content)
			}
		}
		if len(private) != 1 || private[0] != "Only the person who asked for this job can cancel it." {
			t.Errorf("bob saw %q, want the one refusal", private)
		}
	})

	t.Run("button update after the defer edits its message", func(t *testing.T) {
		src := h.original(h.send("slow"), func(m discordtest.Message) bool { return len(m.Buttons()) == 2 })
		it := h.dc.ClickButton(src, "slowupdate:2", discordtest.User{})
		h.response(it)
		close(g.update.open)
		if err := receive(t, g.updated); err != nil {
			t.Fatalf("the handler's Update failed: %v", err)
		}
		if m, _ := h.dc.Message(src.ID); m.Content != "updated late" {
			t.Errorf("message %q after a late Update, want %q", m.Content, "updated late")
		}
		if f := it.Followups(); len(f) != 0 {
			t.Errorf("Update made follow-ups: %+v", f)
		}
	})
}

// wantOnlyPrivate checks that the user saw text privately and that nothing
// of the interaction is left in public, "thinking…" included.
func wantOnlyPrivate(t *testing.T, h *harness, it *discordtest.Interaction, text string) {
	t.Helper()
	var seen []string
	if o := it.Original(); !o.Deleted && o.ID != "" {
		if !o.Ephemeral() {
			t.Errorf("a public message remains: %+v", o)
		}
		seen = append(seen, o.Content)
	}
	for _, f := range it.Followups() {
		if !f.Deleted {
			if !f.Ephemeral() {
				t.Errorf("public follow-up %q", f.Content)
			}
			seen = append(seen, f.Content)
		}
	}
	if len(seen) != 1 || seen[0] != text {
		t.Errorf("the user sees %q, want only %q", seen, text)
	}
	for _, m := range h.publicMessages() {
		if m.InteractionID == it.ID {
			t.Errorf("public message left: %+v", m)
		}
	}
}

func TestDefaultWatchdogAnswersWithinDiscordsThreeSeconds(t *testing.T) {
	var g *gate
	errs := make(chan error, 1)
	h := start(t, setup{routes: func(h *harness, r *bot.Router) {
		g = h.gate()
		r.Command(bot.Command{Def: command("slow"), Handle: func(c *bot.Ctx) error {
			if err := g.wait(); err != nil {
				return err
			}
			err := c.Reply(bot.Message{Content: "done"})
			errs <- err
			return err
		}})
	}})
	if h.r.WatchdogDelay != bot.DefaultWatchdogDelay || bot.DefaultWatchdogDelay >= 3*time.Second {
		t.Fatalf("NewRouter's watchdog is %v (default %v), not under Discord's 3 s", h.r.WatchdogDelay, bot.DefaultWatchdogDelay)
	}
	it := h.send("slow")
	cb := h.response(it) // the fake keeps Discord's 3 s and fails the test when late
	if cb.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource {
		t.Fatalf("answered type %d, want a defer (5)", cb.Type)
	}
	if cb.Latency < bot.DefaultWatchdogDelay {
		t.Errorf("deferred after %v: the watchdog should give the handler %v to answer itself", cb.Latency, bot.DefaultWatchdogDelay)
	}
	close(g.open)
	if err := receive(t, errs); err != nil {
		t.Fatal(err)
	}
	if m := h.original(it, func(m discordtest.Message) bool { return !m.Loading() }); m.Content != "done" {
		t.Errorf("reply %q, want %q", m.Content, "done")
	}
}

func TestArgsReadOptionsWithoutPanicking(t *testing.T) {
	args := make(chan bot.Args, 1)
	h := start(t, setup{global: true, routes: func(h *harness, r *bot.Router) {
		reply := func(c *bot.Ctx) error {
			args <- c.Args()
			return c.Reply(bot.Message{Content: "ok", Ephemeral: true})
		}
		suggest := func(c *bot.Ctx) error {
			args <- c.Args()
			return c.Choices(nil)
		}
		r.Command(bot.Command{Def: command("types",
			option(discordgo.ApplicationCommandOptionString, "s"),
			option(discordgo.ApplicationCommandOptionInteger, "n"),
			option(discordgo.ApplicationCommandOptionNumber, "x"),
			option(discordgo.ApplicationCommandOptionBoolean, "b")), Handle: reply})
		r.Command(bot.Command{Def: command("grp",
			option(discordgo.ApplicationCommandOptionSubCommand, "one",
				autocompleted(option(discordgo.ApplicationCommandOptionString, "name")),
				autocompleted(option(discordgo.ApplicationCommandOptionInteger, "count")),
				autocompleted(option(discordgo.ApplicationCommandOptionNumber, "weight"))),
			option(discordgo.ApplicationCommandOptionSubCommandGroup, "set",
				option(discordgo.ApplicationCommandOptionSubCommand, "two", option(discordgo.ApplicationCommandOptionString, "v")))),
			Handle: reply, Autocomplete: suggest})
		r.Command(bot.Command{Def: command("menu"), Handle: func(c *bot.Ctx) error {
			return c.Reply(bot.Message{Content: "menu", Components: buttons("args:1")})
		}})
		r.Component("args", func(c *bot.Ctx, _ string) error { return reply(c) })
	}})

	get := func(it *discordtest.Interaction) bot.Args {
		t.Helper()
		a := receive(t, args)
		if cb := h.response(it); cb.Content != "ok" && cb.Type != discordgo.InteractionApplicationCommandAutocompleteResult {
			t.Fatalf("handler did not finish: answered %q", cb.Content)
		}
		return a
	}

	t.Run("well typed", func(t *testing.T) {
		a := get(h.send("types", discordtest.String("s", "hi"), discordtest.Int("n", 12), discordtest.Number("x", 0.75), discordtest.Bool("b", true)))
		if v, ok := a.String("s"); v != "hi" || !ok {
			t.Errorf("String(s) = %q, %v", v, ok)
		}
		if v, ok := a.Int("n"); v != 12 || !ok {
			t.Errorf("Int(n) = %d, %v", v, ok)
		}
		if v, ok := a.Float("x"); v != 0.75 || !ok {
			t.Errorf("Float(x) = %v, %v", v, ok)
		}
		if v, ok := a.Bool("b"); !v || !ok {
			t.Errorf("Bool(b) = %v, %v", v, ok)
		}
		if v, ok := a.String("absent"); v != "" || ok {
			t.Errorf("String(absent) = %q, %v", v, ok)
		}
		if a.Sub != "" {
			t.Errorf("Sub = %q without a subcommand", a.Sub)
		}
	})

	t.Run("unexpected types", func(t *testing.T) {
		// What a buggy client or a changed definition could send: each
		// option's value of another JSON type than its declared one.
		a := get(h.send("types",
			discordtest.Option{Name: "s", Type: discordgo.ApplicationCommandOptionString, Value: 5},
			discordtest.Option{Name: "n", Type: discordgo.ApplicationCommandOptionInteger, Value: "twelve"},
			discordtest.Option{Name: "x", Type: discordgo.ApplicationCommandOptionNumber, Value: true},
			discordtest.Option{Name: "b", Type: discordgo.ApplicationCommandOptionBoolean, Value: []int{1}}))
		// Every accessor on every option: none may panic.
		for _, name := range []string{"s", "n", "x", "b", "absent"} {
			a.String(name)
			a.Int(name)
			a.Float(name)
			a.Bool(name)
		}
		// The accessor of each option's declared type reports it unusable.
		if v, ok := a.String("s"); ok {
			t.Errorf("String(s) of 5 = %q, ok", v)
		}
		if v, ok := a.Int("n"); ok {
			t.Errorf("Int(n) of \"twelve\" = %d, ok", v)
		}
		if v, ok := a.Float("x"); ok {
			t.Errorf("Float(x) of true = %v, ok", v)
		}
		if v, ok := a.Bool("b"); ok {
			t.Errorf("Bool(b) of [1] = %v, ok", v)
		}
	})

	t.Run("numbers typed as text", func(t *testing.T) {
		a := get(h.send("types",
			discordtest.Option{Name: "n", Type: discordgo.ApplicationCommandOptionInteger, Value: "42"},
			discordtest.Option{Name: "x", Type: discordgo.ApplicationCommandOptionNumber, Value: "0.5"}))
		if v, ok := a.Int("n"); v != 42 || !ok {
			t.Errorf("Int(n) of \"42\" = %d, %v", v, ok)
		}
		if v, ok := a.Float("x"); v != 0.5 || !ok {
			t.Errorf("Float(x) of \"0.5\" = %v, %v", v, ok)
		}
	})

	t.Run("subcommand options", func(t *testing.T) {
		a := get(h.send("grp", discordtest.Subcommand("one", discordtest.String("name", "pixel"), discordtest.Int("count", 3))))
		if a.Sub != "one" {
			t.Errorf("Sub = %q, want one", a.Sub)
		}
		if v, _ := a.String("name"); v != "pixel" {
			t.Errorf("String(name) = %q", v)
		}
		if v, _ := a.Int("count"); v != 3 {
			t.Errorf("Int(count) = %d", v)
		}
		a = get(h.send("grp", discordtest.SubcommandGroup("set", discordtest.Subcommand("two", discordtest.String("v", "x")))))
		if a.Sub != "set two" {
			t.Errorf("Sub = %q, want \"set two\"", a.Sub)
		}
		if v, _ := a.String("v"); v != "x" {
			t.Errorf("String(v) = %q", v)
		}
	})

	t.Run("focused", func(t *testing.T) {
		a := get(h.autocomplete("grp", discordtest.Subcommand("one", discordtest.Int("count", 2), discordtest.String("name", "pix").Focus())))
		if n, v := a.Focused(); n != "name" || v != "pix" {
			t.Errorf("Focused() = %q, %q; want name, pix", n, v)
		}
		// Discord sends what is typed in a numeric option as text.
		a = get(h.autocomplete("grp", discordtest.Subcommand("one", discordtest.String("name", "pix"),
			discordtest.Option{Name: "weight", Type: discordgo.ApplicationCommandOptionNumber, Value: "0.7", Focused: true})))
		if n, v := a.Focused(); n != "weight" || v != "0.7" {
			t.Errorf("Focused() = %q, %q; want weight, 0.7", n, v)
		}
		if v, ok := a.Float("weight"); v != 0.7 || !ok {
			t.Errorf("Float(weight) of \"0.7\" = %v, %v", v, ok)
		}
		a = get(h.autocomplete("grp", discordtest.Subcommand("one", discordtest.Int("count", 4).Focus())))
		if n, v := a.Focused(); n != "count" || v != "4" {
			t.Errorf("Focused() = %q, %q; want count, 4", n, v)
		}
		a = get(h.autocomplete("grp", discordtest.Subcommand("one", discordtest.String("name", "").Focus())))
		if n, v := a.Focused(); n != "name" || v != "" {
			t.Errorf("Focused() = %q, %q; want name and nothing typed", n, v)
		}
	})

	t.Run("not a command", func(t *testing.T) {
		menu := h.send("menu")
		src := h.original(menu, func(m discordtest.Message) bool { return len(m.Buttons()) == 1 })
		a := get(h.dc.ClickButton(src, "args:1", discordtest.User{}))
		if n, _ := a.Focused(); a.Sub != "" || n != "" {
			t.Errorf("a button's Args: Sub %q, focused %q", a.Sub, n)
		}
		if _, ok := a.String("s"); ok {
			t.Errorf("a button has options")
		}
	})
}

func TestInteractionExtrasReachCtx(t *testing.T) {
	type extras struct {
		limit  int64
		nsfw   bool
		user   string
		manage bool
	}
	got := make(chan extras, 1)
	h := start(t, setup{global: true, discord: discordtest.Options{AttachmentSizeLimit: 25 << 20}, routes: func(h *harness, r *bot.Router) {
		r.Command(bot.Command{Def: command("where"), Handle: func(c *bot.Ctx) error {
			got <- extras{c.AttachmentLimit, c.ChannelNSFW, c.UserID(), c.HasPermission(discordgo.PermissionManageGuild)}
			return c.Reply(bot.Message{Content: "ok", Ephemeral: true})
		}})
	}})
	alice := discordtest.User{ID: "300000000000000011", Name: "alice"}
	for _, tc := range []struct {
		name string
		spec discordtest.CommandSpec
		want extras
	}{
		{"age-restricted channel", discordtest.CommandSpec{User: alice, ChannelID: "200000000000000077", NSFW: true}, extras{25 << 20, true, alice.ID, false}},
		{"ordinary channel", discordtest.CommandSpec{User: alice, ChannelID: "200000000000000078"}, extras{25 << 20, false, alice.ID, false}},
		{"direct message", discordtest.CommandSpec{User: alice, DM: true}, extras{25 << 20, false, alice.ID, false}},
		{"server manager", discordtest.CommandSpec{User: alice, Permissions: fmt.Sprint(discordgo.PermissionManageGuild | discordgo.PermissionSendMessages)}, extras{25 << 20, false, alice.ID, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.Name = "where"
			it := h.dc.SendCommand(tc.spec)
			if e := receive(t, got); e != tc.want {
				t.Errorf("Ctx saw %+v, want %+v", e, tc.want)
			}
			h.response(it)
		})
	}
}

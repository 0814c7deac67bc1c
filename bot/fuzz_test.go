package bot_test

// Fuzzing the edges Discord hands the bot (issue 9, item 7): interactions
// decoded from arbitrary JSON, served by the real bot.Router with the real
// commands registered, answered into a recorder instead of Discord. The
// seed corpus (payloads the fake Discord builds, the hand-made edges below
// and testdata/fuzz) runs in every `go test`; to search further:
//
//	go test -run='^$' -fuzz='^FuzzInteractionJSON$' -fuzztime=2m ./bot/
//	go test -run='^$' -fuzz='^FuzzInteractionParts$' -fuzztime=2m ./bot/
//
// Properties, for every input: nothing panics, neither past the router
// (which would end the process) nor inside it (the router recovers and
// logs "panicked"); an interaction of a type the router serves gets
// exactly one callback, of a type Discord accepts for it, and any other
// gets none; and whenever the input keeps Discord's own limits (strings,
// custom_ids, numeric IDs), nothing logs an error (Discord here accepts
// every request, so an error is the bot's own) and what the bot sends
// keeps Discord's limits (docs/reliability.md).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"lorabot/a1111"
	"lorabot/a1111/a1111test"
	"lorabot/bot"
	"lorabot/bot/discordtest"
	"lorabot/commands"
	"lorabot/health"
	"lorabot/imagine"
	"lorabot/lora"
	"lorabot/queue"
	"lorabot/store"
	"lorabot/throttle"
)

// FuzzInteractionJSON mutates whole INTERACTION_CREATE payloads: field
// types, missing and extra fields, option trees, custom_ids, modal rows,
// resolved attachments. Most byte-level mutants are not JSON, which the
// gateway drops before the bot sees them; FuzzInteractionParts keeps every
// input well-formed.
func FuzzInteractionJSON(f *testing.F) {
	w := newFuzzWorld(f)
	for _, p := range w.seeds {
		f.Add(p)
	}
	for _, p := range handMadeSeeds(w.seeds) {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, raw []byte) { w.serve(t, raw) })
}

// FuzzInteractionParts builds a well-formed interaction around fuzzed
// parts, so that every mutation reaches the router: kind picks the type
// and the place (guild, DM, no channel, no user), shape drives an option
// tree of any depth and type (strings where numbers go, missing focused,
// subcommand groups in groups), the resolved attachments and the modal's
// rows, and text and customID fill the strings.
func FuzzInteractionParts(f *testing.F) {
	w := newFuzzWorld(f)
	f.Add(uint8(0), []byte{0, 1, 2, 3, 4}, "a lighthouse at dusk", "cancel:1")
	f.Add(uint8(1), []byte{0, 2, 0x80, 1, 0}, "ani", "")
	f.Add(uint8(2), []byte{1, 0, 0}, "", "savepreset:1")
	f.Add(uint8(3), []byte{2, 9, 9}, "my preset", "savepreset:1")
	f.Add(uint8(6), []byte{3, 4, 4, 4, 4, 4, 4, 4}, "list", "loras:1:ani")
	f.Add(uint8(0x41), []byte{4, 0xff, 0xfe, 0xfd}, "1e308", "loras:-9999999999999999999:x")
	f.Add(uint8(0x85), []byte{0, 7, 7, 7, 7}, strings.Repeat("é", 120), strings.Repeat("x", 120))
	f.Fuzz(func(t *testing.T, kind uint8, shape []byte, text, customID string) {
		w.serve(t, w.build(kind, shape, text, customID))
	})
}

// fuzzWorld is one bot serving the fuzz inputs: the real router and
// commands over a bbolt file, the fake A1111's LoRAs, checkpoints and
// samplers, and a queue whose one server is down, so that a job an input
// queues waits (and is cancelled after it) instead of generating.
type fuzzWorld struct {
	b     *bot.Bot
	sched *queue.Scheduler
	rec   *recorder
	log   *lineLog
	// seeds are payloads the fake Discord sent to a live bot.
	seeds [][]byte
	// byType are seeds by interaction type, the envelopes build fills.
	byType map[discordgo.InteractionType][]byte
	// defs are the registered commands, which build mostly follows so
	// that inputs reach past "unknown subcommand".
	defs []*discordgo.ApplicationCommand
	mu   sync.Mutex // one input at a time: the recorder and log are shared
}

const fuzzWait = 20 * time.Second

func newFuzzWorld(f *testing.F) *fuzzWorld {
	f.Helper()
	sd := a1111test.Start(f, a1111test.Options{StepTime: time.Millisecond, LoRAsJSON: a1111test.LoRAsJSON(30)})
	w := &fuzzWorld{rec: &recorder{}, log: &lineLog{}, byType: map[discordgo.InteractionType][]byte{}}
	w.seeds = capturePayloads(f, sd)
	for _, p := range w.seeds {
		var head struct {
			Type discordgo.InteractionType `json:"type"`
		}
		if json.Unmarshal(p, &head) == nil && w.byType[head.Type] == nil {
			w.byType[head.Type] = p
		}
	}
	for _, typ := range []discordgo.InteractionType{discordgo.InteractionApplicationCommand, discordgo.InteractionApplicationCommandAutocomplete, discordgo.InteractionMessageComponent, discordgo.InteractionModalSubmit} {
		if w.byType[typ] == nil {
			f.Fatalf("no payload of interaction type %d captured from the fake Discord", typ)
		}
	}
	log := slog.New(slog.NewTextHandler(w.log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	router, sched := commandsRouter(f, sd.URL(), false, log)
	w.sched = sched
	w.defs = router.Definitions()
	// Never opened: the session only sends, through its own HTTP stack,
	// to the recorder on 127.0.0.1.
	srv := httptest.NewServer(w.rec)
	f.Cleanup(srv.Close)
	b, err := bot.New(bot.Options{Token: "fuzz-token", APIURL: srv.URL + "/api/v" + discordgo.APIVersion + "/", Router: router, Logger: log})
	if err != nil {
		f.Fatal(err)
	}
	w.b = b
	return w
}

// serve hands raw to the bot as the gateway would and checks the
// properties.
func (w *fuzzWorld) serve(t *testing.T, raw []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	raw = freshen(raw)
	w.rec.take()
	w.log.take()
	if p := serveRecovering(w.b, raw); p != "" {
		// In the bot this panic would end the process: discordgo runs
		// handlers on goroutines of their own and does not recover.
		t.Fatalf("panic past the router: %s\ninput: %s", p, raw)
	}
	calls := w.rec.take()
	logs := w.log.take()

	// What the gateway hands the bot, decoded independently of it.
	var ic discordgo.InteractionCreate
	_ = json.Unmarshal(raw, &ic)
	var it discordgo.InteractionType
	if ic.Interaction != nil {
		it = ic.Type
	}
	defer w.cancelJobs(ic.Interaction)

	if strings.Contains(logs, "panicked") {
		t.Fatalf("a panic was recovered:\n%s\ninput: %s", logs, raw)
	}
	served := it == discordgo.InteractionApplicationCommand || it == discordgo.InteractionApplicationCommandAutocomplete ||
		it == discordgo.InteractionMessageComponent || it == discordgo.InteractionModalSubmit
	var callbacks []call
	for _, c := range calls {
		if c.callback() {
			callbacks = append(callbacks, c)
		}
	}
	age, isSnowflake := time.Duration(0), false
	if ic.Interaction != nil {
		age, isSnowflake = snowflakeAge(ic.ID)
	}
	switch {
	case !served && len(callbacks) > 0:
		t.Fatalf("interaction type %d is not one the router serves, yet it was answered %d times\ninput: %s", it, len(callbacks), raw)
	case served && isSnowflake && age > time.Minute:
		// Created long ago by its ID (one freshen could not rewrite):
		// Discord no longer takes an answer, and the bot sends none.
		if len(callbacks) > 0 {
			t.Fatalf("an interaction created %v ago was answered %d times; Discord takes no answer after %v\ninput: %s", age.Round(time.Second), len(callbacks), bot.ResponseWindow, raw)
		}
		return
	case served && isSnowflake && age > time.Second:
		// Near the window's end: either outcome is right.
	case served && urlSafe(ic.Interaction) && len(callbacks) != 1:
		t.Fatalf("interaction type %d answered with %d callbacks, want exactly 1\nrequests: %v\nlogs:\n%s\ninput: %s", it, len(callbacks), calls, logs, raw)
	}
	if !withinDiscordLimits(raw) || !snowflakes(ic.Interaction) || (ic.Interaction != nil && !urlSafe(ic.Interaction)) {
		// Discord never sends this: what the bot echoes of a longer
		// string may break a limit (Discord would refuse the answer, not
		// crash on it), the store refuses a guild ID that is no number,
		// and a token with a "%" makes no URL (the bot logs the failure).
		return
	}
	if strings.Contains(logs, "level=ERROR") {
		// The recorder accepts every request, so an error is the bot's
		// own: a store that refused a key, a reply it could not build.
		t.Fatalf("the bot logged an error:\n%s\ninput: %s", logs, raw)
	}
	onMessage := ic.Interaction != nil && ic.Message != nil
	for _, c := range calls {
		if problems := c.check(it, onMessage); len(problems) > 0 {
			t.Fatalf("%s %s breaks Discord's rules: %s\nbody: %s\nlogs:\n%s\ninput: %s", c.method, c.path, strings.Join(problems, "; "), c.body, logs, raw)
		}
	}
}

// discordEpoch is when Discord's snowflakes start counting (2015, UTC):
// an ID's top 42 bits are milliseconds since.
const discordEpoch = 1420070400000

// snowflakeAge is how long ago the interaction with this ID was created,
// by the ID; ok is false when it is no snowflake.
func snowflakeAge(id string) (age time.Duration, ok bool) {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil || n>>22 == 0 {
		return 0, false
	}
	return time.Since(time.UnixMilli(int64(n>>22) + discordEpoch)), true
}

// freshen gives raw's interaction ID a creation time of now, keeping its
// low bits. The bot leaves an interaction created more than 3 seconds ago
// unanswered, as it must; the seeds (captured, hand-made, kept in
// testdata) were all made long before they run, and their time is not
// what they are about. An ID that is no snowflake stays as it is.
func freshen(raw []byte) []byte {
	var ic discordgo.InteractionCreate
	_ = json.Unmarshal(raw, &ic) // partly decoded is what the bot gets too
	if ic.Interaction == nil {
		return raw
	}
	n, err := strconv.ParseUint(ic.ID, 10, 64)
	if err != nil || n>>22 == 0 {
		return raw
	}
	if age, _ := snowflakeAge(ic.ID); age < time.Second {
		return raw
	}
	now := uint64(time.Now().UnixMilli() - discordEpoch)
	fresh := strconv.FormatUint(now<<22|n&(1<<22-1), 10)
	return bytes.ReplaceAll(raw, []byte(strconv.Quote(ic.ID)), []byte(strconv.Quote(fresh)))
}

// serveRecovering serves raw and returns the panic that escaped the
// router, with its stack, or "". Recovering here keeps one failing input
// to its own subtest instead of ending the package's whole test binary.
func serveRecovering(b *bot.Bot, raw []byte) (panicked string) {
	defer func() {
		if p := recover(); p != nil {
			panicked = fmt.Sprintf("%v\n%s", p, debug.Stack())
		}
	}()
	b.ServeRawForTest(raw)
	return ""
}

// cancelJobs cancels what the input queued, so that inputs do not pile up
// jobs (and hit the per-user limit) on the down server.
func (w *fuzzWorld) cancelJobs(i *discordgo.Interaction) {
	if i == nil {
		return
	}
	user := ""
	switch {
	case i.Member != nil && i.Member.User != nil:
		user = i.Member.User.ID
	case i.User != nil:
		user = i.User.ID
	}
	for _, j := range w.sched.UserJobs(user) {
		_, _ = w.sched.Cancel(j.ID, user)
	}
}

// commandsRouter is a router with every command registered the way
// app.Run registers them, over a fresh bbolt file and the A1111 at sdURL;
// the queue's one server is up or down as asked. Everything stops when tb
// ends.
func commandsRouter(tb testing.TB, sdURL string, up bool, log *slog.Logger) (*bot.Router, *queue.Scheduler) {
	tb.Helper()
	db, err := store.Open(filepath.Join(tb.TempDir(), "bot.db"), store.Options{Timeout: time.Second, Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	client, err := a1111.New(sdURL, a1111.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), fuzzWait)
	defer cancel()
	catalog := lora.NewCatalog([]lora.Source{client}, lora.CatalogOptions{Logger: log})
	if _, err := catalog.Refresh(ctx); err != nil {
		tb.Fatalf("read the fake A1111's LoRAs: %v", err)
	}
	servers := imagine.NewServers([]*a1111.Client{client}, log)
	if err := servers.Refresh(ctx); err != nil {
		tb.Fatalf("read the fake A1111's lists: %v", err)
	}
	sched := queue.New(queue.Options{Backends: 1, MaxPerUser: 3, Logger: log,
		Retryable: a1111.IsServerDown, Unreached: a1111.IsNotReached, NoServerWait: time.Hour})
	if !up {
		sched.SetUp(0, false)
	}
	tb.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), fuzzWait)
		defer scancel()
		_, _ = sched.Shutdown(sctx)
	})
	edits := throttle.New(10*time.Millisecond, throttle.WithLogger(log))
	tb.Cleanup(edits.Close)
	tracker := health.New([]health.Prober{client}, health.Options{Fault: a1111.IsServerDown, Logger: log})
	r := bot.NewRouter(log)
	commands.Register(r, &commands.Deps{
		Catalog: catalog, Presets: db, Results: db, Servers: servers, Queue: sched, MaxPerUser: 3,
		Guilds: db, Jobs: db, Health: tracker, NoServerWait: time.Hour,
		Edits: edits, ProgressEvery: 20 * time.Millisecond, Log: log,
	})
	return r, sched
}

// capturePayloads runs a bot with the real commands against the fake
// Discord, acts as users would (commands, autocomplete, a result's button
// and its form, paging, a DM, a user install, an admin), and returns the
// raw INTERACTION_CREATE payloads the bot received.
func capturePayloads(f *testing.F, sd *a1111test.Server) [][]byte {
	f.Helper()
	dc := discordtest.New(f, discordtest.Options{HeartbeatInterval: 100 * time.Millisecond})
	log := slog.New(slog.DiscardHandler)
	router, _ := commandsRouter(f, sd.URL(), true, log)
	b, err := bot.New(bot.Options{Token: dc.Token(), APIURL: dc.APIURL(), Router: router, Logger: log})
	if err != nil {
		f.Fatal(err)
	}
	var mu sync.Mutex
	var raws [][]byte
	b.Session().AddHandler(func(_ *discordgo.Session, e *discordgo.Event) {
		if e.Type == "INTERACTION_CREATE" {
			mu.Lock()
			raws = append(raws, bytes.Clone(e.RawData))
			mu.Unlock()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), fuzzWait)
	defer cancel()
	if err := b.Open(ctx); err != nil {
		f.Fatalf("open the capture bot: %v", err)
	}
	defer func() {
		_ = dc.WaitHeartbeat(ctx)
		if err := b.Close(ctx); err != nil {
			f.Errorf("close the capture bot: %v", err)
		}
	}()
	answer := func(it *discordtest.Interaction) discordtest.Callback {
		f.Helper()
		cb, err := it.WaitResponse(ctx)
		if err != nil {
			f.Fatalf("capture: %v", err)
		}
		return cb
	}
	admin := discordtest.User{ID: "300000000000000077", Name: "admin", Permissions: strconv.FormatInt(discordtest.DefaultPermissions|discordgo.PermissionManageGuild, 10)}
	s, n, num, bl := discordtest.String, discordtest.Int, discordtest.Number, discordtest.Bool

	// A job to its result, then its "Save as preset" button and form.
	job := dc.SendCommand(discordtest.CommandSpec{Name: "imagine", Options: []discordtest.Option{
		s("prompt", "a lighthouse at dusk"), s("lora", "pixel-art v0.2"), num("weight", 0.8), n("steps", 4), n("seed", 7), s("size", "512x512"),
	}})
	answer(job)
	res, err := job.WaitOriginal(ctx, func(m discordtest.Message) bool {
		return len(m.Attachments) > 0 || strings.HasPrefix(m.Content, "⚠️")
	})
	if err != nil {
		f.Fatalf("capture: the job did not finish: %v", err)
	}
	if save, ok := res.FindButton("Save as preset"); ok {
		modal := dc.ClickButton(res, save.CustomID, discordtest.User{})
		if answer(modal).Type == discordgo.InteractionResponseModal {
			answer(dc.SubmitModal(modal, map[string]string{"name": "dusk"}, discordtest.User{}))
		}
	}
	// Paging.
	list := dc.SendCommand(discordtest.CommandSpec{Name: "loras", Options: []discordtest.Option{discordtest.Subcommand("list")}})
	answer(list)
	if m := list.Original(); len(m.Buttons()) > 1 {
		answer(dc.ClickButton(m, m.Buttons()[1].CustomID, discordtest.User{}))
	}
	// Autocomplete of every kind of option.
	for _, o := range []discordtest.Option{s("lora", "pix"), s("lora2", ""), s("preset", "d"), s("checkpoint", "v1"), s("sampler", "dpm"), s("size", "76")} {
		answer(dc.SendAutocomplete(discordtest.CommandSpec{Name: "imagine", Options: []discordtest.Option{s("prompt", "a cat"), o.Focus()}}))
	}
	answer(dc.SendAutocomplete(discordtest.CommandSpec{Name: "loras", Options: []discordtest.Option{discordtest.Subcommand("info", s("name", "lor").Focus())}}))
	answer(dc.SendAutocomplete(discordtest.CommandSpec{Name: "settings", User: admin, Options: []discordtest.Option{
		discordtest.SubcommandGroup("ban", discordtest.Subcommand("remove", s("word", "x").Focus())),
	}}))
	// Other commands, places and people.
	for _, spec := range []discordtest.CommandSpec{
		{Name: "loras", Options: []discordtest.Option{discordtest.Subcommand("info", s("name", "pixel-art v0.2"))}},
		{Name: "preset", Options: []discordtest.Option{discordtest.Subcommand("save", s("name", "castles"), s("prompt", "pixel art"), s("lora", "detail_tweaker_v0.0"), num("cfg", 6.5))}},
		{Name: "preset", Options: []discordtest.Option{discordtest.Subcommand("list")}},
		{Name: "status", DM: true},
		{Name: "imagine", UserInstall: true, Options: []discordtest.Option{s("prompt", "a fox"), n("count", 2)}},
		{Name: "settings", User: admin, Options: []discordtest.Option{discordtest.Subcommand("show")}},
		{Name: "settings", User: admin, Options: []discordtest.Option{discordtest.SubcommandGroup("ban", discordtest.Subcommand("add", s("word", "gore")))}},
		{Name: "settings", User: admin, Options: []discordtest.Option{discordtest.Subcommand("channels", s("action", "add"),
			discordtest.ChannelOption("channel", discordtest.Channel{ID: "200000000000000009", GuildID: discordtest.DefaultGuildID, Name: "art"}))}},
		{Name: "settings", User: admin, Options: []discordtest.Option{discordtest.Subcommand("dms", bl("allow", true))}},
		{Name: "loras", User: admin, Options: []discordtest.Option{discordtest.Subcommand("set", s("name", "pixel-art v0.2"), s("triggers", "a, b"), num("weight", 0.7), bl("nsfw", false))}},
	} {
		answer(dc.SendCommand(spec))
	}
	mu.Lock()
	defer mu.Unlock()
	return raws
}

// handMadeSeeds are the edges a live client never sends but a payload may
// hold, written into the captured envelopes: data missing or of the wrong
// JSON type, null options, numbers as strings, a focused option nested in
// a group, every option focused, resolved attachments, custom_ids of any
// length, modal rows that are not rows.
func handMadeSeeds(captured [][]byte) [][]byte {
	var out [][]byte
	edit := func(p []byte, change func(m map[string]any)) {
		var m map[string]any
		if json.Unmarshal(p, &m) != nil {
			return
		}
		change(m)
		b, err := json.Marshal(m)
		if err == nil {
			out = append(out, b)
		}
	}
	for _, p := range captured {
		edit(p, func(m map[string]any) { delete(m, "data") })
		edit(p, func(m map[string]any) { m["data"] = "x" })
		edit(p, func(m map[string]any) { m["data"] = nil })
		edit(p, func(m map[string]any) { m["type"] = 1 })
		edit(p, func(m map[string]any) { m["type"] = 99 })
		edit(p, func(m map[string]any) { delete(m, "member"); delete(m, "user") })
		edit(p, func(m map[string]any) { m["member"] = map[string]any{"permissions": "x"} })
		edit(p, func(m map[string]any) { m["attachment_size_limit"] = -1; m["channel"] = "nsfw" })
		data, _ := jsonMap(p)["data"].(map[string]any)
		if data == nil {
			continue
		}
		if _, ok := data["custom_id"]; ok {
			for _, id := range []string{"", ":", "cancel", "cancel:", "savepreset:" + strings.Repeat("9", 99), "loras:", "loras:x", "loras:99999999999999999999:q", "loras:-1:" + strings.Repeat("ü", 200), strings.Repeat(":", 150)} {
				edit(p, func(m map[string]any) { m["data"].(map[string]any)["custom_id"] = id })
			}
			edit(p, func(m map[string]any) {
				m["data"].(map[string]any)["components"] = []any{nil, 7, map[string]any{"type": 4, "custom_id": "name", "value": nil},
					map[string]any{"type": 1, "components": []any{map[string]any{"type": 4, "custom_id": "name", "value": 12}, map[string]any{"type": 99}}}}
			})
			continue
		}
		edit(p, func(m map[string]any) { m["data"].(map[string]any)["options"] = []any{nil} })
		edit(p, func(m map[string]any) { m["data"].(map[string]any)["options"] = "x" })
		edit(p, func(m map[string]any) {
			m["data"].(map[string]any)["options"] = []any{map[string]any{"type": 2, "name": "ban", "options": []any{
				map[string]any{"type": 2, "name": "ban", "options": []any{map[string]any{"type": 1, "name": "add", "options": []any{nil}}}}}}}
		})
		edit(p, func(m map[string]any) {
			m["data"].(map[string]any)["options"] = []any{
				map[string]any{"type": 4, "name": "steps", "value": "20"}, map[string]any{"type": 10, "name": "cfg", "value": "7"},
				map[string]any{"type": 4, "name": "seed", "value": 1e300}, map[string]any{"type": 4, "name": "count", "value": -0.5},
				map[string]any{"type": 3, "name": "prompt", "value": 5}, map[string]any{"type": 3, "name": "lora", "focused": true},
				map[string]any{"type": 3, "name": "size", "focused": true, "value": map[string]any{}},
				map[string]any{"type": 10, "name": "weight", "value": []any{1}}, map[string]any{"type": 5, "name": "nsfw", "value": "true"},
			}
		})
		edit(p, func(m map[string]any) {
			m["data"].(map[string]any)["resolved"] = map[string]any{
				"attachments": map[string]any{"1": map[string]any{"id": "1", "filename": "../../x.png", "size": -5, "content_type": "image/png", "url": "http://127.0.0.1/x"}, "2": nil},
				"channels":    map[string]any{"200000000000000009": map[string]any{"id": 5}},
			}
			m["data"].(map[string]any)["options"] = []any{map[string]any{"type": 11, "name": "image", "value": "1"}, map[string]any{"type": 7, "name": "channel", "value": "200000000000000009"}}
		})
	}
	return out
}

func jsonMap(p []byte) map[string]any {
	var m map[string]any
	_ = json.Unmarshal(p, &m)
	return m
}

// urlSafe reports whether the interaction's ID, application ID and token
// can stand in a request path as they are. Discord's are snowflakes and
// [A-Za-z0-9._-]; others may not reach the recorder at all (a "#" or "?"
// ends the path), so the answer count is not checked for them.
func urlSafe(i *discordgo.Interaction) bool {
	for _, s := range []string{i.ID, i.AppID, i.Token} {
		if !safePathRE.MatchString(s) {
			return false
		}
	}
	return true
}

var safePathRE = regexp.MustCompile(`^[A-Za-z0-9._-]*$`)

// snowflakes reports whether the IDs of i that the bot keys its records
// by are numbers, as Discord's always are (or absent).
func snowflakes(i *discordgo.Interaction) bool {
	if i == nil {
		return true
	}
	ids := []string{i.ID, i.AppID, i.GuildID, i.ChannelID}
	if i.Member != nil && i.Member.User != nil {
		ids = append(ids, i.Member.User.ID)
	}
	if i.User != nil {
		ids = append(ids, i.User.ID)
	}
	for _, id := range ids {
		if !snowflakeRE.MatchString(id) {
			return false
		}
	}
	return true
}

var snowflakeRE = regexp.MustCompile(`^[0-9]{0,20}$`)

// withinDiscordLimits reports whether raw keeps the limits Discord keeps
// on what it sends: strings of at most 6000 characters (a string option's
// most) and custom_ids of at most 100.
func withinDiscordLimits(raw []byte) bool {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return false
	}
	var ok func(v any, key string) bool
	ok = func(v any, key string) bool {
		switch x := v.(type) {
		case string:
			n := utf8.RuneCountInString(x)
			return n <= 6000 && (key != "custom_id" || n <= bot.MaxCustomIDLen)
		case []any:
			for _, e := range x {
				if !ok(e, key) {
					return false
				}
			}
		case map[string]any:
			for k, e := range x {
				if !ok(e, k) {
					return false
				}
			}
		}
		return true
	}
	return ok(v, "")
}

// recorder is the Discord the fuzzing bot talks to, over 127.0.0.1: it
// answers every request at once, as Discord does a good one, and keeps it
// for the checks.
type recorder struct {
	mu    sync.Mutex
	calls []call
}

type call struct {
	method, path string
	body         []byte // the JSON, or a multipart body's payload_json
	files        int
}

func (c call) String() string { return c.method + " " + c.path }

func (c call) callback() bool {
	return c.method == http.MethodPost && strings.HasPrefix(c.path, "/interactions/") && strings.HasSuffix(c.path, "/callback")
}

func (r *recorder) take() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.calls
	r.calls = nil
	return out
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	c := call{method: req.Method, path: req.URL.Path, body: body}
	if i := strings.Index(c.path, "/api/v"); i >= 0 {
		// "/api/v9/interactions/…" → "/interactions/…"
		rest := c.path[i+len("/api/v"):]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			c.path = rest[j:]
		}
	}
	if mt, params, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err == nil && strings.HasPrefix(mt, "multipart/") {
		c.body = nil
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			data, _ := io.ReadAll(p)
			if p.FormName() == "payload_json" {
				c.body = data
			} else {
				c.files++
			}
		}
	}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	if c.callback() || req.Method == http.MethodDelete {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"id":"1250000000000000001","channel_id":"200000000000000001","content":""}`)
}

// allowedCallbacks are the callback types Discord accepts per interaction
// type (as the fake Discord has them); a form not opened from a message
// has no message to update (6, 7).
func allowedCallbacks(it discordgo.InteractionType, onMessage bool) []discordgo.InteractionResponseType {
	switch it {
	case discordgo.InteractionApplicationCommand:
		return []discordgo.InteractionResponseType{4, 5, 9}
	case discordgo.InteractionApplicationCommandAutocomplete:
		return []discordgo.InteractionResponseType{8}
	case discordgo.InteractionMessageComponent:
		return []discordgo.InteractionResponseType{4, 5, 6, 7, 9}
	case discordgo.InteractionModalSubmit:
		if onMessage {
			return []discordgo.InteractionResponseType{4, 5, 6, 7}
		}
		return []discordgo.InteractionResponseType{4, 5}
	}
	return nil
}

// wireMessage is the part of a callback's data or a webhook's body that
// Discord's limits are about.
type wireMessage struct {
	Content    *string                   `json:"content"`
	Embeds     []*discordgo.MessageEmbed `json:"embeds"`
	Components []wireComponent           `json:"components"`
	Choices    []struct {
		Name  string `json:"name"`
		Value any    `json:"value"`
	} `json:"choices"`
	CustomID string `json:"custom_id"`
	Title    string `json:"title"`
}

type wireComponent struct {
	Type       int             `json:"type"`
	CustomID   string          `json:"custom_id"`
	Label      string          `json:"label"`
	Components []wireComponent `json:"components"`
}

// check lists how the request breaks Discord's rules for an interaction of
// type it, on a message or not (discord.md): the callback type, and the
// limits on content, embeds, components, choices and modals.
func (c call) check(it discordgo.InteractionType, onMessage bool) []string {
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	var m wireMessage
	typ := discordgo.InteractionResponseType(0)
	switch {
	case c.callback():
		var cb struct {
			Type discordgo.InteractionResponseType `json:"type"`
			Data *wireMessage                      `json:"data"`
		}
		if err := json.Unmarshal(c.body, &cb); err != nil {
			return []string{"body is not JSON: " + err.Error()}
		}
		typ = cb.Type
		if !slices.Contains(allowedCallbacks(it, onMessage), cb.Type) {
			bad("callback type %d for an interaction of type %d", cb.Type, it)
		}
		if cb.Data != nil {
			m = *cb.Data
		}
		if typ == discordgo.InteractionResponseChannelMessageWithSource && (m.Content == nil || *m.Content == "") && len(m.Embeds) == 0 && len(m.Components) == 0 && c.files == 0 {
			bad("an empty message")
		}
	case c.method == http.MethodPatch || c.method == http.MethodPost:
		if len(c.body) > 0 {
			if err := json.Unmarshal(c.body, &m); err != nil {
				return []string{"body is not JSON: " + err.Error()}
			}
		}
	default:
		return nil
	}
	runes := utf8.RuneCountInString
	if m.Content != nil && runes(*m.Content) > bot.MaxContentLen {
		bad("content of %d characters", runes(*m.Content))
	}
	if len(m.Choices) > bot.MaxChoices {
		bad("%d choices", len(m.Choices))
	}
	for _, ch := range m.Choices {
		if n := runes(ch.Name); n < 1 || n > bot.MaxChoiceLen {
			bad("a choice named with %d characters", n)
		}
		if s, ok := ch.Value.(string); ok && runes(s) > bot.MaxChoiceLen {
			bad("a choice value of %d characters", runes(s))
		}
	}
	if typ == discordgo.InteractionResponseModal {
		if n := runes(m.CustomID); n < 1 || n > bot.MaxCustomIDLen {
			bad("a modal custom_id of %d characters", n)
		}
		if n := runes(m.Title); n < 1 || n > 45 {
			bad("a modal title of %d characters", n)
		}
	}
	var walk func([]wireComponent)
	walk = func(cs []wireComponent) {
		for _, comp := range cs {
			if runes(comp.CustomID) > bot.MaxCustomIDLen {
				bad("a component custom_id of %d characters", runes(comp.CustomID))
			}
			if runes(comp.Label) > 80 {
				bad("a component label of %d characters", runes(comp.Label))
			}
			walk(comp.Components)
		}
	}
	walk(m.Components)
	if len(m.Embeds) > 10 {
		bad("%d embeds", len(m.Embeds))
	}
	total := 0
	for _, e := range m.Embeds {
		if e == nil {
			continue
		}
		if runes(e.Title) > bot.MaxEmbedTitleLen {
			bad("an embed title of %d characters", runes(e.Title))
		}
		if runes(e.Description) > bot.MaxEmbedDescLen {
			bad("an embed description of %d characters", runes(e.Description))
		}
		if len(e.Fields) > 25 {
			bad("an embed with %d fields", len(e.Fields))
		}
		total += runes(e.Title) + runes(e.Description)
		for _, fl := range e.Fields {
			if runes(fl.Name) > 256 || runes(fl.Value) > bot.MaxEmbedFieldLen {
				bad("an embed field of %d+%d characters", runes(fl.Name), runes(fl.Value))
			}
			total += runes(fl.Name) + runes(fl.Value)
		}
		if e.Footer != nil {
			if runes(e.Footer.Text) > bot.MaxEmbedFooterLen {
				bad("an embed footer of %d characters", runes(e.Footer.Text))
			}
			total += runes(e.Footer.Text)
		}
		if e.Author != nil {
			total += runes(e.Author.Name)
		}
	}
	if total > bot.MaxEmbedTotalLen {
		bad("embeds of %d characters in all", total)
	}
	return problems
}

// lineLog is the bot's log for the input being served.
type lineLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lineLog) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.b.String()
	l.b.Reset()
	return s
}

// build makes one well-formed interaction of FuzzInteractionParts from
// the envelope of a captured payload of the type kind picks.
func (w *fuzzWorld) build(kind uint8, shape []byte, text, customID string) []byte {
	types := []discordgo.InteractionType{discordgo.InteractionApplicationCommand, discordgo.InteractionApplicationCommandAutocomplete, discordgo.InteractionMessageComponent, discordgo.InteractionModalSubmit}
	typ := types[kind&3]
	m := jsonMap(w.byType[typ])
	g := &gen{shape: shape, text: []rune(text)}
	switch kind >> 2 & 7 {
	case 1: // a DM with the bot: no guild, no member
		if member, ok := m["member"].(map[string]any); ok {
			m["user"] = member["user"]
		}
		delete(m, "member")
		delete(m, "guild_id")
	case 2: // no channel
		delete(m, "channel_id")
		delete(m, "channel")
	case 3: // nobody
		delete(m, "member")
		delete(m, "user")
	case 4: // an admin of another guild
		m["guild_id"] = "100000000000000002"
		if member, ok := m["member"].(map[string]any); ok {
			member["permissions"] = strconv.FormatInt(discordgo.PermissionAdministrator, 10)
		}
	case 5: // an age-restricted channel with a small upload limit
		if ch, ok := m["channel"].(map[string]any); ok {
			ch["nsfw"] = true
		}
		m["attachment_size_limit"] = g.number()
	}
	if member, ok := m["member"].(map[string]any); ok {
		switch g.byte() % 8 {
		case 1:
			member["permissions"] = strconv.FormatInt(discordtest.DefaultPermissions|discordgo.PermissionManageGuild, 10)
		case 2:
			member["permissions"] = strconv.FormatInt(discordgo.PermissionAdministrator, 10)
		case 3:
			member["permissions"] = "0"
		case 4:
			member["permissions"] = g.value()
		}
	}
	if kind>>5 == 7 {
		m["type"] = []any{0, 1, 6, 99}[g.byte()%4]
	}
	switch typ {
	case discordgo.InteractionApplicationCommand, discordgo.InteractionApplicationCommandAutocomplete:
		def := w.defs[int(g.byte())%len(w.defs)]
		name := def.Name
		if g.byte()%16 == 0 {
			name = g.str(32)
		}
		var opts []any
		if g.byte()%4 == 0 {
			opts = g.options(0)
		} else {
			opts = g.follow(def.Options, typ == discordgo.InteractionApplicationCommandAutocomplete)
		}
		data := map[string]any{"id": "1250000000000000099", "name": name, "type": 1, "options": opts}
		if g.byte()%4 == 0 {
			data["resolved"] = g.resolved()
		}
		m["data"] = data
	case discordgo.InteractionMessageComponent:
		data := map[string]any{"custom_id": g.customID(customID), "component_type": []int{2, 3, 4, 99}[g.byte()%4]}
		if g.byte()%4 == 0 {
			data["values"] = []any{g.str(100), g.value()}
		}
		m["data"] = data
	case discordgo.InteractionModalSubmit:
		var rows []any
		for range int(g.byte() % 4) {
			var inputs []any
			for range int(g.byte()%3) + 1 {
				id := "name"
				if g.byte()%4 == 0 {
					id = g.str(100)
				}
				inputs = append(inputs, map[string]any{"type": []int{4, 4, 4, 2, 1}[g.byte()%5], "custom_id": id, "value": g.valueOr(g.str(4000))})
			}
			if g.byte()%8 == 0 {
				rows = append(rows, inputs...) // inputs that are not in a row
			} else {
				rows = append(rows, map[string]any{"type": 1, "components": inputs})
			}
		}
		m["data"] = map[string]any{"custom_id": g.customID(customID), "components": rows}
	}
	b, _ := json.Marshal(m)
	return b
}

// gen draws the parts of an interaction from the fuzzer's bytes and text;
// when they run out it keeps drawing zeros and empty strings, so any input
// makes a whole interaction.
type gen struct {
	shape []byte
	text  []rune
}

func (g *gen) byte() byte {
	if len(g.shape) == 0 {
		return 0
	}
	b := g.shape[0]
	g.shape = g.shape[1:]
	return b
}

// str takes the next up to max characters of the text; the length is the
// next byte's (scaled up now and then, for the long strings).
func (g *gen) str(max int) string {
	n := int(g.byte())
	if n >= 0xf0 {
		n = (n - 0xef) * 400
	}
	n = min(n, max, len(g.text))
	s := string(g.text[:n])
	g.text = g.text[n:]
	return s
}

var optionNames = []string{"prompt", "negative", "lora", "weight", "lora2", "weight2", "lora3", "weight3", "preset", "checkpoint", "sampler",
	"steps", "cfg", "seed", "size", "count", "name", "query", "code", "triggers", "nsfw", "reset", "value", "action", "channel",
	"max_steps", "max_count", "max_size", "max_jobs", "cooldown", "word", "allow", "image",
	"list", "info", "refresh", "set", "save", "show", "delete", "default", "share", "import", "policy", "channels", "limits", "defaults", "ban", "add", "remove", "dms"}

var numbers = []float64{0, 1, -1, 2.5, 4, 20, 150, 151, 7.5, 30, 0.8, -2, 2, 1e308, -1e308, 1 << 53, 1<<53 + 2, 1 << 63, 4294967296, 1e-320, 512, 64, 2048, 3600}

func (g *gen) number() float64 {
	b := g.byte()
	if b < 0x80 {
		return numbers[int(b)%len(numbers)]
	}
	return float64(int8(b)) * 1.5
}

// value is any JSON value: a string, a number, a number as text (as
// autocomplete sends it), a bool, null, an object or an array.
func (g *gen) value() any {
	switch g.byte() % 8 {
	case 0, 1:
		return g.str(6000)
	case 2:
		return g.number()
	case 3:
		return []string{"20", " 7 ", "1e9", "NaN", "Infinity", "-0", "0x10", "512x768", ""}[g.byte()%9]
	case 4:
		return g.byte()%2 == 0
	case 5:
		return nil
	case 6:
		return map[string]any{"value": g.str(10)}
	}
	return []any{g.str(10), g.number()}
}

func (g *gen) valueOr(s string) any {
	if g.byte()%8 == 0 {
		return g.value()
	}
	return s
}

// options is an option tree: subcommands and groups down to depth 4, any
// type on any name, focused or not, values of any JSON type, and now and
// then a null.
func (g *gen) options(depth int) []any {
	var out []any
	for range int(g.byte() % 5) {
		b := g.byte()
		if b == 0xff {
			out = append(out, nil)
			continue
		}
		name := optionNames[int(b)%len(optionNames)]
		if b >= 0xf0 {
			name = g.str(40)
		}
		t := int(g.byte() % 13) // 0 and 12 are no type Discord has
		o := map[string]any{"name": name, "type": t}
		flags := g.byte()
		if (t == 1 || t == 2 || flags&1 != 0) && depth < 4 {
			o["options"] = g.options(depth + 1)
		}
		if flags&2 == 0 {
			o["value"] = g.value()
		}
		if flags&4 != 0 {
			o["focused"] = true
		}
		if flags&8 != 0 {
			o["focused"] = g.value()
		}
		out = append(out, o)
	}
	return out
}

// follow is an option tree shaped like the definition's: one of its
// subcommands (or groups) at each level, then some of its options, mostly
// of their own type and within their bounds and choices, now and then not;
// in an autocomplete, one option that autocompletes is focused, mostly.
func (g *gen) follow(defs []*discordgo.ApplicationCommandOption, autocomplete bool) []any {
	if len(defs) == 0 {
		return nil
	}
	if t := defs[0].Type; t == discordgo.ApplicationCommandOptionSubCommand || t == discordgo.ApplicationCommandOptionSubCommandGroup {
		d := defs[int(g.byte())%len(defs)]
		return []any{map[string]any{"type": d.Type, "name": d.Name, "options": g.follow(d.Options, autocomplete)}}
	}
	var out []any
	focused := false
	for _, d := range defs {
		b := g.byte()
		if b%3 == 0 && !d.Required {
			continue
		}
		o := map[string]any{"type": d.Type, "name": d.Name}
		switch {
		case b >= 0xe0:
			o["value"] = g.value()
		case len(d.Choices) > 0:
			o["value"] = d.Choices[int(g.byte())%len(d.Choices)].Value
		case d.Type == discordgo.ApplicationCommandOptionInteger || d.Type == discordgo.ApplicationCommandOptionNumber:
			lo, hi := -1e6, 1e6
			if d.MinValue != nil {
				lo = *d.MinValue
			}
			if d.MaxValue != 0 {
				hi = d.MaxValue
			}
			v := lo + (hi-lo)*float64(g.byte())/255
			if d.Type == discordgo.ApplicationCommandOptionInteger {
				v = float64(int64(v))
			}
			if b%7 == 0 {
				v = g.number()
			}
			o["value"] = v
		case d.Type == discordgo.ApplicationCommandOptionBoolean:
			o["value"] = b%2 == 0
		case d.Type == discordgo.ApplicationCommandOptionChannel:
			o["value"] = "200000000000000009"
		default:
			max := d.MaxLength
			if max <= 0 {
				max = 6000
			}
			o["value"] = g.str(max)
		}
		if autocomplete && d.Autocomplete && !focused && b%2 == 1 {
			o["focused"] = true
			focused = true
			if s, ok := o["value"].(float64); ok {
				o["value"] = strconv.FormatFloat(s, 'g', -1, 64) // typed so far, as text
			}
		}
		out = append(out, o)
	}
	return out
}

// resolved is data.resolved with attachments (sizes, names and types of
// any kind) and channels.
func (g *gen) resolved() map[string]any {
	atts := map[string]any{}
	for range int(g.byte() % 3) {
		id := strconv.Itoa(int(g.byte()))
		atts[id] = map[string]any{"id": id, "filename": g.str(300), "size": g.number(), "content_type": g.valueOr("image/png"),
			"url": "http://127.0.0.1/a/" + id, "width": g.number(), "height": g.value()}
	}
	chans := map[string]any{}
	if g.byte()%2 == 0 {
		chans["200000000000000009"] = map[string]any{"id": "200000000000000009", "type": int(g.byte() % 16), "name": g.str(100), "guild_id": g.valueOr("100000000000000001")}
	}
	return map[string]any{"attachments": atts, "channels": chans}
}

// customID is a custom_id with one of the bot's prefixes, mostly.
func (g *gen) customID(s string) string {
	prefixes := []string{"cancel:", "savepreset:", "loras:", "loras:0:", "loras:1:", "", "cancel", "x:"}
	return prefixes[g.byte()%byte(len(prefixes))] + s
}

// Package e2e runs the real bot (app.Run, with its discordgo session, bbolt
// file and A1111 client) against the fake Discord and the fake A1111 over
// 127.0.0.1, and acts as users through the fake gateway.
//
// discordgo's endpoints are package globals, so these tests never run in
// parallel.
package e2e

import (
	"bytes"
	"context"
	"image/png"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"lorabot/a1111/a1111test"
	"lorabot/app"
	"lorabot/bot/discordtest"
	"lorabot/config"
	"lorabot/internal/testkit"
)

// wait bounds every wait in these tests: long enough for a loaded 2-core CI
// machine running -race, short enough that a hang fails the run.
const wait = 30 * time.Second

type env struct {
	t    *testing.T
	dc   *discordtest.Server
	sd   *a1111test.Server   // the first A1111
	sds  []*a1111test.Server // every A1111, in A1111_URL order
	cfg  config.Config
	tm   app.Timings
	logs *testkit.LogBuffer

	stop func()
}

type setup struct {
	discord discordtest.Options
	a1111   a1111test.Options
	// more are further A1111 servers after the first (a1111): each with
	// its own options, their StepTime defaulting to the first's.
	more    []a1111test.Options
	timings app.Timings
	tweak   func(*config.Config)
	dbPath  string
}

func start(t *testing.T, s setup) *env {
	t.Helper()
	if s.discord.HeartbeatInterval == 0 {
		s.discord.HeartbeatInterval = 100 * time.Millisecond
	}
	if s.a1111.StepTime == 0 {
		s.a1111.StepTime = time.Millisecond
	}
	e := &env{t: t, logs: &testkit.LogBuffer{}}
	e.dc = discordtest.New(t, s.discord)
	e.sd = a1111test.Start(t, s.a1111)
	e.sds = []*a1111test.Server{e.sd}
	for _, o := range s.more {
		if o.StepTime == 0 {
			o.StepTime = s.a1111.StepTime
		}
		e.sds = append(e.sds, a1111test.Start(t, o))
	}
	if s.dbPath == "" {
		s.dbPath = filepath.Join(t.TempDir(), "data", "bot.db")
	}
	e.cfg = config.Config{
		DiscordToken:    e.dc.Token(),
		GuildID:         discordtest.DefaultGuildID,
		DiscordAPIURL:   e.dc.APIURL(),
		A1111URLs:       urls(e.sds),
		A1111Timeout:    time.Minute,
		DBPath:          s.dbPath,
		MaxQueuePerUser: 3,
	}
	if s.tweak != nil {
		s.tweak(&e.cfg)
	}
	e.tm = s.timings
	if e.tm == (app.Timings{}) {
		e.tm = app.DefaultTimings
	}
	if e.tm.ProgressEvery == 0 {
		e.tm.ProgressEvery = 50 * time.Millisecond
	}
	if e.tm.EditEvery == 0 {
		e.tm.EditEvery = 100 * time.Millisecond
	}
	e.run()
	return e
}

// run starts app.Run and waits until the bot registered its commands.
func (e *env) run() {
	t := e.t
	t.Helper()
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, e.cfg, e.tm, log, ready) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("bot stopped before it was ready: %v\nlogs:\n%s", err, e.logs)
	case <-time.After(wait):
		cancel()
		t.Fatalf("bot not ready after %v\nlogs:\n%s", wait, e.logs)
	}
	stopped := false
	e.stop = func() {
		if stopped {
			return
		}
		stopped = true
		// A discordgo session closed before its first heartbeat can leave
		// a reconnect loop behind (see discordtest's doc).
		hctx, hcancel := context.WithTimeout(context.Background(), wait)
		defer hcancel()
		_ = e.dc.WaitHeartbeat(hctx)
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("bot stopped with an error: %v", err)
			}
		case <-time.After(wait):
			t.Errorf("bot did not stop within %v", wait)
		}
		if strings.Contains(e.logs.String(), e.cfg.DiscordToken) {
			t.Errorf("the Discord token appears in the logs")
		}
	}
	t.Cleanup(e.stop)
}

// restart stops the bot and starts a new one with the same settings and
// DB_PATH, as a redeploy would.
func (e *env) restart() {
	e.t.Helper()
	e.stop()
	e.run()
}

func urls(servers []*a1111test.Server) []string {
	var out []string
	for _, sd := range servers {
		out = append(out, sd.URL())
	}
	return out
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

var alice = discordtest.User{ID: "300000000000000011", Name: "alice"}
var bob = discordtest.User{ID: "300000000000000022", Name: "bob"}

// imagine sends /imagine as user with options.
func (e *env) imagine(user discordtest.User, opts ...discordtest.Option) *discordtest.Interaction {
	return e.dc.SendCommand(discordtest.CommandSpec{User: user, Name: "imagine", Options: opts})
}

// response waits for the first answer to it.
func (e *env) response(it *discordtest.Interaction) discordtest.Callback {
	e.t.Helper()
	cb, err := it.WaitResponse(ctxT(e.t))
	if err != nil {
		e.t.Fatalf("no answer to %v: %v\nlogs:\n%s", it, err, e.logs)
	}
	return cb
}

// finished waits until the job's message shows its outcome.
func (e *env) finished(it *discordtest.Interaction) discordtest.Message {
	e.t.Helper()
	m, err := it.WaitOriginal(ctxT(e.t), func(m discordtest.Message) bool {
		return len(m.Attachments) > 0 || strings.HasPrefix(m.Content, "⚠️") || strings.HasPrefix(m.Content, "✖️")
	})
	if err != nil {
		e.t.Fatalf("job did not finish: %v\nmessage: %+v\nlogs:\n%s", err, it.Original(), e.logs)
	}
	return m
}

func pngSize(t *testing.T, data []byte) (int, int) {
	t.Helper()
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("attachment is not a PNG: %v", err)
	}
	return cfg.Width, cfg.Height
}

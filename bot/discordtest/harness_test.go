package discordtest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"lorabot/bot"
)

// redirectEndpoints points discordgo at the fake with the bot package's
// own redirect, so these tests exercise the one the bot uses.
func redirectEndpoints(apiURL string) {
	if err := bot.RedirectEndpoints(apiURL); err != nil {
		panic(err)
	}
}

// harness is a fake Discord with a real discordgo session connected to it.
// Tests run one at a time because discordgo's endpoints are globals.
type harness struct {
	t   *testing.T
	srv *Server
	dg  *discordgo.Session
	ctx context.Context
}

func start(t *testing.T, opts Options, handle func(*discordgo.Session, *discordgo.InteractionCreate)) *harness {
	t.Helper()
	srv := New(t, opts)
	redirectEndpoints(srv.APIURL())
	dg, err := discordgo.New("Bot " + srv.Token())
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("DG_DEBUG") != "" {
		dg.LogLevel = discordgo.LogInformational
	}
	if handle != nil {
		dg.AddHandler(handle)
	}
	if err := dg.Open(); err != nil {
		t.Fatalf("opening the session: %v", err)
	}
	// Registered after New's cleanup, so it runs first: the session must
	// stop before the fake.
	t.Cleanup(func() { closeSession(srv, dg) })
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	if err := srv.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitHeartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, srv: srv, dg: dg, ctx: ctx}
}

// closeSession stops a discordgo session once its latest connection has
// sent its first heartbeat (see Server.WaitHeartbeat for why).
func closeSession(srv *Server, dg *discordgo.Session) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.WaitHeartbeat(ctx)
	// A heartbeat that fails on the closed socket would otherwise start a
	// reconnect loop that outlives the test (and re-reads the endpoints).
	dg.Lock()
	dg.ShouldReconnectOnError = false
	dg.Unlock()
	dg.Close()
}

// startREST is a fake Discord with a discordgo session that never opens
// the gateway, for tests of REST routes only (closing an open session
// costs discordgo a one-second sleep).
func startREST(t *testing.T, opts Options) *harness {
	t.Helper()
	srv := New(t, opts)
	redirectEndpoints(srv.APIURL())
	dg, err := discordgo.New("Bot " + srv.Token())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return &harness{t: t, srv: srv, dg: dg, ctx: ctx}
}

// restError unwraps a discordgo REST error, failing the test if err is
// something else.
func restError(t *testing.T, err error) *discordgo.RESTError {
	t.Helper()
	var re *discordgo.RESTError
	if !errors.As(err, &re) {
		t.Fatalf("want a discordgo REST error, got %v", err)
	}
	return re
}

func wantAPIError(t *testing.T, err error, status, code int) {
	t.Helper()
	re := restError(t, err)
	if re.Response.StatusCode != status {
		t.Errorf("status %d, want %d (%s)", re.Response.StatusCode, status, re.ResponseBody)
	}
	if re.Message == nil || re.Message.Code != code {
		t.Errorf("error body %s, want code %d", re.ResponseBody, code)
	}
}

func file(name string, size int) *discordgo.File {
	return &discordgo.File{Name: name, ContentType: "image/png", Reader: bytes.NewReader(bytes.Repeat([]byte{'x'}, size))}
}

func ptr[T any](v T) *T { return &v }

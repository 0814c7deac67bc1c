package discordtest

import (
	"context"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

func TestSessionOpensAndReceivesReady(t *testing.T) {
	h := start(t, Options{}, nil)
	if got := h.srv.Identifies(); got != 1 {
		t.Errorf("identifies = %d, want 1", got)
	}
	if h.srv.Intents()&privilegedIntents != 0 {
		t.Errorf("discordgo's default intents %d include privileged ones", h.srv.Intents())
	}
	if u := h.dg.State.User; u == nil || u.ID != DefaultAppID || !u.Bot {
		t.Errorf("READY user = %+v, want the bot %s", u, DefaultAppID)
	}
	if app := h.dg.State.Application; app == nil || app.ID != DefaultAppID {
		t.Errorf("READY application = %+v, want id %s", app, DefaultAppID)
	}
	me, err := h.dg.User("@me")
	if err != nil || me.ID != DefaultAppID {
		t.Errorf("GET users/@me = %+v, %v", me, err)
	}
}

func TestBadTokenIsRefused(t *testing.T) {
	srv := New(t, Options{Token: "right"})
	redirectEndpoints(srv.APIURL())
	dg, err := discordgo.New("Bot wrong")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dg.User("@me"); err == nil {
		t.Error("GET users/@me with a wrong token succeeded")
	} else {
		wantAPIError(t, err, 401, 0)
	}
	if err := dg.Open(); err == nil {
		dg.Close()
		t.Fatal("the gateway accepted a wrong token")
	}
	if srv.Connected() || srv.Identifies() != 0 {
		t.Error("a session with a wrong token counts as connected")
	}
	if v := srv.Violations(); len(v) != 0 {
		t.Errorf("a wrong token is not the bot breaking a rule, yet: %q", v)
	}
}

func TestPrivilegedIntentClosesGateway(t *testing.T) {
	srv := New(t, Options{ExpectViolations: true})
	redirectEndpoints(srv.APIURL())
	dg, _ := discordgo.New("Bot " + srv.Token())
	dg.Identify.Intents = discordgo.IntentsGuilds | discordgo.IntentMessageContent
	if err := dg.Open(); err == nil {
		dg.Close()
		t.Fatal("identify with an ungranted privileged intent was accepted")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := srv.WaitViolation(ctx, "privileged intents"); err != nil {
		t.Error(err)
	}
}

// After op 7 discordgo reconnects and resumes; an interaction sent while
// it is away is replayed, not lost.
func TestReconnectResumesAndReplays(t *testing.T) {
	got := make(chan string, 4)
	h := start(t, Options{}, func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		got <- i.ApplicationCommandData().Name
		s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Content: "hi"},
		})
	})
	h.srv.Reconnect()
	it := h.srv.SendCommand(CommandSpec{Name: "during"})
	select {
	case name := <-got:
		if name != "during" {
			t.Errorf("the bot got /%s, want /during", name)
		}
	case <-h.ctx.Done():
		t.Fatal("the interaction sent during the reconnect never reached the bot")
	}
	if _, err := it.WaitResponse(h.ctx); err != nil {
		t.Fatal(err)
	}
	if h.srv.Resumes() != 1 || h.srv.Identifies() != 1 {
		t.Errorf("resumes %d, identifies %d: want the session resumed once", h.srv.Resumes(), h.srv.Identifies())
	}
}

func TestDropConnectionIsSurvived(t *testing.T) {
	got := make(chan struct{}, 4)
	h := start(t, Options{}, func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		got <- struct{}{}
		s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		})
	})
	h.srv.DropConnection()
	it := h.srv.SendCommand(CommandSpec{Name: "after-drop"})
	if _, err := it.WaitResponse(h.ctx); err != nil {
		t.Fatal(err)
	}
	if h.srv.Resumes() != 1 || h.srv.Identifies() != 1 {
		t.Errorf("resumes = %d, identifies = %d; want the session resumed once", h.srv.Resumes(), h.srv.Identifies())
	}
	if len(got) != 1 {
		t.Errorf("the bot saw the interaction %d times, want once", len(got))
	}
}

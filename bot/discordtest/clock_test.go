package discordtest

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

// idTime reads the time in a snowflake, as a bot would.
func idTime(t *testing.T, id string) time.Time {
	t.Helper()
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		t.Fatalf("id %q is not a snowflake: %v", id, err)
	}
	return time.UnixMilli(int64(n>>22) + discordEpochMS)
}

// A skewed fake stamps its answers and its IDs by its own clock, as a
// Discord whose clock is off from the bot's machine would.
func TestClockSkewShowsInDateAndIDs(t *testing.T) {
	const skew = -7 * time.Second
	h := start(t, Options{ClockSkew: skew}, func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource})
	})
	resp, err := http.Get(h.srv.APIURL() + "gateway")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		t.Fatalf("Date header %q: %v", resp.Header.Get("Date"), err)
	}
	if d := date.Sub(time.Now().Add(skew)); d < -2*time.Second || d > time.Second {
		t.Errorf("Date is %v from the fake's clock (skew %v)", d, skew)
	}
	sent := time.Now()
	it := h.srv.SendCommand(CommandSpec{Name: "x"})
	if d := idTime(t, it.ID).Sub(sent.Add(skew)); d < -time.Second || d > time.Second {
		t.Errorf("the interaction's ID says %v from when it was sent by the fake's clock", d)
	}
	if d := it.Created().Sub(sent); d < -time.Second || d > time.Second {
		t.Errorf("Created %v is not on this machine's clock (sent %v)", it.Created(), sent)
	}
	if _, err := it.WaitResponse(h.ctx); err != nil {
		t.Fatal(err)
	}
}

// An interaction that reaches the bot after its deadline is no fault of
// the bot's if left unanswered, and a violation if answered.
func TestBackdatedInteraction(t *testing.T) {
	answered := make(chan error, 2)
	h := start(t, Options{ResponseDeadline: 300 * time.Millisecond, ExpectViolations: true}, func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		if i.ApplicationCommandData().Name == "answer" {
			answered <- s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource})
		}
	})
	ignored := h.srv.SendCommand(CommandSpec{Name: "ignore", Age: time.Second})
	it := h.srv.SendCommand(CommandSpec{Name: "answer", Age: time.Second})
	wantAPIError(t, <-answered, 404, codeUnknownInteraction)
	if _, err := h.srv.WaitViolation(h.ctx, "reached the bot"); err != nil {
		t.Fatal(err)
	}
	if v := h.srv.Violations(); len(v) != 1 || !strings.Contains(v[0], it.ID) {
		t.Errorf("violations %q: want only the answer to %s", v, it.ID)
	}
	if ignored.Dispatched().IsZero() {
		t.Error("the backdated interaction was not delivered")
	}
}

// Discord holds every route of an interaction token for a 429's
// retry_after; a request before then is flagged and refused again.
func TestRequestBeforeRetryAfterIsFlagged(t *testing.T) {
	errs := make(chan error, 3)
	h := start(t, Options{ExpectViolations: true}, func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		errs <- s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource})
		content := "progress"
		_, err := s.InteractionResponseEdit(i.Interaction, &discordgo.WebhookEdit{Content: &content}, discordgo.WithRetryOnRatelimit(false))
		errs <- err
		// A follow-up is another route of the same token: held too.
		_, err = s.FollowupMessageCreate(i.Interaction, true, &discordgo.WebhookParams{Content: "too soon"}, discordgo.WithRetryOnRatelimit(false))
		errs <- err
	})
	h.srv.RateLimitNext(RouteEditOriginal, 1, 10*time.Second)
	it := h.srv.SendCommand(CommandSpec{Name: "x"})
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	for range 2 {
		var rle *discordgo.RateLimitError
		if err := <-errs; err == nil || !asRateLimit(err, &rle) {
			t.Fatalf("want a 429, got %v", err)
		}
	}
	if v := h.srv.Violations(); len(v) != 1 || !strings.Contains(v[0], "before the retry_after") {
		t.Errorf("violations = %q", v)
	}
	reqs := h.srv.TokenRequests(it.Token)
	if len(reqs) != 3 || reqs[0].Route != RouteCallback || reqs[2].Route != RouteExecuteWebhook {
		t.Errorf("requests on the token: %+v", reqs)
	}
}

func asRateLimit(err error, target **discordgo.RateLimitError) bool {
	rle, ok := err.(*discordgo.RateLimitError)
	*target = rle
	return ok
}

// From API v10 an edit keeps only the new files its attachments list
// names; v9 adds every new file.
func TestEditAttachmentsByAPIVersion(t *testing.T) {
	for _, tc := range []struct {
		version int
		want    string // attachments after an edit whose list names only b.png
	}{
		{9, "b.png,c.png"},
		{10, "b.png"},
	} {
		t.Run("v"+strconv.Itoa(tc.version), func(t *testing.T) {
			h := startREST(t, Options{APIVersion: tc.version})
			if !strings.HasSuffix(h.srv.APIURL(), "/api/v"+strconv.Itoa(tc.version)+"/") {
				t.Fatalf("APIURL %s", h.srv.APIURL())
			}
			h.srv.AddChannel(Channel{ID: "555", GuildID: DefaultGuildID})
			m, err := h.dg.ChannelMessageSendComplex("555", &discordgo.MessageSend{Content: "one", Files: []*discordgo.File{file("a.png", 10)}})
			if err != nil {
				t.Fatal(err)
			}
			// Placeholder 0 names files[0]; files[1] is not listed.
			listed := []*discordgo.MessageAttachment{{ID: "0", Filename: "b.png"}}
			if _, err := h.dg.ChannelMessageEditComplex(&discordgo.MessageEdit{Channel: "555", ID: m.ID, Attachments: &listed,
				Files: []*discordgo.File{file("b.png", 20), file("c.png", 30)}}); err != nil {
				t.Fatal(err)
			}
			got, _ := h.srv.Message(m.ID)
			var names []string
			for _, a := range got.Attachments {
				names = append(names, a.Filename)
			}
			if strings.Join(names, ",") != tc.want {
				t.Errorf("attachments %v, want %s", names, tc.want)
			}
		})
	}
}

// RevokeToken is a token reset: the gateway closes with 4004 and REST
// answers 401.
func TestRevokeToken(t *testing.T) {
	h := startREST(t, Options{})
	live, err := discordgo.New("Bot " + h.srv.Token())
	if err != nil {
		t.Fatal(err)
	}
	live.ShouldReconnectOnError = false
	if err := live.Open(); err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if err := h.srv.WaitReady(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.srv.RevokeToken()
	if h.srv.Connected() {
		t.Error("the session is still connected after the token was revoked")
	}
	if _, err := h.dg.User("@me"); err == nil {
		t.Fatal("REST still takes a revoked token")
	} else {
		wantAPIError(t, err, 401, 0)
	}
	// A fresh connection is refused at identify.
	dg, err := discordgo.New("Bot " + h.srv.Token())
	if err != nil {
		t.Fatal(err)
	}
	err = dg.Open()
	var ce *websocket.CloseError
	if err == nil {
		dg.Close()
		t.Fatal("identify with a revoked token was accepted")
	}
	if !asClose(err, &ce) || ce.Code != 4004 {
		t.Errorf("identify failed with %v, want close 4004", err)
	}
}

func asClose(err error, target **websocket.CloseError) bool {
	ce, ok := err.(*websocket.CloseError)
	*target = ce
	return ok
}

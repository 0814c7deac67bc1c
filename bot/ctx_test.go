package bot_test

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"lorabot/bot"
	"lorabot/bot/discordtest"
)

// ctxRoutes exercise Ctx's reply methods the way handlers combine them.
// Each handler reports its methods' errors on errs.
func ctxRoutes(errs chan<- error) func(h *harness, r *bot.Router) {
	report := func(err error) error {
		errs <- err
		return err
	}
	return func(h *harness, r *bot.Router) {
		r.Command(bot.Command{Def: command("twice"), Handle: func(c *bot.Ctx) error {
			if err := c.Reply(bot.Message{Content: "first"}); err != nil {
				return report(err)
			}
			return report(c.Reply(bot.Message{Content: "second"}))
		}})
		r.Command(bot.Command{Def: command("deferprivate"), Handle: func(c *bot.Ctx) error {
			if err := c.Defer(true); err != nil {
				return report(err)
			}
			return report(c.Reply(bot.Message{Content: "private result", Ephemeral: true}))
		}})
		r.Command(bot.Command{Def: command("deferpublic"), Handle: func(c *bot.Ctx) error {
			if err := c.Defer(false); err != nil {
				return report(err)
			}
			if err := c.Reply(bot.Message{Content: "public result"}); err != nil {
				return report(err)
			}
			return report(c.Reply(bot.Message{Content: "and a note", Ephemeral: true}))
		}})
		r.Command(bot.Command{Def: command("deferthenprivate"), Handle: func(c *bot.Ctx) error {
			if err := c.Defer(false); err != nil {
				return report(err)
			}
			// Defer is idempotent: a second one sends nothing.
			if err := c.Defer(false); err != nil {
				return report(err)
			}
			return report(c.Reply(bot.Message{Content: "only for you", Ephemeral: true}))
		}})
		r.Command(bot.Command{Def: command("menu"), Handle: func(c *bot.Ctx) error {
			return report(c.Reply(bot.Message{Content: "menu", Components: buttons("update:1", "deferupdate:2", "deferprivate:3", "form:4")}))
		}})
		r.Component("update", func(c *bot.Ctx, arg string) error {
			return report(c.Update(bot.Message{Content: "updated " + arg}))
		})
		r.Component("deferupdate", func(c *bot.Ctx, arg string) error {
			if err := c.Defer(false); err != nil {
				return report(err)
			}
			return report(c.Update(bot.Message{Content: "edited " + arg, Components: buttons("update:1")}))
		})
		r.Component("deferprivate", func(c *bot.Ctx, arg string) error {
			if err := c.Defer(false); err != nil {
				return report(err)
			}
			return report(c.Reply(bot.Message{Content: "a private word " + arg, Ephemeral: true}))
		})
		r.Component("form", func(c *bot.Ctx, arg string) error {
			return report(c.Modal("named:"+arg, "Name it", discordgo.ActionsRow{Components: []discordgo.MessageComponent{
				discordgo.TextInput{CustomID: "name", Label: "Name", Style: discordgo.TextInputShort, Required: true, MaxLength: 32},
			}}))
		})
		r.Modal("named", func(c *bot.Ctx, arg string) error {
			var name string
			for _, row := range c.I.ModalSubmitData().Components {
				if ar, ok := row.(*discordgo.ActionsRow); ok {
					for _, comp := range ar.Components {
						if ti, ok := comp.(*discordgo.TextInput); ok && ti.CustomID == "name" {
							name = ti.Value
						}
					}
				}
			}
			return report(c.Reply(bot.Message{Content: fmt.Sprintf("form %s named %s", arg, name), Ephemeral: true}))
		})
		r.Command(bot.Command{Def: command("modallate"), Handle: func(c *bot.Ctx) error {
			if err := c.Reply(bot.Message{Content: "replied"}); err != nil {
				return report(err)
			}
			err := c.Modal("named:9", "Too late", discordgo.ActionsRow{Components: []discordgo.MessageComponent{
				discordgo.TextInput{CustomID: "name", Label: "Name", Style: discordgo.TextInputShort},
			}})
			if err == nil {
				return report(fmt.Errorf("Modal after a reply succeeded"))
			}
			return report(nil)
		}})
		r.Command(bot.Command{Def: command("many", autocompleted(option(discordgo.ApplicationCommandOptionString, "q"))),
			Handle: func(c *bot.Ctx) error { return nil },
			Autocomplete: func(c *bot.Ctx) error {
				var cs []*discordgo.ApplicationCommandOptionChoice
				for i := range 40 {
					cs = append(cs, &discordgo.ApplicationCommandOptionChoice{Name: fmt.Sprint("choice ", i), Value: fmt.Sprint(i)})
				}
				if err := c.Choices(cs); err != nil {
					return report(err)
				}
				if err := c.Choices(cs); err == nil {
					return report(fmt.Errorf("a second Choices succeeded"))
				}
				return report(nil)
			}})
		r.Command(bot.Command{Def: command("post"), Handle: func(c *bot.Ctx) error {
			if err := c.Reply(bot.Message{Content: "working", Ephemeral: true}); err != nil {
				return report(err)
			}
			_, err := c.ChannelMessage(bot.Message{Content: fmt.Sprintf("<@%s> your images are ready", c.UserID()), AllowUserMention: true})
			return report(err)
		}})
	}
}

func TestCtxReplies(t *testing.T) {
	errs := make(chan error, 10)
	h := start(t, setup{routes: ctxRoutes(errs)})
	done := func(t *testing.T) {
		t.Helper()
		if err := receive(t, errs); err != nil {
			t.Fatalf("handler: %v", err)
		}
		h.settle()
	}

	t.Run("second reply is a follow-up", func(t *testing.T) {
		it := h.send("twice")
		done(t)
		if cb := h.response(it); cb.Type != discordgo.InteractionResponseChannelMessageWithSource || cb.Content != "first" {
			t.Errorf("first answer type %d %q", cb.Type, cb.Content)
		}
		if f := it.Followups(); len(f) != 1 || f[0].Content != "second" || f[0].Ephemeral() {
			t.Errorf("follow-ups %+v, want one public \"second\"", f)
		}
	})

	t.Run("private defer then reply", func(t *testing.T) {
		it := h.send("deferprivate")
		done(t)
		if cb := h.response(it); cb.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource || !cb.Ephemeral() {
			t.Errorf("answer type %d ephemeral=%v, want a private defer", cb.Type, cb.Ephemeral())
		}
		if o := it.Original(); o.Content != "private result" || !o.Ephemeral() || o.Loading() {
			t.Errorf("original %+v, want the private result", o)
		}
		if f := it.Followups(); len(f) != 0 {
			t.Errorf("follow-ups %+v", f)
		}
	})

	t.Run("public defer then replies", func(t *testing.T) {
		it := h.send("deferpublic")
		done(t)
		if o := it.Original(); o.Content != "public result" || o.Ephemeral() || o.Loading() {
			t.Errorf("original %+v, want the public result", o)
		}
		if f := it.Followups(); len(f) != 1 || f[0].Content != "and a note" || !f[0].Ephemeral() {
			t.Errorf("follow-ups %+v, want one private note", f)
		}
	})

	t.Run("public defer then private reply", func(t *testing.T) {
		it := h.send("deferthenprivate")
		done(t)
		if cb := h.response(it); cb.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource || cb.Ephemeral() {
			t.Errorf("answer type %d ephemeral=%v, want a public defer", cb.Type, cb.Ephemeral())
		}
		wantOnlyPrivate(t, h, it, "only for you")
	})

	menu := h.send("menu")
	if err := receive(t, errs); err != nil {
		t.Fatal(err)
	}
	src := h.original(menu, func(m discordtest.Message) bool { return len(m.Buttons()) == 4 })

	t.Run("button: private reply after a deferred update", func(t *testing.T) {
		bob := discordtest.User{ID: "300000000000000099", Name: "bob"}
		it := h.dc.ClickButton(src, "deferprivate:3", bob)
		done(t)
		if m, _ := h.dc.Message(src.ID); m.Content != "menu" || len(m.Buttons()) != 4 {
			t.Errorf("a private reply changed the message the button is on: %+v", m)
		}
		f := it.Followups()
		if len(f) != 1 || f[0].Content != "a private word 3" || !f[0].Ephemeral() {
			t.Errorf("follow-ups %+v, want one private word", f)
		}
	})

	t.Run("button: modal and its submission", func(t *testing.T) {
		it := h.dc.ClickButton(src, "form:4", discordtest.User{})
		done(t)
		cb := h.response(it)
		if cb.Type != discordgo.InteractionResponseModal || cb.CustomID != "named:4" {
			t.Fatalf("answer type %d custom_id %q, want the modal", cb.Type, cb.CustomID)
		}
		sub := h.dc.SubmitModal(it, map[string]string{"name": "castles"}, discordtest.User{})
		done(t)
		if cb := h.response(sub); cb.Content != "form 4 named castles" || !cb.Ephemeral() {
			t.Errorf("submission answered %q ephemeral=%v", cb.Content, cb.Ephemeral())
		}
	})

	t.Run("button: deferred update then update", func(t *testing.T) {
		it := h.dc.ClickButton(src, "deferupdate:2", discordtest.User{})
		done(t)
		if cb := h.response(it); cb.Type != discordgo.InteractionResponseDeferredMessageUpdate {
			t.Errorf("answer type %d, want a deferred update (6)", cb.Type)
		}
		if m, _ := h.dc.Message(src.ID); m.Content != "edited 2" || len(m.Buttons()) != 1 {
			t.Errorf("message %+v, want it edited", m)
		}
	})

	t.Run("button: update", func(t *testing.T) {
		cur, _ := h.dc.Message(src.ID)
		it := h.dc.ClickButton(cur, "update:1", discordtest.User{})
		done(t)
		if cb := h.response(it); cb.Type != discordgo.InteractionResponseUpdateMessage {
			t.Errorf("answer type %d, want an update (7)", cb.Type)
		}
		if m, _ := h.dc.Message(src.ID); m.Content != "updated 1" || len(m.Buttons()) != 0 {
			t.Errorf("message %+v, want it replaced", m)
		}
	})

	t.Run("modal only as the first answer", func(t *testing.T) {
		it := h.send("modallate")
		done(t) // a second callback would be a violation the fake reports
		if cb := h.response(it); cb.Content != "replied" {
			t.Errorf("answer %q", cb.Content)
		}
	})

	t.Run("choices capped at 25 and answered once", func(t *testing.T) {
		it := h.autocomplete("many", discordtest.String("q", "c").Focus())
		done(t)
		if cb := h.response(it); len(cb.Choices) != bot.MaxChoices || cb.Choices[0].Name != "choice 0" {
			t.Errorf("%d choices, want the first %d", len(cb.Choices), bot.MaxChoices)
		}
	})

	t.Run("channel message mentions the user", func(t *testing.T) {
		user := discordtest.User{ID: "300000000000000011", Name: "alice"}
		it := h.dc.SendCommand(discordtest.CommandSpec{Name: "post", User: user})
		done(t)
		h.response(it)
		var found bool
		for _, m := range h.publicMessages() {
			if m.Kind == discordtest.KindChannel && strings.HasPrefix(m.Content, "<@"+user.ID+">") {
				found = true
			}
		}
		if !found {
			t.Errorf("no channel message for alice: %+v", h.publicMessages())
		}
	})
}

func TestScrubDropsTheTokenFromTransportErrors(t *testing.T) {
	err := &url.Error{Op: "Patch", URL: "http://127.0.0.1:1/api/v9/webhooks/1/SECRET-TOKEN/messages/@original", Err: errors.New("connection refused")}
	got := bot.ScrubForTest(err).Error()
	if strings.Contains(got, "SECRET-TOKEN") || !strings.Contains(got, "connection refused") {
		t.Errorf("scrubbed error %q", got)
	}
}

// A message replaced without files keeps none of its old attachments,
// whether the press was answered at once (callback type 7) or deferred
// first (an edit): Discord keeps every attachment a replacement does not
// list.
func TestReplacingAMessageDropsItsFiles(t *testing.T) {
	h := start(t, setup{routes: func(h *harness, r *bot.Router) {
		r.Command(bot.Command{Def: command("pics"), Handle: func(c *bot.Ctx) error {
			return c.Reply(bot.Message{Content: "page 1", Components: buttons("turn:now", "turnlate:later"),
				Files: []*discordgo.File{{Name: "a.png", ContentType: "image/png", Reader: strings.NewReader("png bytes")}}})
		}})
		r.Component("turn", func(c *bot.Ctx, arg string) error {
			return c.Update(bot.Message{Content: "page 2 " + arg, Components: buttons("turnlate:later")})
		})
		r.Component("turnlate", func(c *bot.Ctx, arg string) error {
			if err := c.Defer(false); err != nil {
				return err
			}
			return c.Update(bot.Message{Content: "page 3 " + arg})
		})
	}})
	for _, press := range []string{"turn:now", "turnlate:later"} {
		it := h.send("pics")
		m := h.original(it, func(m discordtest.Message) bool { return len(m.Attachments) == 1 })
		h.response(h.dc.ClickButton(m, press, discordtest.User{}))
		got := h.original(it, func(m discordtest.Message) bool {
			return strings.HasPrefix(m.Content, "page ") && m.Content != "page 1"
		})
		if len(got.Attachments) != 0 {
			t.Errorf("after %s the message still has %d attachments", press, len(got.Attachments))
		}
	}
}

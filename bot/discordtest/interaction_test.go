package discordtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// The common shape of a slow command: defer, edit the reply with the
// result file, then add a follow-up with another file.
func TestDeferEditFollowupWithFiles(t *testing.T) {
	errs := make(chan error, 1)
	h := start(t, Options{}, func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		errs <- func() error {
			if err := s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
				Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
			}); err != nil {
				return fmt.Errorf("defer: %w", err)
			}
			content := "done: " + i.ApplicationCommandData().Options[0].StringValue()
			if _, err := s.InteractionResponseEdit(i.Interaction, &discordgo.WebhookEdit{
				Content: &content,
				Embeds:  &[]*discordgo.MessageEmbed{{Title: "result", Image: &discordgo.MessageEmbedImage{URL: "attachment://a.png"}}},
				Files:   []*discordgo.File{file("a.png", 1000)},
			}); err != nil {
				return fmt.Errorf("edit: %w", err)
			}
			_, err := s.FollowupMessageCreate(i.Interaction, true, &discordgo.WebhookParams{
				Content: "extra", Files: []*discordgo.File{file("b.png", 2000)},
			})
			return err
		}()
	})
	it := h.srv.SendCommand(CommandSpec{Name: "imagine", Options: []Option{String("prompt", "a cat")}})
	cb, err := it.WaitResponse(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cb.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource || cb.Ephemeral() {
		t.Errorf("callback %+v, want a public deferral", cb)
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	orig := it.Original()
	if orig.Content != "done: a cat" || orig.Loading() || len(orig.Embeds) != 1 {
		t.Errorf("original = %q loading=%v embeds=%d", orig.Content, orig.Loading(), len(orig.Embeds))
	}
	if len(orig.Attachments) != 1 || orig.Attachments[0].Filename != "a.png" || orig.Attachments[0].Size != 1000 {
		t.Fatalf("original attachments = %+v", orig.Attachments)
	}
	if it.Edits() != 1 {
		t.Errorf("edits = %d, want 1", it.Edits())
	}
	// The attachment URL serves the bytes that were uploaded.
	resp, err := http.Get(orig.Attachments[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(body) != 1000 {
		t.Errorf("attachment URL served %d bytes, want 1000", len(body))
	}
	fu := it.Followups()
	if len(fu) != 1 || fu[0].Content != "extra" || len(fu[0].Attachments) != 1 || fu[0].Attachments[0].Size != 2000 {
		t.Errorf("follow-ups = %+v", fu)
	}
	if msgs := h.srv.ChannelMessages(DefaultChannelID); len(msgs) != 2 || msgs[0].Kind != KindOriginal || msgs[1].Kind != KindFollowup {
		t.Errorf("channel has %d messages: %+v", len(msgs), msgs)
	}
}

// Discord documents that the first follow-up after a deferral, while the
// reply still shows "thinking", edits that reply.
func TestFirstFollowupAfterDeferEditsOriginal(t *testing.T) {
	errs := make(chan error, 1)
	h := start(t, Options{}, func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		errs <- func() error {
			if err := s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
				Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
				Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral},
			}); err != nil {
				return err
			}
			if _, err := s.FollowupMessageCreate(i.Interaction, false, &discordgo.WebhookParams{Content: "first"}); err != nil {
				return err
			}
			m, err := s.FollowupMessageCreate(i.Interaction, true, &discordgo.WebhookParams{Content: "second"})
			if err != nil {
				return err
			}
			content := "second, edited"
			_, err = s.FollowupMessageEdit(i.Interaction, m.ID, &discordgo.WebhookEdit{Content: &content})
			return err
		}()
	})
	it := h.srv.SendCommand(CommandSpec{Name: "x"})
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	orig := it.Original()
	if orig.Content != "first" || !orig.Ephemeral() {
		t.Errorf("original = %q ephemeral=%v, want the first follow-up's text, still ephemeral", orig.Content, orig.Ephemeral())
	}
	if fu := it.Followups(); len(fu) != 1 || fu[0].Content != "second, edited" || len(fu[0].EditLog) != 1 {
		t.Errorf("follow-ups = %+v, want only the second, edited once", fu)
	}
	if it.Edits() != 0 {
		t.Errorf("edits of @original = %d; follow-ups and their edits are not PATCHes of it", it.Edits())
	}
	if msgs := h.srv.ChannelMessages(DefaultChannelID); len(msgs) != 1 {
		t.Errorf("%d public messages, want 1 (the ephemeral reply is hidden)", len(msgs))
	}
}

func TestAutocompleteChoices(t *testing.T) {
	errs := make(chan error, 1)
	h := start(t, Options{ExpectViolations: true}, func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		data := i.ApplicationCommandData()
		var focused *discordgo.ApplicationCommandInteractionDataOption
		for _, o := range data.Options {
			if o.Focused {
				focused = o
			}
		}
		n := 25
		if focused.StringValue() == "many" {
			n = 26
		}
		var cs []*discordgo.ApplicationCommandOptionChoice
		for k := range n {
			cs = append(cs, &discordgo.ApplicationCommandOptionChoice{Name: fmt.Sprint("lora ", k), Value: fmt.Sprint("lora", k)})
		}
		errs <- s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionApplicationCommandAutocompleteResult,
			Data: &discordgo.InteractionResponseData{Choices: cs},
		})
	})

	it := h.srv.SendAutocomplete(CommandSpec{Name: "imagine", Options: []Option{String("prompt", "x"), String("lora", "few").Focus()}})
	if err := <-errs; err != nil {
		t.Fatalf("25 choices refused: %v", err)
	}
	cb, _ := it.WaitResponse(h.ctx)
	if len(cb.Choices) != 25 || cb.Choices[3].Value != "lora3" {
		t.Errorf("choices = %d, fourth %v", len(cb.Choices), cb.Choices[3].Value)
	}

	h.srv.SendAutocomplete(CommandSpec{Name: "imagine", Options: []Option{String("lora", "many").Focus()}})
	wantAPIError(t, <-errs, 400, codeInvalidFormBody)
	if v := h.srv.Violations(); len(v) != 1 || !strings.Contains(v[0], "data.choices") {
		t.Errorf("violations = %q", v)
	}
}

func TestLateResponseFlagged(t *testing.T) {
	errs := make(chan error, 1)
	var h *harness
	h = start(t, Options{ResponseDeadline: 50 * time.Millisecond, ExpectViolations: true}, func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		// Answer only once the fake has seen the deadline pass.
		if _, err := h.srv.WaitViolation(h.ctx, "no response within"); err != nil {
			errs <- err
			return
		}
		errs <- s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		})
	})
	it := h.srv.SendCommand(CommandSpec{Name: "slow"})
	wantAPIError(t, <-errs, 404, codeUnknownInteraction)
	if _, ok := it.Response(); ok {
		t.Error("a late callback was taken as the response")
	}
	if v := h.srv.Violations(); len(v) != 1 {
		t.Errorf("violations = %q, want exactly the missed deadline", v)
	}
}

func TestExpiredTokenFlagged(t *testing.T) {
	errs := make(chan error, 2)
	h := start(t, Options{TokenLifetime: time.Nanosecond, ExpectViolations: true}, func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		errs <- s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		})
		content := "too late"
		_, err := s.InteractionResponseEdit(i.Interaction, &discordgo.WebhookEdit{Content: &content})
		errs <- err
	})
	it := h.srv.SendCommand(CommandSpec{Name: "slow"})
	if err := <-errs; err != nil {
		t.Fatalf("the callback itself is not bound by the token lifetime: %v", err)
	}
	wantAPIError(t, <-errs, 401, codeInvalidToken)
	if it.Original().Content != "" || it.Edits() != 0 {
		t.Error("an edit with an expired token was applied")
	}
	if v := h.srv.Violations(); len(v) != 1 || !strings.Contains(v[0], "lifetime") {
		t.Errorf("violations = %q", v)
	}
}

func TestSecondCallbackRefused(t *testing.T) {
	errs := make(chan error, 2)
	h := start(t, Options{ExpectViolations: true}, func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		for range 2 {
			errs <- s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
				Type: discordgo.InteractionResponseChannelMessageWithSource,
				Data: &discordgo.InteractionResponseData{Content: "hello"},
			})
		}
	})
	it := h.srv.SendCommand(CommandSpec{Name: "twice"})
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, <-errs, 400, codeAlreadyAcked)
	if cb, _ := it.Response(); cb.Content != "hello" {
		t.Errorf("response = %+v", cb)
	}
	if v := h.srv.Violations(); len(v) != 1 || !strings.Contains(v[0], "second callback") {
		t.Errorf("violations = %q", v)
	}
}

// discordgo sleeps retry_after on a 429 and retries; the bot must get its
// edit through.
func TestRateLimitedEditIsRetried(t *testing.T) {
	errs := make(chan error, 1)
	h := start(t, Options{}, func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		errs <- func() error {
			if err := s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
				Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
			}); err != nil {
				return err
			}
			content := "progress 50%"
			_, err := s.InteractionResponseEdit(i.Interaction, &discordgo.WebhookEdit{Content: &content})
			return err
		}()
	})
	h.srv.RateLimitNext(RouteEditOriginal, 2, 20*time.Millisecond)
	it := h.srv.SendCommand(CommandSpec{Name: "x"})
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if got := h.srv.RequestCount(RouteEditOriginal, http.StatusTooManyRequests); got != 2 {
		t.Errorf("%d rate-limited edits, want 2", got)
	}
	if m, err := it.WaitOriginal(h.ctx, func(m Message) bool { return m.Content == "progress 50%" }); err != nil {
		t.Errorf("%v (original %q)", err, m.Content)
	}
	if it.Edits() != 1 {
		t.Errorf("edits = %d, want 1", it.Edits())
	}
}

func TestFailNextAndChannels(t *testing.T) {
	h := startREST(t, Options{ExpectViolations: true})
	h.srv.AddChannel(Channel{ID: "555", GuildID: DefaultGuildID, Name: "images"})
	h.srv.AddChannel(Channel{ID: "666", GuildID: DefaultGuildID, NoAccess: true})

	h.srv.FailNext(RouteCreateMessage, http.StatusServiceUnavailable)
	_, err := h.dg.ChannelMessageSend("555", "one")
	wantAPIError(t, err, 503, 0)
	if _, err := h.dg.ChannelMessageSend("555", "two"); err != nil {
		t.Fatalf("the fault lasted past one request: %v", err)
	}
	msgs := h.srv.ChannelMessages("555")
	if len(msgs) != 1 || msgs[0].Content != "two" || msgs[0].Kind != KindChannel {
		t.Errorf("channel 555 = %+v", msgs)
	}
	edited, err := h.dg.ChannelMessageEdit("555", msgs[0].ID, "two, edited")
	if err != nil || edited.Content != "two, edited" {
		t.Errorf("edit = %+v, %v", edited, err)
	}
	if ch, err := h.dg.Channel("555"); err != nil || ch.Name != "images" || ch.GuildID != DefaultGuildID {
		t.Errorf("GET channel = %+v, %v", ch, err)
	}

	_, err = h.dg.ChannelMessageSend("666", "no access")
	wantAPIError(t, err, 403, codeMissingAccess)
	if v := h.srv.Violations(); len(v) != 0 {
		t.Errorf("a channel without access is not a violation, yet: %q", v)
	}
	_, err = h.dg.ChannelMessageSend("777", "nowhere")
	wantAPIError(t, err, 404, codeUnknownChannel)
	if v := h.srv.Violations(); len(v) != 1 || !strings.Contains(v[0], "unknown channel 777") {
		t.Errorf("violations = %q", v)
	}
}

// A PATCH that lists attachments keeps only those; new files are added.
func TestEditKeepsOnlyListedAttachments(t *testing.T) {
	h := startREST(t, Options{})
	h.srv.AddChannel(Channel{ID: "555", GuildID: DefaultGuildID})
	m, err := h.dg.ChannelMessageSendComplex("555", &discordgo.MessageSend{
		Content: "three", Files: []*discordgo.File{file("1.png", 10), file("2.png", 20), file("3.png", 30)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Attachments) != 3 {
		t.Fatalf("posted %d attachments", len(m.Attachments))
	}
	keep := []*discordgo.MessageAttachment{m.Attachments[1]}
	_, err = h.dg.ChannelMessageEditComplex(&discordgo.MessageEdit{
		Channel: "555", ID: m.ID, Attachments: &keep, Files: []*discordgo.File{file("4.png", 40)},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := h.srv.Message(m.ID)
	var names []string
	for _, a := range got.Attachments {
		names = append(names, a.Filename)
	}
	if strings.Join(names, ",") != "2.png,4.png" {
		t.Errorf("attachments after edit = %v, want 2.png,4.png", names)
	}
	// Without an attachments list, the existing ones stay.
	content := "text only"
	if _, err := h.dg.ChannelMessageEditComplex(&discordgo.MessageEdit{Channel: "555", ID: m.ID, Content: &content}); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.srv.Message(m.ID); len(got.Attachments) != 2 || got.Content != "text only" {
		t.Errorf("after a text edit: %q with %d attachments", got.Content, len(got.Attachments))
	}
}

// A button opens a modal; submitting it updates the button's message.
func TestButtonModalUpdate(t *testing.T) {
	errs := make(chan error, 3)
	h := start(t, Options{}, func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		var resp *discordgo.InteractionResponse
		switch i.Type {
		case discordgo.InteractionApplicationCommand:
			resp = &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource, Data: &discordgo.InteractionResponseData{
				Content: "result",
				Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
					discordgo.Button{Label: "Rename", CustomID: "rename:1", Style: discordgo.PrimaryButton},
					discordgo.Button{Label: "Site", URL: "https://example.com", Style: discordgo.LinkButton},
				}}},
			}}
		case discordgo.InteractionMessageComponent:
			resp = &discordgo.InteractionResponse{Type: discordgo.InteractionResponseModal, Data: &discordgo.InteractionResponseData{
				CustomID: "rename-modal:1", Title: "Rename",
				Components: []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
					discordgo.TextInput{CustomID: "name", Label: "New name", Style: discordgo.TextInputShort, Required: true, MaxLength: 100},
				}}},
			}}
		case discordgo.InteractionModalSubmit:
			v := i.ModalSubmitData().Components[0].(*discordgo.ActionsRow).Components[0].(*discordgo.TextInput).Value
			resp = &discordgo.InteractionResponse{Type: discordgo.InteractionResponseUpdateMessage, Data: &discordgo.InteractionResponseData{
				Content: "renamed to " + v, Components: []discordgo.MessageComponent{},
			}}
		}
		errs <- s.InteractionRespond(i.Interaction, resp)
	})
	cmd := h.srv.SendCommand(CommandSpec{Name: "imagine"})
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	msg := cmd.Original()
	if b, ok := msg.FindButton("Rename"); !ok || b.CustomID != "rename:1" {
		t.Fatalf("no Rename button on %+v", msg)
	}
	click := h.srv.ClickButton(msg, "rename:1", User{ID: "42", Name: "other"})
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	cb, _ := click.WaitResponse(h.ctx)
	if cb.Type != discordgo.InteractionResponseModal || cb.Title != "Rename" {
		t.Fatalf("click answered %+v", cb)
	}
	h.srv.SubmitModal(click, map[string]string{"name": "sunset"}, User{})
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	got, err := cmd.WaitOriginal(h.ctx, func(m Message) bool { return strings.HasPrefix(m.Content, "renamed") })
	if err != nil {
		t.Fatal(err)
	}
	if got.Content != "renamed to sunset" || len(got.Components) != 0 {
		t.Errorf("message after the modal = %q with %d rows", got.Content, len(got.Components))
	}
}

func TestSendCommandCheckedAgainstRegistration(t *testing.T) {
	h := startREST(t, Options{})
	if _, err := h.dg.ApplicationCommandBulkOverwrite(h.srv.AppID(), "", validCommands()); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{TB: t}
	h.srv.tb = rec
	h.srv.SendCommand(CommandSpec{Name: "imagine", Options: []Option{String("prompt", "x"), String("count", "2")}})
	h.srv.SendCommand(CommandSpec{Name: "nope"})
	h.srv.SendCommand(CommandSpec{Name: "preset", Options: []Option{Subcommand("show", String("name", "a"))}})
	h.srv.tb = t
	if len(rec.errs) != 2 || !strings.Contains(rec.errs[0], `"count" is type Integer`) || !strings.Contains(rec.errs[1], "no command /nope") {
		t.Errorf("test errors = %q", rec.errs)
	}
}

// recorder catches the fake's test failures so a test can check them.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Helper() {}

// What discordgo drops from the Interaction struct (the channel and its
// NSFW flag, attachment_size_limit) is in the raw event.
func TestInteractionCarriesContext(t *testing.T) {
	type raw struct {
		Channel struct {
			ID   string `json:"id"`
			NSFW bool   `json:"nsfw"`
		} `json:"channel"`
		AttachmentSizeLimit int64 `json:"attachment_size_limit"`
	}
	raws := make(chan raw, 2)
	ints := make(chan *discordgo.Interaction, 2)
	h := start(t, Options{AttachmentSizeLimit: 25 << 20}, func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		ints <- i.Interaction
	})
	h.dg.AddHandler(func(s *discordgo.Session, e *discordgo.Event) {
		if e.Type == "INTERACTION_CREATE" {
			var r raw
			if err := json.Unmarshal(e.RawData, &r); err != nil {
				t.Error(err)
			}
			raws <- r
		}
	})
	h.srv.SendCommand(CommandSpec{Name: "imagine", ChannelID: "900", NSFW: true,
		Permissions: strconv.FormatInt(discordgo.PermissionManageGuild, 10), User: User{ID: "7", Name: "admin"}})
	i, r := <-ints, <-raws
	if i.GuildID != DefaultGuildID || i.ChannelID != "900" || i.Member == nil || i.Member.User.ID != "7" {
		t.Fatalf("guild interaction = guild %q channel %q member %+v", i.GuildID, i.ChannelID, i.Member)
	}
	if i.Member.Permissions != discordgo.PermissionManageGuild || i.AppPermissions != DefaultAppPermissions {
		t.Errorf("permissions %d, app permissions %d", i.Member.Permissions, i.AppPermissions)
	}
	if !r.Channel.NSFW || r.Channel.ID != "900" || r.AttachmentSizeLimit != 25<<20 {
		t.Errorf("raw event = %+v", r)
	}

	h.srv.SendCommand(CommandSpec{Name: "imagine", DM: true})
	i, r = <-ints, <-raws
	if i.GuildID != "" || i.Member != nil || i.User == nil || i.User.ID != DefaultUserID || r.Channel.NSFW {
		t.Errorf("DM interaction = guild %q member %v user %+v nsfw %v", i.GuildID, i.Member, i.User, r.Channel.NSFW)
	}
}

package discordtest

import (
	"bytes"
	"encoding/json"
	"image/color"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"lorabot/internal/testkit"
)

// A user-installed command used in someone else's DM reaches the bot
// with no guild and no member, only the user and who authorised it.
func TestUserInstallInteractionHasNoGuild(t *testing.T) {
	type raw struct {
		Owners  map[string]string `json:"authorizing_integration_owners"`
		Channel *struct {
			Type discordgo.ChannelType `json:"type"`
		} `json:"channel"`
		ChannelID *string `json:"channel_id"`
	}
	raws := make(chan raw, 2)
	ints := make(chan *discordgo.Interaction, 2)
	h := start(t, Options{}, func(_ *discordgo.Session, i *discordgo.InteractionCreate) { ints <- i.Interaction })
	h.dg.AddHandler(func(_ *discordgo.Session, e *discordgo.Event) {
		if e.Type == "INTERACTION_CREATE" {
			var r raw
			if err := json.Unmarshal(e.RawData, &r); err != nil {
				t.Error(err)
			}
			raws <- r
		}
	})
	h.srv.SendCommand(CommandSpec{Name: "imagine", UserInstall: true, User: User{ID: "7"}})
	i, r := <-ints, <-raws
	if i.GuildID != "" || i.Member != nil || i.User == nil || i.User.ID != "7" || i.Context != discordgo.InteractionContextPrivateChannel {
		t.Errorf("user-install interaction: guild %q member %v user %+v context %d", i.GuildID, i.Member, i.User, i.Context)
	}
	if r.Owners["1"] != "7" || len(r.Owners) != 1 || i.AuthorizingIntegrationOwners[discordgo.ApplicationIntegrationUserInstall] != "7" {
		t.Errorf("authorizing_integration_owners = %v", r.Owners)
	}
	if i.ChannelID != "pc-7" || r.Channel == nil || r.Channel.Type != discordgo.ChannelTypeDM {
		t.Errorf("channel %q %+v", i.ChannelID, r.Channel)
	}
	// The bot is not in that channel.
	if _, err := h.dg.ChannelMessageSend(i.ChannelID, "hello"); err == nil {
		t.Error("posting in a user-install channel succeeded")
	} else {
		wantAPIError(t, err, 403, codeMissingAccess)
	}

	h.srv.SendCommand(CommandSpec{Name: "imagine", NoChannel: true})
	i, r = <-ints, <-raws
	if i.ChannelID != "" || r.ChannelID != nil || r.Channel != nil || i.GuildID != DefaultGuildID {
		t.Errorf("NoChannel interaction: channel %q raw %v %+v", i.ChannelID, r.ChannelID, r.Channel)
	}
}

func TestChannelOptionIsResolved(t *testing.T) {
	ints := make(chan *discordgo.Interaction, 1)
	h := start(t, Options{}, func(_ *discordgo.Session, i *discordgo.InteractionCreate) { ints <- i.Interaction })
	h.srv.SendCommand(CommandSpec{Name: "settings", Options: []Option{Subcommand("channels",
		String("action", "add"),
		ChannelOption("channel", Channel{ID: "555", GuildID: "100000000000000009", Name: "voice", Type: discordgo.ChannelTypeGuildVoice}))}})
	i := <-ints
	d := i.ApplicationCommandData()
	opt := d.Options[0].Options[1]
	if opt.Type != discordgo.ApplicationCommandOptionChannel || opt.Value != "555" {
		t.Fatalf("channel option = %+v", opt)
	}
	ch := d.Resolved.Channels["555"]
	if d.Resolved == nil || ch == nil || ch.GuildID != "100000000000000009" || ch.Type != discordgo.ChannelTypeGuildVoice || ch.Name != "voice" {
		t.Errorf("resolved channel = %+v", ch)
	}
}

func TestCommandContextsAreCheckedAndHonoured(t *testing.T) {
	h := startREST(t, Options{ExpectViolations: true})
	bad := validCommands()
	bad[0].Contexts = &[]discordgo.InteractionContextType{0, 3}
	bad[1].IntegrationTypes = &[]discordgo.ApplicationIntegrationType{2}
	_, err := h.dg.ApplicationCommandBulkOverwrite(h.srv.AppID(), "", bad)
	wantAPIError(t, err, 400, codeInvalidFormBody)
	if body := string(restError(t, err).ResponseBody); !strings.Contains(body, "contexts") || !strings.Contains(body, "integration_types") {
		t.Errorf("error body does not name both fields: %s", body)
	}

	cmds := validCommands()
	cmds[0].Contexts = &[]discordgo.InteractionContextType{discordgo.InteractionContextGuild}
	cmds[0].IntegrationTypes = &[]discordgo.ApplicationIntegrationType{discordgo.ApplicationIntegrationGuildInstall}
	if _, err := h.dg.ApplicationCommandBulkOverwrite(h.srv.AppID(), "", cmds); err != nil {
		t.Fatal(err)
	}
	if got := h.srv.CommandsIn(""); got[0].Contexts == nil || len(*got[0].Contexts) != 1 {
		t.Errorf("registered contexts = %v", got[0].Contexts)
	}
	rec := &recorder{TB: t}
	h.srv.tb = rec
	h.srv.SendCommand(CommandSpec{Name: "imagine", Options: []Option{String("prompt", "x")}})
	h.srv.SendCommand(CommandSpec{Name: "imagine", DM: true, Options: []Option{String("prompt", "x")}})
	h.srv.SendCommand(CommandSpec{Name: "imagine", UserInstall: true, Options: []Option{String("prompt", "x")}})
	h.srv.SendCommand(CommandSpec{Name: "preset", UserInstall: true, Options: []Option{Subcommand("list")}})
	h.srv.tb = t
	if len(rec.errs) != 3 || !strings.Contains(rec.errs[0], "context 1") || !strings.Contains(rec.errs[1], "context 2") || !strings.Contains(rec.errs[2], "integration type 1") {
		t.Errorf("test errors = %q", rec.errs)
	}
}

func TestAChannelBelongsToOneGuild(t *testing.T) {
	h := startREST(t, Options{})
	h.srv.AddChannel(Channel{ID: "555", GuildID: DefaultGuildID})
	rec := &recorder{TB: t}
	h.srv.tb = rec
	h.srv.SendCommand(CommandSpec{Name: "imagine", ChannelID: "555"})
	h.srv.SendCommand(CommandSpec{Name: "imagine", GuildID: "100000000000000002", ChannelID: "555"})
	h.srv.tb = t
	if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], "belongs to guild") {
		t.Errorf("test errors = %q", rec.errs)
	}
}

// An attached file arrives as its ID, with its details (and a URL that
// serves it) in data.resolved.attachments; Discord takes the content type
// from the name and the size in pixels from the image, when it is one.
func TestAttachmentOptionIsResolvedAndServed(t *testing.T) {
	ints := make(chan *discordgo.Interaction, 2)
	h := start(t, Options{}, func(_ *discordgo.Session, i *discordgo.InteractionCreate) { ints <- i.Interaction })
	png := bytes.NewBuffer(testkit.SolidPNG(t, 40, 30, color.RGBA{A: 255}))
	h.srv.SendCommand(CommandSpec{Name: "describe", Options: []Option{AttachmentOption("image", "cat.png", png.Bytes())}})
	h.srv.SendCommand(CommandSpec{Name: "describe", Options: []Option{AttachmentOption("image", "notes.png", []byte("just text"))}})
	// discordgo hands each event to its own goroutine: match by name.
	got := map[string]*discordgo.MessageAttachment{}
	for range 2 {
		i := <-ints
		d := i.ApplicationCommandData()
		id, _ := d.Options[0].Value.(string)
		a := d.Resolved.Attachments[id]
		if d.Options[0].Type != discordgo.ApplicationCommandOptionAttachment || a == nil {
			t.Fatalf("attachment option %+v, resolved %+v", d.Options[0], d.Resolved)
		}
		got[a.Filename] = a
	}
	for _, want := range []struct {
		name string
		size int64
		w, h int
		body []byte
	}{{"cat.png", int64(png.Len()), 40, 30, png.Bytes()}, {"notes.png", 9, 0, 0, []byte("just text")}} {
		a := got[want.name]
		if a == nil {
			t.Fatalf("no attachment %s arrived: %v", want.name, got)
		}
		if a.Filename != want.name || a.Size != int(want.size) || a.ContentType != "image/png" || a.Width != want.w || a.Height != want.h {
			t.Errorf("resolved attachment %+v, want %s of %d bytes, %dx%d", a, want.name, want.size, want.w, want.h)
		}
		resp, err := http.Get(a.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(body, want.body) {
			t.Errorf("%s served %d bytes, want %d", a.URL, len(body), len(want.body))
		}
	}
}

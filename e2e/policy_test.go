package e2e

import (
	"strconv"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"lorabot/a1111"
	"lorabot/a1111/a1111test"
	"lorabot/bot/discordtest"
	"lorabot/config"
)

// Each Discord server is its own place: these tests set a server's rules
// with /settings and /loras set, as its admins would, and check what
// /imagine then does there, through the real bot and both fakes.

// otherGuild is a second server the bot is in (DISCORD_GUILD_ID unset).
const otherGuild = "100000000000000002"

// nsfwChannel is an age-restricted channel of the default guild.
const nsfwChannel = "200000000000000099"

var manageServer = strconv.FormatInt(discordgo.PermissionManageGuild, 10)

// admin is bob with Manage Server in guild ("" for the default one).
func admin(guildID string) discordtest.CommandSpec {
	return discordtest.CommandSpec{User: bob, GuildID: guildID, Permissions: manageServer}
}

// member is alice in guild's channel; nsfw picks the age-restricted one.
func member(guildID string, nsfw bool) discordtest.CommandSpec {
	spec := discordtest.CommandSpec{User: alice, GuildID: guildID}
	if nsfw {
		spec.ChannelID, spec.NSFW = nsfwChannel, true
	}
	return spec
}

// settings runs /settings as spec (an admin) with one subcommand (or a
// group holding one) and fails the test if it is refused.
func (e *env) settings(spec discordtest.CommandSpec, sub discordtest.Option) {
	e.t.Helper()
	spec.Name, spec.Options = "settings", []discordtest.Option{sub}
	cb := e.response(e.dc.SendCommand(spec))
	if strings.Contains(cb.Content, "Only members") || strings.Contains(cb.Content, "not known") {
		e.t.Fatalf("/settings %s was refused: %q", sub.Name, cb.Content)
	}
}

// imagineIn sends /imagine as spec.
func (e *env) imagineIn(spec discordtest.CommandSpec, opts ...discordtest.Option) *discordtest.Interaction {
	spec.Name, spec.Options = "imagine", opts
	return e.dc.SendCommand(spec)
}

// generateIn runs /imagine as spec to its images and returns what A1111
// received, and the job's final message.
func (e *env) generateIn(spec discordtest.CommandSpec, opts ...discordtest.Option) (a1111.Txt2ImgRequest, discordtest.Message) {
	e.t.Helper()
	before := len(e.sd.Requests())
	it := e.imagineIn(spec, opts...)
	if cb := e.response(it); cb.Ephemeral() {
		e.t.Fatalf("/imagine %v in guild %q channel %q refused: %q", opts, spec.GuildID, spec.ChannelID, cb.Content)
	}
	m := e.finished(it)
	if len(m.Attachments) == 0 {
		e.t.Fatalf("/imagine %v gave no image: %q", opts, m.Content)
	}
	reqs := e.sd.Requests()
	if len(reqs) != before+1 {
		e.t.Fatalf("want one more txt2img, A1111 went from %d to %d", before, len(reqs))
	}
	return reqs[before], m
}

// refusedIn checks /imagine as spec is refused in one private sentence
// saying every want, and that nothing reached A1111.
func (e *env) refusedIn(what string, spec discordtest.CommandSpec, opts []discordtest.Option, want ...string) {
	e.t.Helper()
	before := e.sd.Hits("/sdapi/v1/txt2img")
	refused(e.t, what, e.response(e.imagineIn(spec, opts...)), want...)
	if n := e.sd.Hits("/sdapi/v1/txt2img"); n != before {
		e.t.Errorf("%s: a refused job reached A1111", what)
	}
}

func prompt(p string) []discordtest.Option {
	return []discordtest.Option{discordtest.String("prompt", p)}
}

func TestPolicyBlockRefusesBannedWordsOutsideAgeRestrictedChannels(t *testing.T) {
	e := start(t, setup{tweak: func(c *config.Config) { c.GuildID = "" }})
	e.settings(admin(""), discordtest.SubcommandGroup("ban", discordtest.Subcommand("add", discordtest.String("word", "Nude"))))

	e.refusedIn("a banned word in an ordinary channel", member("", false), prompt("a nude statue"), `"nude"`, "age-restricted")
	req, _ := e.generateIn(member("", true), prompt("a nude statue")...)
	if !strings.Contains(req.Prompt, "a nude statue") {
		t.Errorf("in an age-restricted channel the prompt goes through as written: %q", req.Prompt)
	}
	// Another server bans nothing.
	if req, _ := e.generateIn(member(otherGuild, false), prompt("a nude statue")...); !strings.Contains(req.Prompt, "nude") {
		t.Errorf("another server's prompt: %q", req.Prompt)
	}
	e.refusedIn("the ban lasts", member("", false), prompt("a nude statue"), `"nude"`)
}

func TestPolicySpoilerPostsSpoilersOutsideAgeRestrictedChannels(t *testing.T) {
	e := start(t, setup{})
	e.settings(admin(""), discordtest.Subcommand("policy", discordtest.String("value", "spoiler")))

	_, m := e.generateIn(member("", false), prompt("a castle")...)
	for _, a := range m.Attachments {
		if !strings.HasPrefix(a.Filename, "SPOILER_") {
			t.Errorf("outside an age-restricted channel every image is a spoiler, got %q", a.Filename)
		}
	}
	for _, em := range m.Embeds {
		// Discord never blurs an embed's image: it would show the spoiler.
		if em.Image != nil {
			t.Errorf("a spoiler result's embed shows an image: %q", em.Image.URL)
		}
	}
	_, m = e.generateIn(member("", true), prompt("a castle")...)
	if len(m.Attachments) == 0 || strings.HasPrefix(m.Attachments[0].Filename, "SPOILER_") {
		t.Errorf("in an age-restricted channel no spoiler: %+v", m.Attachments)
	}
	if len(m.Embeds) == 0 || m.Embeds[0].Image == nil || m.Embeds[0].Image.URL != "attachment://"+m.Attachments[0].Filename {
		t.Errorf("a normal result shows its first image in the embed by its file name: %+v", m.Embeds)
	}
}

func TestPolicyAllowGeneratesOnlyInAgeRestrictedChannels(t *testing.T) {
	e := start(t, setup{})
	e.settings(admin(""), discordtest.Subcommand("policy", discordtest.String("value", "allow")))
	e.refusedIn("allow, in an ordinary channel", member("", false), prompt("a castle"), "only in age-restricted channels")
	e.generateIn(member("", true), prompt("a castle")...)
}

func TestPolicyNSFWLoRAMarkedByTrainingTags(t *testing.T) {
	lewd := a1111.LoRA{Name: "lewd_style_v1", Alias: "lewd_style_v1", Path: "/sd/models/Lora/lewd_style_v1.safetensors",
		Meta: a1111.LoRAMeta{TagFrequency: map[string]map[string]int{"10_lewd": {"lewd style": 20, "nude": 12, "1girl": 20}}}}
	castle := a1111.LoRA{Name: "castle_v1", Alias: "castle_v1", Path: "/sd/models/Lora/castle_v1.safetensors",
		Meta: a1111.LoRAMeta{TagFrequency: map[string]map[string]int{"10_castle": {"castle": 20}}}}
	e := start(t, setup{a1111: a1111test.Options{LoRAsJSON: a1111test.MarshalLoRAs([]a1111.LoRA{lewd, castle})}})
	withLoRA := func(name string) []discordtest.Option {
		return []discordtest.Option{discordtest.String("prompt", "a portrait"), discordtest.String("lora", name)}
	}
	e.refusedIn("an NSFW LoRA under block", member("", false), withLoRA("lewd_style_v1"), "lewd_style_v1", "NSFW", "age-restricted")
	e.generateIn(member("", true), withLoRA("lewd_style_v1")...)
	e.generateIn(member("", false), withLoRA("castle_v1")...)

	// An admin's mark wins over the training tags, in that server only.
	cb := e.response(e.loras(admin(""), "set", discordtest.String("name", "castle_v1"), discordtest.Bool("nsfw", true)))
	if !cb.Ephemeral() || !strings.Contains(cb.Content, "this server's mark") {
		t.Fatalf("/loras set nsfw: %+v", cb)
	}
	e.refusedIn("a LoRA the admin marked NSFW", member("", false), withLoRA("castle_v1"), "castle_v1", "NSFW")
}

func TestBoundsMaxStepsRefusesWhatIsTypedAndClampsTheDefault(t *testing.T) {
	e := start(t, setup{})
	e.settings(admin(""), discordtest.Subcommand("limits", discordtest.Int("max_steps", 10)))
	e.refusedIn("steps over the server's bound", member("", false),
		append(prompt("a castle"), discordtest.Int("steps", 20)), "This server allows at most 10 steps", "20")
	// A job that only inherits the bot's default of 20 runs at the bound.
	if req, _ := e.generateIn(member("", false), prompt("a castle")...); req.Steps != 10 {
		t.Errorf("the default steps should come down to the server's 10, A1111 got %d", req.Steps)
	}
}

func TestBoundsCooldownRefusesASecondJob(t *testing.T) {
	e := start(t, setup{})
	e.settings(admin(""), discordtest.Subcommand("limits", discordtest.Int("cooldown", 600)))
	e.generateIn(member("", false), prompt("a castle")...)
	e.refusedIn("a second job within the cooldown", member("", false), prompt("a second castle"), "You can start another job in", "this server's cooldown")
	// The cooldown is alice's: bob may start one.
	bobs := member("", false)
	bobs.User = bob
	e.generateIn(bobs, prompt("bob's castle")...)
}

func TestLorasSetTriggersOnlyInItsServer(t *testing.T) {
	e := start(t, setup{tweak: func(c *config.Config) { c.GuildID = "" }})
	opts := []discordtest.Option{discordtest.String("prompt", "a castle"), discordtest.String("lora", "pixel-art-xl")}

	refused(t, "/loras set without Manage Server", e.response(e.loras(member("", false), "set",
		discordtest.String("name", "pixel-art-xl"), discordtest.String("triggers", "nope"))), "Manage Server")
	cb := e.response(e.loras(admin(""), "set", discordtest.String("name", "PIXEL-ART-XL"),
		discordtest.String("triggers", "pixelated, 8-bit"), discordtest.Number("weight", 0.8)))
	if !cb.Ephemeral() || !strings.Contains(cb.Content, "pixelated, 8-bit") {
		t.Fatalf("/loras set: %+v", cb)
	}
	if req, _ := e.generateIn(member("", false), opts...); req.Prompt != "pixelated, 8-bit, a castle <lora:pixel-art-xl:0.8>" {
		t.Errorf("in the server that set them:\n got %q", req.Prompt)
	}
	if req, _ := e.generateIn(member(otherGuild, false), opts...); req.Prompt != "pixel art, game sprite, a castle <lora:pixel-art-xl:1>" {
		t.Errorf("in another server the LoRA's own apply:\n got %q", req.Prompt)
	}
	info := e.response(e.loras(admin(""), "info", discordtest.String("name", "pixel-art-xl")))
	if len(info.Embeds) != 1 || !strings.Contains(embedText(info.Embeds[0]), "this server's") {
		t.Errorf("/loras info should show the server's settings: %+v", info.Embeds)
	}
	dm := discordtest.CommandSpec{User: bob, DM: true}
	refused(t, "/loras set in a DM", e.response(e.loras(dm, "set", discordtest.String("name", "pixel-art-xl"),
		discordtest.String("triggers", "x"))), "server")
}

func embedText(em *discordgo.MessageEmbed) string {
	var b strings.Builder
	b.WriteString(em.Title + "\n" + em.Description + "\n")
	for _, f := range em.Fields {
		b.WriteString(f.Name + ": " + f.Value + "\n")
	}
	return b.String()
}

func TestPublicFailureMessageHidesTheServer(t *testing.T) {
	e := start(t, setup{})
	// An answer the bot cannot read: the job's own failure, not retried.
	e.sd.SetRouteMode("/sdapi/v1/txt2img", a1111test.ModeMalformed)

	it := e.imagineIn(member("", false), prompt("a castle")...)
	m := e.finished(it)
	if !strings.HasPrefix(m.Content, "⚠️ The image server") || strings.Contains(m.Content, "127.0.0.1") {
		t.Errorf("the channel reads %q; want what happened in words, without the address", m.Content)
	}

	byAdmin := e.imagineIn(admin(""), prompt("a castle")...)
	if m := e.finished(byAdmin); strings.Contains(m.Content, "127.0.0.1") {
		t.Errorf("the public message of an admin's job shows the address too: %q", m.Content)
	}
	f, err := byAdmin.WaitFollowup(ctxT(t), func(m discordtest.Message) bool { return m.Ephemeral() })
	if err != nil {
		t.Fatalf("the admin got no private detail: %v", err)
	}
	if !strings.Contains(f.Content, "127.0.0.1") {
		t.Errorf("the admin's detail should name the server: %q", f.Content)
	}
	// Checked last, when the admin's detail came after alice's job ended.
	for _, f := range it.Followups() {
		if f.Ephemeral() {
			t.Errorf("a member without Manage Server got the detail: %q", f.Content)
		}
	}
}

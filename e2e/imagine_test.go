package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"lorabot/a1111/a1111test"
	"lorabot/bot/discordtest"
)

func TestRegistersTheInterfaceCommands(t *testing.T) {
	e := start(t, setup{})
	if got := e.dc.CommandScope(); got != discordtest.DefaultGuildID {
		t.Errorf("commands registered to %q, want the guild %s", got, discordtest.DefaultGuildID)
	}
	byName := map[string]*discordgo.ApplicationCommand{}
	for _, c := range e.dc.Commands() {
		byName[c.Name] = c
	}
	im := byName["imagine"]
	if im == nil || byName["preset"] == nil || byName["loras"] == nil {
		t.Fatalf("want imagine, preset and loras; got %v", byName)
	}
	// interface.md's options, then its additions after the first release.
	want := []string{"prompt", "negative", "lora", "weight", "lora2", "weight2", "lora3", "weight3", "preset", "checkpoint", "sampler", "steps", "cfg", "seed", "size", "count", "image", "strength"}
	var got []string
	for _, o := range im.Options {
		got = append(got, o.Name)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("imagine options:\n got %v\nwant %v", got, want)
	}
	if d := byName["describe"]; d == nil || len(d.Options) == 0 || d.Options[0].Name != "image" || !d.Options[0].Required || d.Options[0].Type != discordgo.ApplicationCommandOptionAttachment {
		t.Errorf("/describe must take a required image attachment: %+v", d)
	}
	subs := map[string]bool{}
	for _, o := range byName["preset"].Options {
		subs[o.Name] = true
	}
	for _, s := range []string{"save", "list", "show", "delete", "default"} {
		if !subs[s] {
			t.Errorf("/preset lacks %s", s)
		}
	}
}

func TestLoRAAutocompleteRanksWhatWasTyped(t *testing.T) {
	e := start(t, setup{})
	it := e.dc.SendAutocomplete(discordtest.CommandSpec{User: alice, Name: "imagine", Options: []discordtest.Option{
		discordtest.String("prompt", "a cat"), discordtest.String("lora", "pixl").Focus(),
	}})
	cb := e.response(it)
	if cb.Type != discordgo.InteractionApplicationCommandAutocompleteResult || len(cb.Choices) == 0 {
		t.Fatalf("want autocomplete choices, got %+v", cb)
	}
	if v := cb.Choices[0].Value; v != "pixel-art-xl" {
		t.Errorf("a typo of pixel-art-xl should rank it first, got %v", v)
	}
	if !strings.Contains(cb.Choices[0].Name, "SDXL") {
		t.Errorf("choice should tell the family: %q", cb.Choices[0].Name)
	}

	// With an SDXL LoRA picked, sizes suggest SDXL's native 1024x1024 first.
	it = e.dc.SendAutocomplete(discordtest.CommandSpec{User: alice, Name: "imagine", Options: []discordtest.Option{
		discordtest.String("prompt", "a cat"), discordtest.String("lora", "pixel-art-xl"), discordtest.String("size", "").Focus(),
	}})
	cb = e.response(it)
	if len(cb.Choices) == 0 || cb.Choices[0].Value != "1024x1024" {
		t.Errorf("size for an SDXL LoRA: want 1024x1024 first, got %+v", cb.Choices)
	}
}

func TestImagineToImages(t *testing.T) {
	e := start(t, setup{})
	it := e.imagine(alice, discordtest.String("prompt", "a castle"), discordtest.String("lora", "pixel-art-xl"), discordtest.Int("count", 2), discordtest.Int("seed", 42))
	cb := e.response(it)
	if cb.Ephemeral() {
		t.Fatalf("a queued job is public, got ephemeral %q", cb.Content)
	}
	m := e.finished(it)
	if len(m.Attachments) != 2 {
		t.Fatalf("want 2 images, got %d (content %q)", len(m.Attachments), m.Content)
	}
	for _, a := range m.Attachments {
		if w, h := pngSize(t, a.Data); w != 1024 || h != 1024 {
			t.Errorf("an SDXL LoRA should default to 1024x1024, got %dx%d", w, h)
		}
	}
	reqs := e.sd.Requests()
	if len(reqs) != 1 {
		t.Fatalf("want one txt2img, got %d", len(reqs))
	}
	if want := "pixel art, game sprite, a castle <lora:pixel-art-xl:1>"; reqs[0].Prompt != want {
		t.Errorf("prompt sent:\n got %q\nwant %q", reqs[0].Prompt, want)
	}
	if reqs[0].Seed != 42 || reqs[0].BatchSize != 2 {
		t.Errorf("seed/count not sent: %+v", reqs[0])
	}
	if len(m.Embeds) != 1 || !strings.Contains(m.Embeds[0].Description, "<lora:pixel-art-xl:1>") {
		t.Fatalf("result embed should show the prompt as sent: %+v", m.Embeds)
	}
	fields := map[string]string{}
	for _, f := range m.Embeds[0].Fields {
		fields[f.Name] = f.Value
	}
	if !strings.Contains(fields["Seed"], "42") || fields["Size"] != "1024x1024" || fields["Steps"] != "20" {
		t.Errorf("embed fields: %v", fields)
	}
	if _, ok := m.FindButton("Save as preset"); !ok {
		t.Errorf("result should offer Save as preset")
	}
	if e.sd.MaxConcurrent() > 1 {
		t.Errorf("A1111 saw %d requests at once", e.sd.MaxConcurrent())
	}
}

func TestImagineRefusesBadInputWithOneSentence(t *testing.T) {
	e := start(t, setup{})
	cases := []struct {
		name string
		opts []discordtest.Option
		want string
	}{
		{"unknown lora", []discordtest.Option{discordtest.String("prompt", "x"), discordtest.String("lora", "pixelart_xl_v9")}, "pixel-art-xl"},
		{"bad weight", []discordtest.Option{discordtest.String("prompt", "x"), discordtest.String("lora", "add_detail"), discordtest.Number("weight", 3)}, "-2"},
		{"steps", []discordtest.Option{discordtest.String("prompt", "x"), discordtest.Int("steps", 500)}, "150"},
		{"count", []discordtest.Option{discordtest.String("prompt", "x"), discordtest.Int("count", 9)}, "4"},
		{"size", []discordtest.Option{discordtest.String("prompt", "x"), discordtest.String("size", "huge")}, "WIDTHxHEIGHT"},
		{"odd size", []discordtest.Option{discordtest.String("prompt", "x"), discordtest.String("size", "4096x4096")}, "2048"},
		{"refused tag", []discordtest.Option{discordtest.String("prompt", "a cat <hypernet:anime:1>")}, "hypernet"},
		{"typed unknown lora", []discordtest.Option{discordtest.String("prompt", "a cat <lora:ghibli:1>")}, "ghibli"},
		{"weight without lora", []discordtest.Option{discordtest.String("prompt", "x"), discordtest.Number("weight2", 0.5)}, "lora2"},
		{"unknown preset", []discordtest.Option{discordtest.String("prompt", "x"), discordtest.String("preset", "nope")}, "no preset"},
		{"unknown sampler", []discordtest.Option{discordtest.String("prompt", "x"), discordtest.String("sampler", "Eulr a")}, "Euler a"},
		{"unknown checkpoint", []discordtest.Option{discordtest.String("prompt", "x"), discordtest.String("checkpoint", "sdxl_turbo")}, "checkpoint"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cb := e.response(e.imagine(alice, tc.opts...))
			if !cb.Ephemeral() {
				t.Errorf("refusal should be ephemeral: %+v", cb)
			}
			if !strings.Contains(cb.Content, tc.want) {
				t.Errorf("refusal %q should mention %q", cb.Content, tc.want)
			}
			if strings.Count(strings.TrimSpace(cb.Content), "\n") > 0 || strings.Contains(cb.Content, "goroutine") {
				t.Errorf("refusal should be one sentence: %q", cb.Content)
			}
		})
	}
	if n := len(e.sd.Requests()); n != 0 {
		t.Errorf("refused requests must not reach A1111; it got %d", n)
	}
}

func TestA1111DownThenBack(t *testing.T) {
	e := start(t, setup{timings: fastHealth(nil)})
	e.sd.SetMode(a1111test.ModeDown)
	it := e.imagine(alice, discordtest.String("prompt", "a cat"))
	m := e.shows(it, "Waiting for an image server")
	if strings.Contains(m.Content, e.sd.Addr()) {
		t.Errorf("the public message names the server's address: %q", m.Content)
	}
	e.sd.SetMode(a1111test.ModeOK)
	if m = e.finished(it); len(m.Attachments) != 1 {
		t.Errorf("the waiting job should run once A1111 is back: %q", m.Content)
	}
	m = e.finished(e.imagine(bob, discordtest.String("prompt", "a dog")))
	if len(m.Attachments) != 1 {
		t.Errorf("the next user should be served once A1111 is back: %q", m.Content)
	}
}

func TestJobBehindAWebUIUsersJobSaysSoAndCancelSparesTheirs(t *testing.T) {
	e := start(t, setup{a1111: a1111test.Options{StepTime: 20 * time.Millisecond}})
	// Someone at A1111's web page starts a long job: it holds the lock.
	theirs := e.sd.WebUIJob(ctxT(t), 60)
	if err := e.sd.WaitGenerating(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	it := e.job(alice, "a1 a castle", 10)
	m := e.shows(it, "Waiting for the image server")
	if strings.Contains(m.Content, "step") {
		t.Errorf("while queued behind another job the message shows step figures: %q", m.Content)
	}
	e.clickCancel(it, alice)
	if m := e.finished(it); !strings.HasPrefix(m.Content, "✖️") {
		t.Fatalf("the cancelled job says %q", m.Content)
	}
	select {
	case err := <-theirs:
		if err != nil {
			t.Fatalf("the web UI user's job failed: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("the web UI user's job did not finish")
	}
	if n := e.sd.Interrupts(); n != 0 {
		t.Errorf("cancelling a job still queued sent %d /interrupt; it would have stopped the web UI user's job", n)
	}
	for _, j := range e.sd.Jobs() {
		if j.Interrupted {
			t.Errorf("a job was interrupted on A1111: %q", j.Request.Prompt)
		}
	}
}

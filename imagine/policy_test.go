package imagine

import (
	"errors"
	"strings"
	"testing"

	"lorabot/a1111"
	"lorabot/a1111/a1111test"
	"lorabot/gen"
	"lorabot/guild"
)

func TestContentPolicy(t *testing.T) {
	clean := Content{}
	word := Content{BannedWord: "nude"}
	lr := Content{BannedLoRA: "bad_lora"}
	nsfw := Content{NSFWLoRA: "lewd_v1"}
	tests := []struct {
		policy  guild.Policy
		age     bool
		c       Content
		spoiler bool
		refused string // "" allowed
	}{
		{guild.Block, false, clean, false, ""},
		{guild.Block, false, word, false, `"nude" outside age-restricted channels`},
		{guild.Block, false, lr, false, "LoRA bad_lora outside age-restricted"},
		{guild.Block, false, nsfw, false, "lewd_v1 is marked NSFW"},
		{guild.Block, true, word, false, ""},
		{guild.Block, true, Content{BannedWord: "x", BannedLoRA: "y", NSFWLoRA: "z"}, false, ""},
		{guild.Spoiler, false, clean, true, ""},
		{guild.Spoiler, false, nsfw, true, ""},
		{guild.Spoiler, true, nsfw, false, ""},
		{guild.Spoiler, false, word, false, `does not allow "nude" in prompts`},
		{guild.Spoiler, true, lr, false, "does not allow the LoRA bad_lora."},
		{guild.Allow, false, clean, false, "only in age-restricted channels"},
		{guild.Allow, true, nsfw, false, ""},
		{guild.Allow, true, word, false, `"nude" in prompts`},
		{"", false, nsfw, false, "marked NSFW"}, // unset: Block
	}
	for _, tt := range tests {
		spoiler, err := ContentPolicy(tt.policy, tt.age, tt.c)
		switch {
		case tt.refused == "" && err != nil:
			t.Errorf("%s, age-restricted %v, %+v: refused: %v", tt.policy, tt.age, tt.c, err)
		case tt.refused != "" && !isInput(err, tt.refused):
			t.Errorf("%s, age-restricted %v, %+v: want a refusal saying %q, got %v", tt.policy, tt.age, tt.c, tt.refused, err)
		case err == nil && spoiler != tt.spoiler:
			t.Errorf("%s, age-restricted %v, %+v: spoiler %v, want %v", tt.policy, tt.age, tt.c, spoiler, tt.spoiler)
		}
	}
}

func TestScopeInADMIsBlockAndNotAgeRestricted(t *testing.T) {
	s := Scope{Settings: guild.Settings{Policy: guild.Allow}, AgeRestricted: true, DM: true}
	if s.Policy() != guild.Block || s.ageRestricted() {
		t.Errorf("a DM: policy %s, age-restricted %v", s.Policy(), s.ageRestricted())
	}
}

func TestApplyBounds(t *testing.T) {
	b := guild.Bounds{MaxSteps: 10, MaxCount: 2, MaxWidth: 1024, MaxHeight: 1024}
	full := func(o gen.Options) gen.Options { return o.WithDefaults(0) }
	tests := []struct {
		name       string
		typed, had gen.Options
		want       gen.Options // Steps, Count, Width, Height compared
		refused    string
	}{
		{"default steps clamped", gen.Options{}, full(gen.Options{}), gen.Options{Steps: 10, Count: 1, Width: 512, Height: 512}, ""},
		{"preset steps clamped", gen.Options{}, full(gen.Options{Steps: 40}), gen.Options{Steps: 10, Count: 1, Width: 512, Height: 512}, ""},
		{"typed steps refused", gen.Options{Steps: 11}, full(gen.Options{Steps: 11}), gen.Options{}, "at most 10 steps; you asked for 11"},
		{"typed steps at the bound", gen.Options{Steps: 10}, full(gen.Options{Steps: 10}), gen.Options{Steps: 10, Count: 1, Width: 512, Height: 512}, ""},
		{"typed count refused", gen.Options{Count: 3}, full(gen.Options{Count: 3}), gen.Options{}, "at most 2 images per job; you asked for 3"},
		{"portrait within the area", gen.Options{Width: 832, Height: 1216}, full(gen.Options{Width: 832, Height: 1216}), gen.Options{Steps: 10, Count: 1, Width: 832, Height: 1216}, ""},
		{"landscape within the area", gen.Options{Width: 1536, Height: 640}, full(gen.Options{Width: 1536, Height: 640}), gen.Options{Steps: 10, Count: 1, Width: 1536, Height: 640}, ""},
		{"typed size refused", gen.Options{Width: 1536, Height: 1536}, full(gen.Options{Width: 1536, Height: 1536}), gen.Options{}, "at most 1024x1024 pixels (1048576 in all); 1536x1536 is larger"},
		{"inherited size shrunk, shape kept", gen.Options{}, full(gen.Options{Width: 1216, Height: 1664}), gen.Options{Steps: 10, Count: 1, Width: 872, Height: 1192}, ""},
	}
	for _, tt := range tests {
		got, err := applyBounds(b, tt.typed, tt.had)
		if tt.refused != "" {
			if !isInput(err, tt.refused) {
				t.Errorf("%s: want a refusal saying %q, got %v", tt.name, tt.refused, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got.Steps != tt.want.Steps || got.Count != tt.want.Count || got.Width != tt.want.Width || got.Height != tt.want.Height {
			t.Errorf("%s: got %d steps, %d images, %dx%d; want %d, %d, %dx%d", tt.name, got.Steps, got.Count, got.Width, got.Height,
				tt.want.Steps, tt.want.Count, tt.want.Width, tt.want.Height)
		}
		if !fits(b, got.Width, got.Height) || got.Width%8 != 0 || got.Height%8 != 0 {
			t.Errorf("%s: %dx%d does not fit or is not a multiple of 8", tt.name, got.Width, got.Height)
		}
	}
	if got, err := applyBounds(guild.Bounds{}, gen.Options{Steps: 150}, full(gen.Options{Steps: 150})); err != nil || got.Steps != 150 {
		t.Errorf("no bounds: the bot's own apply: %v %d", err, got.Steps)
	}
}

// plan is f's planner in a server with settings s, in an ordinary channel.
func (f *fixture) plan(s guild.Settings, o gen.Options) (*Request, error) {
	return f.p.Plan("u", o, "", Scope{Settings: s})
}

func TestPlanAppliesTheServersBounds(t *testing.T) {
	f := newFixture(t, a1111test.Options{})
	s := guild.Settings{GuildID: "g", Bounds: guild.Bounds{MaxSteps: 10, MaxWidth: 768, MaxHeight: 768}}
	r, err := f.plan(s, gen.Options{Prompt: "a castle", LoRAs: [gen.LoRASlots]gen.LoRAChoice{{Name: "pixel-art-xl"}}})
	if err != nil {
		t.Fatal(err)
	}
	if req := r.Txt2Img(); req.Steps != 10 || req.Width != 768 || req.Height != 768 {
		t.Errorf("an SDXL job's defaults should come down to the bounds: %d steps, %dx%d", req.Steps, req.Width, req.Height)
	}
	if _, err := f.plan(s, gen.Options{Prompt: "a castle", Steps: 30}); !isInput(err, "This server allows at most 10 steps") {
		t.Errorf("typed steps over the bound: %v", err)
	}
}

func TestPlanUsesTheServersDefaultCheckpointAndNegative(t *testing.T) {
	f := newFixture(t, a1111test.Options{})
	s := guild.Settings{GuildID: "g", DefaultCheckpoint: "sd_xl_base", DefaultNegative: "nsfw, nude, lowres"}
	r, err := f.plan(s, gen.Options{Prompt: "a fox", Negative: "blurry, LOWRES"})
	if err != nil {
		t.Fatal(err)
	}
	req := r.Txt2Img()
	if ck, _ := req.OverrideSettings["sd_model_checkpoint"].(string); !strings.HasPrefix(ck, "sd_xl_base_1.0") || req.Width != 1024 {
		t.Errorf("the default checkpoint (and its family's size) should apply: %v %d", req.OverrideSettings, req.Width)
	}
	if want := "blurry, LOWRES, nsfw, nude"; req.NegativePrompt != want {
		t.Errorf("negative: got %q, want %q (the default appended, nothing twice)", req.NegativePrompt, want)
	}
	if r.Options.Negative != "blurry, LOWRES" || r.Options.Checkpoint != "" {
		t.Errorf("the job's own options stay its own, for Save as preset: negative %q, checkpoint %q", r.Options.Negative, r.Options.Checkpoint)
	}
	// A checkpoint the user picked wins over the server's default.
	r, err = f.plan(s, gen.Options{Prompt: "a fox", Checkpoint: "v1-5-pruned-emaonly"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.Checkpoint.Title, "v1-5") {
		t.Errorf("the user's checkpoint must win: %q", r.Checkpoint.Title)
	}
	// Under every policy.
	for _, p := range []guild.Policy{guild.Block, guild.Spoiler} {
		s := guild.Settings{Policy: p, DefaultNegative: "nsfw"}
		if r, err := f.plan(s, gen.Options{Prompt: "a fox"}); err != nil || r.Txt2Img().NegativePrompt != "nsfw" {
			t.Errorf("%s: default negative not applied: %v", p, err)
		}
	}
	gone := guild.Settings{DefaultCheckpoint: "removed_model_v3"}
	if _, err := f.plan(gone, gen.Options{Prompt: "a fox"}); !isInput(err, `default checkpoint "removed_model_v3"`) {
		t.Errorf("a default checkpoint no server has: %v", err)
	}
}

func TestPlanRefusesBannedWordsAndLoRAs(t *testing.T) {
	f := newFixture(t, a1111test.Options{})
	if err := f.db.SavePreset("u", gen.Preset{Name: "p", Options: gen.Options{Prompt: "Nude, masterpiece"}}); err != nil {
		t.Fatal(err)
	}
	s := guild.Settings{GuildID: "g", Banned: []string{"nude", "pixel-art-xl"}}
	tests := []struct {
		name   string
		o      gen.Options
		preset string
		says   string
	}{
		{"in the prompt", gen.Options{Prompt: "a NUDE statue"}, "", `"nude"`},
		{"in the preset's prompt", gen.Options{Prompt: "a statue"}, "p", `"nude"`},
		{"a banned LoRA", gen.Options{Prompt: "a statue", LoRAs: [gen.LoRASlots]gen.LoRAChoice{{Name: "PIXEL-ART-XL"}}}, "", "LoRA pixel-art-xl"},
		{"a banned LoRA typed as a tag", gen.Options{Prompt: "a statue <lora:pixel-art-xl:0.5>"}, "", "LoRA pixel-art-xl"},
	}
	for _, tt := range tests {
		_, err := f.p.Plan("u", tt.o, tt.preset, Scope{Settings: s})
		if !isInput(err, tt.says) || !isInput(err, "outside age-restricted channels") {
			t.Errorf("%s: want a refusal naming %s, got %v", tt.name, tt.says, err)
		}
		if _, err := f.p.Plan("u", tt.o, tt.preset, Scope{Settings: s, AgeRestricted: true}); err != nil {
			t.Errorf("%s: allowed in an age-restricted channel under block, got %v", tt.name, err)
		}
		if _, err := f.p.Plan("u", tt.o, tt.preset, Scope{Settings: s, AgeRestricted: true, DM: true}); err == nil {
			t.Errorf("%s: a DM is not age-restricted", tt.name)
		}
	}
	if _, err := f.plan(s, gen.Options{Prompt: "nudes of the statue", Negative: "nude"}); err != nil {
		t.Errorf("a banned word is a whole word, and the negative prompt is not checked: %v", err)
	}
	// A banned word in a LoRA's trigger words is in the prompt sent too.
	trig := guild.Settings{Banned: []string{"game sprite"}}
	if _, err := f.plan(trig, gen.Options{Prompt: "a castle", LoRAs: [gen.LoRASlots]gen.LoRAChoice{{Name: "pixel-art-xl"}}}); !isInput(err, `"game sprite"`) {
		t.Errorf("a banned trigger word: %v", err)
	}
}

func TestPlanAppliesTheServersLoRASettings(t *testing.T) {
	f := newFixture(t, a1111test.Options{})
	yes := true
	s := guild.Settings{GuildID: "g", LoRAs: map[string]guild.LoRA{
		"pixel-art-xl":        {Triggers: []string{"pixelated", "8-bit"}, Weight: 0.7},
		"ghibli_style_offset": {NSFW: &yes},
	}}
	opts := func(names ...string) gen.Options {
		o := gen.Options{Prompt: "a castle"}
		for i, n := range names {
			o.LoRAs[i].Name = n
		}
		return o
	}
	r, err := f.plan(s, opts("pixel-art-xl"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "pixelated, 8-bit, a castle <lora:pixel-art-xl:0.7>"; r.Prompt.Text != want {
		t.Errorf("the server's triggers and weight come first:\n got %q\nwant %q", r.Prompt.Text, want)
	}
	// Another server, or none, sees the LoRA's own.
	r, err = f.plan(guild.Settings{GuildID: "other"}, opts("pixel-art-xl"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "pixel art, game sprite, a castle <lora:pixel-art-xl:1>"; r.Prompt.Text != want {
		t.Errorf("another server:\n got %q\nwant %q", r.Prompt.Text, want)
	}
	// A weight the user gives still wins over the server's preferred one.
	o := opts("pixel-art-xl")
	o.LoRAs[0].Weight = w(1.2)
	if r, err := f.plan(s, o); err != nil || !strings.HasSuffix(r.Prompt.Text, "<lora:pixel-art-xl:1.2>") {
		t.Errorf("the user's weight wins: %v %v", r, err)
	}
	// The server's NSFW mark: refused here under block, spoilered under spoiler.
	if _, err := f.plan(s, opts("ghibli_style_offset")); !isInput(err, "ghibli_style_offset is marked NSFW") {
		t.Errorf("a LoRA the server marked NSFW: %v", err)
	}
	sp := s
	sp.Policy = guild.Spoiler
	if r, err := f.plan(sp, opts("ghibli_style_offset")); err != nil || !r.Spoiler {
		t.Errorf("under spoiler: allowed as a spoiler, got %+v %v", r, err)
	}
	if r, err := f.p.Plan("u", opts("ghibli_style_offset"), "", Scope{Settings: sp, AgeRestricted: true}); err != nil || r.Spoiler {
		t.Errorf("under spoiler in an age-restricted channel: no spoiler, got %v", err)
	}
}

func TestPlanAllowPolicyOnlyInAgeRestrictedChannels(t *testing.T) {
	f := newFixture(t, a1111test.Options{})
	s := guild.Settings{Policy: guild.Allow}
	if _, err := f.plan(s, gen.Options{Prompt: "a fox"}); !isInput(err, "only in age-restricted channels") {
		t.Errorf("allow outside an age-restricted channel: %v", err)
	}
	if _, err := f.p.Plan("u", gen.Options{Prompt: "a fox"}, "", Scope{Settings: s, AgeRestricted: true}); err != nil {
		t.Errorf("allow in an age-restricted channel: %v", err)
	}
}

// The planner's refusals are sentences for the user, never the store's
// errors or A1111's.
func TestPlanRefusalsAreInputErrors(t *testing.T) {
	f := newFixture(t, a1111test.Options{})
	_, err := f.plan(guild.Settings{Banned: []string{"cat"}}, gen.Options{Prompt: "a cat"})
	var ae *a1111.Error
	if errors.As(err, &ae) || !isInput(err, "cat") {
		t.Errorf("got %v", err)
	}
}

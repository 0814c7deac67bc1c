package prompt

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzOptions are the LoRA options a fuzz input may turn on, one bit each.
var fuzzOptions = []Choice{
	optw("revAnimated_v122", 1.2),
	opt("studio_ghibli_v2"),
	optw("pixel-art-xl", -0.5),
	opt("sneaky"),
}

// emphasisPattern finds simple weighted emphasis, which must reach A1111
// unchanged.
var emphasisPattern = regexp.MustCompile(`\([\p{L}\p{N} ]+:[0-9.]+\)`)

// pythonTag is A1111's tag pattern with Python's \w.
var pythonTag = regexp.MustCompile(`<([\p{L}\p{N}_]+):([^>]+)>`)

func FuzzBuild(f *testing.F) {
	seeds := []struct {
		prompt, preset string
		opts           uint8
	}{
		{"a castle", "", 1},
		{"(masterpiece:1.2), a cat <lora:add_detail:0.5>", "best quality", 0},
		{"a cat <lora:x", "", 1},
		{"<lora:revAnimated_v122:0.6>, night, (3dmm style:1.1)", "", 0},
		{"<lo<lora:add_detail:1>ra:y>", "<", 0},
		{">_< face, <3, a > b, <:>, <a b:c>", "", 2},
		{"<lyco:pixel-art-xl:te=0.5:unet=0.3:dyn=16>", "", 0},
		{"<lora:ブルーアーカイブ_style:1> 1girl, 青い空, (青:1.3)", "", 0},
		{"[dog:cat:0.5], [red|blue], \\(x\\) BREAK a AND b\nline", ", ,", 15},
		{"<hypernet:x:1>", "", 0},
		{"a, <lora:add_detail:1>, <lora:more_details:1>, b", " <lora:add_detail:0.2> ", 8},
		{"<ネット:x", "<lora:studio_ghibli_v2>", 0},
		{"x <lora:add_detail:1:1:8:9>", "", 0},
		{"\xff<\xfflora:add_detail:1>", "", 0},
		{"pixel art of a cat", "3DMM STYLE", 7},
		{strings.Repeat("(word:1.1), ", 240), "", 1},
	}
	for _, s := range seeds {
		f.Add(s.prompt, s.preset, s.opts)
	}
	f.Fuzz(func(t *testing.T, prompt, preset string, opts uint8) {
		input := Input{Prompt: prompt, PresetPrompt: preset}
		for i, c := range fuzzOptions {
			if opts&(1<<i) != 0 {
				input.LoRAs = append(input.LoRAs, c)
			}
		}
		res, err := Build(catalog, input)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("not a user error: %v", err)
			}
			if pe.Msg == "" {
				t.Fatal("empty message")
			}
			return
		}
		checkTags(t, res)
		if py := pythonTag.FindAllString(res.Text, -1); len(py) != len(res.LoRAs) {
			t.Errorf("A1111 would find tags %q in %q", py, res.Text)
		}
		for _, a := range res.LoRAs {
			if n := strings.Count(res.Text, a.Tag); n != 1 {
				t.Errorf("tag %s appears %d times in %q", a.Tag, n, res.Text)
			}
		}
		if n := utf8.RuneCountInString(res.Text); n > MaxPromptRunes {
			t.Errorf("text is %d runes", n)
		}
		if res.Text == "" || trimPart(res.Text) != res.Text {
			t.Errorf("text %q is empty or not trimmed", res.Text)
		}
		for _, s := range []string{prompt, preset} {
			// Typed tags are removed, so emphasis inside or across one need not survive.
			s = pythonTag.ReplaceAllString(s, "\x00")
			for _, e := range emphasisPattern.FindAllString(s, -1) {
				if !strings.Contains(res.Text, e) {
					t.Errorf("emphasis %q lost from %q", e, res.Text)
				}
			}
		}
		// The built text is a fixed point: read back as a prompt, it builds to itself.
		again, err := Build(catalog, Input{Prompt: res.Text})
		if err != nil {
			t.Fatalf("rebuilding %q: %v", res.Text, err)
		}
		if again.Text != res.Text || len(again.Triggers) != 0 {
			t.Errorf("rebuilding\n %q gave\n %q (triggers %q)", res.Text, again.Text, again.Triggers)
		}
	})
}

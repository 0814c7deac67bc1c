package prompt

import (
	"errors"
	"strings"
	"testing"

	"lorabot/lora"
)

func TestBuildNegativeKeepsPlainText(t *testing.T) {
	for in, want := range map[string]string{
		"":                    "",
		"blurry, lowres":      "blurry, lowres",
		" bad hands, ":        "bad hands",
		"a <b c> (worst:1.2)": "a <b c> (worst:1.2)",
	} {
		got, err := BuildNegative(catalog, in)
		if err != nil || got != want {
			t.Errorf("BuildNegative(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestBuildNegativeRefusesTags(t *testing.T) {
	for in, want := range map[string]string{
		// A known LoRA: refused, naming it, since A1111 would read it as words.
		"blurry, <lora:studio_ghibli_v2:0.5>": "cannot go in the negative prompt",
		"<lyco:add_detail:1>":                 "ghibli_style_offset",
		// An unknown one: named as unknown.
		"<lora:nope_v9:1>": "nope_v9",
		// Other tags: refused as in the prompt.
		"<hypernet:evil:1> blurry": "not supported",
		"<embedding:bad:1>":        "not supported",
		"<lora:add_detail:1:abc>":  "In the negative prompt",
	} {
		_, err := BuildNegative(catalog, in)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%q: want an *Error, got %v", in, err)
			continue
		}
		if !strings.Contains(e.Msg, "negative prompt") {
			t.Errorf("%q: %q does not say it is the negative prompt", in, e.Msg)
		}
		if in == "<lyco:add_detail:1>" {
			want = "add_detail" // named by its file
		}
		if !strings.Contains(e.Msg, want) {
			t.Errorf("%q: message %q, want %q", in, e.Msg, want)
		}
	}
	var nf *lora.NotFoundError
	if _, err := BuildNegative(catalog, "<lora:ghibl:1>"); !errors.As(err, &nf) {
		t.Errorf("an unknown LoRA keeps the resolver's suggestions: %v", err)
	}
}

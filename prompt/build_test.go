package prompt

import (
	"errors"
	"math"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"lorabot/lora"
)

func w(x float64) *float64 { return &x }

func opt(v string) Choice             { return Choice{Value: v} }
func optw(v string, x float64) Choice { return Choice{Value: v, Weight: w(x)} }
func in(p string, cs ...Choice) Input { return Input{Prompt: p, LoRAs: cs} }
func inp(pre, p string, cs ...Choice) Input {
	return Input{PresetPrompt: pre, Prompt: p, LoRAs: cs}
}

func TestBuildText(t *testing.T) {
	tests := []struct {
		name string
		in   Input
		want string
	}{
		{"trigger, prompt, tag", in("a castle", optw("revAnimated_v122", 1.2)),
			"3dmm style, a castle <lora:revAnimated_v122:1.2>"},
		{"alias resolves to the file name at the preferred weight", in("a valley", opt("studio_ghibli_v2")),
			"ghibli style, a valley <lora:ghibli_style_offset:0.8>"},
		{"name in another case", in("a cat", opt("PIXEL-ART-XL")),
			"pixel art, game sprite, a cat <lora:pixel-art-xl:1>"},
		{"name wins over an alias of another LoRA", in("a cat", opt("add_detail")),
			"a cat <lora:add_detail:1>"},
		{"no weight and no preferred weight is 1", in("a cat", opt("revAnimated_v122")),
			"3dmm style, a cat <lora:revAnimated_v122:1>"},
		{"weights written short", in("a cat", optw("add_detail", 0.700), optw("revAnimated_v122", 1.0), optw("pixel-art-xl", -0.5)),
			"3dmm style, pixel art, game sprite, a cat <lora:add_detail:0.7> <lora:revAnimated_v122:1> <lora:pixel-art-xl:-0.5>"},
		{"weight bounds are inclusive", in("a cat", optw("add_detail", -2), optw("more_details", 2)),
			"a cat <lora:add_detail:-2> <lora:more_details:2>"},
		{"two LoRAs", in("a cat", optw("revAnimated_v122", 0.7), optw("pixel-art-xl", 1.25)),
			"3dmm style, pixel art, game sprite, a cat <lora:revAnimated_v122:0.7> <lora:pixel-art-xl:1.25>"},

		// Trigger words.
		{"trigger present as a phrase, any case", in("Pixel Art of a cat", opt("pixel-art-xl")),
			"game sprite, Pixel Art of a cat <lora:pixel-art-xl:1>"},
		{"trigger inside emphasis is present", in("(3dmm style:1.2), a castle", opt("revAnimated_v122")),
			"(3dmm style:1.2), a castle <lora:revAnimated_v122:1>"},
		{"trigger glued to a word is not present", in("3dmm styles, a castle", opt("revAnimated_v122")),
			"3dmm style, 3dmm styles, a castle <lora:revAnimated_v122:1>"},
		{"trigger present in the preset", inp("3DMM Style, soft light", "a castle", opt("revAnimated_v122")),
			"3DMM Style, soft light, a castle <lora:revAnimated_v122:1>"},
		{"triggers of several entries", in("a chair", opt("furniture_midcentury.v1"), opt("ブルーアーカイブ_style")),
			"a photo of a mcmchair, mid-century modern armchair, blue archive, halo, a chair <lora:furniture_midcentury.v1:1> <lora:ブルーアーカイブ_style:1>"},
		{"trigger words from metadata cannot form a tag", in("a cat", opt("sneaky")),
			"< hypernet:evil:1> glow, a cat <lora:sneaky:1>"},

		// Order and joins.
		{"preset before prompt", inp("masterpiece, best quality", "a cat", opt("revAnimated_v122")),
			"3dmm style, masterpiece, best quality, a cat <lora:revAnimated_v122:1>"},
		{"preset only", inp("masterpiece", "  "), "masterpiece"},
		{"no LoRA, text untouched inside", in("a cat,  on a mat"), "a cat,  on a mat"},
		{"parts trimmed of spaces and commas", inp(" , masterpiece,, ", ",  a cat , \n", opt("add_detail")),
			"masterpiece, a cat <lora:add_detail:1>"},
		{"blank preset skipped", inp(", ,", "a cat", opt("add_detail")), "a cat <lora:add_detail:1>"},
		{"LoRA alone", in("", opt("add_detail")), "<lora:add_detail:1>"},
		{"blank option skipped", in("a cat", opt("  "), Choice{Value: "", Weight: w(0.5)}), "a cat"},

		// Typed tags.
		{"typed tag moved to the end", in("a castle <lora:revAnimated_v122:0.6>, night"),
			"3dmm style, a castle, night <lora:revAnimated_v122:0.6>"},
		{"typed tag between words", in("a <lora:add_detail:1> castle"), "a castle <lora:add_detail:1>"},
		{"typed tag between commas", in("a, <lora:add_detail:1>, castle"), "a, castle <lora:add_detail:1>"},
		{"typed tag glued to text", in("(a cat<lora:add_detail:1>:1.2)"), "(a cat:1.2) <lora:add_detail:1>"},
		{"typed tags only", in("<lora:add_detail:0.3> <lora:more_details:0.4>"),
			"<lora:add_detail:0.3> <lora:more_details:0.4>"},
		{"typed tag by alias without weight", in("a valley <lora:studio_ghibli_v2>"),
			"ghibli style, a valley <lora:ghibli_style_offset:0.8>"},
		{"typed tag name trimmed and case-folded", in("a cat <LoRA: Pixel-Art-XL :0.9>"),
			"pixel art, game sprite, a cat <lora:pixel-art-xl:0.9>"},
		{"lyco tag", in("a cat <lyco:pixel-art-xl:0.9>"),
			"pixel art, game sprite, a cat <lora:pixel-art-xl:0.9>"},
		{"TE and UNET kept", in("<lora:add_detail:0.5:0.8> a cat"), "a cat <lora:add_detail:0.5:0.8>"},
		{"named arguments", in("a cat <lora:add_detail:te=0.5:unet=0.3:dyn=16>"), "a cat <lora:add_detail:0.5:0.3:16>"},
		{"DYN alone", in("a cat <lora:more_details:dyn=8>"), "a cat <lora:more_details:0.5:0.5:8>"},
		{"weight spelled long", in("a cat <lora:add_detail: 0.500 >"), "a cat <lora:add_detail:0.5>"},
		{"file name with spaces and parentheses", in("<lora:cyberpunk_edgerunners:0.7> night city"),
			"edgerunners style, night city <lora:Cyberpunk Edgerunners (anime style) v2.1:0.7>"},
		{"non-Latin names and text", in("<lora:ブルーアーカイブ_style:1> 1girl, 青い空"),
			"blue archive, halo, 1girl, 青い空 <lora:ブルーアーカイブ_style:1>"},
		{"tag in the preset", inp("masterpiece <lora:add_detail:0.4>", "a cat"),
			"masterpiece, a cat <lora:add_detail:0.4>"},

		// The same LoRA twice.
		{"option weight beats a typed tag", in("a cat <lora:revAnimated_v122:0.4>", optw("revAnimated_v122", 0.9)),
			"3dmm style, a cat <lora:revAnimated_v122:0.9>"},
		{"typed weight beats an option without weight", in("a cat <lora:studio_ghibli_v2:0.3>", opt("ghibli_style_offset")),
			"ghibli style, a cat <lora:ghibli_style_offset:0.3>"},
		{"prompt tag beats preset tag", inp("<lora:pixel-art-xl:0.5> sprite", "<lora:pixel-art-xl:0.8> a cat"),
			"pixel art, game sprite, sprite, a cat <lora:pixel-art-xl:0.8>"},
		{"tag without weight does not override", inp("<lora:add_detail:0.5>", "a cat <lora:add_detail>"),
			"a cat <lora:add_detail:0.5>"},
		{"first option wins", in("a cat", optw("add_detail", 0.5), optw("ADD_DETAIL", 0.7)),
			"a cat <lora:add_detail:0.5>"},
		{"tag order: options, preset tags, prompt tags", inp("x <lora:revAnimated_v122:1>", "y <lora:add_detail:1>", opt("pixel-art-xl")),
			"pixel art, game sprite, 3dmm style, x, y <lora:pixel-art-xl:1> <lora:revAnimated_v122:1> <lora:add_detail:1>"},
		{"five LoRAs, counted once each", in("a <lora:add_detail:1> <lora:add_detail:0.5>", opt("revAnimated_v122"), opt("pixel-art-xl"), opt("more_details"), opt("studio_ghibli_v2")),
			"3dmm style, pixel art, game sprite, ghibli style, a <lora:revAnimated_v122:1> <lora:pixel-art-xl:1> <lora:more_details:0.5> <lora:ghibli_style_offset:0.8> <lora:add_detail:1>"},

		// User text passes through.
		{"emphasis and syntax untouched", in("(masterpiece:1.2), [blurry], \\(cat\\), BREAK a AND b, [dog:cat:0.5], [red|blue]\nsecond line", opt("add_detail")),
			"(masterpiece:1.2), [blurry], \\(cat\\), BREAK a AND b, [dog:cat:0.5], [red|blue]\nsecond line <lora:add_detail:1>"},
		{"kaomoji and hearts untouched", in(">_< face, <3, a > b, <:>, <a b:c>", opt("add_detail")),
			">_< face, <3, a > b, <:>, <a b:c> <lora:add_detail:1>"},
		{"unclosed tag neutralised", in("a cat <lora:x", opt("revAnimated_v122")),
			"3dmm style, a cat < lora:x <lora:revAnimated_v122:1>"},
		{"unclosed other tag neutralised", in("a cat <hypernet:x, <ブルー:y"),
			"a cat < hypernet:x, < ブルー:y"},
		{"tag formed by removing a tag neutralised", in("<lo<lora:add_detail:1>ra:y>"),
			"< lora:y> <lora:add_detail:1>"},
		{"invalid UTF-8 replaced", in("a \xff cat"), "a \uFFFD cat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Build(catalog, tt.in)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if got.Text != tt.want {
				t.Errorf("Text\n got %q\nwant %q", got.Text, tt.want)
			}
			checkTags(t, got)
		})
	}
}

func TestBuildResultFields(t *testing.T) {
	got, err := Build(catalog, inp("Pixel Art", "a cat <lora:add_detail:0.5:0.8>", optw("pixel-art-xl", 1.25)))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"game sprite"}; !reflect.DeepEqual(got.Triggers, want) {
		t.Errorf("Triggers = %q, want %q", got.Triggers, want)
	}
	if len(got.LoRAs) != 2 {
		t.Fatalf("LoRAs = %+v, want 2", got.LoRAs)
	}
	a, b := got.LoRAs[0], got.LoRAs[1]
	if a.LoRA.Name != "pixel-art-xl" || a.Weight != 1.25 || a.Tag != "<lora:pixel-art-xl:1.25>" || a.LoRA.Title != "Pixel Art XL" {
		t.Errorf("LoRAs[0] = %+v", a)
	}
	if b.LoRA.Name != "add_detail" || b.Weight != 0.5 || b.Tag != "<lora:add_detail:0.5:0.8>" {
		t.Errorf("LoRAs[1] = %+v", b)
	}
}

func TestBuildRefuses(t *testing.T) {
	long := strings.Repeat("あ", MaxPromptRunes)
	tests := []struct {
		name string
		in   Input
		want []string // substrings of the one-sentence message
	}{
		{"empty", in(""), []string{"empty"}},
		{"blank", inp(" \n", " , "), []string{"empty"}},
		{"option weight too high", in("a cat", optw("revAnimated_v122", 2.5)), []string{"revAnimated_v122", "2.5", "-2 to 2"}},
		{"option weight too low", in("a cat", optw("add_detail", -2.01)), []string{"add_detail", "-2.01"}},
		{"NaN weight", in("a cat", optw("add_detail", math.NaN())), []string{"add_detail", "number"}},
		{"infinite weight", in("a cat", optw("add_detail", math.Inf(1))), []string{"add_detail", "number"}},
		{"tag weight too high", in("a cat <lora:pixel-art-xl:3>"), []string{"pixel-art-xl", "3"}},
		{"tag UNET too high", in("a cat <lora:add_detail:1:5>"), []string{"add_detail", "5"}},
		{"tag weight not a number", in("a cat <lora:add_detail:strong>"), []string{`"strong"`, "<lora:add_detail:strong>", "not a number"}},
		{"tag weight NaN", in("a cat <lora:add_detail:nan>"), []string{"not a number"}},
		{"tag weight empty", in("a cat <lora:add_detail:>"), []string{"not a number"}},
		{"tag without name", in("a cat <lora::1>"), []string{"<lora::1>", "names no LoRA"}},
		{"tag unknown argument", in("a cat <lora:add_detail:foo=1>"), []string{`"foo=1"`, "te=, unet= and dyn="}},
		{"tag too many arguments", in("a cat <lora:add_detail:1:1:8:9>"), []string{"too many arguments"}},
		{"tag bad dyn", in("a cat <lora:add_detail:1:1:0>"), []string{"dyn", "whole number"}},
		{"hypernet tag", in("a cat <hypernet:x:1>"), []string{"<hypernet:x:1>", "not supported"}},
		{"other tag", inp("<foo:bar> style", "a cat"), []string{"<foo:bar>", "not supported"}},
		{"non-Latin tag kind", in("a cat <ネット:x>"), []string{"<ネット:x>", "not supported"}},
		{"long tag quoted short", in("a cat <hypernet:" + strings.Repeat("x", 200) + ">"), []string{"<hypernet:xxx", "…"}},
		{"six LoRAs", in("<lora:more_details:1> <lora:studio_ghibli_v2:1> <lora:ブルーアーカイブ_style:1>", opt("revAnimated_v122"), opt("pixel-art-xl"), opt("add_detail")),
			[]string{"At most 5 LoRAs"}},
		{"too long", in(long + "x"), []string{"3001 characters", "limit is 3000"}},
		{"too long with the tags", in(long, opt("add_detail")), []string{"limit is 3000"}},
		{"file name that cannot be a tag", in("a cat", opt("bad_colon")), []string{`"bad:name"`, "rename"}},
		{"preferred weight out of bounds", in("a cat", opt("hot")), []string{"preferred weight of hot", "give it a weight"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Build(catalog, tt.in)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Build = %q, %v; want a *prompt.Error", got.Text, err)
			}
			msg := err.Error()
			for _, s := range tt.want {
				if !strings.Contains(msg, s) {
					t.Errorf("message %q lacks %q", msg, s)
				}
			}
			if strings.Count(msg, ". ") > 0 || !strings.HasSuffix(msg, ".") {
				t.Errorf("message %q is not one sentence", msg)
			}
		})
	}
}

func TestBuildBoundsAccepted(t *testing.T) {
	long := strings.Repeat("あ", MaxPromptRunes)
	if got, err := Build(catalog, in(long)); err != nil || got.Text != long {
		t.Errorf("a prompt of exactly %d runes: %v", MaxPromptRunes, err)
	}
	if _, err := Build(catalog, in("a cat", optw("hot", 1))); err != nil {
		t.Errorf("a weight given for a LoRA with a bad preferred weight: %v", err)
	}
}

func TestBuildUnknownLoRA(t *testing.T) {
	tests := []struct {
		name  string
		in    Input
		query string
		msg   string
	}{
		{"option", in("a cat", opt("pixel-art")), "pixel-art", `No LoRA is called "pixel-art"; closest: pixel-art-xl.`},
		{"tag", in("a cat <lora:pixelart:1>"), "pixelart", `No LoRA is called "pixelart" (in the tag <lora:pixelart:1>); closest: pixel-art-xl.`},
		{"lyco tag in preset", inp("<lyco:zzz:1>", "a cat"), "zzz", `No LoRA is called "zzz" (in the tag <lyco:zzz:1>).`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(catalog, tt.in)
			var nf *lora.NotFoundError
			if !errors.As(err, &nf) {
				t.Fatalf("err = %v, want a *lora.NotFoundError", err)
			}
			if nf.Query != tt.query {
				t.Errorf("Query = %q, want %q", nf.Query, tt.query)
			}
			if err.Error() != tt.msg {
				t.Errorf("message\n got %q\nwant %q", err.Error(), tt.msg)
			}
		})
	}
}

type brokenResolver struct{}

var errCatalog = errors.New("catalog not loaded")

func (brokenResolver) Resolve(string) (lora.LoRA, error) { return lora.LoRA{}, errCatalog }

func TestBuildResolverFailure(t *testing.T) {
	_, err := Build(brokenResolver{}, in("a cat", opt("x")))
	var pe *Error
	if !errors.Is(err, errCatalog) || errors.As(err, &pe) {
		t.Fatalf("err = %v; want the resolver's error, not a user error", err)
	}
}

// checkTags asserts the safety property: every tag A1111 would find in the
// text is one the builder emitted, each once, in order, at the end.
func checkTags(t testing.TB, r Result) {
	t.Helper()
	found := tagPattern.FindAllString(r.Text, -1)
	var want []string
	for _, a := range r.LoRAs {
		want = append(want, a.Tag)
	}
	if !reflect.DeepEqual(found, want) {
		t.Errorf("tags in %q:\n got %q\nwant %q", r.Text, found, want)
	}
	if len(want) > 0 && !strings.HasSuffix(r.Text, strings.Join(want, " ")) {
		t.Errorf("text %q does not end with its tags", r.Text)
	}
}

// tagPattern is A1111's <(\w+):([^>]+)> with \w widened beyond Python's
// (marks added), so the property is checked a little more strictly than
// A1111 needs.
var tagPattern = regexp.MustCompile(`<([\p{L}\p{N}\p{M}_]+):([^>]+)>`)

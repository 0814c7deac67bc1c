package imagine

import (
	"fmt"
	"testing"
	"time"

	"lorabot/a1111/a1111test"
	"lorabot/gen"
	"lorabot/guild"
)

// A job planned again from an earlier one (a result's button) keeps its
// settings, its preset's prompt included, but not its fixed seed, and the
// presser's own default preset plays no part.
func TestPlanFromAnEarlierJobKeepsItsSettings(t *testing.T) {
	f := newFixture(t, a1111test.Options{})
	if err := f.db.SavePreset("u", gen.Preset{Name: "ghibli", Options: gen.Options{Prompt: "masterpiece", Steps: 30, Sampler: "Euler a",
		LoRAs: [gen.LoRASlots]gen.LoRAChoice{{Name: "studio_ghibli_v2", Weight: w(0.8)}}}}); err != nil {
		t.Fatal(err)
	}
	if err := f.db.SavePreset("v", gen.Preset{Name: "pixel", Options: gen.Options{LoRAs: [gen.LoRASlots]gen.LoRAChoice{{Name: "pixel-art-xl"}}}}); err != nil {
		t.Fatal(err)
	}
	if err := f.db.SetDefaultPreset("v", "pixel"); err != nil {
		t.Fatal(err)
	}
	first, err := f.p.Plan("u", gen.Options{Prompt: "a valley", Seed: ptrTo(int64(42)), Count: 2}, "ghibli", Scope{})
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.p.PlanLayers("v", Layers{From: first, Lineage: Lineage{Job: "j1", Action: "rr"}}, Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if again.User != "v" || again.Prompt.Text != first.Prompt.Text || again.Options.Steps != 30 || again.Sampler != first.Sampler || again.Options.Count != 2 {
		t.Errorf("reroll changed the job:\n got %+v\nwant %+v", again, first)
	}
	if again.Options.Seed != nil || again.Txt2Img().Seed != -1 {
		t.Errorf("reroll kept the seed %v", again.Options.Seed)
	}
	if again.PresetName != "ghibli" || again.From.Job != "j1" {
		t.Errorf("preset %q, from %+v", again.PresetName, again.From)
	}

	seed := int64(42)
	vary, err := f.p.PlanLayers("v", Layers{From: first, Cmd: gen.Options{Seed: &seed}, Variation: 0.35}, Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if req := vary.Txt2Img(); req.Seed != 42 || req.Subseed != -1 || req.SubseedStrength != 0.35 {
		t.Errorf("variation sent seed %d subseed %d strength %g", req.Seed, req.Subseed, req.SubseedStrength)
	}
}

// The earlier job's settings are inherited: beyond today's bounds of the
// server they are clamped, not refused; what the user types now is refused.
func TestPlanFromAnEarlierJobUnderTodaysBounds(t *testing.T) {
	f := newFixture(t, a1111test.Options{})
	first, err := f.p.Plan("u", gen.Options{Prompt: "a valley", Steps: 50, Width: 768, Height: 768}, "", Scope{})
	if err != nil {
		t.Fatal(err)
	}
	tight := Scope{Settings: guild.Settings{Bounds: guild.Bounds{MaxSteps: 30, MaxWidth: 512, MaxHeight: 512}}}
	again, err := f.p.PlanLayers("v", Layers{From: first}, tight)
	if err != nil {
		t.Fatal(err)
	}
	if again.Options.Steps != 30 || again.Options.Width*again.Options.Height > 512*512 {
		t.Errorf("inherited settings not clamped: %d steps, %dx%d", again.Options.Steps, again.Options.Width, again.Options.Height)
	}
	if _, err := f.p.PlanLayers("v", Layers{From: first, Cmd: gen.Options{Steps: 40}}, tight); !isInput(err, "at most 30 steps") {
		t.Errorf("typed steps beyond the bound: %v", err)
	}
	// An action's own size (a creative upscale's 2×) is clamped too.
	big, err := f.p.PlanLayers("v", Layers{From: first, Cmd: gen.Options{Width: 1536, Height: 1536}, Inherited: true,
		Init: &Picture{URL: "x", Width: 768, Height: 768}, Strength: CreativeStrength}, tight)
	if err != nil || big.Options.Width > 512 || big.Kind != Img2Img {
		t.Errorf("creative size under a bound: %v %+v", err, big)
	}
}

// An img2img job without a size takes the picture's shape at the model's
// native area, and its strength is checked.
func TestPlanImg2ImgSizeFollowsThePicture(t *testing.T) {
	f := newFixture(t, a1111test.Options{})
	pic := &Picture{URL: "x", Width: 1000, Height: 500}
	r, err := f.p.PlanLayers("u", Layers{Cmd: gen.Options{Prompt: "a valley", LoRAs: [gen.LoRASlots]gen.LoRAChoice{{Name: "studio_ghibli_v2"}}}, Init: pic}, Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != Img2Img || r.Strength != DefaultStrength || r.Options.Width != 704 || r.Options.Height != 384 {
		t.Errorf("img2img planned as %s strength %g at %dx%d; want img2img 0.6 at 704x384 (2:1 at SD1's 512² area)", r.Kind, r.Strength, r.Options.Width, r.Options.Height)
	}
	if _, err := f.p.PlanLayers("u", Layers{Cmd: gen.Options{Prompt: "x"}, Init: pic, Strength: 1.5}, Scope{}); !isInput(err, "Strength must be") {
		t.Errorf("strength 1.5: %v", err)
	}
}

func ptrTo[T any](v T) *T { return &v }

// Discord signs attachment links until "ex" (hex Unix seconds).
func TestPictureLinkExpiry(t *testing.T) {
	at := time.Unix(1_800_000_000, 0)
	link := func(ex int64) Picture {
		return Picture{URL: fmt.Sprintf("https://cdn.discordapp.com/attachments/1/2/a.png?ex=%x&is=0&hm=ab", ex)}
	}
	if !link(at.Unix() - 1).Expired(at) {
		t.Error("a link past its ex is not expired")
	}
	if link(at.Unix() + 3600).Expired(at) {
		t.Error("a link an hour from its ex is expired")
	}
	if (Picture{URL: "http://127.0.0.1:1/attachments/1/a.png"}).Expired(at) {
		t.Error("a link without ex is expired")
	}
}

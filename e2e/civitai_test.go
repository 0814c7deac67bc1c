package e2e

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"lorabot/a1111"
	"lorabot/a1111/a1111test"
	"lorabot/app"
	"lorabot/bot/discordtest"
	"lorabot/civitai"
	"lorabot/civitai/civitaitest"
	"lorabot/config"
)

// The catalog of these tests: each LoRA with its own sshs_model_hash.
const (
	hashPlain  = "1111111111111111111111111111111111111111111111111111111111111111"
	hashXL     = "2222222222222222222222222222222222222222222222222222222222222222"
	hashLonely = "3333333333333333333333333333333333333333333333333333333333333333"
	loraDirA1  = "/workspace/sd/stable-diffusion-webui/models/Lora/"
)

func civitaiCatalog() []byte {
	return a1111test.MarshalLoRAs([]a1111.LoRA{
		{Name: "sd1_plain", Meta: a1111.LoRAMeta{BaseModelVersion: "sd_v1", ModelHash: hashPlain}},
		{Name: "xl_known", Path: loraDirA1 + "sdxl/xl_known.safetensors", Meta: a1111.LoRAMeta{BaseModelVersion: "sdxl_base_v1-0", TriggerPhrase: "xl phrase", ModelHash: hashXL}},
		{Name: "lonely", Meta: a1111.LoRAMeta{BaseModelVersion: "sd_v1", TriggerPhrase: "lonely words", ModelHash: hashLonely}},
	})
}

type civEnv struct {
	*env
	civ *civitaitest.Server
}

// startWithCivitai runs the bot with Civitai lookups on, against a fake
// Civitai that knows sd1_plain and xl_known (lonely is a 404), set up by
// before (faults, say) before the bot starts.
func startWithCivitai(t *testing.T, loraDir string, before func(*civitaitest.Server)) *civEnv {
	civ := civitaitest.Start(t, civitaitest.Options{RetryAfter: 1})
	civ.Add(hashPlain, civitaitest.LoRA(hashPlain, 101, 1001, "Plain Style", "SD 1.5", []string{"civ_trigger_word"}, civitai.LevelPG))
	civ.Add(hashXL, civitaitest.LoRA(hashXL, 202, 2002, "XL Known", "SDXL 1.0", []string{"civ xl"}, civitai.LevelPG))
	if before != nil {
		before(civ)
	}
	tm := app.DefaultTimings
	tm.CivitaiEvery, tm.CivitaiRetry, tm.CivitaiTimeout = 5*time.Millisecond, 50*time.Millisecond, 300*time.Millisecond
	e := start(t, setup{a1111: a1111test.Options{LoRAsJSON: civitaiCatalog()}, timings: tm, tweak: func(c *config.Config) {
		c.Civitai, c.CivitaiAPIURL, c.CivitaiAPIKey, c.LoRADir = true, civ.URL(), "civ-api-key-s3cret", loraDir
	}})
	t.Cleanup(func() {
		if strings.Contains(e.logs.String(), "civ-api-key-s3cret") {
			t.Errorf("the Civitai API key appears in the logs")
		}
	})
	return &civEnv{env: e, civ: civ}
}

// card sends /loras info name and returns its answer.
func (e *env) card(name string, spec discordtest.CommandSpec) (*discordtest.Interaction, discordtest.Callback) {
	e.t.Helper()
	if spec.User.ID == "" {
		spec.User = alice
	}
	it := e.loras(spec, "info", discordtest.String("name", name))
	return it, e.response(it)
}

func field(e *discordgo.MessageEmbed, name string) string {
	for _, f := range e.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// cardOnceKnown asks for name's card until it shows what Civitai says:
// the lookups run in the background, so the first cards may not. Each try
// is a full round trip; the wait is bounded.
func (e *civEnv) cardOnceKnown(name string) (*discordtest.Interaction, discordtest.Callback) {
	e.t.Helper()
	ctx := ctxT(e.t)
	if err := e.civ.WaitRequests(ctx, 3); err != nil {
		e.t.Fatal(err)
	}
	for {
		it, cb := e.card(name, discordtest.CommandSpec{})
		if len(cb.Embeds) == 1 && field(cb.Embeds[0], "Civitai") != "" {
			return it, cb
		}
		if ctx.Err() != nil {
			e.t.Fatalf("%s's card never showed Civitai's knowledge: %+v\nlogs:\n%s", name, cb.Embeds, e.logs)
		}
	}
}

func TestCivitaiTrainedWordsReachThePrompt(t *testing.T) {
	e := startWithCivitai(t, "", nil)
	_, cb := e.cardOnceKnown("sd1_plain")
	em := cb.Embeds[0]
	if !strings.Contains(field(em, "Trigger words"), "civ_trigger_word") || !strings.Contains(field(em, "Civitai"), "https://civitai.com/models/101?modelVersionId=1001") {
		t.Errorf("the card should show Civitai's words and page: %+v", em.Fields)
	}
	if strings.Contains(em.Description, "<") || strings.Contains(em.Description, "alert") {
		t.Errorf("Civitai's HTML description must arrive as plain text: %q", em.Description)
	}
	if em.Thumbnail == nil || !strings.HasPrefix(em.Thumbnail.URL, "https://image.civitai.com/") {
		t.Errorf("without a local preview the card shows Civitai's: %+v", em.Thumbnail)
	}
	// The trigger phrase of the metadata still beats nothing, and Civitai's
	// words beat the trigger phrase.
	_, cb = e.card("xl_known", discordtest.CommandSpec{})
	if got := field(cb.Embeds[0], "Trigger words"); !strings.HasPrefix(got, "civ xl") {
		t.Errorf("Civitai's trained words come before modelspec.trigger_phrase: %q", got)
	}
	_, cb = e.card("lonely", discordtest.CommandSpec{})
	if got := field(cb.Embeds[0], "Trigger words"); got != "lonely words" || field(cb.Embeds[0], "Civitai") != "" {
		t.Errorf("a LoRA Civitai does not know (404) keeps its own: %q", got)
	}

	it := e.imagine(alice, discordtest.String("prompt", "a cat"), discordtest.String("lora", "sd1_plain"))
	e.finished(it)
	reqs := e.sd.Requests()
	if len(reqs) != 1 || !strings.HasPrefix(reqs[0].Prompt, "civ_trigger_word, a cat") || !strings.Contains(reqs[0].Prompt, "<lora:sd1_plain:1>") {
		t.Fatalf("the prompt sent to A1111 should start with Civitai's trained words: %+v", reqs)
	}
	for _, a := range e.civ.Authorizations() {
		if a != "Bearer civ-api-key-s3cret" {
			t.Errorf("CIVITAI_API_KEY goes as a Bearer token, got %q", a)
		}
	}
}

func TestCivitaiFaultsLeaveLocalKnowledge(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault civitaitest.Fault
	}{
		{"429", civitaitest.FaultRateLimit},
		{"500", civitaitest.Fault500},
		{"malformed JSON", civitaitest.FaultMalformed},
		{"hang", civitaitest.FaultHang},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startWithCivitai(t, "", func(c *civitaitest.Server) { c.SetFault(tc.fault) })
			// Every LoRA is asked, failed, and asked again later.
			if err := e.civ.WaitRequests(ctxT(t), 4); err != nil {
				t.Fatalf("the failed lookups should be retried: %v\nlogs:\n%s", err, e.logs)
			}
			_, cb := e.card("xl_known", discordtest.CommandSpec{})
			em := cb.Embeds[0]
			if got := field(em, "Trigger words"); got != "xl phrase" || field(em, "Family") != "SDXL" || field(em, "Civitai") != "" {
				t.Errorf("with Civitai failing the LoRA keeps its own knowledge: %+v", em.Fields)
			}
			if !strings.Contains(e.logs.String(), "civitai lookup failed") {
				t.Errorf("a failed lookup is logged:\n%s", e.logs)
			}
			it := e.imagine(alice, discordtest.String("prompt", "a cat"), discordtest.String("lora", "xl_known"))
			if m := e.finished(it); len(m.Attachments) == 0 {
				t.Errorf("generation works with Civitai failing: %q", m.Content)
			}
			// Civitai recovers: the next retry brings its knowledge.
			e.civ.SetFault(civitaitest.FaultNone)
			n := e.civ.Requests()
			if err := e.civ.WaitRequests(ctxT(t), n+3); err != nil {
				t.Fatal(err)
			}
			e.cardOnceKnown("xl_known")
		})
	}
}

func testPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 120, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestLoRACardShowsItsPreview(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sd1_plain.png"), testPNG(t, 640, 480), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "lonely.png"), []byte("<html>not an image</html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := startWithCivitai(t, dir, nil)
	// xl_known has no file here: the server's own thumbnail route has one.
	e.sd.SetThumb(loraDirA1+"sdxl/xl_known.preview.png", testPNG(t, 100, 100))

	_, cb := e.card("sd1_plain", discordtest.CommandSpec{})
	if len(cb.Files) != 1 || len(cb.Embeds) != 1 || cb.Embeds[0].Thumbnail == nil || cb.Embeds[0].Thumbnail.URL != "attachment://"+cb.Files[0].Name {
		t.Fatalf("the card should attach the preview and show it as its thumbnail: files %+v embeds %+v", cb.Files, cb.Embeds)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(cb.Files[0].Data))
	if err != nil || max(cfg.Width, cfg.Height) > 256 {
		t.Errorf("the preview should be a thumbnail of at most 256 px: %+v %v", cfg, err)
	}
	_, cb = e.card("xl_known", discordtest.CommandSpec{})
	if len(cb.Files) != 1 || !strings.HasPrefix(cb.Embeds[0].Thumbnail.URL, "attachment://") {
		t.Errorf("the server's thumbnail route gives xl_known's preview: %+v", cb.Files)
	}
	_, cb = e.card("lonely", discordtest.CommandSpec{})
	if len(cb.Files) != 0 || cb.Embeds[0].Thumbnail != nil {
		t.Errorf("a preview file that is not an image is skipped: %+v", cb.Files)
	}
	if !strings.Contains(e.logs.String(), "not an image") {
		t.Errorf("the skipped file is logged")
	}

	// The list: small previews, and a menu that opens a card.
	it := e.loras(discordtest.CommandSpec{User: alice}, "list")
	e.response(it)
	page := it.Original()
	if len(page.Embeds) < 2 || len(page.Attachments) == 0 {
		t.Errorf("a list page should show small previews: %d embeds, %d attachments", len(page.Embeds), len(page.Attachments))
	}
	sel := e.dc.SelectValues(page, "lorascard", []string{"sd1_plain"}, alice)
	cb = e.response(sel)
	if len(cb.Embeds) != 1 || cb.Embeds[0].Title != "sd1_plain" || !cb.Ephemeral() || len(cb.Files) != 1 {
		t.Errorf("the menu should open sd1_plain's card for the user: %+v", cb)
	}
}

func TestTryItOpensAFormThatStartsAnImagineJob(t *testing.T) {
	e := startWithCivitai(t, "", nil)
	card, _ := e.cardOnceKnown("sd1_plain")
	try := e.dc.ClickButton(card.Original(), "loratry:sd1_plain", alice)
	cb := e.response(try)
	if cb.Type != discordgo.InteractionResponseModal {
		t.Fatalf("Try it should open a form, got type %d %q", cb.Type, cb.Content)
	}
	values := map[string]string{}
	for _, row := range cb.Components {
		for _, c := range row.Components {
			values[c.CustomID] = c.Value
		}
	}
	if values["prompt"] != "civ_trigger_word, " || values["loras"] != "sd1_plain:1" {
		t.Errorf("the form should start with the trigger words and the preferred weight: %q", values)
	}
	sub := e.dc.SubmitModal(try, map[string]string{"prompt": "civ_trigger_word, a lighthouse", "loras": "sd1_plain:0.6"}, discordtest.User{})
	e.finished(sub)
	reqs := e.sd.Requests()
	if len(reqs) != 1 || reqs[0].Prompt != "civ_trigger_word, a lighthouse <lora:sd1_plain:0.6>" {
		t.Fatalf("the form's job should reach A1111 like /imagine's: %+v", reqs)
	}
	bad := e.dc.SubmitModal(try, map[string]string{"prompt": "x", "loras": "sd1_plain:heavy"}, discordtest.User{})
	if cb := e.response(bad); !cb.Ephemeral() || !strings.Contains(cb.Content, "weight") {
		t.Errorf("a bad weight gets one sentence back: %+v", cb)
	}
}

func TestLoRAAutocompleteRanksTheCheckpointsFamilyFirst(t *testing.T) {
	e := start(t, setup{a1111: a1111test.Options{LoRAsJSON: civitaiCatalog()}})
	ask := func(opts ...discordtest.Option) []*discordgo.ApplicationCommandOptionChoice {
		t.Helper()
		it := e.dc.SendAutocomplete(discordtest.CommandSpec{User: alice, Name: "imagine", Options: append([]discordtest.Option{discordtest.String("prompt", "a cat")}, opts...)})
		return e.response(it).Choices
	}
	got := ask(discordtest.String("checkpoint", a1111test.ModelSDXL), discordtest.String("lora", "").Focus())
	if len(got) != 3 || got[0].Value != "xl_known" {
		t.Fatalf("with an SDXL checkpoint the SDXL LoRA comes first: %+v", got)
	}
	for _, c := range got[1:] {
		if !strings.HasPrefix(c.Name, "⚠ SD1 LoRA on an SDXL model") || len([]rune(c.Name)) > 100 {
			t.Errorf("an SD1 LoRA is marked: %q", c.Name)
		}
	}
	// No checkpoint: the model loaded on the server (SD 1.5) decides.
	got = ask(discordtest.String("lora", "").Focus())
	if len(got) != 3 || got[2].Value != "xl_known" || !strings.HasPrefix(got[2].Name, "⚠ SDXL LoRA on an SD1 model") {
		t.Errorf("with SD 1.5 loaded, the SDXL LoRA comes last, marked: %+v", got)
	}
}

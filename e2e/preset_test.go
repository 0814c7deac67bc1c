package e2e

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"lorabot/a1111"
	"lorabot/a1111/a1111test"
	"lorabot/bot/discordtest"
)

// The sample catalog's LoRAs as these tests use them: the file name A1111
// knows, and the trigger words the bot adds for it.
const (
	ghibli     = "ghibli_style_offset" // alias studio_ghibli_v2; trigger "ghibli style"
	cyberpunk  = "Cyberpunk Edgerunners (anime style) v2.1"
	pixelArt   = "pixel-art-xl" // trigger "pixel art, game sprite"
	furniture  = "furniture_midcentury.v1"
	furnTrig   = "a photo of a mcmchair, mid-century modern armchair, walnut wood, studio lighting"
	managePerm = discordtest.DefaultPermissions | discordgo.PermissionManageGuild
)

// presetCmd sends /preset sub as user and waits for the first answer.
func (e *env) presetCmd(user discordtest.User, sub string, opts ...discordtest.Option) discordtest.Callback {
	e.t.Helper()
	return e.response(e.dc.SendCommand(discordtest.CommandSpec{User: user, Name: "preset", Options: []discordtest.Option{discordtest.Subcommand(sub, opts...)}}))
}

// savePreset saves a preset and checks that it worked.
func (e *env) savePreset(user discordtest.User, name string, opts ...discordtest.Option) discordtest.Callback {
	e.t.Helper()
	cb := e.presetCmd(user, "save", append([]discordtest.Option{discordtest.String("name", name)}, opts...)...)
	if !cb.Ephemeral() || !strings.HasPrefix(cb.Content, "Saved preset") {
		e.t.Fatalf("%s: /preset save %q: want an ephemeral confirmation, got %+v", user.Name, name, cb)
	}
	return cb
}

// showPreset returns the fields of user's preset as /preset show gives them.
func (e *env) showPreset(user discordtest.User, name string) (title string, fields map[string]string) {
	e.t.Helper()
	cb := e.presetCmd(user, "show", discordtest.String("name", name))
	if !cb.Ephemeral() || len(cb.Embeds) != 1 {
		e.t.Fatalf("%s: /preset show %q: want one ephemeral embed, got %+v", user.Name, name, cb)
	}
	return cb.Embeds[0].Title, embedFields(cb.Embeds[0])
}

func embedFields(em *discordgo.MessageEmbed) map[string]string {
	out := map[string]string{}
	for _, f := range em.Fields {
		out[f.Name] = f.Value
	}
	return out
}

// presetChoices is what autocomplete offers user on /preset sub's name.
func (e *env) presetChoices(user discordtest.User, sub, typed string) []string {
	e.t.Helper()
	it := e.dc.SendAutocomplete(discordtest.CommandSpec{User: user, Name: "preset", Options: []discordtest.Option{
		discordtest.Subcommand(sub, discordtest.String("name", typed).Focus()),
	}})
	return choiceValues(e.t, e.response(it))
}

// imaginePresetChoices is what autocomplete offers user on /imagine's preset.
func (e *env) imaginePresetChoices(user discordtest.User, typed string) []string {
	e.t.Helper()
	it := e.dc.SendAutocomplete(discordtest.CommandSpec{User: user, Name: "imagine", Options: []discordtest.Option{
		discordtest.String("prompt", "a cat"), discordtest.String("preset", typed).Focus(),
	}})
	return choiceValues(e.t, e.response(it))
}

func choiceValues(t *testing.T, cb discordtest.Callback) []string {
	t.Helper()
	if cb.Type != discordgo.InteractionApplicationCommandAutocompleteResult {
		t.Fatalf("want autocomplete choices, got %+v", cb)
	}
	out := []string{}
	for _, c := range cb.Choices {
		out = append(out, fmt.Sprint(c.Value))
	}
	return out
}

// generate runs /imagine to its images and returns the one txt2img A1111
// received for it.
func (e *env) generate(user discordtest.User, opts ...discordtest.Option) a1111.Txt2ImgRequest {
	e.t.Helper()
	before := len(e.sd.Requests())
	it := e.imagine(user, opts...)
	if cb := e.response(it); cb.Ephemeral() {
		e.t.Fatalf("%s: /imagine %v refused: %q", user.Name, opts, cb.Content)
	}
	if m := e.finished(it); len(m.Attachments) == 0 {
		e.t.Fatalf("%s: /imagine %v gave no image: %q", user.Name, opts, m.Content)
	}
	reqs := e.sd.Requests()
	if len(reqs) != before+1 {
		e.t.Fatalf("want one more txt2img, A1111 went from %d to %d", before, len(reqs))
	}
	return reqs[before]
}

// refused checks an answer is a private one-sentence refusal mentioning
// every want.
func refused(t *testing.T, what string, cb discordtest.Callback, want ...string) {
	t.Helper()
	if !cb.Ephemeral() {
		t.Errorf("%s: a refusal should be ephemeral, got %+v", what, cb)
	}
	for _, w := range want {
		if !strings.Contains(cb.Content, w) {
			t.Errorf("%s: refusal %q should mention %q", what, cb.Content, w)
		}
	}
	if c := strings.TrimSpace(cb.Content); c == "" || strings.Contains(c, "\n") || strings.Contains(c, "goroutine") {
		t.Errorf("%s: refusal should be one sentence: %q", what, cb.Content)
	}
}

func checkpointOf(r a1111.Txt2ImgRequest) string {
	s, _ := r.OverrideSettings["sd_model_checkpoint"].(string)
	return s
}

// ghibliNight is a preset using every setting, its LoRAs given by alias and
// in the wrong case.
func ghibliNight() []discordtest.Option {
	return []discordtest.Option{
		discordtest.String("prompt", "masterpiece, night sky"),
		discordtest.String("negative", "blurry, lowres"),
		discordtest.String("lora", "STUDIO_GHIBLI_V2"), discordtest.Number("weight", 0.7),
		discordtest.String("lora2", "cyberpunk_EDGERUNNERS"), discordtest.Number("weight2", 0.5),
		discordtest.String("checkpoint", "v1-5-pruned-emaonly"),
		discordtest.String("sampler", "dpm++ 2m karras"),
		discordtest.Int("steps", 28),
		discordtest.Number("cfg", 6.5),
		discordtest.String("size", "512x768"),
	}
}

func TestPresetSaveShowAndApply(t *testing.T) {
	e := start(t, setup{})
	cb := e.savePreset(alice, "Ghibli Night", ghibliNight()...)
	if len(cb.Embeds) != 1 {
		t.Fatalf("the confirmation should show the preset: %+v", cb)
	}
	checkShown := func(where string, f map[string]string) {
		t.Helper()
		want := map[string]string{
			"Prompt prefix": "masterpiece, night sky",
			"Negative":      "blurry, lowres",
			"LoRAs":         "`" + ghibli + "` 0.7\n`" + cyberpunk + "` 0.5",
			"Checkpoint":    a1111test.ModelSD15,
			"Steps":         "28",
			"CFG":           "6.5",
			"Size":          "512x768",
		}
		for k, v := range want {
			if f[k] != v {
				t.Errorf("%s: field %s = %q, want %q (all: %v)", where, k, f[k], v, f)
			}
		}
		// Typed in lower case, shown as the server spells it.
		if f["Sampler"] != "DPM++ 2M Karras" {
			t.Errorf("%s: sampler %q, want DPM++ 2M Karras", where, f["Sampler"])
		}
	}
	checkShown("save reply", embedFields(cb.Embeds[0]))
	title, fields := e.showPreset(alice, "ghibli night")
	if !strings.Contains(title, "Ghibli Night") {
		t.Errorf("show should keep the spelling the user saved: %q", title)
	}
	checkShown("show", fields)

	list := e.presetCmd(alice, "list")
	if !list.Ephemeral() || !strings.Contains(list.Content, "Ghibli Night") || !strings.Contains(list.Content, "1 of 50") {
		t.Errorf("list: %+v", list)
	}

	// Used as saved: triggers, the preset's prompt, the user's prompt, the tags.
	r := e.generate(alice, discordtest.String("prompt", "a fox"), discordtest.String("preset", "GHIBLI NIGHT"))
	want := "ghibli style, edgerunners style, masterpiece, night sky, a fox <lora:" + ghibli + ":0.7> <lora:" + cyberpunk + ":0.5>"
	if r.Prompt != want {
		t.Errorf("prompt with the preset:\n got %q\nwant %q", r.Prompt, want)
	}
	if r.NegativePrompt != "blurry, lowres" || r.Steps != 28 || r.CFGScale != 6.5 || r.Width != 512 || r.Height != 768 ||
		r.SamplerName != "DPM++ 2M" || r.Scheduler != "Karras" || checkpointOf(r) != a1111test.ModelSD15 {
		t.Errorf("settings of the preset not sent: %+v", r)
	}

	// What the command gives wins: weight alone re-weights the preset's
	// LoRA, lora2 replaces its second, steps and negative replace its own.
	r = e.generate(alice, discordtest.String("prompt", "a fox"), discordtest.String("preset", "Ghibli Night"),
		discordtest.Number("weight", 1.25), discordtest.String("lora2", "add_detail"), discordtest.Number("weight2", 0.4),
		discordtest.Int("steps", 12), discordtest.String("negative", "text"))
	want = "ghibli style, masterpiece, night sky, a fox <lora:" + ghibli + ":1.25> <lora:add_detail:0.4>"
	if r.Prompt != want {
		t.Errorf("prompt with overrides:\n got %q\nwant %q", r.Prompt, want)
	}
	if r.Steps != 12 || r.NegativePrompt != "text" || r.CFGScale != 6.5 || r.Width != 512 || checkpointOf(r) != a1111test.ModelSD15 {
		t.Errorf("overrides and the rest of the preset: %+v", r)
	}
	// The preset itself is unchanged by a run that overrode it.
	_, fields = e.showPreset(alice, "Ghibli Night")
	checkShown("show after an override", fields)

	// Saving again under another case replaces, keeping one preset.
	e.savePreset(alice, "GHIBLI night", discordtest.String("lora", ghibli), discordtest.Int("steps", 30))
	title, fields = e.showPreset(alice, "Ghibli Night")
	if !strings.Contains(title, "GHIBLI night") || fields["Steps"] != "30" || fields["Negative"] != "" || fields["LoRAs"] != "`"+ghibli+"` preferred weight" {
		t.Errorf("replaced preset: %q %v", title, fields)
	}
	if list := e.presetCmd(alice, "list"); !strings.Contains(list.Content, "1 of 50") {
		t.Errorf("a replace should not add a preset: %q", list.Content)
	}
	if n := len(e.sd.Requests()); n != 2 {
		t.Errorf("saving and showing presets should not generate; A1111 got %d requests", n)
	}
}

func TestPresetSaveRefusesWhatImagineWould(t *testing.T) {
	e := start(t, setup{})
	cases := []struct {
		name string
		opts []discordtest.Option
		want string
	}{
		{"unknown lora", []discordtest.Option{discordtest.String("lora", "pixelart_xl_v9")}, pixelArt},
		{"weight out of range", []discordtest.Option{discordtest.String("lora", ghibli), discordtest.Number("weight", 2.5)}, "-2"},
		{"weight without lora", []discordtest.Option{discordtest.Number("weight2", 0.5)}, "lora2"},
		{"unknown checkpoint", []discordtest.Option{discordtest.String("checkpoint", "sdxl_turbo")}, "checkpoint"},
		{"unknown sampler", []discordtest.Option{discordtest.String("sampler", "Eulr a")}, "Euler a"},
		{"steps", []discordtest.Option{discordtest.Int("steps", 500)}, "150"},
		{"size", []discordtest.Option{discordtest.String("size", "huge")}, "WIDTHxHEIGHT"},
		{"refused tag in the prefix", []discordtest.Option{discordtest.String("prompt", "a cat <hypernet:anime:1>")}, "hypernet"},
		{"unknown lora tag in the prefix", []discordtest.Option{discordtest.String("prompt", "a cat <lora:ghibli:1>")}, "ghibli"},
		{"bad weight in a prefix tag", []discordtest.Option{discordtest.String("prompt", "a cat <lora:add_detail:5>")}, "-2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cb := e.presetCmd(alice, "save", append([]discordtest.Option{discordtest.String("name", "bad "+tc.name)}, tc.opts...)...)
			refused(t, tc.name, cb, tc.want)
		})
	}
	if list := e.presetCmd(alice, "list"); !strings.Contains(list.Content, "no presets") {
		t.Errorf("refused saves must store nothing: %q", list.Content)
	}
	// A LoRA tag typed in the prefix is fine and applies with the preset.
	e.savePreset(alice, "Tagged", discordtest.String("prompt", "watercolor <lora:studio_ghibli_v2:0.5>"))
	r := e.generate(alice, discordtest.String("prompt", "a boat"), discordtest.String("preset", "Tagged"))
	if want := "ghibli style, watercolor, a boat <lora:" + ghibli + ":0.5>"; r.Prompt != want {
		t.Errorf("a preset with a tag in its prefix:\n got %q\nwant %q", r.Prompt, want)
	}
}

func TestPresetAutocompleteOffersOnlyYours(t *testing.T) {
	e := start(t, setup{})
	for _, n := range []string{"Moody dark", "Sunny day", "Dark forest", "dark", "Darkroom"} {
		e.savePreset(alice, n, discordtest.Int("steps", 20))
	}
	e.savePreset(bob, "bob's dark", discordtest.Int("steps", 20))

	wantAlice := []string{"dark", "Dark forest", "Darkroom", "Moody dark"}
	for _, sub := range []string{"show", "delete", "default"} {
		if got := e.presetChoices(alice, sub, "DARK"); strings.Join(got, "|") != strings.Join(wantAlice, "|") {
			t.Errorf("/preset %s autocomplete for alice typing DARK:\n got %q\nwant %q", sub, got, wantAlice)
		}
		if got := e.presetChoices(bob, sub, "dark"); len(got) != 1 || got[0] != "bob's dark" {
			t.Errorf("/preset %s autocomplete for bob: got %q, want only his own", sub, got)
		}
	}
	if got := e.imaginePresetChoices(alice, "dark"); strings.Join(got, "|") != strings.Join(wantAlice, "|") {
		t.Errorf("/imagine preset autocomplete for alice:\n got %q\nwant %q", got, wantAlice)
	}
	if got := e.imaginePresetChoices(bob, ""); len(got) != 1 || got[0] != "bob's dark" {
		t.Errorf("/imagine preset autocomplete for bob with nothing typed: %q", got)
	}
	if got := e.imaginePresetChoices(bob, "sunny"); len(got) != 0 {
		t.Errorf("bob must not be offered alice's presets: %q", got)
	}
	if got := e.presetChoices(alice, "show", ""); len(got) != 5 || got[0] != "dark" {
		t.Errorf("empty query: all of alice's presets in name order, got %q", got)
	}
	// default also offers the way to clear it.
	if got := e.presetChoices(bob, "default", "no"); len(got) != 1 || got[0] != "none" {
		t.Errorf("/preset default autocomplete typing no: %q", got)
	}
	if got := e.presetChoices(alice, "default", ""); len(got) == 0 || got[len(got)-1] != "none" {
		t.Errorf("/preset default autocomplete should end with none: %q", got)
	}
}

func TestPresetDefaultAppliesUntilCleared(t *testing.T) {
	e := start(t, setup{})
	e.savePreset(alice, "Ghibli", discordtest.String("lora", ghibli), discordtest.Number("weight", 0.6), discordtest.Int("steps", 14))
	e.savePreset(alice, "Punk", discordtest.String("lora", cyberpunk), discordtest.Number("weight", 0.9))

	cb := e.presetCmd(alice, "default", discordtest.String("name", "ghibli"))
	if !cb.Ephemeral() || !strings.Contains(cb.Content, "default") {
		t.Fatalf("default: %+v", cb)
	}
	if title, _ := e.showPreset(alice, "Ghibli"); !strings.Contains(title, "default") {
		t.Errorf("show should say which preset is the default: %q", title)
	}
	r := e.generate(alice, discordtest.String("prompt", "a hill"))
	if want := "ghibli style, a hill <lora:" + ghibli + ":0.6>"; r.Prompt != want || r.Steps != 14 {
		t.Errorf("the default preset should apply when none is named:\n got %q steps %d\nwant %q steps 14", r.Prompt, r.Steps, want)
	}
	// A named preset replaces the default, it does not stack on it.
	r = e.generate(alice, discordtest.String("prompt", "a hill"), discordtest.String("preset", "punk"))
	if want := "edgerunners style, a hill <lora:" + cyberpunk + ":0.9>"; r.Prompt != want || r.Steps != 20 {
		t.Errorf("a named preset wins over the default:\n got %q steps %d\nwant %q steps 20", r.Prompt, r.Steps, want)
	}
	// bob has no default: alice's does not reach him.
	if r := e.generate(bob, discordtest.String("prompt", "a hill")); r.Prompt != "a hill" {
		t.Errorf("alice's default applied to bob: %q", r.Prompt)
	}

	cb = e.presetCmd(alice, "default", discordtest.String("name", "none"))
	if !cb.Ephemeral() || !strings.Contains(cb.Content, "No default") {
		t.Errorf("default none: %+v", cb)
	}
	if r := e.generate(alice, discordtest.String("prompt", "a hill")); r.Prompt != "a hill" || r.Steps != 20 {
		t.Errorf("after default none, /imagine uses the bot's defaults: %q steps %d", r.Prompt, r.Steps)
	}

	// Deleting the default preset stops it being the default.
	e.presetCmd(alice, "default", discordtest.String("name", "Punk"))
	cb = e.presetCmd(alice, "delete", discordtest.String("name", "PUNK"))
	if !cb.Ephemeral() || !strings.Contains(cb.Content, "Deleted") || !strings.Contains(cb.Content, "Punk") {
		t.Errorf("delete: %+v", cb)
	}
	if r := e.generate(alice, discordtest.String("prompt", "a hill")); r.Prompt != "a hill" {
		t.Errorf("a deleted default still applies: %q", r.Prompt)
	}
	refused(t, "show deleted", e.presetCmd(alice, "show", discordtest.String("name", "Punk")), "Punk")
	refused(t, "default unknown", e.presetCmd(alice, "default", discordtest.String("name", "Punk")), "Punk")
}

func TestPresetOtherUsersCannotTouchIt(t *testing.T) {
	e := start(t, setup{})
	e.savePreset(alice, "Secret", discordtest.String("lora", ghibli), discordtest.Number("weight", 0.6), discordtest.String("prompt", "alice's style"))
	e.presetCmd(alice, "default", discordtest.String("name", "Secret"))

	for _, typed := range []string{"Secret", "secret", " SECRET "} {
		refused(t, "bob show "+typed, e.presetCmd(bob, "show", discordtest.String("name", typed)), "no preset")
		refused(t, "bob delete "+typed, e.presetCmd(bob, "delete", discordtest.String("name", typed)), "no preset")
		refused(t, "bob default "+typed, e.presetCmd(bob, "default", discordtest.String("name", typed)), "no preset")
		refused(t, "bob share "+typed, e.presetCmd(bob, "share", discordtest.String("name", typed)), "no preset")
		refused(t, "bob imagine "+typed, e.response(e.imagine(bob, discordtest.String("prompt", "x"), discordtest.String("preset", typed))), "no preset")
	}
	if n := len(e.sd.Requests()); n != 0 {
		t.Fatalf("bob's attempts must generate nothing; A1111 got %d requests", n)
	}
	if list := e.presetCmd(bob, "list"); !strings.Contains(list.Content, "no presets") {
		t.Errorf("bob's list shows someone's presets: %q", list.Content)
	}
	// bob's plain /imagine uses neither alice's preset nor her default.
	if r := e.generate(bob, discordtest.String("prompt", "a dog")); r.Prompt != "a dog" {
		t.Errorf("bob's prompt picked up alice's preset: %q", r.Prompt)
	}
	// alice's preset and default are intact.
	title, f := e.showPreset(alice, "Secret")
	if !strings.Contains(title, "default") || f["LoRAs"] != "`"+ghibli+"` 0.6" {
		t.Errorf("alice's preset after bob's attempts: %q %v", title, f)
	}
	if r := e.generate(alice, discordtest.String("prompt", "a cat")); r.Prompt != "ghibli style, alice's style, a cat <lora:"+ghibli+":0.6>" {
		t.Errorf("alice's default after bob's attempts: %q", r.Prompt)
	}
	// The same name is free for bob, and his is his own.
	e.savePreset(bob, "secret", discordtest.Int("steps", 9))
	if _, f := e.showPreset(alice, "Secret"); f["LoRAs"] == "" || f["Steps"] != "" {
		t.Errorf("bob saving the same name changed alice's: %v", f)
	}
}

// catalogWithout is the sample catalog without the LoRA named name.
func catalogWithout(t *testing.T, name string) []byte {
	t.Helper()
	var all []map[string]any
	if err := json.Unmarshal(a1111test.SampleLoRAsJSON(), &all); err != nil {
		t.Fatal(err)
	}
	var kept []map[string]any
	for _, l := range all {
		if l["name"] != name {
			kept = append(kept, l)
		}
	}
	if len(kept) != len(all)-1 {
		t.Fatalf("sample catalog has no %q", name)
	}
	raw, err := json.Marshal(kept)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// refreshLoRAs has a server manager run /loras refresh and waits for its report.
func (e *env) refreshLoRAs() string {
	e.t.Helper()
	admin := discordtest.User{ID: "300000000000000099", Name: "admin", Permissions: strconv.FormatInt(managePerm, 10)}
	it := e.dc.SendCommand(discordtest.CommandSpec{User: admin, Name: "loras", Options: []discordtest.Option{discordtest.Subcommand("refresh")}})
	m, err := it.WaitOriginal(ctxT(e.t), func(m discordtest.Message) bool { return !m.Loading() && m.Content != "" })
	if err != nil {
		e.t.Fatalf("/loras refresh: %v\nlogs:\n%s", err, e.logs)
	}
	return m.Content
}

func TestPresetWithAVanishedLoRASaysWhichIsMissing(t *testing.T) {
	e := start(t, setup{})
	e.savePreset(alice, "Mix", discordtest.String("lora", ghibli), discordtest.Number("weight", 0.7),
		discordtest.String("lora2", cyberpunk), discordtest.Number("weight2", 0.5))
	e.presetCmd(alice, "default", discordtest.String("name", "Mix"))

	e.sd.SetLoRAsJSON(catalogWithout(t, cyberpunk))
	e.refreshLoRAs()

	cb := e.response(e.imagine(alice, discordtest.String("prompt", "a city"), discordtest.String("preset", "mix")))
	refused(t, "named preset", cb, cyberpunk, "Mix")
	cb = e.response(e.imagine(alice, discordtest.String("prompt", "a city")))
	refused(t, "default preset", cb, cyberpunk)
	// Re-weighting the vanished LoRA does not hide that it is gone.
	cb = e.response(e.imagine(alice, discordtest.String("prompt", "a city"), discordtest.Number("weight2", 0.2)))
	refused(t, "re-weighted", cb, cyberpunk)
	if n := len(e.sd.Requests()); n != 0 {
		t.Fatalf("nothing should be generated with a LoRA missing; A1111 got %d requests", n)
	}

	// The preset still loads, and replacing the missing slot in the command works.
	if _, f := e.showPreset(alice, "Mix"); !strings.Contains(f["LoRAs"], cyberpunk) {
		t.Errorf("the preset should still show its LoRAs: %v", f)
	}
	r := e.generate(alice, discordtest.String("prompt", "a city"), discordtest.String("lora2", "add_detail"))
	if want := "ghibli style, a city <lora:" + ghibli + ":0.7> <lora:add_detail:1>"; r.Prompt != want {
		t.Errorf("with the missing slot replaced:\n got %q\nwant %q", r.Prompt, want)
	}
}

func TestPresetLimitsAndNames(t *testing.T) {
	e := start(t, setup{})
	for i := 1; i <= 50; i++ {
		e.savePreset(alice, fmt.Sprintf("p%02d", i), discordtest.Int("steps", int64(i+10)))
	}
	cb := e.presetCmd(alice, "save", discordtest.String("name", "p51"), discordtest.Int("steps", 30))
	refused(t, "51st preset", cb, "50", "delete one")
	// Replacing one of the 50 is still allowed, and bob is not limited by alice.
	e.savePreset(alice, "P07", discordtest.Int("steps", 99))
	if _, f := e.showPreset(alice, "p07"); f["Steps"] != "99" {
		t.Errorf("replacing at the limit: %v", f)
	}
	e.savePreset(bob, "p51")
	list := e.presetCmd(alice, "list")
	if !strings.Contains(list.Content, "50 of 50") || strings.Contains(list.Content, "p51") {
		t.Errorf("alice's list at the limit: %q", list.Content)
	}
	if got := e.presetChoices(alice, "show", "p"); len(got) != 25 || got[0] != "p01" {
		t.Errorf("autocomplete over 50 presets: want Discord's 25 best, got %d: %q", len(got), got)
	}
	// After a delete there is room again.
	e.presetCmd(alice, "delete", discordtest.String("name", "p01"))
	e.savePreset(alice, "p51")

	for _, name := range []string{"none", "NONE", "   ", "bad\x07name", strings.Repeat("x", 33)} {
		cb := e.presetCmd(bob, "save", discordtest.String("name", name), discordtest.Int("steps", 30))
		refused(t, fmt.Sprintf("name %q", name), cb, "1 to 32 characters")
	}
	if got := e.presetChoices(bob, "show", ""); len(got) != 1 {
		t.Errorf("bad names must not be stored: bob has %q", got)
	}
	// A name of 32 characters, with spaces and non-Latin letters, is fine.
	long := "ブルー " + strings.Repeat("é", 28)
	e.savePreset(bob, long, discordtest.Int("steps", 30))
	if got := e.imaginePresetChoices(bob, "ブルー"); len(got) != 1 || got[0] != long {
		t.Errorf("a 32-character name: %q", got)
	}
}

func TestSaveAsPresetButton(t *testing.T) {
	e := start(t, setup{})
	e.savePreset(alice, "Base", discordtest.String("prompt", "cinematic lighting"), discordtest.String("negative", "text, watermark"),
		discordtest.String("checkpoint", "sd_xl_base_1.0"))
	it := e.imagine(alice, discordtest.String("prompt", "a knight"), discordtest.String("preset", "Base"),
		discordtest.String("lora", "Pixel-Art-XL"), discordtest.Number("weight", 0.8),
		discordtest.String("lora2", furniture), discordtest.Number("weight2", 0.6),
		discordtest.String("sampler", "euler A"), discordtest.Int("steps", 12), discordtest.Number("cfg", 5),
		discordtest.String("size", "832x1216"), discordtest.Int("seed", 7))
	e.response(it)
	m := e.finished(it)
	orig := e.sd.Requests()[0]
	btn, ok := m.FindButton("Save as preset")
	if !ok {
		t.Fatalf("result has no Save as preset button: %+v", m.Components)
	}

	// bob likes alice's result and keeps its settings as his own preset.
	click := e.dc.ClickButton(m, btn.CustomID, bob)
	if cb := e.response(click); cb.Type != discordgo.InteractionResponseModal {
		t.Fatalf("the button should ask for a name in a form, got %+v", cb)
	}
	cb := e.response(e.dc.SubmitModal(click, map[string]string{"name": "Knightly"}, bob))
	if !cb.Ephemeral() || !strings.Contains(cb.Content, "Knightly") {
		t.Fatalf("modal submit: %+v", cb)
	}
	_, f := e.showPreset(bob, "knightly")
	want := map[string]string{
		"Prompt prefix": "cinematic lighting",
		"Negative":      "text, watermark",
		"LoRAs":         "`" + pixelArt + "` 0.8\n`" + furniture + "` 0.6",
		"Checkpoint":    a1111test.ModelSDXL,
		"Sampler":       "Euler a",
		"Steps":         "12",
		"CFG":           "5",
		"Size":          "832x1216",
	}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("saved from the result: %s = %q, want %q", k, f[k], v)
		}
	}
	refused(t, "alice has no Knightly", e.presetCmd(alice, "show", discordtest.String("name", "Knightly")), "no preset")

	// bob's preset reproduces alice's request, seed aside.
	r := e.generate(bob, discordtest.String("prompt", "a knight"), discordtest.String("preset", "Knightly"), discordtest.Int("seed", 7))
	r.ForceTaskID, orig.ForceTaskID = "", ""
	if fmt.Sprint(r) != fmt.Sprint(orig) {
		t.Errorf("bob's preset does not reproduce the job:\n got %+v\nwant %+v", r, orig)
	}

	// A job with LoRAs typed in the prompt keeps them too.
	it = e.imagine(alice, discordtest.String("prompt", "a chair <lora:"+furniture+":0.3>"), discordtest.String("preset", "none-such"))
	refused(t, "unknown preset", e.response(it), "none-such")
	it = e.imagine(alice, discordtest.String("prompt", "a chair <lora:"+furniture+":0.3>"), discordtest.String("lora", pixelArt))
	e.response(it)
	m = e.finished(it)
	btn, _ = m.FindButton("Save as preset")
	click = e.dc.ClickButton(m, btn.CustomID, alice)
	e.response(click)
	e.response(e.dc.SubmitModal(click, map[string]string{"name": "Chairs"}, alice))
	if _, f := e.showPreset(alice, "Chairs"); f["LoRAs"] != "`"+pixelArt+"` 1\n`"+furniture+"` 0.3" || f["Prompt prefix"] != "" {
		t.Errorf("typed LoRA tags should be saved, the user's prompt not: %v", f)
	}

	// A bad name in the form is refused like in /preset save.
	click = e.dc.ClickButton(m, btn.CustomID, alice)
	e.response(click)
	refused(t, "modal name none", e.response(e.dc.SubmitModal(click, map[string]string{"name": "none"}, alice)), "1 to 32")
}

var shareCode = regexp.MustCompile(`code:([A-Z0-9]+)`)

func TestPresetShareAndImport(t *testing.T) {
	e := start(t, setup{})
	e.savePreset(alice, "Neon", discordtest.String("prompt", "neon city"), discordtest.String("lora", cyberpunk), discordtest.Number("weight", 0.9))
	cb := e.presetCmd(alice, "share", discordtest.String("name", "neon"))
	if cb.Ephemeral() {
		t.Fatalf("a share is meant for others: it should be public, got %+v", cb)
	}
	mm := shareCode.FindStringSubmatch(cb.Content)
	if mm == nil || len(cb.Embeds) != 1 {
		t.Fatalf("share reply should give a code and show the preset: %+v", cb)
	}
	code := mm[1]

	// alice changes hers after sharing: the code keeps what she shared.
	e.savePreset(alice, "Neon", discordtest.String("prompt", "rainy street"), discordtest.String("lora", ghibli), discordtest.Number("weight", 0.2))

	cb = e.presetCmd(bob, "import", discordtest.String("code", strings.ToLower(code)))
	if !cb.Ephemeral() || !strings.Contains(cb.Content, "Neon") {
		t.Fatalf("import: %+v", cb)
	}
	_, f := e.showPreset(bob, "Neon")
	if f["LoRAs"] != "`"+cyberpunk+"` 0.9" || f["Prompt prefix"] != "neon city" {
		t.Errorf("bob's copy should be the preset as shared: %v", f)
	}
	// alice changes hers again and deletes it: bob's copy stays.
	e.savePreset(alice, "Neon", discordtest.String("lora", ghibli), discordtest.Number("weight", 1.5))
	r := e.generate(bob, discordtest.String("prompt", "a car"), discordtest.String("preset", "Neon"))
	if want := "edgerunners style, neon city, a car <lora:" + cyberpunk + ":0.9>"; r.Prompt != want {
		t.Errorf("bob's copy in use:\n got %q\nwant %q", r.Prompt, want)
	}
	e.presetCmd(alice, "delete", discordtest.String("name", "Neon"))
	if _, f := e.showPreset(bob, "neon"); f["LoRAs"] != "`"+cyberpunk+"` 0.9" {
		t.Errorf("alice deleting hers changed bob's: %v", f)
	}
	// bob's changes do not reach alice either: she no longer has one.
	refused(t, "alice's deleted", e.presetCmd(alice, "show", discordtest.String("name", "Neon")), "no preset")

	refused(t, "import twice", e.presetCmd(bob, "import", discordtest.String("code", code)), "name")
	cb = e.presetCmd(bob, "import", discordtest.String("code", code), discordtest.String("name", "Neon 2"))
	if !cb.Ephemeral() || !strings.Contains(cb.Content, "Neon 2") {
		t.Errorf("import under another name: %+v", cb)
	}
	if got := e.presetChoices(bob, "show", "neon"); strings.Join(got, "|") != "Neon|Neon 2" {
		t.Errorf("bob's presets after two imports: %q", got)
	}
	refused(t, "bad code", e.presetCmd(bob, "import", discordtest.String("code", "ZZZZZZZZ")), "code")
	refused(t, "garbage code", e.presetCmd(bob, "import", discordtest.String("code", "<@everyone>")), "code")
}

func TestPresetsSurviveRestart(t *testing.T) {
	e := start(t, setup{})
	e.savePreset(alice, "Keep Me", ghibliNight()...)
	e.presetCmd(alice, "default", discordtest.String("name", "keep me"))
	e.savePreset(bob, "Bob's", discordtest.String("lora", pixelArt), discordtest.Number("weight", 0.5))
	code := shareCode.FindStringSubmatch(e.presetCmd(bob, "share", discordtest.String("name", "Bob's")).Content)
	if code == nil {
		t.Fatal("no share code")
	}
	it := e.imagine(alice, discordtest.String("prompt", "a fox"))
	e.response(it)
	before := e.finished(it)
	wantReq := e.sd.Requests()[0]
	_, wantFields := e.showPreset(alice, "Keep Me")

	e.restart()

	title, f := e.showPreset(alice, "keep me")
	if !strings.Contains(title, "Keep Me") || !strings.Contains(title, "default") || fmt.Sprint(f) != fmt.Sprint(wantFields) {
		t.Errorf("alice's preset after the restart:\n got %q %v\nwant %v", title, f, wantFields)
	}
	r := e.generate(alice, discordtest.String("prompt", "a fox"))
	r.ForceTaskID, wantReq.ForceTaskID, r.Seed, wantReq.Seed = "", "", 0, 0
	if fmt.Sprint(r) != fmt.Sprint(wantReq) {
		t.Errorf("the default preset after the restart:\n got %+v\nwant %+v", r, wantReq)
	}
	if got := e.imaginePresetChoices(bob, ""); strings.Join(got, "|") != "Bob's" {
		t.Errorf("bob's presets after the restart: %q", got)
	}
	if cb := e.presetCmd(alice, "import", discordtest.String("code", code[1])); !strings.Contains(cb.Content, "Bob's") {
		t.Errorf("a share code from before the restart: %+v", cb)
	}
	// A result from before the restart can still be saved as a preset.
	btn, ok := before.FindButton("Save as preset")
	if !ok {
		t.Fatal("no Save as preset button")
	}
	modal := e.dc.ClickButton(before, btn.CustomID, bob)
	if cb := e.response(modal); cb.Type != discordgo.InteractionResponseModal {
		t.Fatalf("the Save button of a result from before the restart should open the form, got %+v", cb)
	}
	cb := e.response(e.dc.SubmitModal(modal, map[string]string{"name": "From Before"}, bob))
	if !cb.Ephemeral() || !strings.Contains(cb.Content, "From Before") {
		t.Errorf("saving a result from before the restart: %+v", cb)
	}
	if got := e.imaginePresetChoices(bob, "from"); strings.Join(got, "|") != "From Before" {
		t.Errorf("bob's presets after saving the old result: %q", got)
	}
}

func TestPresetSaveCompletesItsGenerationOptions(t *testing.T) {
	e := start(t, setup{})
	e.savePreset(alice, "mine", discordtest.String("lora", "add_detail"))
	it := e.dc.SendAutocomplete(discordtest.CommandSpec{User: alice, Name: "preset", Options: []discordtest.Option{
		discordtest.Subcommand("save", discordtest.String("name", "new"), discordtest.String("lora", "pixl").Focus()),
	}})
	cb := e.response(it)
	if len(cb.Choices) == 0 || cb.Choices[0].Value != "pixel-art-xl" {
		t.Errorf("/preset save lora should offer LoRAs like /imagine, got %+v", cb.Choices)
	}
	for _, c := range cb.Choices {
		if c.Value == "mine" {
			t.Errorf("preset names offered as a LoRA: %+v", cb.Choices)
		}
	}
}

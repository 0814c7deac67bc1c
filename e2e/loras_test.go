package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"lorabot/a1111/a1111test"
	"lorabot/bot/discordtest"
	"lorabot/config"
)

// loras sends /loras SUB as user.
func (e *env) loras(spec discordtest.CommandSpec, sub string, opts ...discordtest.Option) *discordtest.Interaction {
	spec.Name = "loras"
	spec.Options = []discordtest.Option{discordtest.Subcommand(sub, opts...)}
	return e.dc.SendCommand(spec)
}

// listPage is one page of /loras list as the user sees it.
type listPage struct {
	title, footer string
	lines         []string
	prev, next    discordtest.Component
}

func readPage(t *testing.T, m discordtest.Message) listPage {
	t.Helper()
	if len(m.Embeds) != 1 {
		t.Fatalf("a /loras list page should be one embed, got content %q and %d embeds", m.Content, len(m.Embeds))
	}
	em := m.Embeds[0]
	p := listPage{title: em.Title}
	if em.Footer != nil {
		p.footer = em.Footer.Text
	}
	for _, l := range strings.Split(strings.TrimSpace(em.Description), "\n") {
		if l != "" {
			p.lines = append(p.lines, l)
		}
	}
	for _, b := range m.Buttons() {
		switch {
		case strings.Contains(b.Label, "Previous"):
			p.prev = b
		case strings.Contains(b.Label, "Next"):
			p.next = b
		}
	}
	if p.prev.CustomID == "" || p.next.CustomID == "" {
		t.Fatalf("a page should carry Previous and Next buttons, got %+v", m.Buttons())
	}
	return p
}

// click presses a button on the interaction's reply and waits for the
// message to be replaced in place (callback type 7).
func (e *env) click(on *discordtest.Interaction, b discordtest.Component, user discordtest.User) discordtest.Message {
	e.t.Helper()
	it := e.dc.ClickButton(on.Original(), b.CustomID, user)
	cb := e.response(it)
	if cb.Type != discordgo.InteractionResponseUpdateMessage {
		e.t.Fatalf("a page button should update the message in place (type 7), got type %d %q", cb.Type, cb.Content)
	}
	return on.Original()
}

func TestLorasListPagesThroughTheCatalog(t *testing.T) {
	e := start(t, setup{a1111: a1111test.Options{LoRAsJSON: a1111test.LoRAsJSON(35)}})
	it := e.loras(discordtest.CommandSpec{User: alice}, "list")
	cb := e.response(it)
	if cb.Type != discordgo.InteractionResponseChannelMessageWithSource || !cb.Ephemeral() {
		t.Fatalf("/loras list should answer at once, for the user only; got type %d flags %d", cb.Type, cb.Flags)
	}
	p1 := readPage(t, it.Original())
	if !strings.Contains(p1.title, "35") || !strings.Contains(p1.footer, "Page 1 of 4") {
		t.Errorf("first page: title %q, footer %q; want the 35 LoRAs on 4 pages", p1.title, p1.footer)
	}
	if len(p1.lines) != 10 {
		t.Errorf("a page should list 10 LoRAs, got %d", len(p1.lines))
	}
	if !p1.prev.Disabled || p1.next.Disabled {
		t.Errorf("on page 1 Previous should be disabled and Next enabled: prev %+v next %+v", p1.prev, p1.next)
	}

	seen := map[string]bool{}
	for _, l := range p1.lines {
		seen[l] = true
	}
	p := p1
	for n := 2; n <= 4; n++ {
		p = readPage(t, e.click(it, p.next, alice))
		if want := "Page " + strconv.Itoa(n) + " of 4"; !strings.Contains(p.footer, want) {
			t.Fatalf("after Next: footer %q, want %q", p.footer, want)
		}
		if p.prev.Disabled {
			t.Errorf("page %d: Previous should be enabled", n)
		}
		for _, l := range p.lines {
			if seen[l] {
				t.Errorf("page %d repeats %q", n, l)
			}
			seen[l] = true
		}
	}
	if !p.next.Disabled || len(p.lines) != 5 {
		t.Errorf("last page: want 5 LoRAs and Next disabled, got %d lines, next %+v", len(p.lines), p.next)
	}
	if len(seen) != 35 {
		t.Errorf("paging through should show all 35 LoRAs once, saw %d", len(seen))
	}
	back := readPage(t, e.click(it, p.prev, alice))
	if !strings.Contains(back.footer, "Page 3 of 4") {
		t.Errorf("Previous from page 4: footer %q", back.footer)
	}
}

func TestLorasListQueryFilters(t *testing.T) {
	e := start(t, setup{a1111: a1111test.Options{LoRAsJSON: a1111test.LoRAsJSON(35)}})
	var all []map[string]any
	if err := json.Unmarshal(a1111test.LoRAsJSON(35), &all); err != nil {
		t.Fatal(err)
	}

	// "pixel-art" is the stem of two LoRAs of the 35.
	it := e.loras(discordtest.CommandSpec{User: alice}, "list", discordtest.String("query", "pixel-art"))
	e.response(it)
	p := readPage(t, it.Original())
	if len(p.lines) != 2 {
		t.Errorf("query pixel-art: want its 2 LoRAs, got %q", p.lines)
	}
	for _, l := range p.lines {
		if !strings.Contains(l, "pixel-art") {
			t.Errorf("query pixel-art lists %q", l)
		}
	}
	if !strings.Contains(p.title, "pixel-art") || !p.next.Disabled {
		t.Errorf("one page titled with the query: title %q, next %+v", p.title, p.next)
	}

	// A query matching more than one page, and more LoRAs than
	// autocomplete's 25 choices, lists every match, paged.
	want := 0
	for _, l := range all {
		if strings.Contains(strings.ToLower(l["name"].(string)+" "+l["alias"].(string)), "style") ||
			strings.Contains(topTrigger(l["metadata"].(map[string]any)), "style") {
			want++
		}
	}
	if want <= 25 {
		t.Fatalf("fixture: only %d LoRAs mention style; the test needs more than 25", want)
	}
	it = e.loras(discordtest.CommandSpec{User: alice}, "list", discordtest.String("query", "Style"))
	e.response(it)
	p = readPage(t, it.Original())
	title := p.title
	shown := p.lines
	for !p.next.Disabled {
		p = readPage(t, e.click(it, p.next, alice))
		if !strings.Contains(p.title, "Style") {
			t.Fatalf("paging lost the query: title %q", p.title)
		}
		shown = append(shown, p.lines...)
	}
	if len(shown) < want || !strings.Contains(title, "("+strconv.Itoa(len(shown))+")") {
		t.Errorf("query Style: %d LoRAs mention it; title %q, the pages show %d", want, title, len(shown))
	}
	for _, l := range shown {
		if !strings.Contains(strings.ToLower(l), "style") {
			t.Errorf("query Style lists %q", l)
		}
	}

	// Nothing matching says so.
	it = e.loras(discordtest.CommandSpec{User: alice}, "list", discordtest.String("query", "zzzzqqqq"))
	if cb := e.response(it); !strings.Contains(cb.Content, "zzzzqqqq") || len(cb.Embeds) != 0 {
		t.Errorf("no match should say so: %+v", cb)
	}
}

func TestLorasInfoShowsOneInFull(t *testing.T) {
	dir := t.TempDir()
	sidecar := `{"description": "Ghibli backgrounds", "sd version": "SD1", "activation text": "ghibli style, scenery", "preferred weight": 0.8, "notes": ""}`
	if err := os.WriteFile(filepath.Join(dir, "ghibli_style_offset.json"), []byte(sidecar), 0o644); err != nil {
		t.Fatal(err)
	}
	e := start(t, setup{tweak: func(c *config.Config) { c.LoRADir = dir }})

	// By alias, in the wrong case.
	cb := e.response(e.loras(discordtest.CommandSpec{User: alice}, "info", discordtest.String("name", "Studio_Ghibli_V2")))
	if !cb.Ephemeral() || len(cb.Embeds) != 1 {
		t.Fatalf("/loras info should answer with one embed, for the user only: %+v", cb)
	}
	em := cb.Embeds[0]
	fields := map[string]string{}
	for _, f := range em.Fields {
		fields[f.Name] = f.Value
	}
	if em.Title != "ghibli_style_offset" {
		t.Errorf("title %q, want the file name", em.Title)
	}
	checks := map[string]string{
		"Alias":            "studio_ghibli_v2",
		"Family":           "SD1",
		"Trigger words":    "ghibli style, scenery",
		"Preferred weight": "0.8",
		"Tag to type":      "<lora:ghibli_style_offset:0.8>",
	}
	for k, want := range checks {
		if !strings.Contains(fields[k], want) {
			t.Errorf("field %q = %q, want %q", k, fields[k], want)
		}
	}

	// Without a sidecar: the metadata's trigger, weight 1.
	cb = e.response(e.loras(discordtest.CommandSpec{User: alice}, "info", discordtest.String("name", "PIXEL-ART-XL")))
	if len(cb.Embeds) != 1 {
		t.Fatalf("info pixel-art-xl: %+v", cb)
	}
	fields = map[string]string{}
	for _, f := range cb.Embeds[0].Fields {
		fields[f.Name] = f.Value
	}
	if fields["Family"] != "SDXL" || !strings.Contains(fields["Trigger words"], "pixel art, game sprite") ||
		!strings.Contains(fields["Tag to type"], "<lora:pixel-art-xl:1>") {
		t.Errorf("info pixel-art-xl fields: %v", fields)
	}

	// Unknown: the closest names, privately, in one sentence.
	cb = e.response(e.loras(discordtest.CommandSpec{User: alice}, "info", discordtest.String("name", "ghibli_styl_ofset")))
	if !cb.Ephemeral() || len(cb.Embeds) != 0 {
		t.Errorf("unknown LoRA: want an ephemeral sentence, got %+v", cb)
	}
	if !strings.Contains(cb.Content, "ghibli_style_offset") {
		t.Errorf("unknown LoRA should list the closest names: %q", cb.Content)
	}
}

func TestLorasRefreshNeedsManageServerAndReportsChanges(t *testing.T) {
	e := start(t, setup{})
	before := e.sd.Refreshes()

	cb := e.response(e.loras(discordtest.CommandSpec{User: alice}, "refresh"))
	if !cb.Ephemeral() || !strings.Contains(cb.Content, "Manage Server") {
		t.Errorf("refresh by an ordinary member: want an ephemeral refusal naming Manage Server, got %+v", cb)
	}
	if e.sd.Refreshes() != before {
		t.Errorf("a refused refresh must not rescan A1111")
	}

	// On A1111's disk: one LoRA removed, one added.
	var list []map[string]any
	if err := json.Unmarshal(a1111test.SampleLoRAsJSON(), &list); err != nil {
		t.Fatal(err)
	}
	var kept []map[string]any
	for _, l := range list {
		if l["name"] != "revAnimated_v122" {
			kept = append(kept, l)
		}
	}
	kept = append(kept, map[string]any{
		"name": "watercolor_dream", "alias": "watercolor_dream",
		"path":     "/workspace/sd/stable-diffusion-webui/models/Lora/watercolor_dream.safetensors",
		"metadata": map[string]any{"ss_base_model_version": "sd_v1", "modelspec.trigger_phrase": "watercolor"},
	})
	raw, err := json.Marshal(kept)
	if err != nil {
		t.Fatal(err)
	}
	e.sd.SetLoRAsJSON(raw)

	// Permissions given on the interaction win over the user's.
	it := e.loras(discordtest.CommandSpec{User: bob, Permissions: strconv.FormatInt(discordgo.PermissionManageGuild, 10)}, "refresh")
	m, err := it.WaitOriginal(ctxT(t), func(m discordtest.Message) bool { return !m.Loading() })
	if err != nil {
		t.Fatalf("refresh did not report: %v\nlogs:\n%s", err, e.logs)
	}
	if !m.Ephemeral() {
		t.Errorf("the refresh report should be ephemeral")
	}
	if !strings.Contains(m.Content, "1 new") || !strings.Contains(m.Content, "1 removed") || !strings.Contains(m.Content, "8 LoRAs") {
		t.Errorf("refresh report should count the changes: %q", m.Content)
	}
	if e.sd.Refreshes() <= before {
		t.Errorf("refresh should ask A1111 to rescan its folders")
	}

	// Autocomplete now offers the new LoRA, and no longer the removed one.
	ac := e.response(e.dc.SendAutocomplete(discordtest.CommandSpec{User: alice, Name: "imagine", Options: []discordtest.Option{
		discordtest.String("prompt", "a lake"), discordtest.String("lora", "watercol").Focus(),
	}}))
	if len(ac.Choices) == 0 || ac.Choices[0].Value != "watercolor_dream" {
		t.Errorf("autocomplete after refresh: want watercolor_dream first, got %+v", ac.Choices)
	}
	ac = e.response(e.dc.SendAutocomplete(discordtest.CommandSpec{User: alice, Name: "loras", Options: []discordtest.Option{
		discordtest.Subcommand("info", discordtest.String("name", "revAnim").Focus()),
	}}))
	for _, c := range ac.Choices {
		if c.Value == "revAnimated_v122" {
			t.Errorf("the removed LoRA is still offered: %+v", ac.Choices)
		}
	}
	// And /imagine takes it.
	m = e.finished(e.imagine(alice, discordtest.String("prompt", "a lake"), discordtest.String("lora", "watercolor_dream")))
	if len(m.Attachments) != 1 {
		t.Errorf("the new LoRA should generate: %q", m.Content)
	}

	// A1111 down: the rescan fails, says why, and the list stays.
	e.sd.SetMode(a1111test.ModeDown)
	it = e.loras(discordtest.CommandSpec{User: bob, Permissions: strconv.FormatInt(discordgo.PermissionAdministrator, 10)}, "refresh")
	m, err = it.WaitOriginal(ctxT(t), func(m discordtest.Message) bool { return !m.Loading() })
	if err != nil {
		t.Fatalf("refresh did not report: %v\nlogs:\n%s", err, e.logs)
	}
	if !strings.Contains(m.Content, "not answering") || !strings.Contains(m.Content, "stays") {
		t.Errorf("a failed rescan should say A1111 is not answering and the list stays: %q", m.Content)
	}
	e.sd.SetMode(a1111test.ModeOK)
	cb = e.response(e.loras(discordtest.CommandSpec{User: alice}, "info", discordtest.String("name", "watercolor_dream")))
	if len(cb.Embeds) != 1 {
		t.Errorf("the catalog should survive a failed rescan: %q", cb.Content)
	}
}

// topTrigger is the trigger the catalog derives from metadata when no
// sidecar says otherwise: modelspec.trigger_phrase, else the most frequent
// tag over all datasets ("" when tied).
func topTrigger(md map[string]any) string {
	if p, _ := md["modelspec.trigger_phrase"].(string); p != "" {
		return p
	}
	sums := map[string]float64{}
	freq, _ := md["ss_tag_frequency"].(map[string]any)
	for _, ds := range freq {
		tags, _ := ds.(map[string]any)
		for tag, n := range tags {
			f, _ := n.(float64)
			sums[tag] += f
		}
	}
	top, best, tied := "", -1.0, false
	for tag, n := range sums {
		switch {
		case n > best:
			top, best, tied = tag, n, false
		case n == best:
			tied = true
		}
	}
	if tied {
		return ""
	}
	return top
}

// TestLorasSetTriggerWordsWinAndLast: a server admin's trigger words
// (/loras set, which replaced /loras triggers) win over the LoRA's own and
// survive a restart.
func TestLorasSetTriggerWordsWinAndLast(t *testing.T) {
	e := start(t, setup{})
	admin := discordtest.CommandSpec{User: bob, Permissions: strconv.FormatInt(discordgo.PermissionManageGuild, 10)}
	set := func(spec discordtest.CommandSpec, opts ...discordtest.Option) discordtest.Callback {
		return e.response(e.loras(spec, "set", opts...))
	}

	cb := set(discordtest.CommandSpec{User: alice}, discordtest.String("name", "pixel-art-xl"), discordtest.String("triggers", "nope"))
	if !cb.Ephemeral() || !strings.Contains(cb.Content, "Manage Server") {
		t.Errorf("a member without Manage Server must be refused: %+v", cb)
	}
	cb = set(admin, discordtest.String("name", "PIXEL-ART-XL"), discordtest.String("triggers", "pixelated, 8-bit"))
	if !cb.Ephemeral() || !strings.Contains(cb.Content, "pixelated, 8-bit") {
		t.Fatalf("setting trigger words: %+v", cb)
	}
	want := "pixelated, 8-bit, a castle <lora:pixel-art-xl:1>"
	if r := e.generate(alice, discordtest.String("prompt", "a castle"), discordtest.String("lora", "pixel-art-xl")); r.Prompt != want {
		t.Errorf("the admin's trigger words should replace the metadata's:\n got %q\nwant %q", r.Prompt, want)
	}

	e.restart()
	if r := e.generate(alice, discordtest.String("prompt", "a castle"), discordtest.String("lora", "pixel-art-xl")); r.Prompt != want {
		t.Errorf("after a restart:\n got %q\nwant %q", r.Prompt, want)
	}

	cb = set(admin, discordtest.String("name", "pixel-art-xl"), discordtest.String("triggers", "none"))
	if !strings.Contains(cb.Content, "back to its own") || !strings.Contains(cb.Content, "pixel art, game sprite") {
		t.Errorf("clearing: %+v", cb)
	}
	if r := e.generate(alice, discordtest.String("prompt", "a castle"), discordtest.String("lora", "pixel-art-xl")); r.Prompt != "pixel art, game sprite, a castle <lora:pixel-art-xl:1>" {
		t.Errorf("after clearing, the metadata's trigger words apply again: %q", r.Prompt)
	}
	if cb := set(admin, discordtest.String("name", "pixelart_v9"), discordtest.String("triggers", "x")); !cb.Ephemeral() || !strings.Contains(cb.Content, "pixel-art-xl") {
		t.Errorf("an unknown LoRA gets the closest names: %+v", cb)
	}
}

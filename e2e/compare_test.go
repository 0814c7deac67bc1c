package e2e

import (
	"bytes"
	"image/color"
	"image/jpeg"
	"strings"
	"testing"
	"time"

	"lorabot/a1111"
	"lorabot/a1111/a1111test"
	"lorabot/bot/discordtest"
	"lorabot/grid"
)

// compareCmd sends /compare as user with opts.
func (e *env) compareCmd(user discordtest.User, opts ...discordtest.Option) *discordtest.Interaction {
	return e.dc.SendCommand(discordtest.CommandSpec{User: user, Name: "compare", Options: opts})
}

// gridCells returns the centre colour of each cell of a cols×rows grid of
// w×h cells in a posted JPEG, row by row. Cells are found from the
// bottom-right corner, with the grid's gaps (grid.LayoutFor), so that the
// headers' widths need not be known.
func gridCells(t *testing.T, data []byte, cols, rows, w, h int) []color.RGBA {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the grid is not a JPEG: %v", err)
	}
	l := grid.LayoutFor(cols, rows, w, h, grid.Labels{Cols: make([]string, cols)})
	b := img.Bounds()
	var out []color.RGBA
	for r := range rows {
		for c := range cols {
			right := b.Max.X - l.Gap - (cols-1-c)*(w+l.Gap)
			bottom := b.Max.Y - l.Gap - (rows-1-r)*(h+l.Gap)
			out = append(out, color.RGBAModel.Convert(img.At(right-w/2, bottom-h/2)).(color.RGBA))
		}
	}
	return out
}

// near: within what JPEG does to a flat band.
func near(a, b color.RGBA) bool {
	d := func(x, y uint8) int {
		if x > y {
			return int(x - y)
		}
		return int(y - x)
	}
	return d(a.R, b.R) <= 10 && d(a.G, b.G) <= 10 && d(a.B, b.B) <= 10
}

// checkGrid checks that each cell of the grid shows the weights it is
// labelled with (the fake's band, a1111test.WeightMark).
func checkGrid(t *testing.T, m discordtest.Message, cols, rows, size int, want []map[string]float64) {
	t.Helper()
	if len(m.Attachments) != 1 {
		t.Fatalf("want one grid image, got %d (content %q)", len(m.Attachments), m.Content)
	}
	got := gridCells(t, m.Attachments[0].Data, cols, rows, size, size)
	for i, w := range want {
		if mark := a1111test.WeightMark(w); !near(got[i], mark) {
			t.Errorf("cell %d shows %v, want %v (weights %v)", i+1, got[i], mark, w)
		}
	}
}

func TestCompareGridPutsEachWeightInItsPlace(t *testing.T) {
	e := start(t, setup{})
	it := e.compareCmd(alice, discordtest.String("prompt", "a cat"), discordtest.String("lora", "add_detail"),
		discordtest.String("lora2", "revAnimated_v122"), discordtest.String("weights", "0, 1"),
		discordtest.String("size", "128x128"), discordtest.Int("seed", 77))
	if cb := e.response(it); cb.Ephemeral() {
		t.Fatalf("the compare was refused: %q", cb.Content)
	}
	m := e.finished(it)
	const ad, rev = "add_detail", "revAnimated_v122"
	checkGrid(t, m, 2, 2, 128, []map[string]float64{
		{}, {ad: 1},
		{rev: 1}, {ad: 1, rev: 1},
	})
	reqs := e.sd.Requests()
	if len(reqs) != 4 {
		t.Fatalf("A1111 got %d txt2img requests for 4 cells", len(reqs))
	}
	wantPrompts := []string{"a cat", "a cat <lora:add_detail:1>", "a cat <lora:revAnimated_v122:1>", "a cat <lora:add_detail:1> <lora:revAnimated_v122:1>"}
	for i, r := range reqs {
		if r.Seed != 77 || r.BatchSize != 1 || r.Width != 128 || r.Height != 128 || r.Steps != reqs[0].Steps || r.SamplerName != reqs[0].SamplerName {
			t.Errorf("cell %d was not sent like the others: %+v", i+1, r)
		}
		// The weight-0 cells leave the tag out; trigger words, if any,
		// stay, so only the prompt's end is compared.
		if !strings.HasSuffix(r.Prompt, wantPrompts[i]) || strings.Contains(r.Prompt, ":0>") {
			t.Errorf("cell %d prompt %q, want it to end %q", i+1, r.Prompt, wantPrompts[i])
		}
	}
	if e.sd.MaxConcurrent() > 1 {
		t.Errorf("A1111 saw %d requests at once", e.sd.MaxConcurrent())
	}
	if !m.Showed("Cell 1 of 4") && !m.Showed("Cell 2 of 4") {
		t.Errorf("the progress never said which cell: %q", m.Shown)
	}
	if len(m.Embeds) != 1 || !strings.Contains(m.Embeds[0].Description, "<lora:add_detail:0 / 1>") {
		t.Errorf("the embed should show the weights swept: %+v", m.Embeds)
	}
	if f := embedFields(m.Embeds[0]); !strings.Contains(f["Seed"], "77") {
		t.Errorf("the embed should show the seed: %v", f)
	}
	if strings.Contains(m.Content, "% of their size") {
		t.Errorf("a small grid should not be scaled: %q", m.Content)
	}

	// A cell at full size: a new job with the same seed and that cell's
	// prompt, posted as its own message.
	cellMenu, ok := findPrefix(m, "cmpcell:")
	if !ok || len(cellMenu.Options) != 4 || len(cellMenu.CustomID) > 100 {
		t.Fatalf("the grid should offer its 4 cells at full size: %+v", m.Components)
	}
	if cellMenu.Options[3].Label != "add_detail 1 · revAnimated_v122 1" {
		t.Errorf("cell 4 is labelled %q", cellMenu.Options[3].Label)
	}
	full := e.finished(e.dc.SelectValues(m, cellMenu.CustomID, []string{"1"}, bob))
	if len(full.Attachments) != 1 {
		t.Fatalf("the cell was not posted: %q", full.Content)
	}
	if w, h := pngSize(t, full.Attachments[0].Data); w != 128 || h != 128 {
		t.Errorf("the cell at full size is %dx%d", w, h)
	}
	reqs = e.sd.Requests()
	if len(reqs) != 5 || reqs[4].Seed != 77 || reqs[4].Prompt != reqs[1].Prompt {
		t.Fatalf("the cell should run again exactly: %+v", reqs[len(reqs)-1])
	}
	if !strings.Contains(full.Content, bob.ID) {
		t.Errorf("the full-size cell is bob's job, who asked: %q", full.Content)
	}

	// A cell's weights saved as a preset, after a restart: the menu reads
	// the job's record.
	e.restart()
	saveMenu, ok := findPrefix(m, "cmpsave:")
	if !ok {
		t.Fatalf("no save menu: %+v", m.Components)
	}
	modal := e.dc.SelectValues(m, saveMenu.CustomID, []string{"2"}, alice)
	if cb := e.response(modal); cb.CustomID == "" {
		t.Fatalf("choosing a cell to save should ask for a name, got %+v", cb)
	}
	if cb := e.response(e.dc.SubmitModal(modal, map[string]string{"name": "cat rev"}, alice)); !strings.Contains(cb.Content, "Saved as your preset") {
		t.Fatalf("saving the cell: %+v", cb)
	}
	_, fields := e.showPreset(alice, "cat rev")
	if fields["LoRAs"] != "`revAnimated_v122` 1" {
		t.Errorf("the preset should hold cell 3's weights (add_detail at 0 left out, revAnimated_v122 1): %v", fields)
	}
	if v := e.dc.Violations(); len(v) > 0 {
		t.Errorf("violations: %v", v)
	}
}

func findPrefix(m discordtest.Message, prefix string) (discordtest.Component, bool) {
	var out discordtest.Component
	var found bool
	var walk func([]discordtest.Component)
	walk = func(cs []discordtest.Component) {
		for _, c := range cs {
			if !found && strings.HasPrefix(c.CustomID, prefix) {
				out, found = c, true
			}
			walk(c.Components)
		}
	}
	walk(m.Components)
	return out, found
}

// The default sweep: 4 weights up to the LoRA's preferred weight, one row.
func TestCompareDefaultSweepIsOneRowOfFour(t *testing.T) {
	e := start(t, setup{})
	m := e.finished(e.compareCmd(alice, discordtest.String("prompt", "a dog"), discordtest.String("lora", "add_detail"), discordtest.String("size", "64x64")))
	checkGrid(t, m, 4, 1, 64, []map[string]float64{{}, {"add_detail": 0.5}, {"add_detail": 0.8}, {"add_detail": 1}})
	reqs := e.sd.Requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests for the default sweep of 4", len(reqs))
	}
	for _, r := range reqs {
		if r.Seed < 0 || r.Seed != reqs[0].Seed {
			t.Errorf("every cell needs the one seed the bot fixed, got %d and %d", r.Seed, reqs[0].Seed)
		}
	}
	if !strings.Contains(m.Content, "0, 0.5, 0.8, 1") {
		t.Errorf("the message should name the weights: %q", m.Content)
	}
}

func TestCompareRefusalsSendNothing(t *testing.T) {
	e := start(t, setup{})
	base := []discordtest.Option{discordtest.String("prompt", "x"), discordtest.String("lora", "add_detail")}
	for _, tc := range []struct {
		name string
		opts []discordtest.Option
		want string
	}{
		{"not a number", []discordtest.Option{discordtest.String("weights", "0, abc")}, `"abc" is not a number`},
		{"out of range", []discordtest.Option{discordtest.String("weights", "0, 3")}, "outside -2 to 2"},
		{"ten weights", []discordtest.Option{discordtest.String("weights", "0 .1 .2 .3 .4 .5 .6 .7 .8 .9")}, "at most 9"},
		{"16 cells", []discordtest.Option{discordtest.String("weights", "0, 0.4, 0.7, 1"), discordtest.String("lora2", "revAnimated_v122")}, "16 cells"},
		{"same LoRA twice", []discordtest.Option{discordtest.String("lora2", "add_detail")}, "same LoRA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cb := e.response(e.compareCmd(alice, append(append([]discordtest.Option{}, base...), tc.opts...)...))
			if !cb.Ephemeral() || !strings.Contains(cb.Content, tc.want) {
				t.Errorf("want an ephemeral refusal saying %q, got %+v", tc.want, cb)
			}
		})
	}
	cb := e.response(e.compareCmd(alice, discordtest.String("prompt", "x"), discordtest.String("lora", "pixelart_xl_v9")))
	if !cb.Ephemeral() || !strings.Contains(cb.Content, "pixel-art-xl") {
		t.Errorf("an unknown LoRA: want the closest names, got %+v", cb)
	}
	if n := len(e.sd.Requests()); n != 0 {
		t.Errorf("refused compares sent %d requests to A1111", n)
	}
}

func TestCompareCancelStopsTheRemainingCells(t *testing.T) {
	// 20 steps of 50 ms: a second a cell.
	e := start(t, setup{a1111: a1111test.Options{StepTime: 50 * time.Millisecond}})
	it := e.compareCmd(alice, discordtest.String("prompt", "a slow cat"), discordtest.String("lora", "add_detail"),
		discordtest.String("weights", "0, 0.5, 1"), discordtest.String("size", "64x64"))
	e.response(it)
	if err := e.sd.WaitJobs(ctxT(t), 1); err != nil {
		t.Fatalf("the first cell never finished: %v", err)
	}
	e.shows(it, "Cell 2 of 3")
	if cb := e.clickCancel(it, alice); cb.Ephemeral() {
		t.Fatalf("cancel refused: %q", cb.Content)
	}
	m := e.shows(it, "Cancelled")
	if len(m.Attachments) != 0 {
		t.Errorf("a cancelled compare posted an image")
	}
	if err := e.sd.WaitIdle(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if n := len(e.sd.Requests()); n != 2 {
		t.Errorf("A1111 got %d cells; the compare was cancelled during cell 2 of 3", n)
	}
	if e.sd.Interrupts() == 0 {
		t.Errorf("the cell under way was not interrupted")
	}
	// It counted once against the limit, and no longer does.
	if m := e.finished(e.compareCmd(alice, discordtest.String("prompt", "again"), discordtest.String("lora", "add_detail"),
		discordtest.String("weights", "0, 1"), discordtest.String("size", "64x64"))); len(m.Attachments) != 1 {
		t.Errorf("a compare after the cancelled one: %q", m.Content)
	}
}

func TestCompareMovesItsRemainingCellsWhenItsServerDies(t *testing.T) {
	slow := a1111test.Options{StepTime: 10 * time.Millisecond}
	e := start(t, setup{a1111: slow, more: []a1111test.Options{slow}, timings: fastHealth(nil)})
	it := e.compareCmd(alice, discordtest.String("prompt", "a cat"), discordtest.String("lora", "add_detail"),
		discordtest.String("weights", "0, 0.5, 0.8, 1"), discordtest.String("size", "64x64"), discordtest.Int("seed", 5))
	e.response(it)
	if err := e.sds[0].WaitJobs(ctxT(t), 2); err != nil {
		t.Fatalf("two cells never finished on server 1: %v", err)
	}
	if err := e.sds[0].WaitState(ctxT(t), func(st a1111.ProgressState) bool { return st.JobCount > 0 && st.SamplingStep >= 3 }); err != nil {
		t.Fatalf("cell 3 never started on server 1: %v", err)
	}
	e.sds[0].SetMode(a1111test.ModeDown)
	m := e.finished(it)
	if !m.Showed("moved to another server") {
		t.Errorf("the user was never told the compare moved: %q", m.Shown)
	}
	checkGrid(t, m, 4, 1, 64, []map[string]float64{{}, {"add_detail": 0.5}, {"add_detail": 0.8}, {"add_detail": 1}})
	if got := e.serverJobs(); got[0] != 2 || got[1] != 2 {
		t.Errorf("cells per server %v; want 2 done on server 1, kept, and only the other 2 on server 2", got)
	}
	for _, r := range e.sds[1].Requests() {
		if r.Seed != 5 {
			t.Errorf("a moved cell lost the seed: %+v", r)
		}
	}
}

// A grid whose full-size cells would not fit the upload limit is scaled
// down, and the message says so.
func TestCompareGridScaledToTheUploadLimit(t *testing.T) {
	const limit = 12 << 10
	e := start(t, setup{discord: discordtest.Options{AttachmentSizeLimit: limit}, a1111: a1111test.Options{NoisyImages: true}})
	m := e.finished(e.compareCmd(alice, discordtest.String("prompt", "a cat"), discordtest.String("lora", "add_detail"),
		discordtest.String("weights", "0, 1"), discordtest.String("size", "384x384")))
	if len(m.Attachments) != 1 || int64(len(m.Attachments[0].Data)) > limit {
		t.Fatalf("want one grid within %d bytes, got %+v (content %q)", limit, len(m.Attachments), m.Content)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(m.Attachments[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Width >= 2*384 {
		t.Errorf("the grid is %dx%d: its cells were not scaled", cfg.Width, cfg.Height)
	}
	if !strings.Contains(m.Content, "% of their size") {
		t.Errorf("the message should say the cells were scaled: %q", m.Content)
	}
}

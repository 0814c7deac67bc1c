package imagine

import (
	"strings"
	"testing"

	"lorabot/a1111/a1111test"
	"lorabot/compare"
	"lorabot/gen"
)

func TestCompareCellsShareEverythingButTheComparedWeights(t *testing.T) {
	f := newFixture(t, a1111test.Options{})
	seed := int64(1234)
	r, err := f.p.Plan("u", gen.Options{Prompt: "a cat", Seed: &seed, Count: 1, Steps: 12, LoRAs: [gen.LoRASlots]gen.LoRAChoice{
		{Name: "add_detail", Weight: w(1)}, {Name: "revAnimated_v122", Weight: w(1)},
	}}, "", Scope{})
	if err != nil {
		t.Fatal(err)
	}
	r.Compare, err = compare.NewPlan("add_detail", "revAnimated_v122", []float64{0, 0.5, 1})
	if err != nil {
		t.Fatal(err)
	}
	cells, err := r.CompareCells()
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) != 9 {
		t.Fatalf("%d cells, want 9", len(cells))
	}
	base := r.Txt2Img()
	for i, c := range cells {
		if c.Compare != nil {
			t.Errorf("cell %d is itself a compare", i)
		}
		q := c.Txt2Img()
		if q.Seed != 1234 || q.BatchSize != 1 || q.Steps != base.Steps || q.Width != base.Width || q.Height != base.Height ||
			q.SamplerName != base.SamplerName || q.CFGScale != base.CFGScale || q.NegativePrompt != base.NegativePrompt {
			t.Errorf("cell %d differs from the plan beyond its prompt: %+v\nbase %+v", i, q, base)
		}
		cell := r.Compare.Cells()[i]
		has := func(tag string) bool { return strings.Contains(q.Prompt, tag) }
		if cell.Weight == 0 && has("<lora:add_detail") {
			t.Errorf("cell %d at weight 0 keeps the tag: %q", i, q.Prompt)
		}
		if cell.Weight == 0.5 && !has("<lora:add_detail:0.5>") || cell.Weight2 == 1 && !has("<lora:revAnimated_v122:1>") {
			t.Errorf("cell %d (%+v): %q", i, cell, q.Prompt)
		}
	}
	// The base request is untouched, and cell seeds are their own.
	*cells[0].Options.Seed = 1
	if *r.Options.Seed != 1234 || r.Compare == nil {
		t.Error("a cell shares its seed pointer with the plan, or the plan lost its compare")
	}

	// A compare must carry a fixed seed: -1 would give each cell its own.
	r.Options.Seed = nil
	if _, err := r.CompareCells(); err == nil {
		t.Error("a compare without a fixed seed must not make cells")
	}
}

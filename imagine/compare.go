package imagine

import (
	"fmt"

	"lorabot/compare"
	"lorabot/gen"
)

// CompareCells are the requests of a compare's cells, in
// compare.Plan.Cells order: r with each cell's prompt (compare.Plan.
// CellPrompt), one image each, and everything else as planned — the same
// seed (r's, which the bot fixed when it planned the compare), size,
// sampler, steps, checkpoint and negative prompt. Each is an ordinary
// request (Compare nil), so one can be run again on its own, or saved as
// a preset. It is nil for a request that is not a compare.
func (r *Request) CompareCells() ([]Request, error) {
	p := r.Compare
	if p == nil {
		return nil, nil
	}
	if r.Options.Seed == nil || *r.Options.Seed < 0 {
		return nil, fmt.Errorf("compare: the request has no fixed seed")
	}
	out := make([]Request, 0, p.Len())
	for _, c := range p.Cells() {
		text, err := p.CellPrompt(r.Prompt, c)
		if err != nil {
			return nil, err
		}
		cell := *r
		cell.Compare = nil
		cell.Prompt = text
		cell.Options.Count = 1
		seed := *r.Options.Seed
		cell.Options.Seed = &seed
		// The options' slots follow the prompt, for Save as preset.
		cell.Options.LoRAs = slotsFor(r.Options.LoRAs, p, c)
		cell.Warnings = nil // said once, on the grid
		out = append(out, cell)
	}
	return out, nil
}

// slotsFor sets the compared LoRAs' slots to the cell's weights; a weight
// of 0 empties the slot, as the tag is left out.
func slotsFor(slots [gen.LoRASlots]gen.LoRAChoice, p *compare.Plan, c compare.Cell) [gen.LoRASlots]gen.LoRAChoice {
	out := slots
	for i, s := range slots {
		w, ok := 0.0, false
		switch {
		case s.Name == "":
		case i == 0:
			w, ok = c.Weight, true
		case i == 1 && p.LoRA2 != "":
			w, ok = c.Weight2, true
		}
		if !ok {
			continue
		}
		if w == 0 {
			out[i] = gen.LoRAChoice{}
		} else {
			out[i].Weight = &w
		}
	}
	return out
}

package compare

import (
	"fmt"
	"slices"
	"strings"

	"lorabot/lora"
	"lorabot/prompt"
)

// CellPrompt is base, a prompt built with the plan's LoRAs in it (at any
// weight), rewritten for cell c: each compared LoRA's tag carries the
// cell's weight, and a weight of 0 leaves the tag out, so that the cell is
// the image without that LoRA. Everything else stays as built, trigger
// words included: the cells differ only by the LoRA's weight, so a column
// shows what the LoRA itself adds.
func (p *Plan) CellPrompt(base prompt.Result, c Cell) (prompt.Result, error) {
	out := prompt.Result{Text: base.Text, LoRAs: slices.Clone(base.LoRAs), Triggers: slices.Clone(base.Triggers)}
	set := func(name string, w float64) error {
		i := slices.IndexFunc(out.LoRAs, func(a prompt.Applied) bool { return a.LoRA.Name == name })
		if i < 0 {
			return fmt.Errorf("compare: the LoRA %q is not in the planned prompt", name)
		}
		a := out.LoRAs[i]
		at := strings.LastIndex(out.Text, a.Tag)
		if at < 0 {
			return fmt.Errorf("compare: the tag %q is not in the planned prompt", a.Tag)
		}
		if w == 0 {
			start := at
			if start > 0 && out.Text[start-1] == ' ' {
				start-- // the space Build put before the tag
			}
			out.Text = out.Text[:start] + out.Text[at+len(a.Tag):]
			out.LoRAs = slices.Delete(out.LoRAs, i, i+1)
			return nil
		}
		tag := a.LoRA.Tag(w)
		out.Text = out.Text[:at] + tag + out.Text[at+len(a.Tag):]
		out.LoRAs[i] = prompt.Applied{LoRA: a.LoRA, Weight: w, Tag: tag}
		return nil
	}
	if err := set(p.LoRA, c.Weight); err != nil {
		return prompt.Result{}, err
	}
	if p.LoRA2 != "" {
		if err := set(p.LoRA2, c.Weight2); err != nil {
			return prompt.Result{}, err
		}
	}
	out.Text = strings.TrimSpace(out.Text)
	return out, nil
}

// SweepText is base's prompt as the compare's embed shows it: each
// compared LoRA's tag written with the weights swept, e.g.
// <lora:detail:0 / 0.5 / 1>, since no single weight is the job's.
func (p *Plan) SweepText(base prompt.Result) string {
	text := base.Text
	sweep := make([]string, len(p.Weights))
	for i, w := range p.Weights {
		sweep[i] = lora.FormatWeight(w)
	}
	for _, name := range []string{p.LoRA, p.LoRA2} {
		if name == "" {
			continue
		}
		i := slices.IndexFunc(base.LoRAs, func(a prompt.Applied) bool { return a.LoRA.Name == name })
		if i < 0 {
			continue
		}
		tag := base.LoRAs[i].Tag
		if at := strings.LastIndex(text, tag); at >= 0 {
			text = text[:at] + "<lora:" + name + ":" + strings.Join(sweep, " / ") + ">" + text[at+len(tag):]
		}
	}
	return text
}

// WeightsText writes the weights swept: "0, 0.5, 0.8, 1".
func (p *Plan) WeightsText() string {
	s := make([]string, len(p.Weights))
	for i, w := range p.Weights {
		s[i] = lora.FormatWeight(w)
	}
	return strings.Join(s, ", ")
}

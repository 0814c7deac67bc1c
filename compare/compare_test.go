package compare

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"lorabot/lora"
	"lorabot/prompt"
)

func TestParseWeights(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []float64
	}{
		{"0, 0.4, 0.7, 1", []float64{0, 0.4, 0.7, 1}},
		{"0 .5 1", []float64{0, 0.5, 1}},
		{"1;0.5;-0.5", []float64{1, 0.5, -0.5}},
		// A weight given twice, also as another spelling, is one column.
		{"0.5, 1, 0.50, 1.0", []float64{0.5, 1}},
		{"-2, 2", []float64{-2, 2}},
		{"-0, 1", []float64{0, 1}},
	} {
		got, err := ParseWeights(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseWeights(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseWeightsRefusesWithOneSentence(t *testing.T) {
	for _, tc := range []struct{ in, says string }{
		{"abc", `"abc" is not a number`},
		{"0, 0.5, x1", `"x1" is not a number`},
		{"0, NaN", `"NaN" is not a number`},
		{"0, inf", `"inf" is not a number`},
		{"0, 2.5", "2.5 is outside -2 to 2"},
		{"-3, 1", "-3 is outside -2 to 2"},
		{"0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1", "at most 9 cells"},
		{"1", "at least two different weights"},
		{"1, 1.0", "at least two different weights"},
		{" , ", "as numbers"},
	} {
		_, err := ParseWeights(tc.in)
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(ie.Msg, tc.says) {
			t.Errorf("ParseWeights(%q): %v; want a refusal saying %q", tc.in, err, tc.says)
			continue
		}
		if strings.Contains(strings.ReplaceAll(strings.TrimSuffix(ie.Msg, "."), "e.g. ", ""), ". ") {
			t.Errorf("ParseWeights(%q): more than one sentence: %q", tc.in, ie.Msg)
		}
	}
}

func TestDefaultWeightsSweepUpToThePreferredWeight(t *testing.T) {
	for _, tc := range []struct {
		pref float64
		n    int
		want []float64
	}{
		{1, 4, []float64{0, 0.5, 0.8, 1}},
		{0.7, 4, []float64{0, 0.35, 0.55, 0.7}},
		{1.2, 4, []float64{0, 0.6, 0.95, 1.2}},
		{-1, 4, []float64{0, -0.5, -0.8, -1}},
		{0.8, 3, []float64{0, 0.4, 0.8}},
		{0, 4, []float64{0, 0.5, 0.8, 1}}, // no preference: as for 1
		{5, 4, []float64{0, 0.5, 0.8, 1}}, // out of bounds: as for 1
		{1, 5, []float64{0, 0.25, 0.5, 0.75, 1}},
		// Tiny weights collapse: no column is repeated.
		{0.05, 4, []float64{0, 0.05}},
	} {
		if got := DefaultWeights(tc.pref, tc.n); !slices.Equal(got, tc.want) {
			t.Errorf("DefaultWeights(%g, %d) = %v, want %v", tc.pref, tc.n, got, tc.want)
		}
	}
}

func TestNewPlanCountsCellsOverBothAxes(t *testing.T) {
	p, err := NewPlan("a", "", []float64{0, 0.5, 0.8, 1})
	if err != nil || p.Cols() != 4 || p.Rows() != 1 || p.Len() != 4 {
		t.Fatalf("one row of 4: %+v %v", p, err)
	}
	p, err = NewPlan("a", "b", []float64{0, 0.5, 1})
	if err != nil || p.Cols() != 3 || p.Rows() != 3 || p.Len() != 9 {
		t.Fatalf("3×3: %+v %v", p, err)
	}
	cells := p.Cells()
	if c := cells[5]; c.Index != 5 || c.Col != 2 || c.Row != 1 || c.Weight != 1 || c.Weight2 != 0.5 {
		t.Errorf("cell 5 should be column 3, row 2 (a 1, b 0.5): %+v", c)
	}
	if got := p.Label(cells[5]); got != "a 1 · b 0.5" {
		t.Errorf("label %q", got)
	}
	if _, ok := p.Cell(9); ok {
		t.Error("cell 9 of 9 should not exist")
	}
	_, err = NewPlan("a", "b", []float64{0, 0.4, 0.7, 1})
	if err == nil || !strings.Contains(err.Error(), "16 cells") || !strings.Contains(err.Error(), "at most 9") {
		t.Errorf("4 weights with lora2 must be refused as 16 cells: %v", err)
	}
	if _, err := NewPlan("a", "A", []float64{0, 1}); err == nil {
		t.Error("the same LoRA on both axes must be refused")
	}
}

func TestSeedIsFixedAndNeverRandomSentinel(t *testing.T) {
	s := int64(42)
	if Seed(&s) != 42 {
		t.Error("the user's seed must be kept")
	}
	m1 := int64(-1)
	for _, given := range []*int64{nil, &m1} {
		if got := Seed(given); got < 0 {
			t.Errorf("Seed(%v) = %d; want a fixed seed ≥ 0", given, got)
		}
	}
}

// built is what prompt.Build makes of "a cat" with LoRAs a (trigger "acat")
// and b at weight 1, plus c, not compared.
func built() prompt.Result {
	la, lb, lc := lora.LoRA{Name: "a"}, lora.LoRA{Name: "b"}, lora.LoRA{Name: "c"}
	return prompt.Result{
		Text: "acat, a cat <lora:a:1> <lora:b:1> <lora:c:0.6>",
		LoRAs: []prompt.Applied{
			{LoRA: la, Weight: 1, Tag: "<lora:a:1>"},
			{LoRA: lb, Weight: 1, Tag: "<lora:b:1>"},
			{LoRA: lc, Weight: 0.6, Tag: "<lora:c:0.6>"},
		},
		Triggers: []string{"acat"},
	}
}

func TestCellPromptRewritesOnlyTheComparedTags(t *testing.T) {
	p, _ := NewPlan("a", "b", []float64{0, 0.5, 1.25})
	want := []string{
		"acat, a cat <lora:c:0.6>",
		"acat, a cat <lora:a:0.5> <lora:c:0.6>",
		"acat, a cat <lora:a:1.25> <lora:c:0.6>",
		"acat, a cat <lora:b:0.5> <lora:c:0.6>",
		"acat, a cat <lora:a:0.5> <lora:b:0.5> <lora:c:0.6>",
		"acat, a cat <lora:a:1.25> <lora:b:0.5> <lora:c:0.6>",
		"acat, a cat <lora:b:1.25> <lora:c:0.6>",
		"acat, a cat <lora:a:0.5> <lora:b:1.25> <lora:c:0.6>",
		"acat, a cat <lora:a:1.25> <lora:b:1.25> <lora:c:0.6>",
	}
	base := built()
	for _, c := range p.Cells() {
		got, err := p.CellPrompt(base, c)
		if err != nil {
			t.Fatal(err)
		}
		if got.Text != want[c.Index] {
			t.Errorf("cell %d: %q, want %q", c.Index, got.Text, want[c.Index])
		}
		// The applied list matches the text, for the embed and presets.
		for _, a := range got.LoRAs {
			if !strings.Contains(got.Text, a.Tag) {
				t.Errorf("cell %d lists %s, not in its text", c.Index, a.Tag)
			}
		}
		if n := strings.Count(got.Text, "<lora:"); n != len(got.LoRAs) {
			t.Errorf("cell %d: %d tags but %d applied", c.Index, n, len(got.LoRAs))
		}
	}
	if base.Text != built().Text || len(base.LoRAs) != 3 || base.LoRAs[0].Weight != 1 {
		t.Error("CellPrompt must not change the base")
	}
	// A one-row compare of a LoRA with only its tag in the prompt: weight 0
	// leaves the prompt without a tag.
	one, _ := NewPlan("a", "", []float64{0, 1})
	got, _ := one.CellPrompt(prompt.Result{Text: "x <lora:a:1>", LoRAs: base.LoRAs[:1]}, Cell{Weight: 0})
	if got.Text != "x" || len(got.LoRAs) != 0 {
		t.Errorf("weight 0: %q %v", got.Text, got.LoRAs)
	}
	if _, err := one.CellPrompt(prompt.Result{Text: "x"}, Cell{Weight: 1}); err == nil {
		t.Error("a prompt without the compared LoRA is an error")
	}
}

func TestSweepText(t *testing.T) {
	p, _ := NewPlan("a", "", []float64{0, 0.5, 1})
	if got, want := p.SweepText(built()), "acat, a cat <lora:a:0 / 0.5 / 1> <lora:b:1> <lora:c:0.6>"; got != want {
		t.Errorf("got %q want %q", got, want)
	}
	if got := p.WeightsText(); got != "0, 0.5, 1" {
		t.Errorf("weights %q", got)
	}
}

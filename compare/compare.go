// Package compare plans a /compare: one prompt and one seed rendered at
// several weights of a LoRA (the columns), optionally against a second
// LoRA at the same weights (the rows), composed into one grid. It parses
// and checks the weights a user types, picks a default sweep around a
// LoRA's preferred weight, lays the cells out, and rewrites a planned
// prompt for each cell. It knows nothing of Discord, HTTP or bbolt.
//
// The request of a whole compare is an imagine.Request whose Compare field
// holds its Plan; imagine.Request.CompareCells turns it into the cells'
// requests (this package cannot import imagine, which holds the Plan).
package compare

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"lorabot/lora"
	"lorabot/prompt"
)

// MaxCells is the most cells one compare renders: each is a whole
// generation on one server, and the grid must stay readable in a message.
const MaxCells = 9

// DefaultSweep and DefaultSweep2 are how many weights a compare renders
// when the user gives none: 4 in one row, 3 on each axis of a grid with a
// second LoRA (3×3 is the most that fits MaxCells).
const (
	DefaultSweep  = 4
	DefaultSweep2 = 3
)

// Plan is a compare's axes. It is stored with the job's request, so it
// holds only plain values.
type Plan struct {
	// LoRA is the columns' LoRA, by its file name as resolved.
	LoRA string `json:"lora"`
	// LoRA2 is the rows' LoRA; "" for a single row.
	LoRA2 string `json:"lora2,omitempty"`
	// Weights are the columns' weights, and the rows' too with LoRA2, in
	// the order the user gave them.
	Weights []float64 `json:"weights"`
}

// Cell is one image of the grid.
type Cell struct {
	Index    int     // in Cells' order: row by row, left to right
	Col, Row int     // Row is 0 for a single row
	Weight   float64 // of Plan.LoRA
	Weight2  float64 // of Plan.LoRA2; 0 without one
}

// Cols is how many columns the grid has.
func (p *Plan) Cols() int { return len(p.Weights) }

// Rows is how many rows the grid has: one per weight with a second LoRA,
// else one.
func (p *Plan) Rows() int {
	if p.LoRA2 == "" {
		return 1
	}
	return len(p.Weights)
}

// Len is how many cells the grid has.
func (p *Plan) Len() int { return p.Cols() * p.Rows() }

// Cells are the grid's cells, row by row.
func (p *Plan) Cells() []Cell {
	out := make([]Cell, 0, p.Len())
	for r := range p.Rows() {
		for c := range p.Cols() {
			cell := Cell{Index: len(out), Col: c, Row: r, Weight: p.Weights[c]}
			if p.LoRA2 != "" {
				cell.Weight2 = p.Weights[r]
			}
			out = append(out, cell)
		}
	}
	return out
}

// Cell returns the cell with index i, false when there is none.
func (p *Plan) Cell(i int) (Cell, bool) {
	if i < 0 || i >= p.Len() {
		return Cell{}, false
	}
	return p.Cells()[i], true
}

// Label names a cell for a menu: "detail 0.5", or "detail 0.5 · style 1"
// with a second LoRA.
func (p *Plan) Label(c Cell) string {
	s := p.LoRA + " " + lora.FormatWeight(c.Weight)
	if p.LoRA2 != "" {
		s += " · " + p.LoRA2 + " " + lora.FormatWeight(c.Weight2)
	}
	return s
}

// InputError is a refusal for the user: one sentence to show as it is.
type InputError struct{ Msg string }

func (e *InputError) Error() string       { return e.Msg }
func (e *InputError) UserMessage() string { return e.Msg }

func refusef(format string, a ...any) error { return &InputError{Msg: fmt.Sprintf(format, a...)} }

// ParseWeights reads the weights option: numbers separated by commas,
// semicolons or spaces ("0, 0.4, 0.7, 1"). Every one must lie within the
// prompt's weight bounds. A weight given twice is kept once, where it
// first appears: a duplicate column would only repeat an image. At least
// two different weights are needed, else there is nothing to compare.
// The number of cells is checked by NewPlan, which knows the axes.
func ParseWeights(s string) ([]float64, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\n' })
	if len(fields) == 0 {
		return nil, refusef("Give the weights to compare as numbers, e.g. 0, 0.4, 0.7, 1.")
	}
	var out []float64
	for _, f := range fields {
		w, err := strconv.ParseFloat(f, 64)
		if err != nil || math.IsNaN(w) || math.IsInf(w, 0) {
			return nil, refusef("The weight %q is not a number; write the weights like 0, 0.4, 0.7, 1.", clip(f, 20))
		}
		if w < prompt.MinWeight || w > prompt.MaxWeight {
			return nil, refusef("The weight %s is outside %s to %s; every weight must be within that range.", clip(f, 20), lora.FormatWeight(prompt.MinWeight), lora.FormatWeight(prompt.MaxWeight))
		}
		w = round(w)
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
		if len(out) > MaxCells {
			return nil, refusef("A compare has at most %d cells; give at most %d weights.", MaxCells, MaxCells)
		}
	}
	if len(out) < 2 {
		return nil, refusef("Give at least two different weights to compare, e.g. 0, 0.5, 1.")
	}
	return out, nil
}

// round keeps the three decimals a prompt tag writes (lora.FormatWeight),
// so that two weights that would write the same tag are one.
func round(w float64) float64 {
	w = math.Round(w*1000) / 1000
	if w == 0 {
		return 0 // not -0
	}
	return w
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// DefaultWeights is the sweep a compare renders when the user gives no
// weights: n weights from 0 (the image without the LoRA) up to the LoRA's
// preferred weight, denser near it, where the choice is made: 0, ½, 0.8
// and 1 times it for n = 4, 0, ½ and 1 times it for n = 3. A preferred
// weight of 0 (or one outside the bounds) sweeps as if it were 1. The
// weights are rounded to 0.05, and kept within the bounds.
func DefaultWeights(preferred float64, n int) []float64 {
	if preferred == 0 || math.IsNaN(preferred) || math.IsInf(preferred, 0) || preferred < prompt.MinWeight || preferred > prompt.MaxWeight {
		preferred = 1
	}
	var factors []float64
	switch {
	case n <= 2:
		factors = []float64{0, 1}
	case n == 3:
		factors = []float64{0, 0.5, 1}
	case n == 4:
		factors = []float64{0, 0.5, 0.8, 1}
	default:
		for i := range n {
			factors = append(factors, float64(i)/float64(n-1))
		}
	}
	var out []float64
	for _, f := range factors {
		w := round(math.Round(preferred*f*20) / 20)
		if f == 1 {
			w = round(preferred) // the preferred weight itself, unrounded to 0.05
		}
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// NewPlan checks a compare's axes: two different LoRAs, and at most
// MaxCells cells (with a second LoRA, the weights make both axes).
func NewPlan(lora1, lora2 string, weights []float64) (*Plan, error) {
	if lora1 == "" {
		return nil, refusef("Pick the LoRA to compare.")
	}
	if lora2 != "" && strings.EqualFold(lora1, lora2) {
		return nil, refusef("lora2 is the same LoRA as lora; pick another to compare against, or leave lora2 out.")
	}
	p := &Plan{LoRA: lora1, LoRA2: lora2, Weights: slices.Clone(weights)}
	if len(p.Weights) < 2 {
		return nil, refusef("Give at least two different weights to compare, e.g. 0, 0.5, 1.")
	}
	if n := p.Len(); n > MaxCells {
		return nil, refusef("%d weights for two LoRAs make a %d×%d grid of %d cells; a compare has at most %d, so give at most 3 weights with lora2.", len(p.Weights), len(p.Weights), len(p.Weights), n, MaxCells)
	}
	return p, nil
}

// Seed is the one seed every cell uses: the user's, else a random one the
// bot picks (never -1, A1111's "random", which would give each cell its
// own and make the grid compare nothing).
func Seed(given *int64) int64 {
	if given != nil && *given >= 0 {
		return *given
	}
	return int64(rand.Uint32())
}

// Package grid lays out and draws a labelled grid of images: a title row,
// a header over each column, a header before each row, and the cells, all
// in Go (golang.org/x/image for the font and the scaling). It composes
// /compare's result and knows nothing of Discord or A1111: the caller
// passes the encoded cells and the byte budget of one upload, and learns
// the scale the cells were drawn at.
package grid

import (
	"image"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"
)

// Labels are the texts around the cells.
type Labels struct {
	// Title is the top row, over the whole grid: what is compared.
	Title string
	// Cols are the column headers, one per column (the weights).
	Cols []string
	// Rows are the row headers, one per row; empty for a single row
	// without a header.
	Rows []string
}

// Layout is where everything goes on the canvas, in pixels. The zero gap
// and headers are valid; NewLayout fills them from the cell size.
type Layout struct {
	Cols, Rows   int
	CellW, CellH int // one cell, as drawn
	Gap          int // between cells, and around them
	Pad          int // inside a header, around its text
	TitleH       int // the title row
	HeaderH      int // the column headers' row
	RowHeaderW   int // the row headers' column; 0 without row headers
	FontPx       float64
	W, H         int // the canvas
}

// Bounds of the label font, in pixels: readable on a phone when Discord
// shows the grid a few hundred pixels wide, and never more than a fraction
// of a cell.
const (
	minFontPx = 12
	maxFontPx = 64
)

// FontPx is the label size for cells of w×h: a 14th of the shorter side,
// within [12, 64] px.
func FontPx(w, h int) float64 {
	return math.Max(minFontPx, math.Min(maxFontPx, math.Round(float64(min(w, h))/14)))
}

// NewLayout places a cols×rows grid of w×h cells with labels whose width
// measure gives (a font.Face's advance, see measurer), at font size px.
// Row headers are as wide as the widest row label, at most one cell wide
// (longer labels are cut, see Fit).
func NewLayout(cols, rows, w, h int, labels Labels, px float64, measure func(string) int) Layout {
	l := Layout{Cols: cols, Rows: rows, CellW: w, CellH: h, FontPx: px}
	l.Gap = max(2, int(math.Round(px/4)))
	l.Pad = max(2, int(math.Round(px/3)))
	line := int(math.Ceil(px * 1.25)) // the face's height, ascent + descent
	l.TitleH = line + 2*l.Pad
	l.HeaderH = line + 2*l.Pad
	if len(labels.Rows) > 0 {
		widest := 0
		for _, s := range labels.Rows {
			widest = max(widest, measure(s))
		}
		l.RowHeaderW = min(widest+2*l.Pad, w)
	}
	l.W = l.RowHeaderW + cols*w + (cols+1)*l.Gap
	l.H = l.TitleH + l.HeaderH + rows*h + (rows+1)*l.Gap
	return l
}

// top is where the first row of cells starts.
func (l Layout) top() int { return l.TitleH + l.HeaderH + l.Gap }

// Cell is where cell (col, row) is drawn.
func (l Layout) Cell(col, row int) image.Rectangle {
	x := l.RowHeaderW + l.Gap + col*(l.CellW+l.Gap)
	y := l.top() + row*(l.CellH+l.Gap)
	return image.Rect(x, y, x+l.CellW, y+l.CellH)
}

// ColHeader is the header over column col: as wide as its cells.
func (l Layout) ColHeader(col int) image.Rectangle {
	c := l.Cell(col, 0)
	return image.Rect(c.Min.X, l.TitleH, c.Max.X, l.TitleH+l.HeaderH)
}

// RowHeader is the header before row row: as tall as its cells. Empty
// without row headers.
func (l Layout) RowHeader(row int) image.Rectangle {
	if l.RowHeaderW == 0 {
		return image.Rectangle{}
	}
	c := l.Cell(0, row)
	return image.Rect(0, c.Min.Y, l.RowHeaderW, c.Max.Y)
}

// Title is the top row, across the whole canvas.
func (l Layout) Title() image.Rectangle { return image.Rect(0, 0, l.W, l.TitleH) }

// Bounds is the whole canvas.
func (l Layout) Bounds() image.Rectangle { return image.Rect(0, 0, l.W, l.H) }

// measurer is the advance of a string in face, in whole pixels.
func measurer(face font.Face) func(string) int {
	return func(s string) int { return font.MeasureString(face, s).Ceil() }
}

// Fit cuts s so that it measures at most width, ending it with "…" when
// cut; "" when not even that fits.
func Fit(s string, width int, measure func(string) int) string {
	if measure(s) <= width {
		return s
	}
	r := []rune(s)
	for n := len(r) - 1; n > 0; n-- {
		if t := string(r[:n]) + "…"; measure(t) <= width {
			return t
		}
	}
	return ""
}

// Place is where text of the given advance goes in rect: centred
// horizontally (or from the left padding, when left is set), and with its
// baseline placed so that the face's ascent and descent sit centred
// vertically.
func Place(rect image.Rectangle, advance int, m font.Metrics, pad int, left bool) fixed.Point26_6 {
	x := rect.Min.X + (rect.Dx()-advance)/2
	if left {
		x = rect.Min.X + pad
	}
	asc, desc := m.Ascent.Ceil(), m.Descent.Ceil()
	y := rect.Min.Y + (rect.Dy()-(asc+desc))/2 + asc
	return fixed.P(x, y)
}

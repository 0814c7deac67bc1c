package grid

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	_ "image/png" // cells as A1111 encodes them by default
	"math"
	"sync"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
)

// Scales are the sizes cells are tried at, largest first, when the grid
// must fit a byte budget.
var Scales = []float64{1, 0.75, 0.5, 0.375, 0.25, 0.125}

// Quality is the grid's JPEG quality. The grid is encoded as JPEG, not
// PNG: Go's PNG encoder takes over a second for a 3×3 grid of 1024×1024
// cells (its row filters), JPEG a sixth of that, and its file is several
// times smaller, so full-size cells fit Discord's limit far more often.
// At 90 the labels stay sharp enough to read and the cells lose nothing
// a weight comparison looks at.
const Quality = 90

// Result is an encoded grid.
type Result struct {
	JPEG []byte
	// Scale is the size the cells were drawn at: 1 is full size, 0.5 half
	// their width and height.
	Scale  float64
	Layout Layout
}

// ErrTooBig: the grid does not fit the budget even at the smallest scale.
var ErrTooBig = errors.New("grid: the grid does not fit the byte budget at any scale")

var (
	background = image.NewUniform(color.RGBA{0xff, 0xff, 0xff, 0xff})
	ink        = image.NewUniform(color.RGBA{0x20, 0x20, 0x24, 0xff})
)

var goRegular = sync.OnceValues(func() (*opentype.Font, error) { return opentype.Parse(goregular.TTF) })

// face is the label font at px pixels. A face keeps buffers of its own,
// so each drawing makes its own.
func face(px float64) (font.Face, error) {
	f, err := goRegular()
	if err != nil {
		return nil, fmt.Errorf("grid: parse the Go font: %w", err)
	}
	return opentype.NewFace(f, &opentype.FaceOptions{Size: px, DPI: 72, Hinting: font.HintingFull})
}

// Canvas is a grid being filled, cell by cell, at full size: a caller
// that gets cells one at a time (a /compare's generations) draws each as
// it comes and keeps no cell, so memory stays at one canvas, and the
// decoding is done while the next cell is being made.
type Canvas struct {
	cols, rows int
	labels     Labels
	img        *image.RGBA // nil until the first cell, whose size it takes
	l          Layout
	filled     []bool
	labelled   bool // the full-size canvas has its labels
}

// NewCanvas starts a cols×rows grid with labels (as many column labels as
// columns; row labels for every row, or none).
func NewCanvas(cols, rows int, labels Labels) (*Canvas, error) {
	if cols < 1 || rows < 1 {
		return nil, fmt.Errorf("grid: a %d×%d grid", cols, rows)
	}
	if len(labels.Cols) != cols || (len(labels.Rows) != 0 && len(labels.Rows) != rows) {
		return nil, fmt.Errorf("grid: %d column and %d row labels for a %d×%d grid", len(labels.Cols), len(labels.Rows), cols, rows)
	}
	return &Canvas{cols: cols, rows: rows, labels: labels, filled: make([]bool, cols*rows)}, nil
}

// Put draws cell i (row by row) from m. The first cell sets the cells'
// size; a later one of another size is scaled to it.
func (c *Canvas) Put(i int, m image.Image) error {
	if i < 0 || i >= len(c.filled) {
		return fmt.Errorf("grid: cell %d of %d", i+1, len(c.filled))
	}
	if c.img == nil {
		b := m.Bounds()
		c.l = LayoutFor(c.cols, c.rows, b.Dx(), b.Dy(), c.labels)
		c.img = blank(c.l)
	}
	drawCell(c.img, c.l.Cell(i%c.cols, i/c.cols), m)
	c.filled[i] = true
	return nil
}

// PutEncoded decodes an encoded image (PNG, JPEG, or any format the
// program registered) and puts it as cell i.
func (c *Canvas) PutEncoded(i int, data []byte) error {
	m, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("grid: decode cell %d: %w", i+1, err)
	}
	return c.Put(i, m)
}

// Filled reports whether cell i has been put.
func (c *Canvas) Filled(i int) bool { return i >= 0 && i < len(c.filled) && c.filled[i] }

// Encode writes the grid with its labels as a JPEG of at most budget
// bytes: at full size when that fits, else at the largest of Scales that
// fits (guessed from each try's size, as a JPEG's bytes go with its
// area), and reports the scale used. Every cell must have been put.
func (c *Canvas) Encode(budget int64) (Result, error) {
	for i, ok := range c.filled {
		if !ok {
			return Result{}, fmt.Errorf("grid: cell %d of %d was never put", i+1, len(c.filled))
		}
	}
	guess := 0.0 // bytes at full size, once a try tells
	for i := 0; i < len(Scales); i++ {
		s := Scales[i]
		if guess*s*s > float64(budget) && i < len(Scales)-1 {
			continue
		}
		res, size, err := c.encodeAt(s, budget)
		if err == nil {
			return res, nil
		}
		if !errors.Is(err, errOverBudget) {
			return Result{}, err
		}
		// A JPEG's bytes go with its area; a little more, as the labels
		// and block edges do not shrink with it.
		guess = math.Max(guess, float64(size)/(s*s)*1.05)
	}
	return Result{}, fmt.Errorf("%w (%d bytes; %d cells of %dx%d)", ErrTooBig, budget, len(c.filled), c.l.CellW, c.l.CellH)
}

var errOverBudget = errors.New("over budget")

// encodeAt encodes the grid with cells at scale s, and labels drawn for
// that size. Over the budget, it returns errOverBudget and the size the
// JPEG would have had.
func (c *Canvas) encodeAt(s float64, budget int64) (Result, int64, error) {
	l, img := c.l, c.img
	if s != 1 {
		w := max(1, int(math.Round(float64(c.l.CellW)*s)))
		h := max(1, int(math.Round(float64(c.l.CellH)*s)))
		l = LayoutFor(c.cols, c.rows, w, h, c.labels)
		img = blank(l)
		for i := range c.filled {
			col, row := i%c.cols, i/c.cols
			xdraw.ApproxBiLinear.Scale(img, l.Cell(col, row), c.img, c.l.Cell(col, row), xdraw.Src, nil)
		}
	}
	f, err := face(l.FontPx)
	if err != nil {
		return Result{}, 0, err
	}
	defer f.Close()
	if s != 1 || !c.labelled {
		// The full-size canvas takes its labels in place, once: its
		// headers are blank until then, and cells never overlap them.
		DrawLabels(img, l, c.labels, f)
		c.labelled = c.labelled || s == 1
	}
	out := &capped{limit: budget}
	if err := jpeg.Encode(out, img, &jpeg.Options{Quality: Quality}); err != nil {
		return Result{}, 0, fmt.Errorf("grid: encode: %w", err)
	}
	if out.over() {
		return Result{}, out.n, errOverBudget
	}
	return Result{JPEG: out.buf.Bytes(), Scale: s, Layout: l}, out.n, nil
}

// LayoutFor is the layout Canvas uses for w×h cells: the font sized for
// them (FontPx), the labels measured in it.
func LayoutFor(cols, rows, w, h int, labels Labels) Layout {
	px := FontPx(w, h)
	f, err := face(px)
	if err != nil {
		// The font is compiled in; it cannot fail to parse. Lay out by a
		// rough advance rather than fail a whole compare.
		return NewLayout(cols, rows, w, h, labels, px, func(s string) int { return int(px*0.6) * len([]rune(s)) })
	}
	defer f.Close()
	return NewLayout(cols, rows, w, h, labels, px, measurer(f))
}

func blank(l Layout) *image.RGBA {
	img := image.NewRGBA(l.Bounds())
	xdraw.Draw(img, img.Bounds(), background, image.Point{}, xdraw.Src)
	return img
}

func drawCell(dst *image.RGBA, r image.Rectangle, m image.Image) {
	if b := m.Bounds(); b.Dx() == r.Dx() && b.Dy() == r.Dy() {
		xdraw.Draw(dst, r, m, b.Min, xdraw.Src)
		return
	}
	xdraw.ApproxBiLinear.Scale(dst, r, m, m.Bounds(), xdraw.Src, nil)
}

// Compose draws cells (encoded images, row by row, cols×rows of them) with
// labels into one JPEG of at most budget bytes: NewCanvas, PutEncoded for
// each, Encode.
func Compose(cells [][]byte, cols, rows int, labels Labels, budget int64) (Result, error) {
	c, err := NewCanvas(cols, rows, labels)
	if err != nil {
		return Result{}, err
	}
	if len(cells) != cols*rows {
		return Result{}, fmt.Errorf("grid: %d cells for a %d×%d grid", len(cells), cols, rows)
	}
	for i, data := range cells {
		if err := c.PutEncoded(i, data); err != nil {
			return Result{}, err
		}
	}
	return c.Encode(budget)
}

// DrawLabels writes the title, the column headers and the row headers of
// l with face f, each cut to fit its place.
func DrawLabels(dst *image.RGBA, l Layout, labels Labels, f font.Face) {
	measure := measurer(f)
	d := font.Drawer{Dst: dst, Src: ink, Face: f}
	put := func(rect image.Rectangle, s string, left bool) {
		s = Fit(s, rect.Dx()-2*l.Pad, measure)
		if s == "" {
			return
		}
		d.Dot = Place(rect, measure(s), f.Metrics(), l.Pad, left)
		d.DrawString(s)
	}
	put(l.Title(), labels.Title, false)
	for c, s := range labels.Cols {
		put(l.ColHeader(c), s, false)
	}
	for r, s := range labels.Rows {
		put(l.RowHeader(r), s, true)
	}
}

// capped is a buffer that keeps at most limit bytes: past it, it only
// counts, so that a try over the budget still learns its full size (the
// JPEG encoder goes on to the end whatever its writer says).
type capped struct {
	buf   bytes.Buffer
	limit int64
	n     int64
}

func (c *capped) over() bool { return c.n > c.limit }

func (c *capped) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	if c.over() {
		c.buf = bytes.Buffer{} // not kept: the try failed
		return len(p), nil
	}
	return c.buf.Write(p)
}

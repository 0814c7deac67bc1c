package grid

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"testing"

	"lorabot/internal/testkit"
)

// fixedWidth measures every rune as 10 px, so layouts are exact.
func fixedWidth(s string) int { return 10 * len([]rune(s)) }

func TestLayoutPlacesCellsAndHeadersWithoutOverlap(t *testing.T) {
	labels := Labels{Title: "detail", Cols: []string{"0", "0.5", "1"}, Rows: []string{"style 0", "style 0.5", "style 1"}}
	l := NewLayout(3, 3, 100, 80, labels, 14, fixedWidth)
	if l.RowHeaderW != 9*10+2*l.Pad {
		t.Errorf("row headers %d wide; want the widest label (90) plus padding", l.RowHeaderW)
	}
	if l.W != l.RowHeaderW+3*100+4*l.Gap || l.H != l.TitleH+l.HeaderH+3*80+4*l.Gap {
		t.Errorf("canvas %dx%d does not add up: %+v", l.W, l.H, l)
	}
	b := l.Bounds()
	var seen []image.Rectangle
	for r := range 3 {
		for c := range 3 {
			cell := l.Cell(c, r)
			if cell.Dx() != 100 || cell.Dy() != 80 || !cell.In(b) {
				t.Errorf("cell (%d,%d) = %v, want 100x80 inside %v", c, r, cell, b)
			}
			for _, o := range seen {
				if cell.Overlaps(o) {
					t.Errorf("cell (%d,%d) %v overlaps %v", c, r, cell, o)
				}
			}
			seen = append(seen, cell)
			// Cells read left to right, top to bottom, a gap apart.
			if c > 0 && cell.Min.X != l.Cell(c-1, r).Max.X+l.Gap {
				t.Errorf("cell (%d,%d) is not one gap right of its neighbour", c, r)
			}
			if r > 0 && cell.Min.Y != l.Cell(c, r-1).Max.Y+l.Gap {
				t.Errorf("cell (%d,%d) is not one gap below its neighbour", c, r)
			}
		}
		rh := l.RowHeader(r)
		if rh.Min.Y != l.Cell(0, r).Min.Y || rh.Max.Y != l.Cell(0, r).Max.Y || rh.Max.X > l.Cell(0, r).Min.X {
			t.Errorf("row header %d %v is not beside its row %v", r, rh, l.Cell(0, r))
		}
	}
	for c := range 3 {
		h, cell := l.ColHeader(c), l.Cell(c, 0)
		if h.Min.X != cell.Min.X || h.Max.X != cell.Max.X || h.Max.Y > cell.Min.Y || h.Min.Y < l.Title().Max.Y {
			t.Errorf("column header %d %v is not over its column %v, under the title", c, h, cell)
		}
	}
	if tt := l.Title(); tt.Min != (image.Point{}) || tt.Dx() != l.W {
		t.Errorf("title %v should span the top", tt)
	}

	// One row: no row headers, the cells start at the left gap.
	one := NewLayout(4, 1, 100, 80, Labels{Cols: []string{"a", "b", "c", "d"}}, 14, fixedWidth)
	if one.RowHeaderW != 0 || one.Cell(0, 0).Min.X != one.Gap || !one.RowHeader(0).Empty() {
		t.Errorf("a single row has no header column: %+v", one)
	}
	// A row label longer than a cell is capped at a cell's width.
	long := NewLayout(2, 2, 50, 50, Labels{Cols: []string{"0", "1"}, Rows: []string{"a very long LoRA name 1", "x"}}, 14, fixedWidth)
	if long.RowHeaderW != 50 {
		t.Errorf("row header width %d, want capped at the cell width 50", long.RowHeaderW)
	}
}

func TestFitAndPlace(t *testing.T) {
	if got := Fit("detail", 60, fixedWidth); got != "detail" {
		t.Errorf("fits as is: %q", got)
	}
	if got := Fit("add_detail", 50, fixedWidth); got != "add_…" {
		t.Errorf("cut: %q", got)
	}
	if got := Fit("add_detail", 5, fixedWidth); got != "" {
		t.Errorf("nothing fits: %q", got)
	}
	f, err := face(20)
	if err != nil {
		t.Fatal(err)
	}
	m := f.Metrics()
	r := image.Rect(100, 50, 300, 90)
	p := Place(r, 40, m, 4, false)
	if p.X.Round() != 180 {
		t.Errorf("centred text starts at x=%d, want 180", p.X.Round())
	}
	top, bottom := p.Y.Round()-m.Ascent.Ceil(), p.Y.Round()+m.Descent.Ceil()
	if top < r.Min.Y || bottom > r.Max.Y || abs((top-r.Min.Y)-(r.Max.Y-bottom)) > 1 {
		t.Errorf("text from y=%d to %d is not centred in %v", top, bottom, r)
	}
	if p := Place(r, 40, m, 4, true); p.X.Round() != 104 {
		t.Errorf("left-aligned text starts at x=%d, want 104", p.X.Round())
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// noisyPNG compresses like a photograph: about 3 bytes a pixel.
func noisyPNG(t testing.TB, w, h int, seed uint64) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(seed, 2))
	for i := 0; i < len(img.Pix); i += 4 {
		v := rng.Uint32()
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(v), uint8(v>>8), uint8(v>>16), 0xff
	}
	return encode(t, img)
}

func encode(t testing.TB, img image.Image) []byte {
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decode(t *testing.T, p []byte) image.Image {
	t.Helper()
	m, err := jpeg.Decode(bytes.NewReader(p))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var palette = []color.RGBA{{200, 30, 30, 255}, {30, 200, 30, 255}, {30, 30, 200, 255}, {200, 200, 30, 255}}

func TestComposePutsEachCellInItsPlaceWithLabels(t *testing.T) {
	var cells [][]byte
	for _, c := range palette {
		cells = append(cells, testkit.SolidPNG(t, 64, 48, c))
	}
	labels := Labels{Title: "detail", Cols: []string{"0", "1"}, Rows: []string{"style 0", "style 1"}}
	res, err := Compose(cells, 2, 2, labels, 10<<20)
	if err != nil {
		t.Fatal(err)
	}
	if res.Scale != 1 {
		t.Errorf("a small grid fits at full size, got scale %g", res.Scale)
	}
	m := decode(t, res.JPEG)
	if m.Bounds() != res.Layout.Bounds() {
		t.Errorf("image %v, layout %v", m.Bounds(), res.Layout.Bounds())
	}
	for i, want := range palette {
		r := res.Layout.Cell(i%2, i/2)
		if r.Dx() != 64 || r.Dy() != 48 {
			t.Errorf("cell %d drawn %v, want 64x48", i, r)
		}
		// Inside the cell by more than JPEG's blocks bleed at its edges.
		in := r.Inset(12)
		for _, p := range []image.Point{in.Min, in.Max.Sub(image.Pt(1, 1)), r.Min.Add(r.Size().Div(2))} {
			if got := color.RGBAModel.Convert(m.At(p.X, p.Y)).(color.RGBA); !near(got, want) {
				t.Errorf("cell %d at %v: %v, want %v", i, p, got, want)
			}
		}
	}
	// Every label put ink in its place, and none outside the canvas parts
	// meant for text spilled into a cell (checked by the colours above).
	places := map[string]image.Rectangle{"title": res.Layout.Title(), "column 1": res.Layout.ColHeader(0), "column 2": res.Layout.ColHeader(1),
		"row 1": res.Layout.RowHeader(0), "row 2": res.Layout.RowHeader(1)}
	for name, r := range places {
		if !inked(m, r) {
			t.Errorf("the %s label drew nothing in %v", name, r)
		}
	}
}

// near: within JPEG's error on a flat colour.
func near(a, b color.RGBA) bool {
	d := func(x, y uint8) int { return abs(int(x) - int(y)) }
	return d(a.R, b.R) <= 12 && d(a.G, b.G) <= 12 && d(a.B, b.B) <= 12
}

func inked(m image.Image, r image.Rectangle) bool {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if c := color.GrayModel.Convert(m.At(x, y)).(color.Gray); c.Y < 0x80 {
				return true
			}
		}
	}
	return false
}

func TestComposeScalesCellsDownToFitTheBudget(t *testing.T) {
	var cells [][]byte
	var total int
	for i := range 4 {
		c := noisyPNG(t, 128, 128, uint64(i))
		total += len(c)
		cells = append(cells, c)
	}
	labels := Labels{Title: "detail", Cols: []string{"0", "0.5", "0.8", "1"}}
	full, err := Compose(cells, 4, 1, labels, 1<<30)
	if err != nil || full.Scale != 1 {
		t.Fatalf("no budget to speak of: scale %g, %v", full.Scale, err)
	}
	// Half the full grid's bytes: full size cannot fit, ¾ (56 % of the
	// area) may not, ½ does.
	budget := int64(len(full.JPEG) / 2)
	res, err := Compose(cells, 4, 1, labels, budget)
	if err != nil {
		t.Fatal(err)
	}
	if res.Scale >= 1 || int64(len(res.JPEG)) > budget {
		t.Errorf("scale %g, %d bytes for a budget of %d", res.Scale, len(res.JPEG), budget)
	}
	if res.Scale < 0.5 {
		t.Errorf("scale %g: half the bytes fit at ½ size, so no smaller scale is needed", res.Scale)
	}
	want := int(128*res.Scale + 0.5)
	if c := res.Layout.Cell(0, 0); c.Dx() != want {
		t.Errorf("cells %d wide at scale %g, want %d", c.Dx(), res.Scale, want)
	}
	if m := decode(t, res.JPEG); m.Bounds() != res.Layout.Bounds() {
		t.Errorf("image %v, layout %v", m.Bounds(), res.Layout.Bounds())
	}
	// A budget no scale meets is an error, not a broken image.
	if _, err := Compose(cells, 4, 1, labels, 100); !errors.Is(err, ErrTooBig) {
		t.Errorf("a 100-byte budget: %v, want ErrTooBig", err)
	}
}

func TestComposeRefusesAMismatch(t *testing.T) {
	cell := testkit.SolidPNG(t, 8, 8, palette[0])
	if _, err := Compose([][]byte{cell, cell, cell}, 2, 2, Labels{Cols: []string{"a", "b"}}, 1<<20); err == nil {
		t.Error("3 cells for a 2×2 grid must be refused")
	}
	if _, err := Compose([][]byte{cell, []byte("not an image")}, 2, 1, Labels{Cols: []string{"a", "b"}}, 1<<20); err == nil {
		t.Error("a cell that does not decode must be an error")
	}
}

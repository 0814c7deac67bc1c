package commands

import (
	"context"
	"fmt"
	"slices"
	"time"

	"lorabot/a1111"
	"lorabot/grid"
	"lorabot/imagine"
	"lorabot/lora"
)

// compareRun is what a /compare's job has done so far. It lives with the
// job (job.compare) across its runs, so that when the queue moves the job
// to another server (failover), the cells already done are kept and only
// the remaining ones run there. It does not survive a restart of the bot:
// a resumed compare runs every cell again, as a resumed /imagine does.
// Guarded by the job's mu, but for canvas, which only the job's run
// (one at a time) and, once the job ended, postCompare use.
type compareRun struct {
	cells []imagine.Request
	// canvas holds the cells done, drawn as they came: no cell's image is
	// kept, and the grid is ready when the last one is.
	canvas *grid.Canvas
	// putting is the decoding of the last cell into canvas, done while the
	// next cell generates; nil when none is under way.
	putting chan error
	done    int        // cells done, in order
	current int        // the cell being generated, from 0
	info    a1111.Info // the first cell's answer: seed, sampler, model
	// notLoaded are LoRAs a cell sent that its server did not apply.
	notLoaded []string
}

// compareState is x's compareRun, made at its first run.
func (im *imagineCmd) compareState(x *job) (*compareRun, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.compare != nil {
		return x.compare, nil
	}
	cells, err := x.req.CompareCells()
	if err != nil {
		return nil, err
	}
	canvas, err := grid.NewCanvas(x.req.Compare.Cols(), x.req.Compare.Rows(), gridLabels(x.req))
	if err != nil {
		return nil, err
	}
	x.compare = &compareRun{cells: cells, canvas: canvas}
	return x.compare, nil
}

// gridLabels are the grid's texts: the LoRAs compared over it (columns,
// then rows), each column's and each row's weight.
func gridLabels(r *imagine.Request) grid.Labels {
	p := r.Compare
	l := grid.Labels{Title: p.LoRA}
	if p.LoRA2 != "" {
		l.Title = p.LoRA + " (columns) × " + p.LoRA2 + " (rows)"
	}
	for _, w := range p.Weights {
		l.Cols = append(l.Cols, lora.FormatWeight(w))
		if p.LoRA2 != "" {
			// The weight alone: the title names the rows' LoRA, and a header
			// one cell wide would cut a long name before its weight.
			l.Rows = append(l.Rows, lora.FormatWeight(w))
		}
	}
	return l
}

// generateFunc is a1111.Client.Generate's shape, which run calls.
type generateFunc func(context.Context, a1111.Txt2ImgRequest, time.Duration, func(a1111.Progress)) (*a1111.Txt2ImgResult, error)

// compareCells is what run calls for a compare instead of one Generate:
// the cells not done yet, one txt2img after another on this server, with
// progress as one generation's (the status line adds "cell k of n"). A
// cancel or shutdown (ctx) stops the cell under way (Generate interrupts
// it) and starts no other. A server's fault ends it like one generation's,
// so the queue moves the job; the next run goes on from the first cell not
// done. The result carries the first cell's info; the images are in the
// canvas.
func (im *imagineCmd) compareCells(x *job, backend int, client *a1111.Client) generateFunc {
	return func(ctx context.Context, _ a1111.Txt2ImgRequest, every time.Duration, onProgress func(a1111.Progress)) (*a1111.Txt2ImgResult, error) {
		cr, err := im.compareState(x)
		if err != nil {
			return nil, err
		}
		titleOn := func(key string) (string, bool) { return im.deps.Servers.TitleOn(backend, key) }
		for {
			x.mu.Lock()
			k := cr.done
			if k < len(cr.cells) {
				cr.current = k
				x.progress = a1111.Progress{}
				x.version++
			}
			x.mu.Unlock()
			if k == len(cr.cells) {
				if err := cr.finishPut(); err != nil {
					return nil, err
				}
				break
			}
			if err := ctx.Err(); err != nil {
				return nil, err // between cells: run reads the cause
			}
			im.pushEdit(x)
			cell := &cr.cells[k]
			res, err := client.Generate(ctx, cell.Txt2ImgOn(titleOn), every, onProgress)
			if err != nil {
				return nil, err
			}
			if len(res.Images) == 0 {
				return nil, fmt.Errorf("compare: cell %d of %d: the image server answered without an image", k+1, len(cr.cells))
			}
			// The last cell's decoding ran alongside this one's generation.
			if err := cr.finishPut(); err != nil {
				return nil, err
			}
			x.mu.Lock()
			if k == 0 {
				cr.info = res.Info
			}
			for _, n := range cell.NotLoaded(res.Info) {
				if !slices.Contains(cr.notLoaded, n) {
					cr.notLoaded = append(cr.notLoaded, n)
				}
			}
			cr.done++
			x.mu.Unlock()
			cr.startPut(k, res.Images[0])
		}
		x.mu.Lock()
		info := cr.info
		x.mu.Unlock()
		return &a1111.Txt2ImgResult{Info: info}, nil
	}
}

// startPut decodes cell k's image into the canvas in the background: the
// next cell's generation does not wait for it.
func (cr *compareRun) startPut(k int, img []byte) {
	ch := make(chan error, 1)
	cr.putting = ch
	go func() { ch <- cr.canvas.PutEncoded(k, img) }()
}

// finishPut waits for the last cell's decoding, if one is under way.
func (cr *compareRun) finishPut() error {
	if cr.putting == nil {
		return nil
	}
	err := <-cr.putting
	cr.putting = nil
	return err
}

// compareStatus is what the job's status line starts with for a compare:
// which cell it is at. "" for other jobs. x.mu is held.
func compareStatus(x *job) string {
	p := x.req.Compare
	if p == nil {
		return ""
	}
	n := p.Len()
	cr := x.compare
	switch {
	case cr == nil || !x.running:
		if cr != nil && cr.done > 0 {
			return fmt.Sprintf("🧩 %d of %d cells done · ", cr.done, n)
		}
		return fmt.Sprintf("🧩 %d cells · ", n)
	case cr.done == n:
		return fmt.Sprintf("🧩 all %d cells done, composing the grid · ", n)
	}
	return fmt.Sprintf("🧩 Cell %d of %d · ", cr.current+1, n)
}

package a1111

import (
	"context"
	"io"
	"net/http"
	"time"
)

type answer struct {
	res *Txt2ImgResult
	err error
}

// Txt2Img runs one generation (POST /sdapi/v1/txt2img) and returns its PNGs,
// decoded as they stream in (see DecodeTxt2Img).
//
// It is bounded by the client's GenerateTimeout on top of ctx. When either
// ends first, the generation is stopped on the server, not just abandoned:
// dropping the HTTP request would leave A1111 finishing the job for nobody
// while the next one waits. So the client sends /interrupt and waits up to
// InterruptGrace for A1111's partial answer, which it discards; the server is
// then free when Txt2Img returns. The error is an *Error of KindCanceled or
// KindTimeout wrapping ctx's error (or context.DeadlineExceeded for the
// limit). /interrupt is global: it would also stop a job someone else
// started on that server (its web UI), which is why the bot keeps one
// generation in flight per server.
func (c *Client) Txt2Img(ctx context.Context, req Txt2ImgRequest) (*Txt2ImgResult, error) {
	return c.Generate(ctx, req, 0, nil)
}

// Generate is Txt2Img that also polls /progress every `every` while the
// generation runs and hands each answer to onProgress. onProgress runs on
// one goroutine, one call at a time, and never after Generate returned.
// A failed poll is skipped. Progress is global: before A1111 starts this
// job (another client's job holds its lock) the polls describe that job.
func (c *Client) Generate(ctx context.Context, req Txt2ImgRequest, every time.Duration, onProgress func(Progress)) (*Txt2ImgResult, error) {
	const route = "POST /sdapi/v1/txt2img"
	if ctx.Err() != nil {
		return nil, c.ctxErr(ctx, route)
	}
	// The limit and the caller's cancel end limitCtx; the request itself
	// runs on reqCtx, which only ends after the interrupt and its grace.
	limitCtx, cancelLimit := context.WithTimeoutCause(ctx, c.opts.GenerateTimeout, errGenerateTimeout)
	defer cancelLimit()
	reqCtx, cancelReq := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelReq()

	done := make(chan answer, 1)
	go func() {
		var res *Txt2ImgResult
		err := c.send(reqCtx, http.MethodPost, "/sdapi/v1/txt2img", req, func(r io.Reader) error {
			var err error
			res, err = DecodeTxt2Img(r)
			return err
		})
		done <- answer{res, err}
	}()

	stopPolling := c.poll(limitCtx, every, onProgress)
	defer stopPolling()

	select {
	case a := <-done:
		if a.err != nil {
			return nil, a.err
		}
		return a.res, nil
	case <-limitCtx.Done():
		// The answer may have come at the same moment: select picks either
		// at random, and finished images must not be thrown away.
		select {
		case a := <-done:
			if a.err == nil {
				return a.res, nil
			}
			done <- a // put it back for interruptUntil
		default:
		}
	}
	stopPolling()
	e := c.ctxErr(limitCtx, route)
	c.logger.Debug("a1111: stopping the generation", "server", c.addr, "why", e.Kind.String())
	// The interrupt and the wait for the partial answer share one grace
	// period, so that a server that stopped answering cannot hold us.
	gctx, cancelGrace := context.WithTimeout(context.WithoutCancel(ctx), c.opts.InterruptGrace)
	defer cancelGrace()
	c.interruptUntil(gctx, done)
	cancelReq()
	return nil, e
}

// interruptUntil sends /interrupt, then again every 2 s (the first one is
// lost when it reaches A1111 before the job started: A1111 clears the flag
// when a job begins), until the txt2img answer arrives on done or ctx ends.
func (c *Client) interruptUntil(ctx context.Context, done <-chan answer) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		if err := c.Interrupt(ctx); err != nil && ctx.Err() == nil {
			c.logger.Debug("a1111: interrupt failed", "server", c.addr, "err", err)
		}
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// poll calls onProgress with /progress every `every` until the returned stop
// is called; stop waits for the polling goroutine, so no call follows it.
// stop may be called more than once.
func (c *Client) poll(ctx context.Context, every time.Duration, onProgress func(Progress)) (stop func()) {
	if every <= 0 || onProgress == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			pctx, pcancel := context.WithTimeout(ctx, max(every, 10*time.Second))
			p, err := c.Progress(pctx, false)
			pcancel()
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				c.logger.Debug("a1111: progress poll failed", "server", c.addr, "err", err)
				continue
			}
			onProgress(*p)
		}
	}()
	return func() {
		cancel()
		<-finished
	}
}

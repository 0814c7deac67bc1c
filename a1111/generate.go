package a1111

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"syscall"
	"time"
)

// txt2imgRoute names the generation in errors, as send names routes.
const txt2imgRoute = "POST /sdapi/v1/txt2img"

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
// generation runs and hands each answer to onProgress (which may be nil).
// onProgress runs on one goroutine, one call at a time, and never after
// Generate returned. A failed poll is skipped. Progress is global: before
// A1111 starts this job (another client's job holds its lock) the polls
// describe that job.
//
// The polls also watch the server. A1111 answers /progress while it
// generates, so when no poll has succeeded for StallTimeout the server is
// taken for hung: the generation is stopped (interrupt and grace as above)
// with an *Error of KindTimeout, Limit 0 and a Detail starting "stopped
// answering". When two polls in a row find the port closed (connection
// refused), the server is gone and the error is KindUnreachable, at once.
// Both are server failures for ServerDown; the generation limit is not.
func (c *Client) Generate(ctx context.Context, req Txt2ImgRequest, every time.Duration, onProgress func(Progress)) (*Txt2ImgResult, error) {
	if ctx.Err() != nil {
		return nil, c.ctxErr(ctx, txt2imgRoute)
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

	stopPolling, serverFailed := c.poll(limitCtx, every, onProgress)
	defer stopPolling()

	var e *Error
	select {
	case a := <-done:
		if a.err != nil {
			return nil, a.err
		}
		return a.res, nil
	case <-limitCtx.Done():
	case e = <-serverFailed:
	}
	// The answer may have come at the same moment: select picks either at
	// random, and finished images must not be thrown away.
	select {
	case a := <-done:
		if a.err == nil {
			return a.res, nil
		}
		done <- a // put it back for interruptUntil
	default:
	}
	stopPolling()
	if e == nil {
		e = c.ctxErr(limitCtx, txt2imgRoute)
	}
	c.logger.Debug("a1111: stopping the generation", "server", c.addr, "why", e.Error())
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
// It gives up at once when the port is closed: no server, no job to free.
func (c *Client) interruptUntil(ctx context.Context, done <-chan answer) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		if err := c.Interrupt(ctx); err != nil && ctx.Err() == nil {
			c.logger.Debug("a1111: interrupt failed", "server", c.addr, "err", err)
			if errors.Is(err, syscall.ECONNREFUSED) {
				return
			}
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
// stop may be called more than once. failed receives one error, and polling
// ends, when the polls say the server is hung or gone (see Generate).
func (c *Client) poll(ctx context.Context, every time.Duration, onProgress func(Progress)) (stop func(), failed <-chan *Error) {
	if every <= 0 {
		return func() {}, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	finished := make(chan struct{})
	fail := make(chan *Error, 1)
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		stall := c.opts.StallTimeout
		lastOK := time.Now()
		refused := 0
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			// One hung poll must not carry the wait past the stall limit.
			limit := min(max(every, 10*time.Second), stall)
			if left := stall - time.Since(lastOK); left > 0 && left < limit {
				limit = left
			}
			pctx, pcancel := context.WithTimeout(ctx, limit)
			p, err := c.Progress(pctx, false)
			pcancel()
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				lastOK, refused = time.Now(), 0
				if onProgress != nil {
					onProgress(*p)
				}
				continue
			}
			c.logger.Debug("a1111: progress poll failed", "server", c.addr, "err", err)
			switch {
			case errors.Is(err, syscall.ECONNREFUSED):
				// Nothing listens on the port: the process that held
				// the job is gone. Twice, so that one odd refusal
				// during a restart of a proxy is not fatal.
				if refused++; refused >= 2 {
					fail <- &Error{Kind: KindUnreachable, Server: c.addr, Route: txt2imgRoute, Detail: "the server went away during the generation", Err: err}
					return
				}
			case time.Since(lastOK) >= stall:
				fail <- &Error{Kind: KindTimeout, Server: c.addr, Route: txt2imgRoute,
					Detail: fmt.Sprintf("%s: no progress answer for %s", stalledDetail, stall.Round(time.Millisecond)), Err: err}
				return
			default:
				refused = 0
			}
		}
	}()
	return func() {
		cancel()
		<-finished
	}, fail
}

package a1111

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// genCall is one generation: its route and its body, a request whose
// ForceTaskID is set. Txt2Img and Img2Img differ only in these; polling,
// stopping, stall detection and the keep-alive retry are the same.
type genCall struct {
	path string // "/sdapi/v1/txt2img"
	body any
}

// route names the generation in errors, as send names routes.
func (g genCall) route() string { return http.MethodPost + " " + g.path }

const (
	txt2imgPath = "/sdapi/v1/txt2img"
	img2imgPath = "/sdapi/v1/img2img"
)

type answer struct {
	res *Txt2ImgResult
	err error
}

// Txt2Img runs one generation (POST /sdapi/v1/txt2img) and returns its
// images, decoded as they stream in (see DecodeTxt2Img).
//
// It is bounded by the client's GenerateTimeout on top of ctx. When either
// ends first, the generation is stopped on the server, not just abandoned:
// dropping the HTTP request would leave A1111 finishing the job for nobody
// while the next one waits. So the client sends /interrupt and waits up to
// InterruptGrace for A1111's partial answer, which it discards; the server is
// then free when Txt2Img returns. The error is an *Error of KindCanceled or
// KindTimeout wrapping ctx's error (or context.DeadlineExceeded for the
// limit). /interrupt is global: it would also stop a job someone else
// started on that server (its web UI), so it is sent only while this job is
// the server's active one where the server can tell (see Generate); the bot
// keeps one generation in flight per server all the same.
func (c *Client) Txt2Img(ctx context.Context, req Txt2ImgRequest) (*Txt2ImgResult, error) {
	return c.Generate(ctx, req, 0, nil)
}

// Generate is Txt2Img that also polls the server every `every` while the
// generation runs and hands each answer to onProgress (which may be nil).
// onProgress runs on one goroutine, one call at a time, and never after
// Generate returned. A failed poll is skipped.
//
// The request carries a force_task_id (a fresh one unless req has one), so
// that on A1111 and Forge the polls can ask POST /internal/progress about
// this generation's own task: Progress.Own is then set, and the answer says
// whether it waits behind another job (Queued, QueuePos: the web UI's user
// holds the lock), runs (Active, with the step figures of
// /sdapi/v1/progress, which are then its own) or is done. Where the server
// cannot tell (no web UI routes: 404, remembered per client; SD.Next, which
// files API jobs under no task; a task not filed yet) the polls read
// /sdapi/v1/progress, which is global: before the server starts this job
// it describes somebody else's.
//
// The polls also watch the server. A1111 answers them while it generates,
// so when no poll has succeeded for StallTimeout the server is taken for
// hung: the generation is stopped (see Txt2Img) with an *Error of
// KindTimeout, Limit 0 and a Detail starting "stopped answering". When two
// polls in a row find the port closed (connection refused), the server is
// gone and the error is KindUnreachable, at once. Both are server failures
// for ServerDown; the generation limit is not.
//
// Stopping interrupts only this generation. /interrupt is global, so where
// the server can tell, it is sent only while this task is the active one:
// a task still queued behind someone else's job is left alone, Generate
// returns at once, and a background watch (bounded by GenerateTimeout)
// interrupts the task when its turn comes, so that the server does not
// then run it for nobody. Where the server cannot tell, /interrupt is sent
// as before.
func (c *Client) Generate(ctx context.Context, req Txt2ImgRequest, every time.Duration, onProgress func(Progress)) (*Txt2ImgResult, error) {
	if req.ForceTaskID == "" {
		req.ForceTaskID = newTaskID()
	}
	return c.generate(ctx, genCall{txt2imgPath, req}, req.ForceTaskID, every, onProgress)
}

// Img2Img runs one img2img generation (POST /sdapi/v1/img2img), as Txt2Img.
func (c *Client) Img2Img(ctx context.Context, req Img2ImgRequest) (*Txt2ImgResult, error) {
	return c.GenerateImg2Img(ctx, req, 0, nil)
}

// GenerateImg2Img is Generate for img2img: the same polling of this task's
// progress, stopping of only this task, stall detection, keep-alive retry
// and errors (their Route is "POST /sdapi/v1/img2img"). A1111 runs it under
// the same lock as txt2img. The answer has txt2img's shape.
func (c *Client) GenerateImg2Img(ctx context.Context, req Img2ImgRequest, every time.Duration, onProgress func(Progress)) (*Txt2ImgResult, error) {
	if req.ForceTaskID == "" {
		req.ForceTaskID = newTaskID()
	}
	return c.generate(ctx, genCall{img2imgPath, req}, req.ForceTaskID, every, onProgress)
}

// generate is Generate for any generation route; g.body carries taskID as
// its force_task_id.
func (c *Client) generate(ctx context.Context, g genCall, taskID string, every time.Duration, onProgress func(Progress)) (*Txt2ImgResult, error) {
	if ctx.Err() != nil {
		return nil, c.ctxErr(ctx, g.route())
	}
	task := newTaskWatch(taskID)
	// The limit and the caller's cancel end limitCtx; the request itself
	// runs on reqCtx, which only ends after the interrupt and its grace
	// (or, for a task handed to the background watch, after that).
	limitCtx, cancelLimit := context.WithTimeoutCause(ctx, c.opts.GenerateTimeout, errGenerateTimeout)
	defer cancelLimit()
	reqCtx, cancelReq := context.WithCancel(context.WithoutCancel(ctx))
	handedOff := false
	defer func() {
		if !handedOff {
			cancelReq()
		}
	}()

	done := make(chan answer, 1)
	go func() {
		res, err := c.postGeneration(reqCtx, g, task)
		done <- answer{res, err}
	}()

	stopPolling, serverFailed := c.poll(limitCtx, g.route(), every, task, onProgress)
	defer stopPolling()

	var e *Error
	select {
	case a := <-done:
		if a.err != nil {
			return nil, a.err
		}
		stopPolling()
		// Once per client at most; the images are in hand, so a server
		// slow to say is not waited for long.
		lctx, cancelLearn := context.WithTimeout(context.WithoutCancel(ctx), min(c.opts.RequestTimeout, 5*time.Second))
		c.learnTracking(lctx, task)
		cancelLearn()
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
		done <- a // put it back for stopTask
	default:
	}
	stopPolling()
	if e == nil {
		e = c.ctxErr(limitCtx, g.route())
	}
	c.logger.Debug("a1111: stopping the generation", "server", c.addr, "task", task.id, "why", e.Error())
	// The interrupt and the wait for the partial answer share one grace
	// period, so that a server that stopped answering cannot hold us.
	gctx, cancelGrace := context.WithTimeout(context.WithoutCancel(ctx), c.opts.InterruptGrace)
	defer cancelGrace()
	if c.stopTask(gctx, task, done, true) {
		handedOff = true
		go c.reap(task, done, cancelReq)
	}
	return nil, e
}

// postGeneration sends the generation. When the server closed the kept-alive
// connection it went out on before a byte of the answer came (its
// keep-alive timer ran out as the request was sent: uvicorn then drops the
// request unread), it is sent once more on a fresh connection, but only
// after the server, asked on /internal/progress, said it has no task of
// this id: a request that reached it is never sent twice, and one to a
// server that cannot be asked (gone, --nowebui) keeps its first error. The
// transport does not retry a POST itself, rightly in general; the client's
// short idleConnTimeout avoids the race with every server whose keep-alive
// is longer, and this covers the others (a proxy's shorter one).
func (c *Client) postGeneration(ctx context.Context, g genCall, t *taskWatch) (*Txt2ImgResult, error) {
	for attempt := 0; ; attempt++ {
		var res *Txt2ImgResult
		var reused, answered atomic.Bool
		trace := &httptrace.ClientTrace{
			GotConn:              func(i httptrace.GotConnInfo) { reused.Store(i.Reused) },
			GotFirstResponseByte: func() { answered.Store(true) },
		}
		err := c.send(httptrace.WithClientTrace(ctx, trace), http.MethodPost, g.path, g.body, func(r io.Reader) error {
			var err error
			res, err = DecodeTxt2Img(r)
			return err
		})
		if err == nil || attempt > 0 || ctx.Err() != nil || !reused.Load() || answered.Load() || !closedUnanswered(err) || !c.taskNotFiled(ctx, t) {
			return res, err
		}
		c.logger.Debug("a1111: the server closed the kept-alive connection before answering; sending the generation again", "server", c.addr, "err", err)
	}
}

// closedUnanswered says whether err is a connection the server closed or
// reset (rather than a timeout or a refused dial).
func closedUnanswered(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || strings.Contains(err.Error(), "server closed idle connection")
}

// taskNotFiled says whether the server answered that it has no task t:
// the request did not reach it. False when it cannot say.
func (c *Client) taskNotFiled(ctx context.Context, t *taskWatch) bool {
	if t == nil || c.noTaskProgress.Load() {
		return false
	}
	tp, err := c.TaskProgress(ctx, t.id, -1, false)
	return err == nil && !tp.Known()
}

// Pauses between the requests of a stop: resends of /interrupt (the first
// is lost when it reaches A1111 before the job began: A1111 clears the flag
// when a job begins), and looks at a task waiting for its turn.
const (
	interruptEvery = 2 * time.Second
	reapEvery      = time.Second
)

// stopTask stops the generation of task t: it sends /interrupt when the
// task is the server's active job, again every interruptEvery, until the
// txt2img answer arrives on done or ctx ends; it sends nothing while the
// task waits for the lock (or is not filed yet, on a server that files
// tasks) and nothing once it is done. With returnIfWaiting it returns true
// at once for a waiting task, for the caller to hand it to reap. A server
// that cannot say (see Generate) gets /interrupt as before. It gives up at
// once when the port is closed: no server, no job to free.
func (c *Client) stopTask(ctx context.Context, t *taskWatch, done <-chan answer, returnIfWaiting bool) (waiting bool) {
	for first := true; ; first = false {
		var interrupt, wait bool
		if first && t != nil && t.last() == taskActive {
			// The last poll found it running, and a task never goes
			// back to the queue: no need to ask a server that may have
			// stopped answering (the reason for many a stop).
			interrupt = true
		} else {
			interrupt, wait = c.shouldInterrupt(ctx, t)
		}
		if wait && returnIfWaiting {
			c.logger.Debug("a1111: the task waits behind another job; not interrupting", "server", c.addr, "task", t.id)
			return true
		}
		if interrupt {
			if err := c.Interrupt(ctx); err != nil && ctx.Err() == nil {
				c.logger.Debug("a1111: interrupt failed", "server", c.addr, "err", err)
				if errors.Is(err, syscall.ECONNREFUSED) {
					return false
				}
			}
		}
		pause := interruptEvery
		if wait {
			pause = reapEvery
		}
		timer := time.NewTimer(pause)
		select {
		case <-done:
			timer.Stop()
			return false
		case <-ctx.Done():
			timer.Stop()
			return wait
		case <-timer.C:
		}
	}
}

// shouldInterrupt says whether /interrupt would stop task t (it is the
// active job, or the server cannot say), and whether t still waits for its
// turn.
func (c *Client) shouldInterrupt(ctx context.Context, t *taskWatch) (interrupt, waiting bool) {
	if t == nil || !c.followsTasks() {
		return true, false
	}
	// Leave time in a stop's grace for the interrupt itself.
	ask := c.opts.RequestTimeout
	if d, ok := ctx.Deadline(); ok {
		ask = min(ask, time.Until(d)/2)
	}
	actx, cancel := context.WithTimeout(ctx, ask)
	defer cancel()
	tp, err := c.TaskProgress(actx, t.id, t.preview(), false)
	if err != nil {
		// No route, or no answer: stop whatever runs, as without tasks.
		return true, false
	}
	switch t.note(tp) {
	case taskActive:
		return true, false
	case taskQueued:
		return false, true
	case taskDone:
		return false, false
	}
	if known, _ := t.seen(); known {
		return false, false // it was filed and is gone: it ended (or failed)
	}
	if c.tracks.Load() == tracksYes {
		return false, true // not filed yet: the request is on its way
	}
	return true, false
}

// reap goes on stopping a generation that Generate gave up on while its
// task waited for the server's lock: once the task becomes the active job
// it is interrupted, so that the server does not run it for nobody after
// the job ahead of it. It ends with the txt2img answer, when the task is
// done or gone, or after GenerateTimeout, and then drops the request.
func (c *Client) reap(t *taskWatch, done <-chan answer, cancelReq context.CancelFunc) {
	defer cancelReq()
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.GenerateTimeout)
	defer cancel()
	c.stopTask(ctx, t, done, false)
	c.logger.Debug("a1111: stopped the task that had waited", "server", c.addr, "task", t.id)
}

// poll calls onProgress with the generation's progress (progressOf) every
// `every` until the returned stop is called; stop waits for the polling
// goroutine, so no call follows it.
// stop may be called more than once. failed receives one error, and polling
// ends, when the polls say the server is hung or gone (see Generate).
func (c *Client) poll(ctx context.Context, route string, every time.Duration, task *taskWatch, onProgress func(Progress)) (stop func(), failed <-chan *Error) {
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
			p, err := c.progressOf(pctx, task)
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
					fail <- &Error{Kind: KindUnreachable, Server: c.addr, Route: route, Detail: "the server went away during the generation", Err: err}
					return
				}
			case time.Since(lastOK) >= stall:
				fail <- &Error{Kind: KindTimeout, Server: c.addr, Route: route,
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

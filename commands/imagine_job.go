package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"lorabot/a1111"
	"lorabot/bot"
	"lorabot/guild"
	"lorabot/imagine"
	"lorabot/jobs"
	"lorabot/queue"
)

const cancelPrefix = "cancel"

// job is one /imagine as it travels through the queue. Its message is the
// interaction's reply, edited as the job moves.
type job struct {
	id  string
	c   *bot.Ctx
	req *imagine.Request

	posted chan struct{} // closed once the first reply was tried, so edits have something to edit

	mu sync.Mutex
	// unposted: the first reply failed, so there is no message to edit and
	// nobody to tell about the job's end.
	unposted bool
	// posSeen: OnPosition has reported; Submit's position is older then.
	posSeen bool
	// version counts changes of what render shows, so enqueue can tell
	// whether its first reply went stale while it was being posted.
	version int
	pos     int
	running bool
	backend int // while running; -1 otherwise
	// lastBackend is where it last ran (valid once started is set).
	lastBackend int
	// queued is when it was submitted (in this run of the bot).
	queued   time.Time
	started  time.Time
	progress a1111.Progress
	// progressAt is when progress was read.
	progressAt time.Time
	result     *a1111.Txt2ImgResult
	took       time.Duration
	// picture is the image the job starts from (req.Init), once fetched:
	// by the command that took it, else at the job's first run.
	// heldPicture is what of the held-pictures budget it keeps until it
	// ends (holdPicture).
	picture     []byte
	heldPicture int
	// caption is a describe job's description, once done.
	caption string
	// movedFrom is the server that failed the job last (it then waits
	// for or runs on another); -1 when none did.
	movedFrom int
	// noServer: it waits because no server it may use is up.
	noServer bool
	// resumed: queued before a restart of the bot.
	resumed bool
	// rec is the job's durable record, written once per change of state.
	rec jobs.Record

	// msg edits the job's message once c's token has run out: a button
	// press on that message brings a token of its own, good for 15 more
	// minutes (adopt). nil: c does.
	msg *bot.Ctx
	// frozen: the message's token is about to run out and the message
	// says so (tokenEnding); progress edits stop until a press adopts a
	// fresh one.
	frozen bool
	// ended: done has begun; the job adopts no handle any more.
	ended bool
	// delivered is closed when done has delivered the outcome; onMessage
	// then says whether it reached the job's message (else the channel).
	delivered chan struct{}
	onMessage bool
	// watched is the handle whose expiry tokenEnding waits for;
	// stopWatch stops that wait.
	watched   *bot.Ctx
	stopWatch func() bool

	cutOff sync.Once // the "cut off by a restart" message, sent once

	// compare follows a /compare's cells across runs (compare_job.go);
	// nil for other jobs, and until the compare first runs.
	compare *compareRun
}

// handleLocked is what edits the job's message now. x.mu is held.
func (x *job) handleLocked() *bot.Ctx {
	if x.msg != nil {
		return x.msg
	}
	return x.c
}

// live finds the jobs of an imagineCmd that are queued or running, for
// the Cancel button: a press on a message whose token has run out is the
// chance to bring the message up to date.
var live sync.Map // liveKey → *job

type liveKey struct {
	im *imagineCmd
	id string
}

func (im *imagineCmd) track(x *job)  { live.Store(liveKey{im, x.id}, x) }
func (im *imagineCmd) forget(x *job) { live.CompareAndDelete(liveKey{im, x.id}, x) }

func (im *imagineCmd) lookup(id string) *job {
	if v, ok := live.Load(liveKey{im, id}); ok {
		return v.(*job)
	}
	return nil
}

// enqueue submits the request within the server's bounds (its cooldown and
// max_jobs, checked before anything is queued), answers with the job's
// place in line, and from then on the job edits that answer itself.
func (im *imagineCmd) enqueue(c *bot.Ctx, req *imagine.Request, b guild.Bounds) error {
	return im.enqueueWith(c, req, b, nil)
}

// enqueueWith is enqueue for a job whose picture (req.Init) the command
// has fetched already: pic, so that the job need not fetch it again.
func (im *imagineCmd) enqueueWith(c *bot.Ctx, req *imagine.Request, b guild.Bounds, pic []byte) error {
	wait, undo := im.cooldowns.Take(cooldownKey(c.GuildID(), req.User), b.Cooldown)
	if wait > 0 {
		return cooldownRefusal(wait)
	}
	x := &job{c: c, req: req, posted: make(chan struct{}), backend: -1, movedFrom: -1}
	if pic != nil && holdPicture(len(pic)) {
		x.picture, x.heldPicture = pic, len(pic)
	}
	qj := im.queueJob(x)
	qj.GroupLimit = b.MaxJobs
	id, pos, err := im.deps.Queue.Submit(qj)
	if err != nil {
		undo() // a job refused is no job to cool down from
		releasePicture(x.heldPicture)
		return queueRefusal(err, im.deps.MaxPerUser)
	}
	now := time.Now()
	x.mu.Lock()
	x.id = id
	x.rec = jobs.Record{ID: id, User: req.User, State: jobs.Queued, Request: *req, Reply: replyOf(c), Created: now, Updated: now}
	rec := x.rec
	x.mu.Unlock()
	im.track(x)
	// Written before the reply, so that no callback (they all wait for
	// posted) can write a later state first.
	if err := im.deps.Jobs.PutJob(rec); err != nil {
		c.Log.Error("could not record the job; it runs, but would not survive a restart", "job", id, "err", err)
	}
	x.mu.Lock()
	// OnPosition may have run before Submit returned (a job ahead finished
	// meanwhile): its position is the newer one.
	if !x.posSeen {
		x.pos = pos
		x.running = pos == 0
	}
	first, shown := im.render(x), x.version
	x.mu.Unlock()
	err = c.Reply(first)
	x.mu.Lock()
	x.unposted = err != nil
	stale := x.version != shown
	x.mu.Unlock()
	close(x.posted)
	if err != nil {
		// Without a message the user cannot follow the job: drop it.
		_, _ = im.deps.Queue.Cancel(id, req.User)
		return fmt.Errorf("post queued message: %w", err)
	}
	if stale {
		// The place in line changed while the reply was on its way; that
		// change's edit was skipped for want of a message.
		im.pushEdit(x)
	}
	im.watchToken(x)
	return nil
}

// queueJob is the scheduler's view of x: who owns it, where it may run,
// the checkpoint it loads, and the callbacks that follow it.
func (im *imagineCmd) queueJob(x *job) *queue.Job {
	if x.id != "" {
		im.track(x) // resumed: its ID is known before Submit
	}
	x.queued = time.Now()
	return &queue.Job{
		User:       x.req.User,
		Group:      x.c.GuildID(),
		Backends:   x.req.Backends,
		Checkpoint: x.req.CheckpointKey(),
		Run:        func(ctx context.Context, backend int) error { return im.run(ctx, x, backend) },
		OnPosition: func(pos int) { im.onPosition(x, pos) },
		OnNoServer: func(waiting bool) { im.onNoServer(x, waiting) },
		OnMove:     func(from int, err error) { im.onMove(x, from, err) },
		Done:       func(err error) { im.done(x, err) },
	}
}

func (im *imagineCmd) onPosition(x *job, pos int) {
	x.mu.Lock()
	x.pos, x.posSeen = pos, true
	x.version++
	x.mu.Unlock()
	im.pushEdit(x)
}

func (im *imagineCmd) onNoServer(x *job, waiting bool) {
	x.mu.Lock()
	x.noServer = waiting
	x.version++
	x.mu.Unlock()
	im.pushEdit(x)
}

// onMove: the job's server went down under it (refused, hung, died
// mid-generation) and the queue put it back at the head of the line for
// another server. The user sees "moved", not an error.
func (im *imagineCmd) onMove(x *job, from int, err error) {
	addr := im.deps.Servers.Clients()[from].Addr()
	x.c.Log.Warn("job moved to another server", "job", x.id, "from", addr, "err", err)
	x.mu.Lock()
	x.running, x.movedFrom, x.backend = false, from, -1
	x.progress = a1111.Progress{}
	x.version++
	x.mu.Unlock()
	im.record(x, func(r *jobs.Record) {
		r.State, r.Server = jobs.Queued, ""
		// A server that refused the connection never tried the job: it may
		// take it once it is back.
		if !a1111.IsNotReached(err) && !r.TriedOn(addr) {
			r.Tried = append(r.Tried, addr)
		}
	})
	im.pushEdit(x)
}

// pushEdit queues an edit showing the job's current state. Edits of all jobs
// go through one coalescer, which keeps only the latest per job.
func (im *imagineCmd) pushEdit(x *job) {
	select {
	case <-x.posted:
	default:
		return // the first reply will show the current state
	}
	im.deps.Edits.Set(x.id, func(ctx context.Context) {
		x.mu.Lock()
		m := im.render(x)
		h, frozen := x.handleLocked(), x.frozen
		x.mu.Unlock()
		if frozen || !h.TokenValid() {
			return
		}
		// A dropped progress edit is fine; waiting out a rate limit is not.
		if _, err := h.Edit(m, discordgo.WithRetryOnRatelimit(false), discordgo.WithContext(ctx)); err != nil {
			x.c.Log.Debug("progress edit skipped", "job", x.id, "err", err)
		}
	})
	im.watchToken(x)
}

// watchToken arranges, once per handle of the job's message, that the
// message says so before the handle's token runs out: else it would stay
// at an old place in line or percentage, with a Cancel button that looks
// live, while the job goes on and its outcome is posted in the channel.
func (im *imagineCmd) watchToken(x *job) {
	x.mu.Lock()
	defer x.mu.Unlock()
	h := x.handleLocked()
	if x.ended || x.unposted || x.watched == h {
		return
	}
	if x.stopWatch != nil {
		x.stopWatch()
	}
	x.watched = h
	// Before TokenValid turns false by as much again: the notice is the
	// request that margin is kept for.
	until := h.TokenValidUntil()
	at := until.Add(-h.TokenExpires().Sub(until))
	x.stopWatch = time.AfterFunc(time.Until(at), func() { im.tokenEnding(x, h) }).Stop
}

// tokenEnding edits the job's message one last time before h's token runs
// out: where the job was, that the message stops following it, and that
// the outcome will be posted in the channel. It goes through the edit
// coalescer and ends the job's progress edits there, so that none can land
// after it, and done's Drop waits for it.
func (im *imagineCmd) tokenEnding(x *job, h *bot.Ctx) {
	x.mu.Lock()
	if x.ended || x.frozen || x.handleLocked() != h {
		x.mu.Unlock()
		return
	}
	x.frozen = true
	x.mu.Unlock()
	if !time.Now().Before(h.TokenExpires()) {
		return // a job resumed after its token: nothing can edit the message
	}
	im.deps.Edits.Set(x.id, func(ctx context.Context) {
		x.mu.Lock()
		m := im.renderExpiring(x)
		still := !x.ended && x.handleLocked() == h
		x.mu.Unlock()
		if !still {
			return
		}
		ctx, cancel := context.WithDeadline(ctx, h.TokenExpires())
		defer cancel()
		if _, err := h.Edit(m, discordgo.WithContext(ctx)); err != nil {
			x.c.Log.Warn("could not say on the job's message that it stops updating", "job", x.id, "err", err)
		}
	})
	im.deps.Edits.Flush(x.id)
}

// adopt makes c, a press on the job's message, the handle that edits the
// message from now on: its token is fresh. It reports false once the job
// has ended.
func (im *imagineCmd) adopt(x *job, c *bot.Ctx) bool {
	x.mu.Lock()
	if x.ended {
		x.mu.Unlock()
		return false
	}
	x.msg, x.frozen = c, false
	x.version++
	x.mu.Unlock()
	im.deps.Edits.Reset(x.id) // tokenEnding's Flush ended the key
	im.watchToken(x)
	return true
}

func (im *imagineCmd) run(ctx context.Context, x *job, backend int) error {
	select {
	case <-x.posted:
	case <-ctx.Done():
		return ctx.Err()
	}
	client := im.deps.Servers.Clients()[backend]
	x.mu.Lock()
	x.running, x.pos, x.started, x.backend, x.lastBackend = true, 0, time.Now(), backend, backend
	x.took = 0
	x.noServer, x.progress = false, a1111.Progress{}
	x.version++
	x.mu.Unlock()
	// The record's write (an fsync) goes alongside the request, not before
	// it, so the server does not idle for it; run waits for it before
	// returning, so the job's next write cannot overtake it.
	written := make(chan struct{})
	go func() {
		defer close(written)
		im.record(x, func(r *jobs.Record) { r.State, r.Server, r.Runs = jobs.Running, client.Addr(), r.Runs+1 })
	}()
	defer func() { <-written }()
	im.pushEdit(x)
	// The generation stops when the job's context ends (its owner's Cancel,
	// shutdown), except that at shutdown a job its server says is about to
	// finish may: its result is posted and its record done, rather than
	// run again from the start at the next start.
	genCtx, stopGen := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stopGen(nil)
	var (
		fmu       sync.Mutex
		finishing *time.Timer
	)
	unwatch := context.AfterFunc(ctx, func() {
		cause := context.Cause(ctx)
		if errors.Is(cause, queue.ErrShutdown) {
			if left, ok := im.nearlyDone(x); ok {
				x.c.Log.Info("shutdown: letting a job that is about to finish finish", "job", x.id, "left", left.Round(time.Millisecond))
				fmu.Lock()
				finishing = time.AfterFunc(left+finishGrace, func() {
					im.tellCutOff(x)
					stopGen(cause)
				})
				fmu.Unlock()
				return
			}
			// Shutdown waits only so long for A1111 to stop (a frozen A1111
			// does not answer /interrupt): tell the user at once, while
			// Discord can still be reached. Should the images come after
			// all, they replace the notice.
			im.tellCutOff(x)
		}
		stopGen(cause)
	})
	defer func() {
		unwatch()
		fmu.Lock()
		if finishing != nil {
			finishing.Stop()
		}
		fmu.Unlock()
	}()
	res, err := im.generate(genCtx, x, backend, func(p a1111.Progress) {
		x.mu.Lock()
		x.progress, x.progressAt = p, time.Now()
		x.version++
		x.mu.Unlock()
		im.pushEdit(x)
	})
	if genCtx.Err() == nil {
		// A cancelled job says nothing of its server.
		im.deps.Health.ReportGeneration(backend, err)
	}
	if err != nil {
		if genCtx.Err() != nil {
			// Cancelled by its owner or cut off by shutdown: the cause says which.
			if cause := context.Cause(genCtx); cause != nil {
				return cause
			}
		}
		return err
	}
	x.mu.Lock()
	x.result, x.took = res, time.Since(x.started)
	x.mu.Unlock()
	return nil
}

// At shutdown, a running job whose server says it ends within finishWithin
// is let finish, for up to finishGrace more than it said: a second or two
// of a shutdown budget of seconds, against a whole generation again at
// the next start.
const (
	finishWithin = time.Second
	finishGrace  = time.Second
)

// nearlyDone reports whether x's generation is about to end, by its
// server's latest fresh answer, and in how long.
func (im *imagineCmd) nearlyDone(x *job) (time.Duration, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	p := x.progress
	since := time.Since(x.progressAt)
	if !x.running || x.progressAt.IsZero() || since > 2*im.deps.ProgressEvery+time.Second {
		return 0, false // no recent word from the server: it may be frozen
	}
	if p.Progress <= 0 || p.State.SamplingSteps != x.req.SamplerSteps() {
		return 0, false // not under way, or the server is on another's job
	}
	eta := time.Duration(p.ETARelative * float64(time.Second))
	if eta <= 0 || eta > finishWithin {
		return 0, false
	}
	return max(eta-since, 0), true
}

// done posts the outcome. It runs once per job, after Run returned or the
// job left the queue.
func (im *imagineCmd) done(x *job, err error) {
	<-x.posted
	im.ended(x, err)
	x.mu.Lock()
	x.ended = true
	stop := x.stopWatch
	held := x.heldPicture
	x.picture, x.heldPicture = nil, 0
	releasePicture(held)
	x.delivered = make(chan struct{})
	delivered := x.delivered
	x.mu.Unlock()
	if stop != nil {
		stop()
	}
	// Known to Cancel until the outcome is delivered: a press meanwhile
	// waits to learn where it went.
	defer func() {
		close(delivered)
		im.forget(x)
	}()
	im.deps.Edits.Drop(x.id) // no stale progress edit may land after this
	var m bot.Message
	switch {
	case err == nil:
		x.mu.Lock()
		seeds, caption := x.result.Info.AllSeeds, x.caption
		x.mu.Unlock()
		im.record(x, func(r *jobs.Record) { r.State, r.Server, r.Seeds, r.Caption = jobs.Done, "", seeds, caption })
		im.postResult(x)
		return
	case errors.Is(err, queue.ErrShutdown):
		// The record stays queued or running: the next start runs it.
		im.tellCutOff(x)
		return
	case errors.Is(err, queue.ErrCanceled) || errors.Is(err, context.Canceled):
		im.record(x, func(r *jobs.Record) { r.State, r.Server = jobs.Cancelled, "" })
		m = bot.Message{Content: "✖️ Cancelled."}
	default:
		msg := im.failure(x, err)
		im.record(x, func(r *jobs.Record) { r.State, r.Server, r.Error = jobs.Failed, "", msg })
		m = bot.Message{Content: "⚠️ " + msg}
		defer im.tellDetail(x, err, msg) // after the public message, below it
	}
	m.Embeds = []*discordgo.MessageEmbed{requestEmbed(x.req, nil, 0)}
	im.deliver(x, m)
}

// tellDetail sends the job's owner, when they manage the server, what the
// public message leaves out (the server's address, its error), privately,
// so an admin can act without reading logs. Only while the interaction
// token lives: after it, an ephemeral message is impossible and a public
// one would defeat the point.
func (im *imagineCmd) tellDetail(x *job, err error, public string) {
	var ae *a1111.Error
	if !errors.As(err, &ae) || !x.c.HasPermission(discordgo.PermissionManageGuild) || !x.c.TokenValid() {
		return
	}
	detail := ae.UserMessage()
	if detail == public {
		return
	}
	x.mu.Lock()
	unposted := x.unposted
	x.mu.Unlock()
	if unposted {
		return
	}
	if _, ferr := x.c.Followup(bot.Message{Content: clip("🔧 For admins: "+detail, bot.MaxContentLen), Ephemeral: true}); ferr != nil {
		x.c.Log.Warn("could not send the failure's detail to the admin", "job", x.id, "err", ferr)
	}
}

// failure is the one sentence a failed job's message shows. The channel
// reads it, so it says what happened in words, without the server's
// address or error text (a1111.Error.PublicMessage); the log and, for an
// admin, tellDetail carry the detail.
func (im *imagineCmd) failure(x *job, err error) string {
	var ae *a1111.Error
	switch {
	case errors.Is(err, queue.ErrNoServer):
		return fmt.Sprintf("No image server has answered for %s, so your job was not run; please try again later.", roundWait(im.deps.NoServerWait))
	case errors.As(err, &ae) && ae.ServerDown():
		// Said without the server's address: the channel reads this.
		x.mu.Lock()
		tried := len(x.rec.Tried)
		x.mu.Unlock()
		if tried > 0 {
			return fmt.Sprintf("Your job was tried on %d image servers and none could finish it; please try again later.", tried+1)
		}
		return "The image server stopped answering, so your job was not finished; please try again later."
	case errors.Is(err, a1111.ErrNotSupported) && x.req.Kind == imagine.Describe:
		other := a1111.InterrogatorCLIP
		if x.req.Interrogator == a1111.InterrogatorCLIP {
			other = a1111.InterrogatorDeepDanbooru
		}
		return fmt.Sprintf("The image server has no %s interrogator; try /describe with the %s model.", x.req.Interrogator, other)
	case errors.As(err, &ae):
		return ae.PublicMessage()
	}
	// The job's own trouble outside the server (its picture is gone).
	var um interface{ UserMessage() string }
	if errors.As(err, &um) {
		return um.UserMessage()
	}
	return "Something went wrong while generating; it was logged."
}

func roundWait(d time.Duration) string {
	if d <= 0 {
		d = queue.DefaultNoServerWait
	}
	if d >= time.Minute {
		return d.Round(time.Minute).String()
	}
	return d.Round(time.Second).String()
}

// tellCutOff tells the user that shutdown cut their job off; it sends once
// however many times it is called.
func (im *imagineCmd) tellCutOff(x *job) {
	x.cutOff.Do(func() {
		im.deps.Edits.Drop(x.id)
		im.deliver(x, bot.Message{
			Content: "⏸️ The bot is restarting: your job keeps its place in line and runs when the bot is back.",
			Embeds:  []*discordgo.MessageEmbed{requestEmbed(x.req, nil, 0)},
		})
	})
}

// deliver edits the job's message while a token for it lives (the
// interaction's, or a later button press's), and posts a channel message
// mentioning the user after; the message left behind is corrected by the
// next press on it (cancel). The edit waits out a rate limit and is sent
// again, a few times at most. A job whose first reply failed has no
// message and no one waiting for it: nothing is sent.
func (im *imagineCmd) deliver(x *job, m bot.Message) {
	x.mu.Lock()
	unposted := x.unposted
	h := x.handleLocked()
	x.mu.Unlock()
	if unposted {
		return
	}
	if h.TokenValid() {
		if _, err := h.Edit(m); err == nil {
			x.mu.Lock()
			x.onMessage = true
			x.mu.Unlock()
			return
		} else {
			x.c.Log.Warn("edit job message failed; posting in the channel", "job", x.id, "err", err)
		}
	}
	// The edit may have read the files before it failed.
	for _, f := range m.Files {
		if s, ok := f.Reader.(io.Seeker); ok {
			if _, err := s.Seek(0, io.SeekStart); err != nil {
				x.c.Log.Error("could not rewind an image to post it again", "job", x.id, "file", f.Name, "err", err)
			}
		}
	}
	if mention := "<@" + x.req.User + ">"; !strings.Contains(m.Content, mention) {
		m.Content = strings.TrimSpace(mention + " " + m.Content)
	}
	m.AllowUserMention = true
	if from := x.req.From; from.Message != "" && from.Channel == x.c.I.ChannelID {
		m.ReplyTo = from.Message // lineage, as the interaction's reply shows it
	}
	if _, err := x.c.ChannelMessage(m); err != nil {
		x.c.Log.Error("could not deliver job outcome", "job", x.id, "err", err)
		if len(m.Files) == 0 {
			return
		}
		// Perhaps the bot may post but not attach files here: say so in words.
		m.Files, m.Embeds = nil, nil
		m.Content = fmt.Sprintf("<@%s> your images are ready, but could not be posted in this channel (the bot may lack the Attach Files permission).", x.req.User)
		if _, err := x.c.ChannelMessage(m); err != nil {
			x.c.Log.Error("could not tell the user either", "job", x.id, "err", err)
		}
	}
}

// cancel serves the Cancel button: only the job's owner may cancel. A
// press is also the one chance to correct a job message that nothing can
// edit any more (its token ran out, or its last edit failed): that
// message still shows a Cancel button, so a press on it means it is
// stale. Such a press updates the message (callback type 7) to the job's
// state, or becomes the handle that edits it for 15 more minutes.
func (im *imagineCmd) cancel(c *bot.Ctx, id string) error {
	x := im.lookup(id)
	stale := false
	if x != nil {
		x.mu.Lock()
		delivered := x.delivered
		stale = !x.handleLocked().TokenValid()
		x.mu.Unlock()
		if delivered != nil {
			return im.pressAtTheEnd(c, x, id, delivered)
		}
	}
	if stale && x.req.User == c.UserID() {
		// The owner cancels a job whose message nothing can edit: take
		// this press as the handle first (a deferred update, after which
		// its token edits that message), so that the job's "Cancelled",
		// which may come at once, lands on the message.
		if err := c.Defer(false); err != nil {
			return err
		}
		im.adopt(x, c)
	}
	_, err := im.deps.Queue.Cancel(id, c.UserID())
	switch {
	case errors.Is(err, queue.ErrNotOwner):
		const refusal = "Only the person who asked for this job can cancel it."
		if !stale || !im.refresh(x, c) {
			return bot.Failf(refusal)
		}
		if _, err := c.Followup(bot.Message{Content: refusal, Ephemeral: true}); err != nil {
			c.Log.Warn("could not tell who pressed Cancel that the job is not theirs", "err", err)
		}
		return nil
	case errors.Is(err, queue.ErrNotFound) && x != nil:
		// It ended between the two looks: its outcome is on its way.
		x.mu.Lock()
		delivered := x.delivered
		x.mu.Unlock()
		if delivered == nil {
			return bot.Failf("This job has already finished.")
		}
		return im.pressAtTheEnd(c, x, id, delivered)
	case errors.Is(err, queue.ErrNotFound):
		return im.correctFinished(c, id)
	case err != nil:
		return err
	}
	// The job's own message shows "Cancelled" once it stops; this only
	// acknowledges the click (Defer sends nothing if it was answered).
	return c.Defer(false)
}

// pressAtTheEnd answers Cancel on a job whose outcome is being delivered:
// once it is (within the router's watchdog, which defers for a slow
// answer), the message is corrected if the outcome went to the channel.
func (im *imagineCmd) pressAtTheEnd(c *bot.Ctx, x *job, id string, delivered <-chan struct{}) error {
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-delivered:
	case <-t.C:
		return bot.Failf("This job has already finished.")
	}
	x.mu.Lock()
	onMessage := x.onMessage
	x.mu.Unlock()
	if onMessage {
		return bot.Failf("This job has already finished.")
	}
	return im.correctFinished(c, id)
}

// refresh answers a press on x's stale message by showing where the job
// is now (callback type 7), and keeps the press to edit the message from
// then on. It reports false when the job ended meanwhile.
func (im *imagineCmd) refresh(x *job, c *bot.Ctx) bool {
	x.mu.Lock()
	m := im.render(x)
	x.mu.Unlock()
	if err := c.Update(m); err != nil {
		c.Log.Warn("could not bring a job's message up to date", "job", x.id, "err", err)
		return false
	}
	im.adopt(x, c)
	return true
}

// correctFinished answers Cancel on a job that is no longer queued or
// running. Its message still offers Cancel, so it never showed the job's
// end (the outcome went to the channel after the token ran out, or the
// last edit failed): the message is updated to say how the job ended,
// from its record.
func (im *imagineCmd) correctFinished(c *bot.Ctx, id string) error {
	rec, err := im.deps.Jobs.Job(id)
	m := bot.Message{Content: "This job has finished."}
	if err == nil {
		switch rec.State {
		case jobs.Done:
			m.Content = "✅ Finished: the images were posted in this channel."
		case jobs.Failed:
			m.Content = "⚠️ " + rec.Error
		case jobs.Cancelled:
			m.Content = "✖️ Cancelled."
		default:
			// Pending but not here: the bot restarted and has not queued
			// it again yet, or could not.
			return bot.Failf("This job is not running right now; if it does not start soon, please run /imagine again.")
		}
		m.Embeds = []*discordgo.MessageEmbed{requestEmbed(&rec.Request, nil, 0)}
	}
	return c.Update(m)
}

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
	version  int
	pos      int
	running  bool
	backend  int // while running; -1 otherwise
	started  time.Time
	progress a1111.Progress
	result   *a1111.Txt2ImgResult
	took     time.Duration
	// movedFrom is the server that failed the job last (it then waits
	// for or runs on another); -1 when none did.
	movedFrom int
	// noServer: it waits because no server it may use is up.
	noServer bool
	// resumed: queued before a restart of the bot.
	resumed bool
	// rec is the job's durable record, written once per change of state.
	rec jobs.Record

	cutOff sync.Once // the "cut off by a restart" message, sent once
}

// enqueue submits the request within the server's bounds (its cooldown and
// max_jobs, checked before anything is queued), answers with the job's
// place in line, and from then on the job edits that answer itself.
func (im *imagineCmd) enqueue(c *bot.Ctx, req *imagine.Request, b guild.Bounds) error {
	wait, undo := im.cooldowns.Take(cooldownKey(c.GuildID(), req.User), b.Cooldown)
	if wait > 0 {
		return cooldownRefusal(wait)
	}
	x := &job{c: c, req: req, posted: make(chan struct{}), backend: -1, movedFrom: -1}
	qj := im.queueJob(x)
	qj.GroupLimit = b.MaxJobs
	id, pos, err := im.deps.Queue.Submit(qj)
	if err != nil {
		undo() // a job refused is no job to cool down from
		return queueRefusal(err, im.deps.MaxPerUser)
	}
	now := time.Now()
	x.mu.Lock()
	x.id = id
	x.rec = jobs.Record{ID: id, User: req.User, State: jobs.Queued, Request: *req, Reply: replyOf(c), Created: now, Updated: now}
	rec := x.rec
	x.mu.Unlock()
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
	return nil
}

// queueJob is the scheduler's view of x: who owns it, where it may run,
// the checkpoint it loads, and the callbacks that follow it.
func (im *imagineCmd) queueJob(x *job) *queue.Job {
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
		x.mu.Unlock()
		if !x.c.TokenValid() {
			return
		}
		// A dropped progress edit is fine; waiting out a rate limit is not.
		if _, err := x.c.Edit(m, discordgo.WithRetryOnRatelimit(false), discordgo.WithContext(ctx)); err != nil {
			x.c.Log.Debug("progress edit skipped", "err", err)
		}
	})
}

func (im *imagineCmd) run(ctx context.Context, x *job, backend int) error {
	select {
	case <-x.posted:
	case <-ctx.Done():
		return ctx.Err()
	}
	client := im.deps.Servers.Clients()[backend]
	x.mu.Lock()
	x.running, x.pos, x.started, x.backend = true, 0, time.Now(), backend
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
	// Shutdown waits only so long for A1111 to stop (a frozen A1111 does not
	// answer /interrupt): tell the user at once, while Discord can still be
	// reached. Should the images come after all, they replace the notice.
	stopNotice := context.AfterFunc(ctx, func() {
		if errors.Is(context.Cause(ctx), queue.ErrShutdown) {
			im.tellCutOff(x)
		}
	})
	defer stopNotice()
	// Each server names the same checkpoint file by its own title.
	req := x.req.Txt2ImgOn(func(key string) (string, bool) { return im.deps.Servers.TitleOn(backend, key) })
	res, err := client.Generate(ctx, req, im.deps.ProgressEvery, func(p a1111.Progress) {
		x.mu.Lock()
		x.progress = p
		x.version++
		x.mu.Unlock()
		im.pushEdit(x)
	})
	if ctx.Err() == nil {
		// A cancelled job says nothing of its server.
		im.deps.Health.ReportGeneration(backend, err)
	}
	if err != nil {
		if ctx.Err() != nil {
			// Cancelled by its owner or cut off by shutdown: the cause says which.
			if cause := context.Cause(ctx); cause != nil {
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

// done posts the outcome. It runs once per job, after Run returned or the
// job left the queue.
func (im *imagineCmd) done(x *job, err error) {
	<-x.posted
	im.deps.Edits.Drop(x.id) // no stale progress edit may land after this
	var m bot.Message
	switch {
	case err == nil:
		x.mu.Lock()
		seeds := x.result.Info.AllSeeds
		x.mu.Unlock()
		im.record(x, func(r *jobs.Record) { r.State, r.Server, r.Seeds = jobs.Done, "", seeds })
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
		x.c.Log.Warn("job failed", "job", x.id, "err", err)
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
	case errors.As(err, &ae):
		return ae.PublicMessage()
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

// deliver edits the job's message while the interaction token lives, and
// posts a channel message mentioning the user after. A job whose first
// reply failed has no message and no one waiting for it: nothing is sent.
func (im *imagineCmd) deliver(x *job, m bot.Message) {
	x.mu.Lock()
	unposted := x.unposted
	x.mu.Unlock()
	if unposted {
		return
	}
	if x.c.TokenValid() {
		if _, err := x.c.Edit(m); err == nil {
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

// cancel serves the Cancel button: only the job's owner may press it.
func (im *imagineCmd) cancel(c *bot.Ctx, id string) error {
	_, err := im.deps.Queue.Cancel(id, c.UserID())
	switch {
	case errors.Is(err, queue.ErrNotOwner):
		return bot.Failf("Only the person who asked for this job can cancel it.")
	case errors.Is(err, queue.ErrNotFound):
		return bot.Failf("This job has already finished.")
	case err != nil:
		return err
	}
	// The job's own message shows "Cancelled" once it stops; this only
	// acknowledges the click.
	return c.Defer(false)
}

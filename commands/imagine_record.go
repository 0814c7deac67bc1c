package commands

import (
	"errors"
	"time"

	"lorabot/bot"
	"lorabot/jobs"
	"lorabot/queue"
)

// record changes x's durable record and writes it: once per change of
// state, never per progress tick. A failed write is logged and the job goes
// on; it only loses the ability to survive a restart.
func (im *imagineCmd) record(x *job, change func(r *jobs.Record)) {
	x.mu.Lock()
	change(&x.rec)
	x.rec.Updated = time.Now()
	r := x.rec
	x.mu.Unlock()
	if r.ID == "" {
		return // never recorded: its first reply failed before it was
	}
	if err := im.deps.Jobs.PutJob(r); err != nil {
		x.c.Log.Error("could not record the job's state", "job", r.ID, "state", r.State, "err", err)
	}
}

func replyOf(c *bot.Ctx) jobs.Reply {
	a := c.Answered()
	return jobs.Reply{
		AppID: a.AppID, InteractionID: a.InteractionID, Token: a.Token,
		GuildID: a.GuildID, ChannelID: a.ChannelID, Received: a.Received, AttachmentLimit: a.AttachmentLimit,
	}
}

func answeredOf(r jobs.Record) bot.Answered {
	p := r.Reply
	return bot.Answered{
		AppID: p.AppID, InteractionID: p.InteractionID, Token: p.Token,
		GuildID: p.GuildID, ChannelID: p.ChannelID, UserID: r.User, Received: p.Received, AttachmentLimit: p.AttachmentLimit,
	}
}

// Resume queues again the jobs a previous run of the bot left queued or
// running (recs, from jobs.Store.PendingJobs: a restart, or a crash), oldest
// first, keeping their IDs so the Cancel buttons on their messages still
// work. A job that was running runs once more, from the start. ctxOf
// rebuilds each job's interaction (bot.Bot.Resume): its message is edited
// while the token lives, and after that the outcome is posted in the
// channel, mentioning the user.
func (cs *Commands) Resume(recs []jobs.Record, ctxOf func(bot.Answered) *bot.Ctx) int {
	im := cs.imagine
	n := 0
	for _, r := range recs {
		c := ctxOf(answeredOf(r))
		x := &job{id: r.ID, c: c, req: &r.Request, rec: r, backend: -1, movedFrom: -1, resumed: true, posted: make(chan struct{})}
		close(x.posted) // its message exists: the previous run posted it
		q := im.queueJob(x)
		q.ID = r.ID
		q.Attempts = len(r.Tried)
		for i, cl := range im.deps.Servers.Clients() {
			if r.TriedOn(cl.Addr()) && i < 64 {
				q.Avoid |= 1 << i
			}
		}
		_, pos, err := im.deps.Queue.Submit(q)
		if errors.Is(err, queue.ErrDuplicateID) {
			continue // already queued: nothing to resume
		}
		if err != nil {
			c.Log.Warn("could not resume a job", "job", r.ID, "err", err)
			msg := "The bot restarted and could not queue your job again; please run /imagine again."
			im.record(x, func(r *jobs.Record) { r.State, r.Server, r.Error = jobs.Failed, "", msg })
			im.deliver(x, bot.Message{Content: "⚠️ " + msg})
			continue
		}
		x.mu.Lock()
		if !x.posSeen {
			x.pos, x.running = pos, pos == 0
		}
		x.mu.Unlock()
		// In line order, so that the edit pacer shows them in that order.
		im.pushEdit(x)
		n++
	}
	return n
}

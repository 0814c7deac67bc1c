package commands

import (
	"context"
	"log/slog"
	"time"

	"lorabot/queue"
)

// JobEnd is how one job ended, as its log line and the metrics tell it.
// It carries no prompt and no user.
type JobEnd struct {
	ID      string
	Guild   string // "" in DMs
	Server  string // host:port where it last ran; "" when it never ran
	Outcome queue.Outcome
	// Wait is how long it waited in line: from its submission (in this
	// run of the bot, for a resumed job) to its last start, or to its end
	// when it never started.
	Wait time.Duration
	// Generation is how long its last run took on Server (the one that
	// gave the images, for a job done); 0 when it never ran.
	Generation time.Duration
}

// ended logs the job's one line at its end, with err for a failure, and
// tells Deps.JobEnded. done calls it once per job.
func (im *imagineCmd) ended(x *job, err error) {
	now := time.Now()
	x.mu.Lock()
	end := JobEnd{ID: x.id, Guild: x.c.GuildID(), Outcome: queue.OutcomeOf(err), Wait: now.Sub(x.queued)}
	if !x.started.IsZero() {
		end.Server = im.deps.Servers.Clients()[x.lastBackend].Addr()
		end.Wait = x.started.Sub(x.queued)
		end.Generation = now.Sub(x.started)
		if x.took > 0 {
			end.Generation = x.took
		}
	}
	x.mu.Unlock()
	level, attrs := slog.LevelInfo, []any{"job", end.ID, "guild", end.Guild, "server", end.Server,
		"wait", end.Wait.Round(time.Millisecond), "generation", end.Generation.Round(time.Millisecond), "outcome", string(end.Outcome)}
	if end.Outcome == queue.OutcomeFailed || end.Outcome == queue.OutcomeNoServer {
		level, attrs = slog.LevelWarn, append(attrs, "err", err)
	}
	x.c.Log.Log(context.Background(), level, "job ended", attrs...)
	if im.deps.JobEnded != nil {
		im.deps.JobEnded(end)
	}
}

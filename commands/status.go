package commands

import (
	"fmt"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"lorabot/bot"
	"lorabot/health"
)

// statusCmd serves /status: the servers, the queue, and the caller's own
// jobs. It is ephemeral (it is about the caller), and server addresses are
// shown only to members who manage the server.
type statusCmd struct{ deps *Deps }

func (s *statusCmd) command() bot.Command {
	return bot.Command{
		Def: &discordgo.ApplicationCommand{
			Name:        "status",
			Description: "The image servers, the queue, and your jobs",
		},
		Handle: s.handle,
	}
}

func (s *statusCmd) handle(c *bot.Ctx) error {
	return c.Reply(bot.Message{Content: s.text(c.UserID(), c.HasPermission(discordgo.PermissionManageGuild), time.Now()), Ephemeral: true})
}

// text is the whole answer; it reads only in-memory state.
func (s *statusCmd) text(user string, showAddr bool, now time.Time) string {
	var b strings.Builder
	b.WriteString("**Image servers**\n")
	clients := s.deps.Servers.Clients()
	backends := s.deps.Queue.Backends()
	for i, be := range backends {
		h := s.deps.Health.Status(i)
		name := fmt.Sprintf("Server %d", i+1)
		if showAddr && i < len(clients) {
			name += " (`" + clients[i].Addr() + "`)"
		}
		switch {
		case h.State == health.Down:
			fmt.Fprintf(&b, "🔴 %s: down for %s, not answering; no jobs go there until it does", name, ago(now, h.Since))
		case be.JobID != "":
			fmt.Fprintf(&b, "🟢 %s: running a job of <@%s>", name, be.User)
		case h.State == health.Unknown:
			fmt.Fprintf(&b, "⚪ %s: not heard from yet", name)
		default:
			fmt.Fprintf(&b, "🟢 %s: idle", name)
		}
		if be.Loaded != "" {
			fmt.Fprintf(&b, " · model `%s`", clip(be.Loaded, 60))
		}
		fmt.Fprintf(&b, " · %d done\n", be.Done)
	}
	st := s.deps.Queue.Snapshot()
	fmt.Fprintf(&b, "**Queue**: %d waiting, %d running\n", st.Queued, st.Running)
	mine := s.deps.Queue.UserJobs(user)
	if len(mine) == 0 {
		b.WriteString("**Your jobs**: none queued or running.")
		return b.String()
	}
	b.WriteString("**Your jobs**\n")
	for _, j := range mine {
		switch {
		case j.Running:
			fmt.Fprintf(&b, "• `%s` running on server %d\n", j.ID, j.Backend+1)
		case j.WaitingForServer:
			fmt.Fprintf(&b, "• `%s` waiting for a server to come back (place %d)\n", j.ID, j.Position)
		default:
			fmt.Fprintf(&b, "• `%s` queued, place %d in line\n", j.ID, j.Position)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// ago words how long since t, in whole seconds or minutes.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case t.IsZero() || d < 0:
		return "a moment"
	case d < time.Minute:
		return d.Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}

package bot

import (
	"time"

	"github.com/bwmarrin/discordgo"
)

// Answered is what the bot must remember of an interaction it answered to
// reach that answer again after a restart: a job queued before the restart
// edits its message while the token lives, and posts in the channel after.
type Answered struct {
	AppID, InteractionID string
	// Token is a credential for 15 minutes: keep it out of logs.
	Token              string
	GuildID, ChannelID string
	UserID             string
	// Received is when the token's clock started (the interaction's
	// creation, on this machine's clock); Resume prefers the time in
	// InteractionID, read with the clock offset known then.
	Received        time.Time
	AttachmentLimit int64
}

// Answered returns what Resume needs to rebuild c later.
func (c *Ctx) Answered() Answered {
	return Answered{
		AppID: c.I.AppID, InteractionID: c.I.ID, Token: c.I.Token,
		GuildID: c.I.GuildID, ChannelID: c.I.ChannelID, UserID: c.UserID(),
		Received: c.Created(), AttachmentLimit: c.AttachmentLimit,
	}
}

// Resume rebuilds the Ctx of an interaction this bot (or its previous run)
// already answered. Its token's clock runs from the interaction's creation,
// so TokenValid tells whether the original message can still be edited.
func (b *Bot) Resume(a Answered) *Ctx {
	limit := a.AttachmentLimit
	if limit <= 0 {
		limit = DefaultAttachmentLimit
	}
	return &Ctx{
		Session: b.s,
		I: &discordgo.Interaction{
			ID: a.InteractionID, AppID: a.AppID, Token: a.Token, Type: discordgo.InteractionApplicationCommand,
			GuildID: a.GuildID, ChannelID: a.ChannelID, User: &discordgo.User{ID: a.UserID},
		},
		Log:             b.log,
		AttachmentLimit: limit,
		rq:              b.rq,
		received:        a.Received,
		created:         b.createdOf(a.InteractionID, a.Received),
		tokenLife:       b.opts.TokenLifetime,
		state:           stateReplied,
	}
}

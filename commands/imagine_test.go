package commands

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"lorabot/a1111"
	"lorabot/bot"
	"lorabot/queue"
)

func TestCooldownRefusalRoundsUp(t *testing.T) {
	for wait, want := range map[time.Duration]string{
		11200 * time.Millisecond: "in 12 s (this server's cooldown)",
		time.Second:              "in 1 s ",
		90 * time.Second:         "in 1 min 30 s ",
		120 * time.Second:        "in 2 min ",
	} {
		msg, _ := bot.UserMessage(cooldownRefusal(wait))
		if !strings.Contains(msg, want) {
			t.Errorf("%v: %q does not say %q", wait, msg, want)
		}
	}
}

func TestQueueRefusalNamesTheServersLimit(t *testing.T) {
	msg, _ := bot.UserMessage(queueRefusal(&queue.LimitError{Limit: 1, Group: "g"}, 3))
	if msg != "You already have 1 job queued or running in this server (its limit); wait for one to finish or cancel one." {
		t.Errorf("server limit: %q", msg)
	}
	msg, _ = bot.UserMessage(queueRefusal(fmt.Errorf("submit: %w", &queue.LimitError{Limit: 3}), 3))
	if !strings.Contains(msg, "3 jobs queued or running (the limit)") {
		t.Errorf("bot-wide limit: %q", msg)
	}
}

// An image server's error a handler returns reaches the router in public
// words, but in full for a member who manages the server.
func TestPublicErrorHidesTheServerFromMembers(t *testing.T) {
	ae := &a1111.Error{Kind: a1111.KindUnreachable, Server: "127.0.0.1:7860"}
	ctx := func(perms int64) *bot.Ctx {
		return &bot.Ctx{I: &discordgo.Interaction{GuildID: "1", Member: &discordgo.Member{Permissions: perms}},
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	}
	msg, _ := bot.UserMessage(publicError(ctx(0), fmt.Errorf("plan: %w", ae)))
	if strings.Contains(msg, "127.0.0.1") || msg != ae.PublicMessage() {
		t.Errorf("a member reads %q", msg)
	}
	if err := publicError(ctx(discordgo.PermissionManageGuild), ae); !errors.Is(err, ae) {
		t.Errorf("an admin gets the error itself: %v", err)
	}
	other := bot.Failf("Write a prompt.")
	if publicError(ctx(0), other) != other {
		t.Error("other refusals pass through")
	}
}

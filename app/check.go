package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"lorabot/a1111"
	"lorabot/bot"
	"lorabot/config"
)

// InvitePermissions are what the bot needs in a channel: see it, post in it
// (results after the 15-minute interaction token), embed and attach images,
// and read history to edit its own messages.
const InvitePermissions = discordgo.PermissionViewChannel | discordgo.PermissionSendMessages |
	discordgo.PermissionEmbedLinks | discordgo.PermissionAttachFiles | discordgo.PermissionReadMessageHistory

// InviteURL is the link that adds the bot to a server with its commands.
func InviteURL(appID string) string {
	q := url.Values{"client_id": {appID}, "scope": {"bot applications.commands"}, "permissions": {fmt.Sprint(InvitePermissions)}}
	return "https://discord.com/oauth2/authorize?" + q.Encode()
}

// Check is `lorabot check`: it tries every outside part the bot needs and
// prints what works and how to fix what does not. It returns an error when
// anything failed, so the process exits non-zero.
func Check(ctx context.Context, cfg config.Config, out io.Writer) error {
	ok := true
	fmt.Fprintln(out, "✓ settings are valid")
	clients, err := Clients(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	for _, c := range clients {
		if !checkA1111(ctx, c, out) {
			ok = false
		}
	}
	if !checkDiscord(cfg, out) {
		ok = false
	}
	if !ok {
		return errors.New("some checks failed; see the lines marked ✗ above")
	}
	fmt.Fprintln(out, "All good: start the bot with `go run .`")
	return nil
}

func checkA1111(ctx context.Context, c *a1111.Client, out io.Writer) bool {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	fail := func(what string, err error) bool {
		msg := userText(err)
		if !strings.Contains(msg, c.Addr()) {
			msg = "A1111 at " + c.Addr() + ": " + msg
		}
		fmt.Fprintf(out, "✗ %s (%s)\n  fix: %s\n", msg, what, a1111Fix(err))
		return false
	}
	models, err := c.Models(ctx)
	if err != nil {
		return fail("listing checkpoints", err)
	}
	samplers, err := c.Samplers(ctx)
	if err != nil {
		return fail("listing samplers", err)
	}
	loras, err := c.LoRAs(ctx)
	if err != nil {
		return fail("listing LoRAs", err)
	}
	fmt.Fprintf(out, "✓ A1111 at %s: %d LoRAs, %d checkpoints, %d samplers\n", c.Addr(), len(loras), len(models), len(samplers))
	if len(loras) == 0 {
		fmt.Fprintln(out, "  note: no LoRAs found; put .safetensors files in A1111's models/Lora folder")
	}
	return true
}

func a1111Fix(err error) string {
	var ae *a1111.Error
	if errors.As(err, &ae) {
		switch ae.Kind {
		case a1111.KindNoAPI:
			return "add --api to A1111's COMMANDLINE_ARGS (webui-user.sh or webui-user.bat) and restart it"
		case a1111.KindAuth:
			return "put the --api-auth user:password into A1111_URL as http://user:password@host:port"
		case a1111.KindUnreachable, a1111.KindTimeout:
			return "start A1111 (with --api; add --listen if the bot runs on another machine) and check A1111_URL"
		}
	}
	return "check A1111_URL and A1111's console"
}

func userText(err error) string {
	if msg, ok := bot.UserMessage(err); ok {
		return msg
	}
	return err.Error()
}

func checkDiscord(cfg config.Config, out io.Writer) bool {
	if err := bot.RedirectEndpoints(cfg.DiscordAPIURL); err != nil {
		fmt.Fprintf(out, "✗ DISCORD_API_URL: %v\n", err)
		return false
	}
	s, err := discordgo.New("Bot " + cfg.DiscordToken)
	if err != nil {
		fmt.Fprintf(out, "✗ Discord: %v\n", err)
		return false
	}
	s.Client.Timeout = 15 * time.Second
	me, err := s.User("@me")
	if err != nil {
		var rerr *discordgo.RESTError
		if errors.As(err, &rerr) && rerr.Response != nil && rerr.Response.StatusCode == 401 {
			fmt.Fprintln(out, "✗ Discord refused DISCORD_TOKEN\n  fix: copy a fresh token from the developer portal (your application → Bot → Reset Token) into .env")
		} else {
			fmt.Fprintf(out, "✗ Discord is not reachable at %s\n  fix: check the network, or DISCORD_API_URL if you changed it\n", config.Redact(cfg.DiscordAPIURL))
		}
		return false
	}
	fmt.Fprintf(out, "✓ Discord: logged in as %s (%s)\n", me.Username, me.ID)
	// The invite needs the application's ID, which differs from the bot
	// user's for applications made before 2020.
	appID := me.ID
	if a, err := s.Application("@me"); err == nil && a.ID != "" {
		appID = a.ID
	}
	fmt.Fprintf(out, "  invite the bot with: %s\n", InviteURL(appID))
	if cfg.GuildID == "" {
		fmt.Fprintln(out, "  note: DISCORD_GUILD_ID is empty, so commands register globally and may take up to an hour to appear")
	}
	return true
}

package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
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

// CheckOptions tune Check. Zero values take the defaults.
type CheckOptions struct {
	// ServerTimeout bounds the check of one A1111 server (default 20 s).
	// The servers are checked at once, each within its own limit, so hung
	// servers cost the check this much in all, not this much each.
	ServerTimeout time.Duration
}

// DefaultCheckServerTimeout is how long Check waits for one A1111 server.
const DefaultCheckServerTimeout = 20 * time.Second

// Check is `lorabot check`: it tries every outside part the bot needs and
// prints what works and how to fix what does not. It returns an error when
// anything failed, so the process exits non-zero.
func Check(ctx context.Context, cfg config.Config, out io.Writer) error {
	return CheckWith(ctx, cfg, CheckOptions{}, out)
}

// CheckWith is Check with its limits. Every A1111 server of A1111_URL and
// Discord are checked at the same time; the lines come out in A1111_URL's
// order, each server's as soon as it and the ones before it are done. A
// server's lines name it by host:port (and its entry in A1111_URL when
// there are several), never with its password.
func CheckWith(ctx context.Context, cfg config.Config, opts CheckOptions, out io.Writer) error {
	if opts.ServerTimeout <= 0 {
		opts.ServerTimeout = DefaultCheckServerTimeout
	}
	fmt.Fprintln(out, "✓ settings are valid")
	clients, err := Clients(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	type result struct {
		text strings.Builder
		ok   bool
		done chan struct{}
	}
	start := func(check func(io.Writer) bool) *result {
		r := &result{done: make(chan struct{})}
		go func() {
			defer close(r.done)
			r.ok = check(&r.text)
		}()
		return r
	}
	servers := make([]*result, len(clients))
	for i, c := range clients {
		name := ""
		if len(clients) > 1 {
			name = fmt.Sprintf("A1111_URL entry %d: ", i+1)
		}
		servers[i] = start(func(w io.Writer) bool { return checkA1111(ctx, c, name, opts.ServerTimeout, w) })
	}
	discord := start(func(w io.Writer) bool { return checkDiscord(cfg, w) })
	civ := start(func(w io.Writer) bool { io.WriteString(w, checkCivitai(ctx, cfg, opts.ServerTimeout)); return true })

	var failed []string
	for i, r := range servers {
		<-r.done
		io.WriteString(out, r.text.String())
		if !r.ok {
			failed = append(failed, clients[i].Addr())
		}
	}
	<-discord.done
	io.WriteString(out, discord.text.String())
	<-civ.done
	io.WriteString(out, civ.text.String())
	switch {
	case len(failed) > 0 && len(clients) > 1:
		what := fmt.Sprintf("%d of %d A1111 servers failed (%s)", len(failed), len(clients), strings.Join(failed, ", "))
		if !discord.ok {
			what += " and so did Discord"
		}
		return errors.New(what + "; see the lines marked ✗ above")
	case len(failed) > 0 || !discord.ok:
		return errors.New("some checks failed; see the lines marked ✗ above")
	}
	fmt.Fprintln(out, "All good: start the bot with `go run .`")
	return nil
}

// checkA1111 lists the server's checkpoints, samplers and LoRAs within
// limit and writes one line saying what it found or why it failed, and
// how to fix that. name, when not empty, starts the line.
func checkA1111(ctx context.Context, c *a1111.Client, name string, limit time.Duration, out io.Writer) bool {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	fail := func(what string, err error) bool {
		msg := strings.TrimSuffix(userText(err), ".")
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			msg = "the check was interrupted"
		}
		if !strings.Contains(msg, c.Addr()) {
			msg = "A1111 at " + c.Addr() + ": " + msg
		}
		if why := a1111Cause(err, limit); why != "" {
			what += ": " + why
		}
		fmt.Fprintf(out, "✗ %s%s (%s)\n  fix: %s\n", name, msg, what, a1111Fix(err))
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
	fmt.Fprintf(out, "✓ %sA1111 at %s: %d LoRAs, %d checkpoints, %d samplers\n", name, c.Addr(), len(loras), len(models), len(samplers))
	if len(loras) == 0 {
		fmt.Fprintln(out, "  note: no LoRAs found; put .safetensors files in A1111's models/Lora folder")
	}
	return true
}

// a1111Cause is the low-level reason of a failed call in a few words, for
// the operator: what the network or the server said.
func a1111Cause(err error, limit time.Duration) string {
	var ae *a1111.Error
	if !errors.As(err, &ae) {
		return ""
	}
	var errno syscall.Errno
	var dns *net.DNSError
	switch {
	case ae.Kind == a1111.KindTimeout && ae.Status == 0 && isDial(ae):
		return "the connection was not accepted in time"
	case ae.Kind == a1111.KindTimeout && ae.Status == 0:
		return fmt.Sprintf("no answer within the check's %s", limit)
	case ae.Status != 0:
		return fmt.Sprintf("HTTP %d", ae.Status)
	case errors.As(ae.Err, &dns):
		return "the host name is unknown"
	case errors.As(ae.Err, &errno):
		return errno.Error()
	}
	return ""
}

func isDial(ae *a1111.Error) bool {
	var op *net.OpError
	return errors.As(ae.Err, &op) && op.Op == "dial"
}

func a1111Fix(err error) string {
	const start = "start A1111 with --api (add --listen if the bot runs on another machine) and check the host and port in A1111_URL"
	var ae *a1111.Error
	switch {
	case !errors.As(err, &ae):
	case ae.ServerDown():
		switch {
		case ae.NotReached():
			return start
		case ae.Status == http.StatusBadGateway || ae.Status == http.StatusServiceUnavailable:
			return "a proxy answers for A1111, but A1111 behind it is not running: start it, or check the proxy's upstream address"
		case ae.Kind == a1111.KindTimeout && isDial(ae):
			return "nothing took the connection: check the host and port in A1111_URL, and that no firewall drops it (--listen if A1111 is on another machine)"
		case ae.Kind == a1111.KindTimeout:
			return "A1111 takes the connection but does not answer: it may be frozen or still loading; look at its console, and restart it if it stays stuck"
		}
		return start
	case ae.Kind == a1111.KindNoAPI:
		// A 404 on a route every A1111 with --api has: either the API is
		// off, or A1111_URL reaches something that is not A1111.
		return "add --api to A1111's COMMANDLINE_ARGS (webui-user.sh or webui-user.bat) and restart it; if it already has --api, A1111_URL points at something else: check its host, port and path (A1111's address without /sdapi/v1)"
	case ae.Kind == a1111.KindAuth:
		return "put the --api-auth user:password into A1111_URL as http://user:password@host:port"
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

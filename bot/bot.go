// Package bot is lorabot's presence on Discord: the discordgo session
// (pointed at DISCORD_API_URL), command registration, and the router that
// hands each interaction to its handler. Handlers live in package commands
// and talk to Discord only through what this package gives them (Ctx).
package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

// Options configure a Bot.
type Options struct {
	Token   string // without "Bot "
	APIURL  string // DISCORD_API_URL, version included, ending in "/"
	GuildID string // register commands to this guild; global when empty
	Router  *Router
	Logger  *slog.Logger
	// TokenLifetime overrides Discord's 15 minutes, for tests of what
	// happens after an interaction token expired.
	TokenLifetime time.Duration
	// PreviousGuild is the guild an earlier run registered the commands
	// to ("" when it registered them globally, or nothing is known). When
	// the bot now registers elsewhere, Open empties that guild's set, so
	// its members do not see every command twice (guild and global) or
	// commands of a guild the bot no longer serves.
	PreviousGuild string
	// Registered, when set, hears where the commands now live ("" =
	// globally) once Open registered them and emptied the scopes left
	// behind; the app keeps it for the next start's PreviousGuild. It is
	// not called while a clean-up failed, so the next start tries again.
	Registered func(guildID string)
	// Limiter rate-limits the interaction routes; nil makes one on the
	// wall clock (tests give one on a fake clock).
	Limiter *Limiter
	// Requests, when set, hears every answer to a REST request to
	// Discord: its route class (RouteClass, never an ID or token) and
	// status (0 when no answer came). It runs on the request's goroutine
	// and must return quickly (metrics).
	Requests func(route string, status int)
}

// Bot is a connected discordgo session serving a Router.
type Bot struct {
	opts    Options
	log     *slog.Logger
	s       *discordgo.Session
	rq      *requester
	clock   *DiscordClock
	ready   chan *discordgo.Ready
	appID   string
	removeH []func()

	lost      chan struct{} // the gateway connection ended: reconnect
	closing   chan struct{} // Close began
	closeOnce sync.Once
	failOnce  sync.Once
	failed    chan error // the session cannot go on (the token was refused)

	connected atomic.Bool // READY or RESUMED seen since the last disconnection
}

// New prepares a bot; nothing connects until Open.
func New(o Options) (*Bot, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if err := RedirectEndpoints(o.APIURL); err != nil {
		return nil, err
	}
	installLogger(o.Logger)
	s, err := discordgo.New("Bot " + o.Token)
	if err != nil {
		return nil, fmt.Errorf("discord session: %w", err)
	}
	s.Identify.Intents = discordgo.IntentsNone // slash commands need no intent
	clock := &DiscordClock{}
	s.Client = &http.Client{Timeout: 60 * time.Second, Transport: &tap{base: http.DefaultTransport, clock: clock, requests: o.Requests}}
	// The bot reconnects itself (supervise): discordgo's own loop never
	// gives up, not even on a token Discord refuses, and cannot be stopped.
	s.ShouldReconnectOnError = false
	s.StateEnabled = false
	if o.Limiter == nil {
		o.Limiter = NewLimiter(nil)
	}
	return &Bot{opts: o, log: o.Logger, s: s, clock: clock, rq: newRequester(s, o.Limiter, clock, o.Logger),
		ready: make(chan *discordgo.Ready, 1), lost: make(chan struct{}, 1), closing: make(chan struct{}),
		failed: make(chan error, 1)}, nil
}

// Session is the underlying discordgo session, for code that posts outside
// an interaction (results after the token expired).
func (b *Bot) Session() *discordgo.Session { return b.s }

// Limiter is the rate limiter of the interaction routes; its Len is the
// memory they hold.
func (b *Bot) Limiter() *Limiter { return b.rq.lim }

// DiscordClock is the bot's estimate of Discord's clock.
func (b *Bot) DiscordClock() *DiscordClock { return b.clock }

// Failed delivers, once, why the session cannot go on: Discord refused the
// token (it was reset, say) or a setting, while running. The app then
// stops, since no reconnection can help.
func (b *Bot) Failed() <-chan error { return b.failed }

// Stopping bounds every Discord request of the bot by ctx from now on,
// those waiting for a rate limit or in flight included: shutdown gives
// ctx its remaining budget, so that no request can hold it up.
func (b *Bot) Stopping(ctx context.Context) { b.rq.stop(ctx) }

// Connected reports whether the gateway connection is up: READY or
// RESUMED came and no disconnection since. Interactions arrive only then
// (readiness).
func (b *Bot) Connected() bool { return b.connected.Load() }

// AppID is the application's ID, known once Open returned.
func (b *Bot) AppID() string { return b.appID }

// Open connects to the gateway, waits for READY and registers the commands
// with one bulk overwrite, then empties the sets left in scopes this run
// does not use (clearUnused). It fails with a clear error if Discord
// refuses the token or the commands; a failed clean-up is only logged.
func (b *Bot) Open(ctx context.Context) error {
	b.s.AddHandlerOnce(func(_ *discordgo.Session, r *discordgo.Ready) {
		select {
		case b.ready <- r:
		default:
		}
	})
	b.removeH = append(b.removeH, b.s.AddHandler(b.onEvent), b.s.AddHandler(b.onDisconnect),
		b.s.AddHandler(func(*discordgo.Session, *discordgo.Ready) { b.connected.Store(true) }),
		b.s.AddHandler(func(*discordgo.Session, *discordgo.Resumed) { b.connected.Store(true) }))
	if err := b.s.Open(); err != nil {
		return fmt.Errorf("connect to the Discord gateway: %w", explain(err))
	}
	var r *discordgo.Ready
	select {
	case r = <-b.ready:
	case <-ctx.Done():
		b.s.Close()
		return fmt.Errorf("waiting for Discord's READY: %w", ctx.Err())
	}
	if r.Application != nil {
		b.appID = r.Application.ID
	}
	if b.appID == "" && r.User != nil {
		b.appID = r.User.ID
	}
	defs := b.opts.Router.Definitions()
	if b.opts.GuildID != "" {
		// Discord reads contexts and integration types only on global
		// commands; a guild's commands are used in that guild alone.
		for _, d := range defs {
			d.Contexts, d.IntegrationTypes = nil, nil
		}
	}
	if _, err := b.s.ApplicationCommandBulkOverwrite(b.appID, b.opts.GuildID, defs); err != nil {
		b.s.Close()
		where := "globally"
		if b.opts.GuildID != "" {
			where = "in server " + b.opts.GuildID
		}
		return fmt.Errorf("register %d commands %s: %w", len(defs), where, explain(err))
	}
	off, within := b.clock.Offset()
	b.log.Info("connected to Discord", "user", userName(r.User), "app", b.appID, "guild", b.opts.GuildID, "commands", len(defs),
		"clock_offset", off.Round(time.Millisecond), "clock_uncertainty", within.Round(time.Millisecond))
	go b.supervise()
	if err := b.clearUnused(); err != nil {
		// The commands work; users may see some twice until the next start.
		b.log.Warn("could not remove the commands an earlier run registered elsewhere; the next start tries again", "err", err)
	} else if b.opts.Registered != nil {
		b.opts.Registered(b.opts.GuildID)
	}
	return nil
}

// clearUnused empties the command sets of the scopes this run does not use,
// so a move between DISCORD_GUILD_ID and global registration leaves one set:
// with a guild, the global set (read first, so that a bot that was never
// global makes no write); and the guild of an earlier run, PreviousGuild.
func (b *Bot) clearUnused() error {
	var errs []error
	none := []*discordgo.ApplicationCommand{}
	if b.opts.GuildID != "" {
		global, err := b.s.ApplicationCommands(b.appID, "")
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("list the global commands: %w", explain(err)))
		case len(global) > 0:
			if _, err := b.s.ApplicationCommandBulkOverwrite(b.appID, "", none); err != nil {
				errs = append(errs, fmt.Errorf("remove %d global commands: %w", len(global), explain(err)))
			} else {
				b.log.Info("removed the global commands of an earlier run", "commands", len(global))
			}
		}
	}
	if prev := b.opts.PreviousGuild; prev != "" && prev != b.opts.GuildID {
		_, err := b.s.ApplicationCommandBulkOverwrite(b.appID, prev, none)
		switch {
		case err == nil:
			b.log.Info("removed the commands an earlier run registered in another server", "guild", prev)
		case isGone(err):
			// The bot left that server, and its commands went with it.
			b.log.Info("the server an earlier run registered commands in is gone", "guild", prev, "err", err)
		default:
			errs = append(errs, fmt.Errorf("remove the commands of server %s: %w", prev, explain(err)))
		}
	}
	return errors.Join(errs...)
}

// isGone reports Discord's answer for a guild the bot is no longer in.
func isGone(err error) bool {
	var rerr *discordgo.RESTError
	if !errors.As(err, &rerr) {
		return false
	}
	if rerr.Message != nil && (rerr.Message.Code == discordgo.ErrCodeUnknownGuild || rerr.Message.Code == discordgo.ErrCodeMissingAccess) {
		return true
	}
	return rerr.Response != nil && rerr.Response.StatusCode == http.StatusNotFound
}

// Close stops taking interactions, waits (until ctx ends) for the handlers
// that run now, and disconnects, giving up on a disconnection that takes
// longer than ctx allows (discordgo sleeps a second in it, and writes its
// close frame without a deadline).
func (b *Bot) Close(ctx context.Context) error {
	b.closeOnce.Do(func() { close(b.closing) })
	b.connected.Store(false)
	for _, remove := range b.removeH {
		remove()
	}
	werr := b.opts.Router.Wait(ctx)
	// discordgo's heartbeat goroutine can outlive Close: when its ticker
	// and the closed listening channel are ready together it may pick the
	// ticker, write on the closed socket and call for a reconnection.
	// discordgo's own reconnection is off, and supervise has stopped.
	closed := make(chan error, 1)
	go func() { closed <- b.s.Close() }()
	var cerr error
	select {
	case cerr = <-closed:
	case <-ctx.Done():
		cerr = fmt.Errorf("close the gateway connection: %w", ctx.Err())
	}
	return errors.Join(werr, cerr)
}

// onDisconnect hears discordgo close the gateway connection, on an error
// or when Discord asked it to reconnect.
func (b *Bot) onDisconnect(_ *discordgo.Session, _ *discordgo.Disconnect) {
	b.connected.Store(false)
	select {
	case b.lost <- struct{}{}:
	default:
	}
}

// supervise reconnects the gateway each time it is lost, until Close. It
// replaces discordgo's reconnection, which retries for ever whatever
// Discord says.
func (b *Bot) supervise() {
	for {
		select {
		case <-b.closing:
			return
		case <-b.lost:
		}
		if err := b.reconnect(); err != nil {
			b.failOnce.Do(func() { b.failed <- err })
			b.log.Error("the Discord session cannot go on", "err", err)
			return
		}
	}
}

// reconnectMax caps the wait between reconnection attempts.
const reconnectMax = 2 * time.Minute

// reconnect opens the gateway again (discordgo resumes the session when
// it can), backing off from 1 s to reconnectMax. It returns an error only
// for what no retry can mend: Discord refusing the token (gateway close
// 4004, or 401 on REST, which a reset token gives) or a setting (4010–4014).
func (b *Bot) reconnect() error {
	wait := time.Second
	for {
		select {
		case <-b.closing:
			return nil
		default:
		}
		if err := b.tokenRefused(); err != nil {
			return err
		}
		err := b.s.Open()
		if err == nil || errors.Is(err, discordgo.ErrWSAlreadyOpen) {
			b.log.Info("reconnected to the Discord gateway")
			return nil
		}
		if fatal := gatewayFatal(err); fatal != nil {
			return fatal
		}
		b.log.Warn("could not reconnect to the Discord gateway; trying again", "in", wait, "err", scrub(err))
		select {
		case <-b.closing:
			return nil
		case <-time.After(wait):
		}
		wait = min(wait*2, reconnectMax)
	}
}

// tokenRefused asks Discord who the bot is: a 401 means the token is no
// longer good, which the gateway would only say by closing again (4004),
// after a resume it accepted for a moment.
func (b *Bot) tokenRefused() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := b.s.User("@me", discordgo.WithContext(ctx))
	var rerr *discordgo.RESTError
	if errors.As(err, &rerr) && rerr.Response != nil && rerr.Response.StatusCode == http.StatusUnauthorized {
		return tokenError{fmt.Errorf("Discord no longer accepts the token (401; the gateway closes with 4004): it was reset or revoked; put the new one in DISCORD_TOKEN: %w", err)}
	}
	return nil
}

// gatewayFatal returns an explained error for the gateway close codes
// after which Discord says not to reconnect.
func gatewayFatal(err error) error {
	var cerr *websocket.CloseError
	if !errors.As(err, &cerr) {
		return nil
	}
	switch cerr.Code {
	case 4004, 4010, 4011, 4012, 4013, 4014:
		return explain(err)
	}
	return nil
}

// interactionExtras are fields discordgo's Interaction drops.
type interactionExtras struct {
	AttachmentSizeLimit int64 `json:"attachment_size_limit"`
	Channel             *struct {
		NSFW bool `json:"nsfw"`
	} `json:"channel"`
}

// onEvent sees every dispatch with its raw JSON, which is the only way to
// read the fields discordgo's Interaction lacks. discordgo runs it in its own
// goroutine per event.
func (b *Bot) onEvent(s *discordgo.Session, e *discordgo.Event) {
	ic, ok := e.Struct.(*discordgo.InteractionCreate)
	if !ok || ic.Interaction == nil {
		return
	}
	now := time.Now()
	c := &Ctx{Session: s, I: ic.Interaction, Log: b.log, AttachmentLimit: DefaultAttachmentLimit, rq: b.rq,
		received: now, created: b.createdOf(ic.ID, now), tokenLife: b.opts.TokenLifetime}
	var x interactionExtras
	if err := json.Unmarshal(e.RawData, &x); err == nil {
		if x.AttachmentSizeLimit > 0 {
			c.AttachmentLimit = x.AttachmentSizeLimit
		}
		c.ChannelNSFW = x.Channel != nil && x.Channel.NSFW
	}
	b.opts.Router.Dispatch(c)
}

// createdOf is when Discord made the interaction id, on this machine's
// clock; fallback when id is no snowflake.
func (b *Bot) createdOf(id string, fallback time.Time) time.Time {
	t, ok := SnowflakeTime(id)
	if !ok {
		return fallback
	}
	return b.clock.Local(t)
}

func userName(u *discordgo.User) string {
	if u == nil {
		return ""
	}
	return u.Username
}

// ErrTokenRefused is in the chain of every error that says Discord refused
// DISCORD_TOKEN (a 401, gateway close 4004), at the start or later: no
// restart helps until an operator puts a new token in, so main exits with
// a code of its own for it that a service manager can be told not to
// restart on.
var ErrTokenRefused = errors.New("Discord refused the token")

// tokenError marks an error as ErrTokenRefused, keeping its own message.
type tokenError struct{ error }

func (e tokenError) Unwrap() error        { return e.error }
func (e tokenError) Is(target error) bool { return target == ErrTokenRefused }

// explain turns discordgo's errors into something an operator can act on.
func explain(err error) error {
	var rerr *discordgo.RESTError
	if errors.As(err, &rerr) && rerr.Response != nil {
		switch rerr.Response.StatusCode {
		case http.StatusUnauthorized:
			return tokenError{fmt.Errorf("Discord refused the token (401): check DISCORD_TOKEN: %w", err)}
		case http.StatusForbidden:
			return fmt.Errorf("Discord refused access (403): is the bot invited to the server with the applications.commands scope? %w", err)
		}
	}
	var cerr *websocket.CloseError
	if errors.As(err, &cerr) {
		switch cerr.Code {
		case 4004: // Authentication failed
			return tokenError{fmt.Errorf("Discord refused the token (gateway close 4004): check DISCORD_TOKEN: %w", err)}
		case 4014: // Disallowed intent(s)
			return fmt.Errorf("Discord refused a privileged intent (gateway close 4014): enable it for the bot in the developer portal: %w", err)
		}
	}
	return err
}

// dgLog is where discordgo's own log lines go: the logger of the latest
// Bot. discordgo.Logger is a package global that discordgo's goroutines
// read without synchronisation, so it is set once and never rewritten;
// the logger behind it is swapped atomically.
var (
	dgLog     atomic.Pointer[slog.Logger]
	dgLogOnce sync.Once
)

// installLogger sends discordgo's own log lines to log.
func installLogger(log *slog.Logger) {
	dgLog.Store(log)
	dgLogOnce.Do(func() {
		discordgo.Logger = func(level, _ int, format string, a ...any) {
			log := dgLog.Load()
			msg := fmt.Sprintf(format, a...)
			switch level {
			case discordgo.LogError:
				log.Error("discordgo", "msg", msg)
			case discordgo.LogWarning:
				log.Warn("discordgo", "msg", msg)
			default:
				log.Debug("discordgo", "msg", msg)
			}
		}
	})
}

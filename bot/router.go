package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"
)

// Command is one slash command: its definition next to its handlers.
type Command struct {
	Def    *discordgo.ApplicationCommand
	Handle func(c *Ctx) error
	// Autocomplete answers a focused option with c.Choices. Discord gives it
	// 3 seconds and no way to defer.
	Autocomplete func(c *Ctx) error
}

// Handler serves a button or a modal. arg is what follows "prefix:" in its
// custom_id.
type Handler func(c *Ctx, arg string) error

// UserError is a failure the user caused or can act on. The router shows its
// message to them, ephemerally, and logs it at info level only.
type UserError struct{ Msg string }

func (e *UserError) Error() string       { return e.Msg }
func (e *UserError) UserMessage() string { return e.Msg }

// Failf makes a UserError.
func Failf(format string, a ...any) error { return &UserError{fmt.Sprintf(format, a...)} }

// userMessager is any error that carries its own sentence for the user
// (UserError, a1111.Error, gen.InputError, prompt.Error, lora.NotFoundError).
type userMessager interface{ UserMessage() string }

// UserMessage finds the sentence for the user in err's chain; ok is false
// for errors that are the bot's own business (those are only logged).
func UserMessage(err error) (msg string, ok bool) {
	var um userMessager
	if errors.As(err, &um) {
		return um.UserMessage(), true
	}
	return "", false
}

// Route says what an interaction asks for, for middleware: Kind is
// "command", "autocomplete", "button" or "modal"; Name is the command's name
// or the custom_id's prefix.
type Route struct{ Kind, Name string }

// Middleware runs around every handler: it may refuse (return an error
// without calling next), prepare the Ctx (Set) or look at the outcome.
// Concerns that cut across commands (which guild, which channel) live here,
// not in each handler. Panics in middleware are recovered like handlers'.
type Middleware func(c *Ctx, r Route, next func() error) error

// DefaultWatchdogDelay is when the router answers for a handler that has
// not: Discord drops interactions not answered within 3 seconds.
const DefaultWatchdogDelay = 2300 * time.Millisecond

// Router maps commands, buttons and modals to handlers. It recovers panics
// (discordgo does not, and one would end the process), logs every
// interaction with its latency, and makes sure each gets an answer in time.
type Router struct {
	// WatchdogDelay is how long after an interaction arrived the router
	// answers for a handler that has not (DefaultWatchdogDelay; tests
	// shorten it along with the fake Discord's deadline). Set it before
	// serving.
	WatchdogDelay time.Duration
	// ResponseWindow is how long after its creation Discord takes an
	// interaction's first answer (ResponseWindow; tests shorten it along
	// with the fake Discord's deadline). One that arrives older is not
	// answered: the answer could only fail, and count against the bot.
	ResponseWindow time.Duration
	// Answered, when set, hears each interaction's first answer: its kind
	// ("command", "autocomplete", "button", "modal") and how long after
	// its arrival the answer went out. It runs on the interaction's
	// goroutine and must return quickly (metrics). Set it before serving.
	Answered func(kind string, took time.Duration)

	tooOld, late atomic.Int64

	log        *slog.Logger
	commands   map[string]*Command
	order      []string
	components map[string]Handler
	modals     map[string]Handler
	middleware []Middleware
	inflight   inflight
}

// Use adds middleware; the first added runs outermost. Call it before
// serving.
func (r *Router) Use(m ...Middleware) { r.middleware = append(r.middleware, m...) }

// NewRouter makes an empty router.
func NewRouter(log *slog.Logger) *Router {
	if log == nil {
		log = slog.Default()
	}
	return &Router{WatchdogDelay: DefaultWatchdogDelay, ResponseWindow: ResponseWindow, log: log, commands: map[string]*Command{}, components: map[string]Handler{}, modals: map[string]Handler{}}
}

// RouterStats counts the interactions the bot could not answer in time.
type RouterStats struct {
	// TooOld arrived past their response window (gateway lag, a replay
	// after a resume) and were left unanswered.
	TooOld int64
	// Late got their first answer after the window, by the bot's reckoning
	// of Discord's clock.
	Late int64
}

// Stats returns the counts so far.
func (r *Router) Stats() RouterStats {
	return RouterStats{TooOld: r.tooOld.Load(), Late: r.late.Load()}
}

func (r *Router) window() time.Duration {
	if r.ResponseWindow > 0 {
		return r.ResponseWindow
	}
	return ResponseWindow
}

// Command adds a slash command.
func (r *Router) Command(c Command) {
	if _, dup := r.commands[c.Def.Name]; !dup {
		r.order = append(r.order, c.Def.Name)
	}
	r.commands[c.Def.Name] = &c
}

// Component routes buttons whose custom_id is "prefix" or "prefix:arg".
func (r *Router) Component(prefix string, h Handler) { r.components[prefix] = h }

// Modal routes modal submissions by custom_id prefix, like Component.
func (r *Router) Modal(prefix string, h Handler) { r.modals[prefix] = h }

// DefaultContexts are where a command may be used unless its definition
// says otherwise: in servers, in the bot's DMs, and (user-installed) in
// other DMs and group DMs. Handlers and middleware must therefore expect an
// interaction with no guild and no member.
var DefaultContexts = []discordgo.InteractionContextType{
	discordgo.InteractionContextGuild, discordgo.InteractionContextBotDM, discordgo.InteractionContextPrivateChannel,
}

// DefaultIntegrationTypes are how a command may be installed unless its
// definition says otherwise: to a server, and to a user's account.
var DefaultIntegrationTypes = []discordgo.ApplicationIntegrationType{
	discordgo.ApplicationIntegrationGuildInstall, discordgo.ApplicationIntegrationUserInstall,
}

// Definitions is every command, for registration. A command that sets no
// Contexts or IntegrationTypes gets DefaultContexts and
// DefaultIntegrationTypes; the routed definitions themselves are not
// changed.
func (r *Router) Definitions() []*discordgo.ApplicationCommand {
	defs := make([]*discordgo.ApplicationCommand, 0, len(r.order))
	for _, name := range r.order {
		d := *r.commands[name].Def
		if d.Contexts == nil {
			d.Contexts = ptrTo(slices.Clone(DefaultContexts))
		}
		if d.IntegrationTypes == nil {
			d.IntegrationTypes = ptrTo(slices.Clone(DefaultIntegrationTypes))
		}
		defs = append(defs, &d)
	}
	return defs
}

func ptrTo[T any](v T) *T { return &v }

// Wait blocks until every handler running now has returned, or ctx ends.
func (r *Router) Wait(ctx context.Context) error {
	return r.inflight.wait(ctx)
}

// Dispatch serves one interaction to the end. It is safe to call from many
// goroutines.
func (r *Router) Dispatch(c *Ctx) {
	r.inflight.add()
	defer r.inflight.done()
	if c.received.IsZero() {
		c.received = time.Now()
	}
	kind, name, run := r.route(c)
	log := r.log.With("kind", kind, "name", name, "user", c.UserID(), "interaction", c.I.ID)
	c.Log = log
	if age := c.received.Sub(c.Created()); kind != "unknown" && age >= r.window() {
		// Discord has given up on it: any answer would get 404 and count
		// as an invalid request. The user saw "did not respond".
		r.tooOld.Add(1)
		log.Warn("interaction arrived too old to answer; left unanswered", "age", age.Round(time.Millisecond), "window", r.window())
		return
	}
	if kind != "unknown" {
		for i := len(r.middleware) - 1; i >= 0; i-- {
			m, next := r.middleware[i], run
			run = func() error { return m(c, Route{Kind: kind, Name: name}, next) }
		}
	}

	stop := make(chan struct{})
	watchdogDone := make(chan struct{})
	go func() {
		defer close(watchdogDone)
		r.watchdog(c, kind, stop)
	}()
	err := r.recovered(c, run)
	close(stop)
	<-watchdogDone

	first := c.firstAnswer()
	attrs := []any{"took", time.Since(c.received).Round(time.Microsecond)}
	if lag := c.received.Sub(c.Created()); lag >= 100*time.Millisecond {
		attrs = append(attrs, "arrived_after", lag.Round(time.Millisecond))
	}
	if !first.IsZero() {
		if r.Answered != nil {
			r.Answered(kind, first.Sub(c.received))
		}
		attrs = append(attrs, "first_answer", first.Sub(c.received).Round(time.Microsecond))
		if age := first.Sub(c.Created()); age > r.window() {
			r.late.Add(1)
			log.Warn("interaction answered after Discord's window", "age", age.Round(time.Millisecond), "window", r.window())
		}
	}
	if err == nil {
		log.Info("interaction", attrs...)
		return
	}
	if errors.Is(err, ErrAnswered) {
		// The watchdog answered for a slow autocomplete, which it logged.
		log.Info("interaction answered by the watchdog", attrs...)
		return
	}
	if msg, ok := UserMessage(err); ok {
		log.Info("interaction refused", append(attrs, "reason", err.Error())...)
		r.tell(c, msg)
		return
	}
	log.Error("interaction failed", append(attrs, "err", err)...)
	r.tell(c, "Something went wrong on the bot's side. It was logged; please try again.")
}

func (r *Router) route(c *Ctx) (kind, name string, run func() error) {
	switch c.I.Type {
	case discordgo.InteractionApplicationCommand, discordgo.InteractionApplicationCommandAutocomplete:
		// Type assertions, not discordgo's accessors, which panic on an
		// interaction without data; routing runs outside the recovery.
		data, _ := c.I.Data.(discordgo.ApplicationCommandInteractionData)
		name = data.Name
		cmd := r.commands[name]
		if c.I.Type == discordgo.InteractionApplicationCommandAutocomplete {
			kind = "autocomplete"
			if cmd == nil || cmd.Autocomplete == nil {
				return kind, name, func() error { return c.Choices(nil) }
			}
			return kind, name, func() error { return cmd.Autocomplete(c) }
		}
		kind = "command"
		if cmd == nil {
			return kind, name, func() error {
				return Failf("This command is not known any more; Discord may still be showing an old list.")
			}
		}
		return kind, name, func() error { return cmd.Handle(c) }
	case discordgo.InteractionMessageComponent:
		data, _ := c.I.Data.(discordgo.MessageComponentInteractionData)
		prefix, arg, _ := strings.Cut(data.CustomID, ":")
		if h := r.components[prefix]; h != nil {
			return "button", prefix, func() error { return h(c, arg) }
		}
		return "button", prefix, func() error { return Failf("This button no longer works.") }
	case discordgo.InteractionModalSubmit:
		data, _ := c.I.Data.(discordgo.ModalSubmitInteractionData)
		prefix, arg, _ := strings.Cut(data.CustomID, ":")
		if h := r.modals[prefix]; h != nil {
			return "modal", prefix, func() error { return h(c, arg) }
		}
		return "modal", prefix, func() error { return Failf("This form no longer works.") }
	}
	return "unknown", fmt.Sprint(c.I.Type), func() error { return nil }
}

func (r *Router) recovered(c *Ctx, run func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			c.Log.Error("handler panicked", "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return run()
}

// watchdog answers for a slow handler just before Discord's 3 seconds run
// out (counted from the interaction's creation, not its arrival): an empty
// autocomplete, or a defer that the handler's later Reply turns into an
// edit.
func (r *Router) watchdog(c *Ctx, kind string, stop <-chan struct{}) {
	delay := r.WatchdogDelay
	if delay <= 0 {
		delay = DefaultWatchdogDelay
	}
	left := delay - c.Age()
	t := time.NewTimer(max(left, 0))
	defer t.Stop()
	select {
	case <-stop:
		return
	case <-t.C:
	}
	var err error
	switch kind {
	case "autocomplete":
		err = c.Choices(nil)
		if err == nil {
			c.Log.Warn("autocomplete too slow; answered with no choices")
		}
	case "unknown":
		return
	default:
		c.mu.Lock()
		pending := c.state == stateNone
		c.mu.Unlock()
		if pending {
			err = c.Defer(false)
			c.Log.Warn("handler slow; deferred for it")
		}
	}
	if err != nil && !errors.Is(err, ErrAnswered) {
		c.Log.Warn("watchdog answer failed", "err", err)
	}
}

// tell gives the user one sentence about a failure, privately where possible.
func (r *Router) tell(c *Ctx, msg string) {
	if c.I.Type == discordgo.InteractionApplicationCommandAutocomplete {
		// Autocomplete has no place for a message: an empty list at least
		// stops the client's spinner. It fails harmlessly if one was sent.
		_ = c.Choices(nil)
		return
	}
	if r := []rune(msg); len(r) > MaxContentLen {
		// A refusal quoting a very long value must still reach the user.
		msg = string(r[:MaxContentLen-1]) + "…"
	}
	if err := c.Reply(Message{Content: msg, Ephemeral: true}); err != nil {
		c.Log.Warn("could not tell the user", "err", err)
	}
}

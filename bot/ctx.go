package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
)

// DefaultAttachmentLimit is Discord's per-file upload limit when the
// interaction does not say more.
const DefaultAttachmentLimit = 10 << 20

// Message is what a handler sends: a reply, an edit or a follow-up.
type Message struct {
	Content    string
	Embeds     []*discordgo.MessageEmbed
	Components []discordgo.MessageComponent
	Files      []*discordgo.File
	Ephemeral  bool // only the user who asked sees it
	// AllowUserMention lets Content ping the users it mentions.
	AllowUserMention bool
	// ReplyTo is a message in the same channel that a channel post
	// (ChannelMessage) answers, shown as a reply; "" for none. An
	// interaction's own messages cannot carry it: Discord shows the one a
	// button's answer comes from by itself.
	ReplyTo string
}

// ErrAnswered is returned by Choices when the autocomplete was already
// answered: by the router's watchdog when the handler took too long.
var ErrAnswered = errors.New("autocomplete already answered")

type replyState int

const (
	stateNone replyState = iota
	stateDeferred
	stateDeferredEphemeral
	// stateDeferredUpdate: a button or form on a message was acknowledged
	// with a deferred update (type 6); @original is that message.
	stateDeferredUpdate
	stateReplied
)

// Ctx is one interaction as a handler sees it. Its reply methods track what
// was already sent so that a handler can simply "reply" whether or not the
// router deferred for it, and never breaks Discord's one-callback rule.
type Ctx struct {
	Session *discordgo.Session
	I       *discordgo.Interaction
	Log     *slog.Logger
	// AttachmentLimit is the largest file this interaction may upload, from
	// its attachment_size_limit (discordgo drops that field).
	AttachmentLimit int64
	// ChannelNSFW is the age-restricted flag of the channel it came from.
	ChannelNSFW bool

	// rq sends the requests (nil in tests that build a Ctx by hand: a
	// requester around Session then).
	rq *requester
	// received is when the gateway delivered the interaction; created
	// when Discord made it (from its ID, on this machine's clock), never
	// after received. Discord's deadlines run from created.
	received, created time.Time
	tokenLife         time.Duration
	mu                sync.Mutex
	state             replyState
	answered          time.Time // first callback
	values            map[any]any
}

// Set keeps a value for the rest of the interaction's handling: middleware
// hands handlers what it looked up (the guild's settings) this way. Use an
// unexported key type, as with context.WithValue.
func (c *Ctx) Set(key, value any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.values == nil {
		c.values = map[any]any{}
	}
	c.values[key] = value
}

// Value returns what Set kept under key, or nil.
func (c *Ctx) Value(key any) any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.values[key]
}

// GuildID is the server the interaction came from; "" in a direct message
// or a user-installed command outside a server.
func (c *Ctx) GuildID() string { return c.I.GuildID }

// UserID is the Discord ID of who acted, in a server or in DMs.
func (c *Ctx) UserID() string {
	if u := c.User(); u != nil {
		return u.ID
	}
	return ""
}

// User is who acted, in a server or in DMs.
func (c *Ctx) User() *discordgo.User {
	if c.I.Member != nil && c.I.Member.User != nil {
		return c.I.Member.User
	}
	return c.I.User
}

// HasPermission reports whether the member has perm in this channel (always
// false in DMs, where there is no server to manage).
func (c *Ctx) HasPermission(perm int64) bool {
	if c.I.Member == nil {
		return false
	}
	p := c.I.Member.Permissions
	return p&discordgo.PermissionAdministrator != 0 || p&perm == perm
}

// Received is when the gateway delivered the interaction.
func (c *Ctx) Received() time.Time { return c.received }

// Created is when Discord made the interaction, read from its ID and
// converted to this machine's clock (never later than Received). Discord's
// 3-second and 15-minute clocks run from then: gateway lag or a replay
// after a resume can make an interaction arrive already old.
func (c *Ctx) Created() time.Time {
	if c.created.IsZero() || c.created.After(c.received) && !c.received.IsZero() {
		return c.received
	}
	return c.created
}

// Age is how old the interaction is now, by Discord's clock.
func (c *Ctx) Age() time.Duration { return time.Since(c.Created()) }

// TokenLifetime is how long Discord lets an interaction token edit and follow up.
const TokenLifetime = 15 * time.Minute

// ResponseWindow is how long after its creation an interaction may get its
// first answer.
const ResponseWindow = 3 * time.Second

func (c *Ctx) lifetime() time.Duration {
	if c.tokenLife > 0 {
		return c.tokenLife
	}
	return TokenLifetime
}

// TokenExpires is when the interaction token stops serving edits and
// follow-ups.
func (c *Ctx) TokenExpires() time.Time { return c.Created().Add(c.lifetime()) }

// TokenValid reports whether the interaction token can still edit and follow
// up, keeping a margin for the request in flight.
func (c *Ctx) TokenValid() bool { return time.Now().Before(c.TokenValidUntil()) }

// TokenValidUntil is when TokenValid turns false: a thirtieth of the
// token's life before it expires (30 s of the 15 minutes).
func (c *Ctx) TokenValidUntil() time.Time {
	life := c.lifetime()
	return c.Created().Add(life - life/30)
}

// requests is what sends c's requests.
func (c *Ctx) requests() *requester {
	if c.rq != nil {
		return c.rq
	}
	return fallbackRequester(c.Session, c.Log)
}

var fallbacks sync.Map // *discordgo.Session → *requester

// fallbackRequester serves a Ctx built without a Bot (tests build them by
// hand): one requester, and one Limiter, per session.
func fallbackRequester(s *discordgo.Session, log *slog.Logger) *requester {
	if q, ok := fallbacks.Load(s); ok {
		return q.(*requester)
	}
	if log == nil {
		log = slog.Default()
	}
	q, _ := fallbacks.LoadOrStore(s, newRequester(s, NewLimiter(nil), &DiscordClock{}, log))
	return q.(*requester)
}

// onToken is a request on the interaction's webhook routes: callback,
// edits and follow-ups share one limit, as Discord keys them by token.
func (c *Ctx) onToken(what, method, url string, body any, files []*discordgo.File, droppable bool) call {
	q := c.requests()
	return call{what: what, method: method, url: url, body: body, files: files,
		key: q.lim.key("token", c.I.Token), expires: c.TokenExpires(), droppable: droppable}
}

// requestSettings reads what discordgo options ask of a request: its
// context, and with WithRetryOnRatelimit(false), that it may be dropped
// rather than wait out a rate limit.
func requestSettings(opts []discordgo.RequestOption) (ctx context.Context, droppable bool) {
	probe, _ := http.NewRequest(http.MethodGet, "http://discord.invalid/", nil)
	cfg := &discordgo.RequestConfig{Request: probe, ShouldRetryOnRateLimit: true}
	for _, o := range opts {
		o(cfg)
	}
	return cfg.Request.Context(), !cfg.ShouldRetryOnRateLimit
}

func (c *Ctx) respond(r *discordgo.InteractionResponse) error {
	what := fmt.Sprintf("answer interaction %s (type %d)", c.I.ID, r.Type)
	var body any = r
	var files []*discordgo.File
	if r.Data != nil && len(r.Data.Files) > 0 {
		files = r.Data.Files
		data, err := withFiles(r.Data, files)
		if err != nil {
			return fmt.Errorf("%s: encode: %w", what, err)
		}
		body = map[string]any{"type": r.Type, "data": data}
	}
	cl := c.onToken(what, http.MethodPost, discordgo.EndpointInteractionResponse(c.I.ID, c.I.Token), body, files, false)
	// Bound by the 3-second window: no attempt starts after it (a 429's
	// wait that would end later gives up at once), and one in flight at
	// its end has a little longer to come back.
	cl.callback = true
	cl.retryBy = c.Created().Add(ResponseWindow)
	ctx, cancel := context.WithDeadline(context.Background(), cl.retryBy.Add(callbackGrace))
	defer cancel()
	if _, err := c.requests().do(ctx, cl); err != nil {
		return err
	}
	c.answered = time.Now()
	return nil
}

// callbackGrace is how long past the response window a callback sent in
// time may take to be answered.
const callbackGrace = 5 * time.Second

// placeholder is an entry of a message's "attachments" for a new file,
// by its files[n] index. From API v10 a PATCH with files must list them
// so, or they are dropped; v9 accepts the list too, so it is always sent.
type placeholder struct {
	ID       int    `json:"id"`
	Filename string `json:"filename"`
}

func placeholders(files []*discordgo.File) []placeholder {
	out := make([]placeholder, len(files))
	for i, f := range files {
		out[i] = placeholder{ID: i, Filename: f.Name}
	}
	return out
}

// withFiles is body (a discordgo struct) with its "attachments" being the
// placeholders of files: a file-carrying request's payload_json.
func withFiles(body any, files []*discordgo.File) (map[string]json.RawMessage, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if m["attachments"], err = json.Marshal(placeholders(files)); err != nil {
		return nil, err
	}
	return m, nil
}

func (c *Ctx) firstAnswer() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.answered
}

// Defer acknowledges now and promises a reply within 15 minutes. Users see
// "lorabot is thinking…".
func (c *Ctx) Defer(ephemeral bool) error {
	return c.deferAs(ephemeral, c.I.Type == discordgo.InteractionMessageComponent && !ephemeral)
}

// DeferMessage acknowledges now with a new message to come (callback type
// 5), also for a button on a message, where Defer acknowledges with an
// update of that message: a result's button that starts a job answers with
// the job's own message, and the result it was pressed on stays as it is.
// Discord shows that new message as an answer to the one pressed.
func (c *Ctx) DeferMessage() error { return c.deferAs(false, false) }

func (c *Ctx) deferAs(ephemeral, update bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateNone {
		return nil
	}
	data := &discordgo.InteractionResponseData{}
	if ephemeral {
		data.Flags = discordgo.MessageFlagsEphemeral
	}
	t := discordgo.InteractionResponseDeferredChannelMessageWithSource
	if update {
		t = discordgo.InteractionResponseDeferredMessageUpdate
		data = nil
	}
	if err := c.respond(&discordgo.InteractionResponse{Type: t, Data: data}); err != nil {
		return err
	}
	switch {
	case t == discordgo.InteractionResponseDeferredMessageUpdate:
		c.state = stateDeferredUpdate
	case ephemeral:
		c.state = stateDeferredEphemeral
	default:
		c.state = stateDeferred
	}
	return nil
}

// Reply answers the interaction: the first callback if none was sent, else
// an edit of the deferred reply, else a follow-up. An ephemeral reply after a
// public defer becomes an ephemeral follow-up and the public placeholder is
// removed, so private errors never show in the channel. After a button's
// deferred update, @original is the message the button is on, so a reply
// is a follow-up there too: it never overwrites that message (use Update).
func (c *Ctx) Reply(m Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.state {
	case stateNone:
		if err := c.respond(&discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: responseData(m),
		}); err != nil {
			return err
		}
		c.state = stateReplied
		return nil
	case stateDeferred, stateDeferredEphemeral:
		if m.Ephemeral && c.state == stateDeferred {
			// Delete first: a follow-up sent while the placeholder still
			// shows "thinking" would replace it, publicly.
			if err := c.deleteOriginal(); err != nil {
				c.Log.Warn("remove deferred placeholder", "err", err)
			}
			if _, err := c.followup(m); err != nil {
				return err
			}
		} else if _, err := c.edit(m); err != nil {
			return err
		}
		c.state = stateReplied
		return nil
	default: // stateDeferredUpdate, stateReplied
		_, err := c.followup(m)
		return err
	}
}

// Update answers a button or modal on a message by replacing that message
// (callback type 7), or edits it if the interaction was already deferred.
func (c *Ctx) Update(m Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateNone {
		_, err := c.edit(m)
		return err
	}
	d := responseData(m)
	// The message becomes m, as with an edit: no embeds or buttons left
	// over from before (discordgo would send null, which leaves them).
	if d.Embeds == nil {
		d.Embeds = []*discordgo.MessageEmbed{}
	}
	if d.Components == nil {
		d.Components = []discordgo.MessageComponent{}
	}
	if len(d.Files) == 0 {
		// Nor files: Discord keeps the attachments a replacement does not
		// list (a page of previews turned to one without would keep them).
		d.Attachments = &[]*discordgo.MessageAttachment{}
	}
	if err := c.respond(&discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseUpdateMessage,
		Data: d,
	}); err != nil {
		return err
	}
	c.state = stateReplied
	return nil
}

// Edit changes the original reply. opts are discordgo's request options:
// WithContext bounds the request, waits and retries included;
// WithRetryOnRatelimit(false) marks an edit that may be dropped (a
// progress edit): it is sent once, and not at all while a 429 holds the
// interaction's route. Other edits wait out a 429 and are sent again, a
// few times at most.
func (c *Ctx) Edit(m Message, opts ...discordgo.RequestOption) (*discordgo.Message, error) {
	return c.edit(m, opts...)
}

func (c *Ctx) edit(m Message, opts ...discordgo.RequestOption) (*discordgo.Message, error) {
	content := m.Content
	embeds := m.Embeds
	if embeds == nil {
		embeds = []*discordgo.MessageEmbed{}
	}
	comps := m.Components
	if comps == nil {
		comps = []discordgo.MessageComponent{}
	}
	e := &discordgo.WebhookEdit{Content: &content, Embeds: &embeds, Components: &comps}
	e.AllowedMentions = mentions(m)
	var body any = e
	if len(m.Files) == 0 {
		// The message becomes m: attachments it does not list are dropped.
		e.Attachments = &[]*discordgo.MessageAttachment{}
	}
	if len(m.Files) > 0 {
		// The new files, listed as placeholders, replace the old ones:
		// an attachment left out of the list is dropped.
		var err error
		if body, err = withFiles(e, m.Files); err != nil {
			return nil, fmt.Errorf("edit reply to interaction %s: encode: %w", c.I.ID, err)
		}
	}
	ctx, droppable := requestSettings(opts)
	cl := c.onToken("edit reply to interaction "+c.I.ID, http.MethodPatch,
		discordgo.EndpointWebhookMessage(c.I.AppID, c.I.Token, "@original"), body, m.Files, droppable)
	resp, err := c.requests().do(ctx, cl, opts...)
	if err != nil {
		return nil, err
	}
	return decodeMessage(resp)
}

// DeleteOriginal removes the interaction's original message: after a
// button's Defer, the message the button is on.
func (c *Ctx) DeleteOriginal() error { return c.deleteOriginal() }

func (c *Ctx) deleteOriginal() error {
	cl := c.onToken("remove the reply to interaction "+c.I.ID, http.MethodDelete,
		discordgo.EndpointWebhookMessage(c.I.AppID, c.I.Token, "@original"), nil, nil, false)
	_, err := c.requests().do(context.Background(), cl)
	return err
}

// Followup adds a message after the reply. opts are as for Edit.
func (c *Ctx) Followup(m Message, opts ...discordgo.RequestOption) (*discordgo.Message, error) {
	return c.followup(m, opts...)
}

func (c *Ctx) followup(m Message, opts ...discordgo.RequestOption) (*discordgo.Message, error) {
	p := &discordgo.WebhookParams{
		Content: m.Content, Embeds: m.Embeds, Components: m.Components,
		AllowedMentions: mentions(m),
	}
	if m.Ephemeral {
		p.Flags = discordgo.MessageFlagsEphemeral
	}
	var body any = p
	if len(m.Files) > 0 {
		var err error
		if body, err = withFiles(p, m.Files); err != nil {
			return nil, fmt.Errorf("follow up interaction %s: encode: %w", c.I.ID, err)
		}
	}
	ctx, droppable := requestSettings(opts)
	cl := c.onToken("follow up interaction "+c.I.ID, http.MethodPost,
		discordgo.EndpointWebhookToken(c.I.AppID, c.I.Token)+"?wait=true", body, m.Files, droppable)
	resp, err := c.requests().do(ctx, cl, opts...)
	if err != nil {
		return nil, err
	}
	return decodeMessage(resp)
}

func decodeMessage(resp []byte) (*discordgo.Message, error) {
	var msg *discordgo.Message
	if err := discordgo.Unmarshal(resp, &msg); err != nil {
		return nil, fmt.Errorf("read Discord's answer: %w", err)
	}
	return msg, nil
}

// Choices answers an autocomplete. Discord takes at most 25.
func (c *Ctx) Choices(choices []*discordgo.ApplicationCommandOptionChoice) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateNone {
		return ErrAnswered
	}
	if len(choices) > MaxChoices {
		choices = choices[:MaxChoices]
	}
	if choices == nil {
		choices = []*discordgo.ApplicationCommandOptionChoice{}
	}
	if err := c.respond(&discordgo.InteractionResponse{
		Type: discordgo.InteractionApplicationCommandAutocompleteResult,
		Data: &discordgo.InteractionResponseData{Choices: choices},
	}); err != nil {
		return err
	}
	c.state = stateReplied
	return nil
}

// Modal opens a form. It must be the first answer.
func (c *Ctx) Modal(customID, title string, rows ...discordgo.MessageComponent) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateNone {
		return errors.New("a modal must be the first answer")
	}
	if err := c.respond(&discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseModal,
		Data: &discordgo.InteractionResponseData{CustomID: customID, Title: title, Components: rows},
	}); err != nil {
		return err
	}
	c.state = stateReplied
	return nil
}

// ChannelMessage posts an ordinary message in the interaction's channel: the
// way left once the 15-minute interaction token has expired. opts are as
// for Edit.
func (c *Ctx) ChannelMessage(m Message, opts ...discordgo.RequestOption) (*discordgo.Message, error) {
	if c.I.ChannelID == "" {
		// Discord may leave channel_id out; "" would post to channels//messages.
		return nil, errors.New("post in the interaction's channel: the interaction named no channel")
	}
	send := &discordgo.MessageSend{
		Content: m.Content, Embeds: m.Embeds, Components: m.Components,
		AllowedMentions: mentions(m),
	}
	if m.ReplyTo != "" {
		// A reply to a message deleted meanwhile is posted as a plain one.
		send.Reference = &discordgo.MessageReference{MessageID: m.ReplyTo, ChannelID: c.I.ChannelID, FailIfNotExists: new(false)}
	}
	var body any = send
	if len(m.Files) > 0 {
		var err error
		if body, err = withFiles(send, m.Files); err != nil {
			return nil, fmt.Errorf("post in channel %s: encode: %w", c.I.ChannelID, err)
		}
	}
	q := c.requests()
	ctx, droppable := requestSettings(opts)
	cl := call{what: "post in channel " + c.I.ChannelID, method: http.MethodPost,
		url: discordgo.EndpointChannelMessages(c.I.ChannelID), body: body, files: m.Files,
		key: q.lim.key("channel", c.I.ChannelID), droppable: droppable}
	resp, err := q.do(ctx, cl, opts...)
	if err != nil {
		return nil, err
	}
	return decodeMessage(resp)
}

func responseData(m Message) *discordgo.InteractionResponseData {
	d := &discordgo.InteractionResponseData{
		Content: m.Content, Embeds: m.Embeds, Components: m.Components, Files: m.Files,
		AllowedMentions: mentions(m),
	}
	if m.Ephemeral {
		d.Flags = discordgo.MessageFlagsEphemeral
	}
	return d
}

// mentions keeps user text like "@everyone" in a prompt from pinging anyone.
func mentions(m Message) *discordgo.MessageAllowedMentions {
	if m.AllowUserMention {
		return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{discordgo.AllowedMentionTypeUsers}}
	}
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
}

// scrub drops the request URL from an error before it is logged:
// interaction URLs carry the interaction's token in their path, and both
// a transport error and discordgo's RateLimitError name the URL.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s request failed: %w", ue.Op, ue.Err)
	}
	var rle *discordgo.RateLimitError
	if errors.As(err, &rle) {
		rl := &RateLimited{}
		if rle.RateLimit != nil && rle.TooManyRequests != nil {
			rl.RetryAfter = rle.RetryAfter
		}
		return rl
	}
	return err
}

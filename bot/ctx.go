package bot

import (
	"errors"
	"fmt"
	"log/slog"
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

	received  time.Time
	tokenLife time.Duration
	mu        sync.Mutex
	state     replyState
	answered  time.Time // first callback
	values    map[any]any
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

// Received is when the gateway delivered the interaction; Discord's 3-second
// and 15-minute clocks run from about then.
func (c *Ctx) Received() time.Time { return c.received }

// TokenLifetime is how long Discord lets an interaction token edit and follow up.
const TokenLifetime = 15 * time.Minute

// TokenValid reports whether the interaction token can still edit and follow
// up, keeping a margin for the request in flight.
func (c *Ctx) TokenValid() bool {
	life := c.tokenLife
	if life == 0 {
		life = TokenLifetime
	}
	return time.Since(c.received) < life-life/30
}

func (c *Ctx) respond(r *discordgo.InteractionResponse) error {
	if err := c.Session.InteractionRespond(c.I, r); err != nil {
		return fmt.Errorf("answer interaction %s (type %d): %w", c.I.ID, r.Type, scrub(err))
	}
	c.answered = time.Now()
	return nil
}

func (c *Ctx) firstAnswer() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.answered
}

// Defer acknowledges now and promises a reply within 15 minutes. Users see
// "lorabot is thinking…".
func (c *Ctx) Defer(ephemeral bool) error {
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
	if c.I.Type == discordgo.InteractionMessageComponent && !ephemeral {
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
			if err := c.Session.InteractionResponseDelete(c.I); err != nil {
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
	if err := c.respond(&discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseUpdateMessage,
		Data: d,
	}); err != nil {
		return err
	}
	c.state = stateReplied
	return nil
}

// Edit changes the original reply. opts are passed to discordgo, e.g.
// discordgo.WithRetryOnRatelimit(false) for progress edits that may be dropped.
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
	e := &discordgo.WebhookEdit{Content: &content, Embeds: &embeds, Components: &comps, Files: m.Files}
	if len(m.Files) > 0 {
		// Listing no old attachments drops them: the new files replace the old.
		none := []*discordgo.MessageAttachment{}
		e.Attachments = &none
	}
	e.AllowedMentions = mentions(m)
	msg, err := c.Session.InteractionResponseEdit(c.I, e, opts...)
	if err != nil {
		return nil, fmt.Errorf("edit reply to interaction %s: %w", c.I.ID, scrub(err))
	}
	return msg, nil
}

// Followup adds a message after the reply.
func (c *Ctx) Followup(m Message) (*discordgo.Message, error) {
	return c.followup(m)
}

func (c *Ctx) followup(m Message) (*discordgo.Message, error) {
	p := &discordgo.WebhookParams{
		Content: m.Content, Embeds: m.Embeds, Components: m.Components, Files: m.Files,
		AllowedMentions: mentions(m),
	}
	if m.Ephemeral {
		p.Flags = discordgo.MessageFlagsEphemeral
	}
	msg, err := c.Session.FollowupMessageCreate(c.I, true, p)
	if err != nil {
		return nil, fmt.Errorf("follow up interaction %s: %w", c.I.ID, scrub(err))
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
// way left once the 15-minute interaction token has expired.
func (c *Ctx) ChannelMessage(m Message) (*discordgo.Message, error) {
	if c.I.ChannelID == "" {
		// Discord may leave channel_id out; "" would post to channels//messages.
		return nil, errors.New("post in the interaction's channel: the interaction named no channel")
	}
	msg, err := c.Session.ChannelMessageSendComplex(c.I.ChannelID, &discordgo.MessageSend{
		Content: m.Content, Embeds: m.Embeds, Components: m.Components, Files: m.Files,
		AllowedMentions: mentions(m),
	})
	if err != nil {
		return nil, fmt.Errorf("post in channel %s: %w", c.I.ChannelID, scrub(err))
	}
	return msg, nil
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

// scrub drops the request URL from a transport error before it is logged:
// interaction URLs carry the interaction's token in their path.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s request failed: %w", ue.Op, ue.Err)
	}
	return err
}

package discordtest

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
)

// MessageKind tells how a message came to be.
type MessageKind int

// Message kinds.
const (
	KindOriginal MessageKind = iota + 1 // an interaction's first reply (callback 4 or 5)
	KindFollowup                        // POST /webhooks/{app}/{token}
	KindChannel                         // POST /channels/{id}/messages
)

func (k MessageKind) String() string {
	switch k {
	case KindOriginal:
		return "original"
	case KindFollowup:
		return "followup"
	case KindChannel:
		return "channel"
	}
	return "unknown"
}

// Message is the fake's record of one message the bot posted, in its
// current state (after edits). Treat it as read-only: it is a copy, but
// embeds are shared.
type Message struct {
	ID            string
	ChannelID     string
	GuildID       string
	Kind          MessageKind
	InteractionID string // the interaction whose token created it; "" for channel posts
	// InteractedMessageID is the message whose button or select menu
	// this message answers (Discord's interaction_metadata, which its
	// client shows as a reply to that message); "" otherwise.
	InteractedMessageID string
	// ReferenceID is the message a channel post replies to
	// (message_reference); "" for none.
	ReferenceID string

	Content     string
	Flags       discordgo.MessageFlags
	Embeds      []*discordgo.MessageEmbed
	Components  []Component
	Attachments []Attachment

	Created time.Time
	Edited  time.Time   // zero until edited
	EditLog []time.Time // the time of each edit, oldest first
	// Shown is every content the message had, oldest first: what a user
	// watching it would have read, however briefly.
	Shown   []string
	Deleted bool
}

// Ephemeral reports whether only the invoking user sees the message.
func (m Message) Ephemeral() bool { return m.Flags&discordgo.MessageFlagsEphemeral != 0 }

// Loading reports whether the message is a deferred reply still showing
// "thinking" (no edit yet).
func (m Message) Loading() bool { return m.Flags&discordgo.MessageFlagsLoading != 0 }

// Find returns the first component, at any depth, with this custom_id.
func (m Message) Find(customID string) (Component, bool) {
	return findComponent(m.Components, func(c Component) bool { return c.CustomID == customID })
}

// FindButton returns the first button, at any depth, with this label.
func (m Message) FindButton(label string) (Component, bool) {
	return findComponent(m.Components, func(c Component) bool {
		return c.Type == discordgo.ButtonComponent && c.Label == label
	})
}

// Buttons lists every button at any depth, in order.
func (m Message) Buttons() []Component {
	var out []Component
	walkComponents(m.Components, func(c Component) {
		if c.Type == discordgo.ButtonComponent {
			out = append(out, c)
		}
	})
	return out
}

func (m *Message) clone() Message {
	c := *m
	c.Embeds = append([]*discordgo.MessageEmbed(nil), m.Embeds...)
	c.Components = append([]Component(nil), m.Components...)
	c.Attachments = append([]Attachment(nil), m.Attachments...)
	c.EditLog = append([]time.Time(nil), m.EditLog...)
	c.Shown = append([]string(nil), m.Shown...)
	return c
}

// Showed reports whether the message's content ever contained sub.
func (m Message) Showed(sub string) bool {
	for _, c := range m.Shown {
		if strings.Contains(c, sub) {
			return true
		}
	}
	return false
}

// empty reports whether Discord would refuse the message as empty.
func (m *Message) empty() bool {
	return m.Content == "" && len(m.Embeds) == 0 && len(m.Attachments) == 0 && len(m.Components) == 0
}

// Attachment is a file on a message.
type Attachment struct {
	ID          string
	Filename    string
	Description string
	ContentType string
	Size        int64
	URL         string // served by the fake
	Data        []byte
	// Width and Height are an image's size in pixels, 0 for other files.
	Width, Height int
}

// Component is a message or modal component as the bot sent it. One
// struct holds every kind; fields that do not apply stay zero.
type Component struct {
	Type        discordgo.ComponentType `json:"type"`
	CustomID    string                  `json:"custom_id,omitempty"`
	Label       string                  `json:"label,omitempty"`
	Style       int                     `json:"style,omitempty"`
	Disabled    bool                    `json:"disabled,omitempty"`
	URL         string                  `json:"url,omitempty"`
	Emoji       json.RawMessage         `json:"emoji,omitempty"`
	Placeholder string                  `json:"placeholder,omitempty"`
	MinValues   *int                    `json:"min_values,omitempty"`
	MaxValues   int                     `json:"max_values,omitempty"`
	Options     []SelectOption          `json:"options,omitempty"`
	Value       string                  `json:"value,omitempty"`
	Required    *bool                   `json:"required,omitempty"`
	MinLength   *int                    `json:"min_length,omitempty"`
	MaxLength   int                     `json:"max_length,omitempty"`
	Content     string                  `json:"content,omitempty"` // text display (components v2)
	Components  []Component             `json:"components,omitempty"`
}

// SelectOption is one option of a string select menu.
type SelectOption struct {
	Label       string          `json:"label"`
	Value       string          `json:"value"`
	Description string          `json:"description,omitempty"`
	Emoji       json.RawMessage `json:"emoji,omitempty"`
	Default     bool            `json:"default,omitempty"`
}

func walkComponents(cs []Component, f func(Component)) {
	for _, c := range cs {
		f(c)
		walkComponents(c.Components, f)
	}
}

func findComponent(cs []Component, match func(Component) bool) (Component, bool) {
	var found Component
	ok := false
	walkComponents(cs, func(c Component) {
		if !ok && match(c) {
			found, ok = c, true
		}
	})
	return found, ok
}

// wireMessage is a message as Discord's API returns it.
type wireMessage struct {
	ID              string                    `json:"id"`
	Type            int                       `json:"type"`
	ChannelID       string                    `json:"channel_id"`
	GuildID         string                    `json:"guild_id,omitempty"`
	Author          wireUser                  `json:"author"`
	Content         string                    `json:"content"`
	Timestamp       time.Time                 `json:"timestamp"`
	EditedTimestamp *time.Time                `json:"edited_timestamp"`
	Embeds          []*discordgo.MessageEmbed `json:"embeds"`
	Components      []Component               `json:"components"`
	Attachments     []wireAttachment          `json:"attachments"`
	Flags           discordgo.MessageFlags    `json:"flags"`
	WebhookID       string                    `json:"webhook_id,omitempty"`
	ApplicationID   string                    `json:"application_id,omitempty"`
	Metadata        map[string]any            `json:"interaction_metadata,omitempty"`
	Reference       map[string]any            `json:"message_reference,omitempty"`
}

type wireAttachment struct {
	ID          string `json:"id"`
	Filename    string `json:"filename"`
	Description string `json:"description,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Size        int64  `json:"size"`
	URL         string `json:"url"`
	ProxyURL    string `json:"proxy_url"`
	Width       int    `json:"width,omitempty"`
	Height      int    `json:"height,omitempty"`
}

type wireUser struct {
	ID            string  `json:"id"`
	Username      string  `json:"username"`
	GlobalName    string  `json:"global_name,omitempty"`
	Discriminator string  `json:"discriminator"`
	Avatar        *string `json:"avatar"`
	Bot           bool    `json:"bot,omitempty"`
}

func (s *Server) wire(m *Message) wireMessage {
	w := wireMessage{
		ID:          m.ID,
		ChannelID:   m.ChannelID,
		GuildID:     m.GuildID,
		Author:      wireUser{ID: s.opts.BotUserID, Username: s.opts.BotName, Discriminator: "0", Bot: true},
		Content:     m.Content,
		Timestamp:   m.Created.UTC(),
		Embeds:      m.Embeds,
		Components:  m.Components,
		Attachments: []wireAttachment{},
		Flags:       m.Flags,
	}
	if w.Embeds == nil {
		w.Embeds = []*discordgo.MessageEmbed{}
	}
	if w.Components == nil {
		w.Components = []Component{}
	}
	if !m.Edited.IsZero() {
		t := m.Edited.UTC()
		w.EditedTimestamp = &t
	}
	if m.Kind != KindChannel {
		w.Type = 20 // CHAT_INPUT_COMMAND reply
		w.WebhookID = s.opts.AppID
		w.ApplicationID = s.opts.AppID
	}
	if m.InteractedMessageID != "" {
		w.Metadata = map[string]any{"id": m.InteractionID, "type": discordgo.InteractionMessageComponent, "interacted_message_id": m.InteractedMessageID}
	}
	if m.ReferenceID != "" {
		w.Reference = map[string]any{"message_id": m.ReferenceID, "channel_id": m.ChannelID}
	}
	for _, a := range m.Attachments {
		w.Attachments = append(w.Attachments, wireAttachment{
			ID: a.ID, Filename: a.Filename, Description: a.Description,
			ContentType: a.ContentType, Size: a.Size, URL: a.URL, ProxyURL: a.URL, Width: a.Width, Height: a.Height,
		})
	}
	return w
}

package discordtest

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/bwmarrin/discordgo"
)

// decodeMessage reads a message-carrying body; where names the request
// for violations. ok false means the answer (status, body) is final.
func (s *Server) decodeMessageLocked(where string, up upload, err error) (md messageData, status int, body any, ok bool) {
	if err == nil && len(up.json) > 0 {
		err = json.Unmarshal(up.json, &md)
	}
	if err != nil {
		status, body = s.rejectLocked(where, fieldErrors{{code: "MODEL_TYPE_CONVERT", message: "Invalid body: " + err.Error()}})
		return md, status, body, false
	}
	return md, 0, nil, true
}

// checkUploadLocked applies the per-file and per-request size caps, which
// Discord answers with 413 rather than 400.
func (s *Server) checkUploadLocked(where string, up upload) (int, any, bool) {
	if up.tooBig {
		s.violateLocked("%s: request is %d bytes, over Discord's %d-byte cap", where, up.size, s.opts.RequestSizeLimit)
		return http.StatusRequestEntityTooLarge, discordError(codeTooLarge, "Request entity too large"), false
	}
	for _, f := range up.files {
		if f.Size > s.opts.AttachmentSizeLimit {
			s.violateLocked("%s: file %q is %d bytes, over the %d-byte attachment limit", where, f.Name, f.Size, s.opts.AttachmentSizeLimit)
			return http.StatusRequestEntityTooLarge, discordError(codeTooLarge, "Request entity too large"), false
		}
	}
	return 0, nil, true
}

// buildMessageLocked returns what base (nil for a new message) becomes
// with md and the uploaded files, without storing it. An "attachments"
// list keeps only the existing attachments it names. New files are added,
// except that from API v10 an edit (patch: a PATCH, or a type 7 update)
// keeps only those its "attachments" lists: Discord drops the others.
func (s *Server) buildMessageLocked(base *Message, md messageData, up upload, patch bool) *Message {
	var m Message
	if base != nil {
		m = base.clone()
	}
	if md.Content != nil {
		m.Content = *md.Content
	}
	if md.Embeds != nil {
		m.Embeds = *md.Embeds
	}
	if md.Components != nil {
		m.Components = *md.Components
	}
	refs := map[string]attachmentRef{}
	if md.Attachments != nil {
		for _, ref := range *md.Attachments {
			refs[ref.id()] = ref
		}
		var kept []Attachment
		for _, a := range m.Attachments {
			if _, ok := refs[a.ID]; ok {
				kept = append(kept, a)
			}
		}
		m.Attachments = kept
	}
	for i, f := range up.files {
		ref, listed := refs[strconv.Itoa(up.index[i])]
		if patch && up.version >= 10 && !listed {
			continue
		}
		name := f.Name
		if ref.Filename != "" {
			name = ref.Filename
		}
		id := s.nextID()
		a := Attachment{
			ID: id, Filename: name, Description: ref.Description, ContentType: f.ContentType,
			Size: f.Size, URL: s.base + "/attachments/" + id + "/" + url.PathEscape(name), Data: f.Data,
		}
		// Discord tells an image's size in pixels.
		if cfg, _, err := image.DecodeConfig(bytes.NewReader(f.Data)); err == nil {
			a.Width, a.Height = cfg.Width, cfg.Height
		}
		m.Attachments = append(m.Attachments, a)
	}
	return &m
}

// finishLocked runs the checks on the message a request would produce:
// the field limits, the file count and emptiness. ok false means the
// answer (status, body) is final.
func (s *Server) finishLocked(where, prefix string, md messageData, m *Message) (int, any, bool) {
	var es fieldErrors
	checkMessageData(&es, prefix, md)
	if n := len(m.Attachments); n > maxFiles {
		es.add(prefix+"attachments", "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length (got %d).", maxFiles, n)
	}
	if len(es) > 0 {
		st, body := s.rejectLocked(where, es)
		return st, body, false
	}
	if m.empty() {
		s.violateLocked("%s: the message would be empty (no content, embed, file or component)", where)
		return http.StatusBadRequest, discordError(codeEmptyMessage, "Cannot send an empty message"), false
	}
	return 0, nil, true
}

// createLocked stores a new message.
func (s *Server) createLocked(m *Message, kind MessageKind, channelID, guildID, interactionID string) *Message {
	m.ID = s.nextID()
	m.Kind, m.ChannelID, m.GuildID, m.InteractionID = kind, channelID, guildID, interactionID
	m.Created = time.Now()
	m.Shown = []string{m.Content}
	s.messages[m.ID] = m
	s.msgOrder = append(s.msgOrder, m.ID)
	s.broadcastLocked()
	return m
}

// editLocked replaces old's state with m's; the first edit ends a
// deferred reply's "thinking" state.
func (s *Server) editLocked(old, m *Message) {
	now := time.Now()
	id, kind, ch, g, iid, created, flags := old.ID, old.Kind, old.ChannelID, old.GuildID, old.InteractionID, old.Created, old.Flags
	log, shown, interacted, ref := old.EditLog, old.Shown, old.InteractedMessageID, old.ReferenceID
	*old = *m
	old.ID, old.Kind, old.ChannelID, old.GuildID, old.InteractionID, old.Created = id, kind, ch, g, iid, created
	old.InteractedMessageID, old.ReferenceID = interacted, ref
	old.Flags = flags &^ discordgo.MessageFlagsLoading
	old.Edited = now
	old.EditLog = append(log, now)
	old.Shown = append(shown, m.Content)
	s.broadcastLocked()
}

// Message returns a message's current state by id.
func (s *Server) Message(id string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.messages[id]; m != nil {
		return m.clone(), true
	}
	return Message{}, false
}

// ChannelMessages returns the messages everyone can see in a channel
// (interaction replies, follow-ups and channel posts; not ephemeral or
// deleted ones), oldest first.
func (s *Server) ChannelMessages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, id := range s.msgOrder {
		m := s.messages[id]
		if m.ChannelID == channelID && !m.Deleted && !m.Ephemeral() {
			out = append(out, m.clone())
		}
	}
	return out
}

// WaitChannelMessage waits until some visible message, in any channel,
// satisfies cond (check m.ChannelID or m.Kind in cond to narrow it).
func (s *Server) WaitChannelMessage(ctx context.Context, cond func(Message) bool) (Message, error) {
	var got Message
	err := s.waitFor(ctx, "a channel message", func() bool {
		for _, id := range s.msgOrder {
			m := s.messages[id]
			if m.Deleted || m.Ephemeral() {
				continue
			}
			if c := m.clone(); cond(c) {
				got = c
				return true
			}
		}
		return false
	})
	return got, err
}

// serveAttachment serves an uploaded file at its attachment URL.
func (s *Server) serveAttachment(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	found := s.uploads[id]
	for _, m := range s.messages {
		for i := range m.Attachments {
			if m.Attachments[i].ID == id {
				a := m.Attachments[i]
				found = &a
			}
		}
	}
	s.mu.Unlock()
	if found == nil {
		http.NotFound(w, r)
		return
	}
	if found.ContentType != "" {
		w.Header().Set("Content-Type", found.ContentType)
	}
	w.Write(found.Data)
}

// applyEditLocked checks an edit's upload and body against Discord's limits
// and applies it to m, as every PATCH of a message does.
func (s *Server) applyEditLocked(where string, m *Message, up upload, readErr error) (int, any, bool) {
	if st, b, ok := s.checkUploadLocked(where, up); !ok {
		return st, b, false
	}
	md, st, b, ok := s.decodeMessageLocked(where, up, readErr)
	if !ok {
		return st, b, false
	}
	next := s.buildMessageLocked(m, md, up, true)
	if st, b, ok := s.finishLocked(where, "", md, next); !ok {
		return st, b, false
	}
	s.editLocked(m, next)
	return 0, nil, true
}

// WaitDeleted waits until the message with id is deleted.
func (s *Server) WaitDeleted(ctx context.Context, id string) error {
	return s.waitFor(ctx, "message "+id+" deleted", func() bool {
		m := s.messages[id]
		return m != nil && m.Deleted
	})
}

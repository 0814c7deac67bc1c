package discordtest

import (
	"net/http"
	"slices"
	"time"

	"github.com/bwmarrin/discordgo"
)

// webhookLocked finds the interaction whose token the request uses and
// checks the token is alive. ok false means the answer is final.
func (s *Server) webhookLocked(r *http.Request, where string) (*Interaction, int, any, bool) {
	it := s.byToken[r.PathValue("token")]
	if r.PathValue("app") != s.opts.AppID || it == nil {
		s.violateLocked("%s: unknown webhook (not this application's id, or a token no interaction had)", where)
		return nil, http.StatusNotFound, discordError(codeUnknownWebhook, "Unknown Webhook"), false
	}
	if age := time.Since(it.created); age > s.opts.TokenLifetime {
		s.violateLocked("%s: %s token used %v after its creation, past its %v lifetime", where, it, age.Round(time.Millisecond), s.opts.TokenLifetime)
		return nil, http.StatusUnauthorized, discordError(codeInvalidToken, "Invalid Webhook Token"), false
	}
	if it.callback == nil {
		s.violateLocked("%s: %s was never acknowledged, so its webhook does not exist", where, it)
		return nil, http.StatusNotFound, discordError(codeUnknownWebhook, "Unknown Webhook"), false
	}
	return it, 0, nil, true
}

// webhookMessageLocked resolves {message}: @original or a follow-up of
// the same interaction.
func (s *Server) webhookMessageLocked(it *Interaction, r *http.Request, where string) (*Message, int, any, bool) {
	id := r.PathValue("message")
	if id == "" || id == "@original" {
		id = it.originalID
	} else if id != it.originalID && !slices.Contains(it.followups, id) {
		id = ""
	}
	m := s.messages[id]
	if m == nil || m.Deleted {
		s.violateLocked("%s: %s has no such message", where, it)
		return nil, http.StatusNotFound, discordError(codeUnknownMessage, "Unknown Message"), false
	}
	return m, 0, nil, true
}

func (s *Server) handleGetWebhookMessage(r *http.Request) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	where := r.Method + " webhook message"
	it, st, b, ok := s.webhookLocked(r, where)
	if !ok {
		return st, b
	}
	m, st, b, ok := s.webhookMessageLocked(it, r, where)
	if !ok {
		return st, b
	}
	return http.StatusOK, s.wire(m)
}

func (s *Server) handleEditWebhookMessage(r *http.Request) (int, any) {
	up, readErr := readUpload(r, s.opts.RequestSizeLimit)
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	original := r.PathValue("message") == "@original"
	where := "PATCH webhook message"
	if original {
		where = "PATCH @original"
	}
	it, st, b, ok := s.webhookLocked(r, where)
	if !ok {
		return st, b
	}
	where = it.String() + " " + where
	m, st, b, ok := s.webhookMessageLocked(it, r, where)
	if !ok {
		return st, b
	}
	if st, b, ok := s.applyEditLocked(where, m, up, readErr); !ok {
		return st, b
	}
	if m.ID == it.originalID {
		it.edits = append(it.edits, now)
	}
	return http.StatusOK, s.wire(m)
}

func (s *Server) handleDeleteWebhookMessage(r *http.Request) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	where := "DELETE webhook message"
	it, st, b, ok := s.webhookLocked(r, where)
	if !ok {
		return st, b
	}
	m, st, b, ok := s.webhookMessageLocked(it, r, it.String()+" "+where)
	if !ok {
		return st, b
	}
	m.Deleted = true
	s.broadcastLocked()
	return http.StatusNoContent, nil
}

// handleExecuteWebhook creates a follow-up. As Discord documents, the
// first follow-up after a deferred (type 5) reply that still shows
// "thinking" edits that reply instead, keeping its ephemeral state.
func (s *Server) handleExecuteWebhook(r *http.Request) (int, any) {
	up, readErr := readUpload(r, s.opts.RequestSizeLimit)
	s.mu.Lock()
	defer s.mu.Unlock()
	where := "follow-up"
	it, st, b, ok := s.webhookLocked(r, where)
	if !ok {
		return st, b
	}
	where = it.String() + " follow-up"
	if st, b, ok := s.checkUploadLocked(where, up); !ok {
		return st, b
	}
	md, st, b, ok := s.decodeMessageLocked(where, up, readErr)
	if !ok {
		return st, b
	}
	var m *Message
	if orig := s.messages[it.originalID]; orig != nil && !orig.Deleted && orig.Loading() &&
		it.callback.Type == discordgo.InteractionResponseDeferredChannelMessageWithSource {
		next := s.buildMessageLocked(orig, md, up, false)
		if st, b, ok := s.finishLocked(where, "", md, next); !ok {
			return st, b
		}
		s.editLocked(orig, next)
		m = orig
	} else {
		next := s.buildMessageLocked(nil, md, up, false)
		if st, b, ok := s.finishLocked(where, "", md, next); !ok {
			return st, b
		}
		if md.Flags != nil {
			next.Flags = *md.Flags & (discordgo.MessageFlagsEphemeral | discordgo.MessageFlagsSuppressEmbeds |
				discordgo.MessageFlagsSuppressNotifications | discordgo.MessageFlagsIsComponentsV2)
		}
		m = s.createLocked(next, KindFollowup, it.ChannelID, it.GuildID, it.ID)
		it.followups = append(it.followups, m.ID)
	}
	s.broadcastLocked()
	if r.URL.Query().Get("wait") != "true" {
		return http.StatusNoContent, nil
	}
	return http.StatusOK, s.wire(m)
}

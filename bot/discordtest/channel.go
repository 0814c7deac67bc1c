package discordtest

import (
	"net/http"

	"github.com/bwmarrin/discordgo"
)

// channelLocked finds a known channel. ok false means the answer is final.
func (s *Server) channelLocked(r *http.Request, where string) (*Channel, int, any, bool) {
	ch := s.channels[r.PathValue("channel")]
	if ch == nil {
		s.violateLocked("%s: unknown channel %s (the bot is in no such channel)", where, r.PathValue("channel"))
		return nil, http.StatusNotFound, discordError(codeUnknownChannel, "Unknown Channel"), false
	}
	return ch, 0, nil, true
}

func (s *Server) handleGetChannel(r *http.Request) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, st, b, ok := s.channelLocked(r, "GET channel")
	if !ok {
		return st, b
	}
	if ch.NoAccess {
		return http.StatusForbidden, discordError(codeMissingAccess, "Missing Access")
	}
	out := map[string]any{"id": ch.ID, "type": ch.wireType(), "nsfw": ch.NSFW, "name": ch.Name}
	if ch.GuildID != "" {
		out["guild_id"] = ch.GuildID
	}
	return http.StatusOK, out
}

func (s *Server) handleCreateMessage(r *http.Request) (int, any) {
	up, readErr := readUpload(r, s.opts.RequestSizeLimit)
	s.mu.Lock()
	defer s.mu.Unlock()
	where := "POST channel message"
	ch, st, b, ok := s.channelLocked(r, where)
	if !ok {
		return st, b
	}
	if ch.NoAccess {
		return http.StatusForbidden, discordError(codeMissingAccess, "Missing Access")
	}
	if st, b, ok := s.checkUploadLocked(where, up); !ok {
		return st, b
	}
	md, st, b, ok := s.decodeMessageLocked(where, up, readErr)
	if !ok {
		return st, b
	}
	m := s.buildMessageLocked(nil, md, up, false)
	if st, b, ok := s.finishLocked(where, "", md, m); !ok {
		return st, b
	}
	if md.Flags != nil {
		m.Flags = *md.Flags &^ (discordgo.MessageFlagsEphemeral | discordgo.MessageFlagsLoading)
	}
	if ref := md.Reference; ref != nil {
		// Discord refuses a reply to a message that is not in the channel,
		// unless fail_if_not_exists is false: then it posts a plain message.
		switch to := s.messages[ref.MessageID]; {
		case to != nil && !to.Deleted && to.ChannelID == ch.ID:
			m.ReferenceID = ref.MessageID
		case ref.FailIfNotExists == nil || *ref.FailIfNotExists:
			return s.rejectLocked(where, fieldErrors{{path: "message_reference", code: "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", message: "Unknown message"}})
		}
	}
	s.createLocked(m, KindChannel, ch.ID, ch.GuildID, "")
	return http.StatusOK, s.wire(m)
}

// channelMessageLocked finds a message in the channel that the bot may
// manage through the channel routes (not ephemeral replies).
func (s *Server) channelMessageLocked(r *http.Request, where string) (*Message, int, any, bool) {
	ch, st, b, ok := s.channelLocked(r, where)
	if !ok {
		return nil, st, b, false
	}
	if ch.NoAccess {
		return nil, http.StatusForbidden, discordError(codeMissingAccess, "Missing Access"), false
	}
	m := s.messages[r.PathValue("message")]
	if m == nil || m.Deleted || m.ChannelID != ch.ID || m.Ephemeral() {
		s.violateLocked("%s: unknown message %s in channel %s", where, r.PathValue("message"), ch.ID)
		return nil, http.StatusNotFound, discordError(codeUnknownMessage, "Unknown Message"), false
	}
	return m, 0, nil, true
}

func (s *Server) handleGetMessage(r *http.Request) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, st, b, ok := s.channelMessageLocked(r, "GET channel message")
	if !ok {
		return st, b
	}
	return http.StatusOK, s.wire(m)
}

func (s *Server) handleEditMessage(r *http.Request) (int, any) {
	up, readErr := readUpload(r, s.opts.RequestSizeLimit)
	s.mu.Lock()
	defer s.mu.Unlock()
	where := "PATCH channel message"
	m, st, b, ok := s.channelMessageLocked(r, where)
	if !ok {
		return st, b
	}
	if st, b, ok := s.applyEditLocked(where, m, up, readErr); !ok {
		return st, b
	}
	return http.StatusOK, s.wire(m)
}

func (s *Server) handleDeleteMessage(r *http.Request) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, st, b, ok := s.channelMessageLocked(r, "DELETE channel message")
	if !ok {
		return st, b
	}
	m.Deleted = true
	s.broadcastLocked()
	return http.StatusNoContent, nil
}

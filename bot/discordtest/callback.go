package discordtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/bwmarrin/discordgo"
)

// allowedCallbacks lists the callback types Discord accepts for each
// interaction type.
func (it *Interaction) allowedCallbacks() []discordgo.InteractionResponseType {
	const (
		msg     = discordgo.InteractionResponseChannelMessageWithSource
		defer5  = discordgo.InteractionResponseDeferredChannelMessageWithSource
		defer6  = discordgo.InteractionResponseDeferredMessageUpdate
		update  = discordgo.InteractionResponseUpdateMessage
		choices = discordgo.InteractionApplicationCommandAutocompleteResult
		modal   = discordgo.InteractionResponseModal
	)
	switch it.Type {
	case discordgo.InteractionApplicationCommand:
		return []discordgo.InteractionResponseType{msg, defer5, modal}
	case discordgo.InteractionApplicationCommandAutocomplete:
		return []discordgo.InteractionResponseType{choices}
	case discordgo.InteractionMessageComponent:
		return []discordgo.InteractionResponseType{msg, defer5, defer6, update, modal}
	case discordgo.InteractionModalSubmit:
		if it.sourceMsg != "" {
			return []discordgo.InteractionResponseType{msg, defer5, defer6, update}
		}
		return []discordgo.InteractionResponseType{msg, defer5}
	}
	return nil
}

// handleCallback takes an interaction's response (types 4 to 9), checks
// the deadline, the single acknowledgement and the limits, and applies it.
func (s *Server) handleCallback(r *http.Request) (int, any) {
	// The response arrives when its request does, however long the upload.
	now := time.Now()
	up, readErr := readUpload(r, s.opts.RequestSizeLimit)
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.interactions[r.PathValue("id")]
	if it == nil || it.Token != r.PathValue("token") || it.dispatched.IsZero() {
		s.violateLocked("callback for unknown interaction %s", r.PathValue("id"))
		return http.StatusNotFound, discordError(codeUnknownInteraction, "Unknown interaction")
	}
	where := it.String() + " callback"
	if it.callback != nil {
		s.violateLocked("%s: a second callback; the interaction was already acknowledged (type %d)", where, it.callback.Type)
		return http.StatusBadRequest, discordError(codeAlreadyAcked, "Interaction has already been acknowledged.")
	}
	latency := now.Sub(it.created)
	if it.late || latency > s.opts.ResponseDeadline {
		switch {
		case it.arrivedLate:
			s.violateLocked("%s: answered, though it reached the bot %v after its creation, past the %v deadline (its ID says when it was made)",
				where, it.dispatched.Sub(it.created).Round(time.Millisecond), s.opts.ResponseDeadline)
		case !it.late:
			s.violateLocked("%s: first response %v after its creation, over the %v deadline", where, latency.Round(time.Millisecond), s.opts.ResponseDeadline)
		}
		it.late = true
		return http.StatusNotFound, discordError(codeUnknownInteraction, "Unknown interaction")
	}
	if st, b, ok := s.checkUploadLocked(where, up); !ok {
		return st, b
	}
	var body struct {
		Type discordgo.InteractionResponseType `json:"type"`
		Data *messageData                      `json:"data"`
	}
	if readErr == nil {
		readErr = json.Unmarshal(up.json, &body)
	}
	if readErr != nil {
		return s.rejectLocked(where, fieldErrors{{code: "MODEL_TYPE_CONVERT", message: "Invalid body: " + readErr.Error()}})
	}
	var md messageData
	if body.Data != nil {
		md = *body.Data
	}
	if !slices.Contains(it.allowedCallbacks(), body.Type) {
		return s.rejectLocked(where, fieldErrors{{path: "type", code: "INTERACTION_RESPONSE_TYPE_INVALID",
			message: fmt.Sprintf("Callback type %d is not valid for a %s interaction.", body.Type, it.Type)}})
	}
	if len(up.files) > 0 && body.Type != discordgo.InteractionResponseChannelMessageWithSource && body.Type != discordgo.InteractionResponseUpdateMessage {
		return s.rejectLocked(where, fieldErrors{{path: "files", code: "BASE_TYPE_INVALID", message: "Files need a callback of type 4 or 7."}})
	}

	cb := &Callback{Type: body.Type, At: now, Latency: latency, CustomID: md.CustomID, Title: md.Title, Files: up.files}
	if md.Content != nil {
		cb.Content = *md.Content
	}
	if md.Flags != nil {
		cb.Flags = *md.Flags
	}
	if md.Embeds != nil {
		cb.Embeds = *md.Embeds
	}
	if md.Components != nil {
		cb.Components = *md.Components
	}
	if md.Choices != nil {
		cb.Choices = *md.Choices
	}

	switch body.Type {
	case discordgo.InteractionResponseChannelMessageWithSource:
		m := s.buildMessageLocked(nil, md, up, false)
		if st, b, ok := s.finishLocked(where, "data.", md, m); !ok {
			return st, b
		}
		m.Flags = cb.Flags
		m.InteractedMessageID = it.sourceMsg
		s.createLocked(m, KindOriginal, it.ChannelID, it.GuildID, it.ID)
		it.originalID = m.ID

	case discordgo.InteractionResponseDeferredChannelMessageWithSource:
		if extra := cb.Flags &^ discordgo.MessageFlagsEphemeral; extra != 0 {
			return s.rejectLocked(where, fieldErrors{{path: "data.flags", code: "INTERACTION_RESPONSE_FLAGS_INVALID",
				message: fmt.Sprintf("A deferred response (type 5) takes only the EPHEMERAL flag (64); got flags %d.", cb.Flags)}})
		}
		m := &Message{Flags: cb.Flags | discordgo.MessageFlagsLoading, InteractedMessageID: it.sourceMsg}
		s.createLocked(m, KindOriginal, it.ChannelID, it.GuildID, it.ID)
		it.originalID = m.ID

	case discordgo.InteractionResponseDeferredMessageUpdate:
		it.originalID = it.sourceMsg

	case discordgo.InteractionResponseUpdateMessage:
		src := s.messages[it.sourceMsg]
		if src == nil || src.Deleted {
			s.violateLocked("%s: update of a message that no longer exists", where)
			return http.StatusNotFound, discordError(codeUnknownMessage, "Unknown Message")
		}
		m := s.buildMessageLocked(src, md, up, true)
		if st, b, ok := s.finishLocked(where, "data.", md, m); !ok {
			return st, b
		}
		s.editLocked(src, m)
		it.originalID = src.ID

	case discordgo.InteractionApplicationCommandAutocompleteResult:
		var es fieldErrors
		checkChoices(&es, cb.Choices, it.focusedType)
		if len(es) > 0 {
			return s.rejectLocked(where, es)
		}

	case discordgo.InteractionResponseModal:
		var es fieldErrors
		checkModal(&es, md)
		if len(es) > 0 {
			return s.rejectLocked(where, es)
		}
	}
	it.callback = cb
	s.broadcastLocked()
	return http.StatusNoContent, nil
}

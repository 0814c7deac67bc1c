// Package discordtest is a fake Discord (REST API and gateway websocket) on
// 127.0.0.1 for end-to-end tests of a real discordgo bot.
//
// The fake plays the parts of Discord a slash-command bot touches: the
// gateway handshake (Hello, Identify, READY, heartbeats, resume), command
// registration, interaction callbacks, the interaction webhooks (edit the
// original reply, follow-ups), and ordinary channel messages. Tests act as
// users through it (SendCommand, SendAutocomplete, ClickButton, SubmitModal)
// and observe what the bot answered (Interaction.WaitResponse, Original,
// Followups, ChannelMessages).
//
// Every request is checked against the limits in Discord's documentation
// (the project's ../shared/spec/discord.md). A breach is a violation: it is recorded
// (Violations), reported with t.Errorf unless Options.ExpectViolations is
// set, and answered the way Discord answers it, so the bot sees the
// failure it would see in production:
//
//   - an invalid body: 400 {"code": 50035, "message": "Invalid Form Body", "errors": {...}};
//   - a second callback: 400 code 40060 "Interaction has already been acknowledged.";
//   - a callback after the response deadline: 404 code 10062 "Unknown interaction";
//   - a webhook call after the token's lifetime: 401 code 50027 "Invalid Webhook Token";
//   - an empty message: 400 code 50006; an oversized upload: 413 code 40005;
//   - an unknown channel: 404 code 10003; an unknown message: 404 code 10008.
//
// The fake emulates one more documented Discord behaviour that surprises
// bots: the first follow-up sent while a deferred (type 5) reply still shows
// "thinking" edits that reply instead of creating a new message.
//
// Gateway events are queued until a bot session can take them: an
// interaction sent before the bot connects is delivered once it has
// identified, and events sent while it reconnects are replayed on resume.
//
// Time is Discord's as bots see it: IDs are snowflakes holding their
// creation time, every answer carries a Date header, and both read the
// fake's clock (Options.ClockSkew sets it off from the machine's). An
// interaction's 3 seconds and 15 minutes run from its creation, so one
// delivered late (CommandSpec.Age, a replay) may arrive already past its
// deadline: leaving it unanswered is no violation, answering it is.
//
// Rate limits are Discord's per interaction token: after a 429 on any of
// a token's routes (RateLimitNext), a request on that token before the
// retry_after ran out is a violation, answered with another 429. From API
// v10 (Options.APIVersion) an edit keeps only the new files its
// "attachments" lists. RevokeToken plays a token reset: 401 on REST and
// gateway close 4004.
package discordtest

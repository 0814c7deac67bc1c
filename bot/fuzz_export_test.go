package bot

import (
	"encoding/json"

	"github.com/bwmarrin/discordgo"
)

// ServeRawForTest hands raw, the "d" of an INTERACTION_CREATE, to the bot
// the way discordgo's gateway loop does: decoded into an InteractionCreate
// whatever the decoding error (discordgo logs it and dispatches the partly
// filled struct anyway), then to the raw-event handler the bot registered.
// The fuzz tests reach the router through this path, not a Ctx of their
// own, so that what they find is what a live session would hit.
func (b *Bot) ServeRawForTest(raw []byte) {
	e := &discordgo.Event{Type: "INTERACTION_CREATE", RawData: raw, Struct: &discordgo.InteractionCreate{}}
	_ = json.Unmarshal(raw, e.Struct)
	b.onEvent(b.s, e)
}

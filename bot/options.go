package bot

import (
	"math"
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"
)

// Discord's limits the router and handlers keep (discord.md).
const (
	MaxChoices        = 25
	MaxChoiceLen      = 100
	MaxContentLen     = 2000
	MaxCustomIDLen    = 100
	MaxFilesPerMsg    = 10
	MaxEmbedDescLen   = 4096
	MaxEmbedFieldLen  = 1024
	MaxEmbedTitleLen  = 256
	MaxEmbedTotalLen  = 6000
	MaxEmbedFooterLen = 2048
)

// Args reads a command's options by name without discordgo's typed
// accessors, which panic on a type mismatch. For a subcommand, the options
// are the subcommand's own.
type Args struct {
	Sub      string // subcommand name, "" when none
	opts     map[string]*discordgo.ApplicationCommandInteractionDataOption
	order    []*discordgo.ApplicationCommandInteractionDataOption // as sent
	resolved *discordgo.ApplicationCommandInteractionDataResolved
}

// Args returns the options of a slash command or autocomplete. An
// interaction whose data discordgo could not decode (it still dispatches
// it, with no data) has none; null entries in an option list are skipped.
func (c *Ctx) Args() Args {
	o := Args{opts: map[string]*discordgo.ApplicationCommandInteractionDataOption{}}
	if c.I.Type != discordgo.InteractionApplicationCommand && c.I.Type != discordgo.InteractionApplicationCommandAutocomplete {
		return o
	}
	// Not ApplicationCommandData(): it panics when the data is missing.
	data, ok := c.I.Data.(discordgo.ApplicationCommandInteractionData)
	if !ok {
		return o
	}
	o.resolved = data.Resolved
	list := data.Options
	for len(list) == 1 && list[0] != nil && (list[0].Type == discordgo.ApplicationCommandOptionSubCommand || list[0].Type == discordgo.ApplicationCommandOptionSubCommandGroup) {
		if o.Sub != "" {
			o.Sub += " "
		}
		o.Sub += list[0].Name
		list = list[0].Options
	}
	for _, op := range list {
		if op == nil {
			continue
		}
		o.opts[op.Name] = op
		o.order = append(o.order, op)
	}
	return o
}

// String is a string option; ok is false when absent or not a string.
func (o Args) String(name string) (string, bool) {
	op := o.opts[name]
	if op == nil {
		return "", false
	}
	s, ok := op.Value.(string)
	return s, ok
}

// maxInt is the largest integer option Discord takes (2^53), past which a
// float64 no longer holds every integer.
const maxInt = 1 << 53

// Int is an integer option. Discord sends integers as JSON numbers, which
// decode as float64; ok is false for a fraction or a number beyond
// Discord's ±2^53, which no client sends and int64 could not always hold.
func (o Args) Int(name string) (int64, bool) {
	op := o.opts[name]
	if op == nil {
		return 0, false
	}
	switch v := op.Value.(type) {
	case float64:
		if v != math.Trunc(v) || v < -maxInt || v > maxInt {
			return 0, false
		}
		return int64(v), true
	case string:
		// Autocomplete sends what is typed so far, as text.
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		return n, err == nil && n >= -maxInt && n <= maxInt
	}
	return 0, false
}

// Float is a number option.
func (o Args) Float(name string) (float64, bool) {
	op := o.opts[name]
	if op == nil {
		return 0, false
	}
	switch v := op.Value.(type) {
	case float64:
		return v, true
	case string:
		// Autocomplete sends what is typed so far, as text.
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return 0, false
}

// Bool is a boolean option.
func (o Args) Bool(name string) (bool, bool) {
	op := o.opts[name]
	if op == nil {
		return false, false
	}
	v, ok := op.Value.(bool)
	return v, ok
}

// Channel is a channel option: the channel's ID and what Discord resolved
// of it (type, guild, name), which is nil when the interaction carried no
// resolved entry for that ID. ok is false when the option is absent or not
// a channel.
func (o Args) Channel(name string) (id string, ch *discordgo.Channel, ok bool) {
	op := o.opts[name]
	if op == nil || op.Type != discordgo.ApplicationCommandOptionChannel {
		return "", nil, false
	}
	id, ok = op.Value.(string)
	if !ok || id == "" {
		return "", nil, false
	}
	if o.resolved != nil {
		ch = o.resolved.Channels[id]
	}
	return id, ch, true
}

// Attachment is an attachment option: the file Discord stored for it, as
// data.resolved describes it. ok is false when the option is absent or
// Discord resolved no file for its ID.
func (o Args) Attachment(name string) (*discordgo.MessageAttachment, bool) {
	op := o.opts[name]
	if op == nil || op.Type != discordgo.ApplicationCommandOptionAttachment || o.resolved == nil {
		return nil, false
	}
	id, _ := op.Value.(string)
	a := o.resolved.Attachments[id]
	return a, a != nil && a.URL != ""
}

// Focused is the option being typed in an autocomplete, and its text so
// far. Discord marks one; should a payload mark several, the first sent
// wins, so that the answer does not depend on map order.
func (o Args) Focused() (name, value string) {
	for _, op := range o.order {
		if op.Focused {
			s, _ := op.Value.(string)
			if s == "" && op.Value != nil {
				if f, ok := op.Value.(float64); ok {
					s = strconv.FormatFloat(f, 'g', -1, 64)
				}
			}
			return op.Name, s
		}
	}
	return "", ""
}

package guild

import (
	"strconv"
	"unicode/utf8"
)

// Validate checks what a store may keep: a known policy, channel IDs that
// are snowflakes, bounds that are not negative, and every list and text
// within the limits above. It returns an *Error naming the first problem,
// in words an admin understands.
//
// Bounds against the bot's own (gen.MaxSteps, MAX_QUEUE_PER_USER) are the
// command's to check: this package does not know them.
func (s Settings) Validate() error {
	if _, ok := ParsePolicy(string(s.Policy)); !ok {
		return &Error{"The content policy must be block, spoiler or allow."}
	}
	if len(s.Channels) > MaxChannels {
		return &Error{"A server can list at most " + strconv.Itoa(MaxChannels) + " channels."}
	}
	for _, ch := range s.Channels {
		if !IsSnowflake(ch) {
			return &Error{"A channel must be picked from the list."}
		}
	}
	b := s.Bounds
	if b.MaxSteps < 0 || b.MaxCount < 0 || b.MaxWidth < 0 || b.MaxHeight < 0 || b.MaxJobs < 0 || b.Cooldown < 0 {
		return &Error{"Limits cannot be negative; 0 means the bot's own."}
	}
	if (b.MaxWidth == 0) != (b.MaxHeight == 0) {
		return &Error{"The largest size needs a width and a height."}
	}
	if b.Cooldown > MaxCooldown {
		return &Error{"The cooldown can be at most " + MaxCooldown.String() + "."}
	}
	if n := utf8.RuneCountInString(s.DefaultNegative); n > MaxNegative {
		return &Error{"The default negative prompt can be at most " + strconv.Itoa(MaxNegative) + " characters long."}
	}
	if len(s.Banned) > MaxBanned {
		return &Error{"A server can ban at most " + strconv.Itoa(MaxBanned) + " words."}
	}
	for _, w := range s.Banned {
		if w == "" || utf8.RuneCountInString(w) > MaxBannedLen {
			return &Error{"A banned word must have 1 to " + strconv.Itoa(MaxBannedLen) + " characters."}
		}
	}
	if len(s.LoRAs) > MaxLoRAs {
		return &Error{"A server can have settings for at most " + strconv.Itoa(MaxLoRAs) + " LoRAs."}
	}
	for name, l := range s.LoRAs {
		n := 0
		for _, t := range l.Triggers {
			n += utf8.RuneCountInString(t) + 2
		}
		if n > MaxTriggerLen+2 {
			return &Error{"The trigger words of " + name + " can be at most " + strconv.Itoa(MaxTriggerLen) + " characters long."}
		}
	}
	return nil
}

// IsSnowflake reports whether id looks like a Discord ID: 1 to 20 digits.
// Guild and channel IDs are keys the bot stores; nothing else may be.
func IsSnowflake(id string) bool {
	if id == "" || len(id) > 20 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}

// Package guild holds what the admins of one Discord server set for it:
// its content policy, the channels the bot may generate in, bounds tighter
// than the bot's own, defaults, banned words and LoRAs, and per-LoRA trigger
// words, weights and NSFW marks. Every command reads them through one place
// (the router middleware in commands), so no command can read or change
// another server's.
//
// Rules:
//   - A guild's settings are changed only by a member of that guild with
//     Manage Server; the store keys them by the guild the interaction came
//     from, never by an ID a user typed.
//   - The bot-wide defaults (guild ID "") apply where a guild set nothing
//     and in direct messages; only the bot's home server (DISCORD_GUILD_ID)
//     changes them.
//   - Bounds only tighten the bot's own (gen.MaxSteps, MAX_QUEUE_PER_USER…).
//
// It knows nothing of Discord or bbolt.
package guild

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Policy is how a server treats age-restricted content.
type Policy string

const (
	// Block (the default): the default negative prompt is added, and
	// prompts with banned words and NSFW LoRAs are refused outside
	// age-restricted channels.
	Block Policy = "block"
	// Spoiler: results outside age-restricted channels are posted as
	// spoilers (SPOILER_ file names).
	Spoiler Policy = "spoiler"
	// Allow: anything goes, but only in age-restricted channels.
	Allow Policy = "allow"
)

// ParsePolicy reads a policy name; "" is Block.
func ParsePolicy(s string) (Policy, bool) {
	switch p := Policy(strings.ToLower(strings.TrimSpace(s))); p {
	case "":
		return Block, true
	case Block, Spoiler, Allow:
		return p, true
	}
	return "", false
}

// Bounds tighten the bot's own limits for one server. Zero means "the
// bot's own".
type Bounds struct {
	MaxSteps int `json:"max_steps,omitempty"`
	MaxCount int `json:"max_count,omitempty"`
	// MaxWidth and MaxHeight bound the image area: a job may use at most
	// MaxWidth×MaxHeight pixels, and no side longer than the longer of
	// the two (so a 1024x1024 bound admits 832x1216 portraits).
	MaxWidth  int `json:"max_width,omitempty"`
	MaxHeight int `json:"max_height,omitempty"`
	// MaxJobs is how many jobs one user may have queued or running.
	MaxJobs int `json:"max_jobs,omitempty"`
	// Cooldown is the least time between the starts of one user's jobs.
	Cooldown time.Duration `json:"cooldown,omitempty"`
}

// LoRA is what a server's admins set for one LoRA (/loras set). It wins
// over every other source (interface.md's precedence).
type LoRA struct {
	// Triggers replace the LoRA's own trigger words when set; empty: the
	// LoRA's own apply.
	Triggers []string `json:"triggers,omitempty"`
	// Weight is the preferred weight; 0: the LoRA's own.
	Weight float64 `json:"weight,omitempty"`
	// NSFW marks (true) or clears (false) the LoRA as age-restricted,
	// over what its metadata says; nil: its metadata decides.
	NSFW *bool `json:"nsfw,omitempty"`
}

func (l LoRA) empty() bool { return len(l.Triggers) == 0 && l.Weight == 0 && l.NSFW == nil }

// Settings are one server's, or with GuildID "" the bot-wide defaults.
type Settings struct {
	GuildID string `json:"guild_id"`
	Policy  Policy `json:"policy,omitempty"` // "": the defaults' (else Block)
	// Channels are where /imagine, /compare and result buttons may run;
	// empty: everywhere.
	Channels []string `json:"channels,omitempty"`
	Bounds   Bounds   `json:"bounds"`
	// DefaultNegative is added to every job's negative prompt (under the
	// Block policy it is how the server keeps content safe).
	DefaultNegative   string `json:"default_negative,omitempty"`
	DefaultCheckpoint string `json:"default_checkpoint,omitempty"`
	// Banned are words and LoRA names, lowercased; a prompt containing one
	// or a job using one is refused (outside age-restricted channels under
	// Block; everywhere else too).
	Banned []string `json:"banned,omitempty"`
	// LoRAs are per-LoRA settings by LoRA file name.
	LoRAs map[string]LoRA `json:"loras,omitempty"`
	// DMs says whether /imagine works in direct messages; nil: yes. Only
	// the bot-wide defaults' value counts (a DM belongs to no server).
	DMs *bool `json:"dms,omitempty"`
}

// Limits on what admins may store, so that one server cannot grow the
// database or every prompt check without bound.
const (
	MaxBanned     = 200
	MaxBannedLen  = 100
	MaxChannels   = 100
	MaxLoRAs      = 2000
	MaxNegative   = 1000
	MaxCooldown   = time.Hour
	MaxTriggerLen = 500
)

// Over lays s over base: every field s sets wins; LoRA entries merge by
// name (s's entry wins whole); banned words add up, since the defaults'
// bans are the bot owner's.
func (s Settings) Over(base Settings) Settings {
	out := base
	out.GuildID = s.GuildID
	if s.Policy != "" {
		out.Policy = s.Policy
	}
	if len(s.Channels) > 0 {
		out.Channels = s.Channels
	}
	b := &out.Bounds
	pick := func(dst *int, v int) {
		if v > 0 {
			*dst = v
		}
	}
	pick(&b.MaxSteps, s.Bounds.MaxSteps)
	pick(&b.MaxCount, s.Bounds.MaxCount)
	if s.Bounds.MaxWidth > 0 && s.Bounds.MaxHeight > 0 {
		b.MaxWidth, b.MaxHeight = s.Bounds.MaxWidth, s.Bounds.MaxHeight
	}
	pick(&b.MaxJobs, s.Bounds.MaxJobs)
	if s.Bounds.Cooldown > 0 {
		b.Cooldown = s.Bounds.Cooldown
	}
	if s.DefaultNegative != "" {
		out.DefaultNegative = s.DefaultNegative
	}
	if s.DefaultCheckpoint != "" {
		out.DefaultCheckpoint = s.DefaultCheckpoint
	}
	out.Banned = append(slices.Clone(base.Banned), s.Banned...)
	if len(s.LoRAs) > 0 {
		m := make(map[string]LoRA, len(base.LoRAs)+len(s.LoRAs))
		for k, v := range base.LoRAs {
			m[k] = v
		}
		for k, v := range s.LoRAs {
			m[k] = v
		}
		out.LoRAs = m
	}
	if s.DMs != nil {
		out.DMs = s.DMs
	}
	return out
}

// EffectivePolicy is the policy in force: Block unless set.
func (s Settings) EffectivePolicy() Policy {
	if s.Policy == "" {
		return Block
	}
	return s.Policy
}

// ChannelAllowed reports whether the bot may generate in channel.
func (s Settings) ChannelAllowed(channel string) bool {
	return len(s.Channels) == 0 || slices.Contains(s.Channels, channel)
}

// DMsAllowed reports whether /imagine works in direct messages.
func (s Settings) DMsAllowed() bool { return s.DMs == nil || *s.DMs }

// SetLoRA changes one LoRA's entry; an entry left empty is removed.
func (s *Settings) SetLoRA(name string, change func(*LoRA)) error {
	l := s.LoRAs[name]
	change(&l)
	if l.empty() {
		delete(s.LoRAs, name)
		return nil
	}
	if _, ok := s.LoRAs[name]; !ok && len(s.LoRAs) >= MaxLoRAs {
		return &Error{"This server already has settings for " + strconv.Itoa(MaxLoRAs) + " LoRAs; clear some first."}
	}
	if s.LoRAs == nil {
		s.LoRAs = map[string]LoRA{}
	}
	s.LoRAs[name] = l
	return nil
}

// NormalWord is a banned word as it is kept and compared: lower case,
// runs of spaces as one.
func NormalWord(word string) string { return strings.ToLower(strings.Join(strings.Fields(word), " ")) }

// Ban adds a word or LoRA name to the banned list.
func (s *Settings) Ban(word string) error {
	w := NormalWord(word)
	switch {
	case w == "":
		return &Error{"A banned word cannot be empty."}
	case len([]rune(w)) > MaxBannedLen:
		return &Error{"A banned word can be at most " + strconv.Itoa(MaxBannedLen) + " characters long."}
	case slices.Contains(s.Banned, w):
		return &Error{"\"" + w + "\" is already banned."}
	case len(s.Banned) >= MaxBanned:
		return &Error{"This server already bans " + strconv.Itoa(MaxBanned) + " words, the most it can; remove one first."}
	}
	s.Banned = append(s.Banned, w)
	return nil
}

// Unban removes a word; it reports whether it was banned.
func (s *Settings) Unban(word string) bool {
	w := NormalWord(word)
	i := slices.Index(s.Banned, w)
	if i < 0 {
		return false
	}
	s.Banned = slices.Delete(s.Banned, i, i+1)
	return true
}

// BannedIn returns the first banned word text contains (as a whole word or
// phrase, ignoring case), or "".
func (s Settings) BannedIn(text string) string {
	t := " " + strings.ToLower(strings.Join(strings.FieldsFunc(text, notWordRune), " ")) + " "
	for _, w := range s.Banned {
		if strings.Contains(t, " "+strings.Join(strings.FieldsFunc(w, notWordRune), " ")+" ") {
			return w
		}
	}
	return ""
}

func notWordRune(r rune) bool {
	return !(r == '_' || r == '-' || r == '\'' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 127)
}

// Error is a refused setting: one sentence for the admin.
type Error struct{ Msg string }

func (e *Error) Error() string       { return e.Msg }
func (e *Error) UserMessage() string { return e.Msg }

// ErrNotFound is never returned for settings (an unknown guild has empty
// ones); it is here for stores that must say a guild's record is missing.
var ErrNotFound = errors.New("guild: no settings")

// Store keeps settings per guild. Each method is one transaction.
type Store interface {
	// GuildSettings returns guild's settings; a guild that set nothing
	// has empty ones (with GuildID set). "" is the bot-wide defaults.
	GuildSettings(guildID string) (Settings, error)
	// UpdateGuildSettings applies change to guild's settings and stores
	// the result in one transaction; an error from change stores nothing
	// and is returned as is.
	//
	// The result must pass Settings.Validate, else nothing is stored and
	// the *Error is returned: no command can store more than the limits
	// above, whatever it forgot to check.
	UpdateGuildSettings(guildID string, change func(*Settings) error) (Settings, error)
	// GuildAndDefaults returns guild's own settings and the bot-wide
	// defaults read together (one transaction), for the one place that
	// computes an interaction's settings: own.Over(defaults). With guildID
	// "" both are the defaults.
	GuildAndDefaults(guildID string) (own, defaults Settings, err error)
}

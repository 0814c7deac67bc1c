package imagine

import (
	"fmt"
	"strings"

	"lorabot/gen"
	"lorabot/guild"
	"lorabot/lora"
)

// Scope is where a request is made: the settings in force there (the
// server's own over the bot-wide defaults, or the defaults alone in a
// direct message) and the channel it came from. It is plain data so that
// every rule the planner applies per server is tested without Discord.
type Scope struct {
	Settings guild.Settings
	// AgeRestricted is the channel's age-restricted (NSFW) flag.
	AgeRestricted bool
	// DM: a direct message. A DM belongs to no server and no one moderates
	// it, so it takes the defaults' settings under the Block policy
	// whatever the defaults' policy is, and counts as not age-restricted.
	DM bool
}

// Policy is the content policy in force: Block in a DM, else the settings'.
func (s Scope) Policy() guild.Policy {
	if s.DM {
		return guild.Block
	}
	return s.Settings.EffectivePolicy()
}

// ageRestricted is whether the place counts as age-restricted.
func (s Scope) ageRestricted() bool { return s.AgeRestricted && !s.DM }

// Place is the content policy's verdict on a job that carries no prompt to
// judge (an upscale, a description): whether it may run here at all, and
// whether its result is posted as a spoiler.
func (s Scope) Place() (spoiler bool, err error) {
	return ContentPolicy(s.Policy(), s.ageRestricted(), Content{})
}

// Content is what the content policy looks at in one job. A banned LoRA is
// named before a banned word, since a tag typed in the prompt holds the
// LoRA's name as a word too.
type Content struct {
	// BannedWord is the first of the server's banned words found in the
	// prompt, the preset's prompt or the trigger words added; "" for none.
	BannedWord string
	// BannedLoRA is the first LoRA of the job the server bans by name.
	BannedLoRA string
	// NSFWLoRA is the first LoRA of the job marked NSFW (lora.LoRA.NSFW).
	NSFWLoRA string
}

// ContentPolicy decides whether a job may run where it was asked for, and
// whether its results are posted as spoilers. The rules:
//
//   - Block (the default): banned words, banned LoRAs and NSFW LoRAs are
//     refused outside age-restricted channels and allowed in them; the
//     line between safe and age-restricted is the channel's.
//   - Spoiler: NSFW LoRAs are allowed everywhere, and results outside
//     age-restricted channels are spoilers. A banned word or LoRA is
//     refused everywhere: outside Block there is no other line for a ban
//     to draw, and a ban that only blurred would not be one.
//   - Allow: generation only in age-restricted channels, where anything
//     but a banned word or LoRA goes.
//
// A refusal is a *gen.InputError naming the server's rule.
func ContentPolicy(p guild.Policy, ageRestricted bool, c Content) (spoiler bool, err error) {
	switch p {
	case guild.Allow:
		if !ageRestricted {
			return false, &gen.InputError{Msg: "This server allows generating images only in age-restricted channels."}
		}
		return false, banned(c)
	case guild.Spoiler:
		return !ageRestricted, banned(c)
	}
	if ageRestricted {
		return false, nil
	}
	switch {
	case c.BannedLoRA != "":
		return false, &gen.InputError{Msg: fmt.Sprintf("This server does not allow the LoRA %s outside age-restricted channels.", c.BannedLoRA)}
	case c.BannedWord != "":
		return false, &gen.InputError{Msg: fmt.Sprintf("This server does not allow %q outside age-restricted channels.", c.BannedWord)}
	case c.NSFWLoRA != "":
		return false, &gen.InputError{Msg: fmt.Sprintf("The LoRA %s is marked NSFW; this server allows it only in age-restricted channels.", c.NSFWLoRA)}
	}
	return false, nil
}

// banned refuses a banned word or LoRA wherever the job is.
func banned(c Content) error {
	switch {
	case c.BannedLoRA != "":
		return &gen.InputError{Msg: fmt.Sprintf("This server does not allow the LoRA %s.", c.BannedLoRA)}
	case c.BannedWord != "":
		return &gen.InputError{Msg: fmt.Sprintf("This server does not allow %q in prompts.", c.BannedWord)}
	}
	return nil
}

// bannedLoRA reports whether the server bans l by its file name or alias,
// compared as guild.Settings.Ban stores words: lower-cased, white space
// collapsed. A banned word that is merely part of a LoRA's name does not
// ban the LoRA: "anime" is a word to keep out of prompts, not every LoRA
// with "anime" in its name.
func bannedLoRA(s guild.Settings, l lora.LoRA) bool {
	norm := func(v string) string { return strings.ToLower(strings.Join(strings.Fields(v), " ")) }
	name, alias := norm(l.Name), norm(l.Alias)
	for _, w := range s.Banned {
		if w == name || w == alias {
			return true
		}
	}
	return false
}

// OverrideOf is a server's setting for one LoRA as the catalog lays it over
// its own facts.
func OverrideOf(l guild.LoRA) lora.Override {
	return lora.Override{Triggers: l.Triggers, Weight: l.Weight, NSFW: l.NSFW}
}

// ResolverFor is the catalog as the server of s sees it: its LoRA settings
// (/loras set) laid over r, the first source of trigger words, preferred
// weight and NSFW mark.
func ResolverFor(r lora.Resolver, s guild.Settings) lora.Resolver {
	if len(s.LoRAs) == 0 {
		return r
	}
	m := make(map[string]lora.Override, len(s.LoRAs))
	for name, l := range s.LoRAs {
		m[name] = OverrideOf(l)
	}
	return lora.WithOverrides(r, m)
}

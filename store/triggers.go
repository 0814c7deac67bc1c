package store

import (
	"fmt"
	"strings"

	"lorabot/guild"
	"lorabot/lora"
)

var _ lora.TriggerStore = (*DB)(nil)

// Since schema version 3 the trigger words admins set are guild settings
// (guild.Settings.LoRAs); the bot-wide ones are the defaults' ("" guild).
// TriggerOverrides and SetTriggerOverride read and write those, for
// /loras triggers until /loras set writes each server's own through
// UpdateGuildSettings.

// triggerPrefix was schema version 2's key prefix for an override in
// "settings": trigger/<LoRA name> → comma-separated words. migrateV2toV3
// moves them into the defaults.
const triggerPrefix = "trigger/"

// TriggerOverrides returns the bot-wide trigger words: LoRA name → text.
func (db *DB) TriggerOverrides() (map[string]string, error) {
	s, err := db.GuildSettings("")
	if err != nil {
		return nil, fmt.Errorf("read trigger overrides: %w", err)
	}
	out := map[string]string{}
	for name, l := range s.LoRAs {
		if len(l.Triggers) > 0 {
			out[name] = strings.Join(l.Triggers, ", ")
		}
	}
	return out, nil
}

// SetTriggerOverride sets the bot-wide trigger words of one LoRA; empty
// words remove them, so the LoRA's own trigger words apply again.
func (db *DB) SetTriggerOverride(name, words string) error {
	_, err := db.UpdateGuildSettings("", func(s *guild.Settings) error {
		return s.SetLoRA(name, func(l *guild.LoRA) { l.Triggers = lora.SplitTriggers(words) })
	})
	if err != nil {
		return fmt.Errorf("set the trigger words of %s: %w", name, err)
	}
	return nil
}

package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"lorabot/guild"
)

var _ guild.Store = (*DB)(nil)

// ErrBadGuild means a guild ID is neither "" (the bot-wide defaults) nor a
// Discord snowflake. Guild IDs come from interactions, never from what a
// user typed, so this is a bug in the caller.
var ErrBadGuild = errors.New("invalid guild ID")

// bucketGuilds holds each server's settings (schema version 3):
//
//	"guilds" <guild ID> → guild.Settings (JSON)
//	         "defaults" → guild.Settings (JSON) of the bot-wide defaults
//
// bbolt keys cannot be empty, so the defaults (guild ID "") live under a
// key no snowflake can be.
var (
	bucketGuilds = []byte("guilds")
	keyDefaults  = []byte("defaults")
)

// keyAdopt, in "meta", marks trigger words that migrateV2toV3 moved into
// the defaults and that the first start still has to hand to the home
// guild (AdoptDefaults).
var keyAdopt = []byte("adopt-defaults")

func guildKey(guildID string) ([]byte, error) {
	if guildID == "" {
		return keyDefaults, nil
	}
	if !guild.IsSnowflake(guildID) {
		return nil, fmt.Errorf("%w: %q", ErrBadGuild, clipID(guildID))
	}
	return []byte(guildID), nil
}

// clipID keeps an absurd ID from filling a log line.
func clipID(id string) string {
	if len(id) > 40 {
		return id[:40] + "…"
	}
	return id
}

// readGuild decodes one guild's record; a guild that set nothing has empty
// settings. GuildID is always the one asked for, whatever the record says.
func readGuild(tx *bolt.Tx, key []byte, guildID string) (guild.Settings, error) {
	s := guild.Settings{GuildID: guildID}
	b := tx.Bucket(bucketGuilds)
	if b == nil {
		return s, nil
	}
	raw := b.Get(key)
	if raw == nil {
		return s, nil
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return guild.Settings{GuildID: guildID}, fmt.Errorf("settings of guild %q: decode: %w", key, err)
	}
	s.GuildID = guildID
	return s, nil
}

func putGuild(tx *bolt.Tx, key []byte, s guild.Settings) error {
	raw, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("settings of guild %q: encode: %w", key, err)
	}
	b, err := tx.CreateBucketIfNotExists(bucketGuilds)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}

// GuildSettings returns a guild's own settings, or with "" the bot-wide
// defaults; a guild that set nothing has empty ones.
func (db *DB) GuildSettings(guildID string) (guild.Settings, error) {
	key, err := guildKey(guildID)
	if err != nil {
		return guild.Settings{}, fmt.Errorf("read guild settings: %w", err)
	}
	var s guild.Settings
	err = db.bolt.View(func(tx *bolt.Tx) error {
		s, err = readGuild(tx, key, guildID)
		return err
	})
	if err != nil {
		return guild.Settings{}, fmt.Errorf("read guild settings: %w", err)
	}
	return s, nil
}

// GuildAndDefaults reads a guild's own settings and the defaults in one
// transaction, so an interaction never sees one from before an admin's
// change and the other from after.
func (db *DB) GuildAndDefaults(guildID string) (own, defaults guild.Settings, err error) {
	key, err := guildKey(guildID)
	if err != nil {
		return guild.Settings{}, guild.Settings{}, fmt.Errorf("read guild settings: %w", err)
	}
	err = db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		if defaults, err = readGuild(tx, keyDefaults, ""); err != nil {
			return err
		}
		if guildID == "" {
			own = defaults
			return nil
		}
		own, err = readGuild(tx, key, guildID)
		return err
	})
	if err != nil {
		return guild.Settings{}, guild.Settings{}, fmt.Errorf("read guild settings: %w", err)
	}
	return own, defaults, nil
}

// UpdateGuildSettings applies change to a guild's settings (or with "" the
// defaults') and stores them, in one transaction. An error from change is
// returned as it is, so an admin sees its sentence; a result that fails
// guild.Settings.Validate is not stored either.
func (db *DB) UpdateGuildSettings(guildID string, change func(*guild.Settings) error) (guild.Settings, error) {
	key, err := guildKey(guildID)
	if err != nil {
		return guild.Settings{}, fmt.Errorf("update guild settings: %w", err)
	}
	var out guild.Settings
	var refused error
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		s, err := readGuild(tx, key, guildID)
		if err != nil {
			return err
		}
		if err := change(&s); err != nil {
			refused = err
			return err
		}
		s.GuildID = guildID
		if err := s.Validate(); err != nil {
			refused = err
			return err
		}
		out = s
		return putGuild(tx, key, s)
	})
	if refused != nil {
		return guild.Settings{}, refused
	}
	if err != nil {
		return guild.Settings{}, fmt.Errorf("update settings of guild %q: %w", guildID, err)
	}
	return out, nil
}

// AdoptDefaults finishes the move of the trigger words that admins set
// before servers had settings of their own (schema version 2's global
// overrides, which migrateV2toV3 put in the defaults). With homeGuild set
// (DISCORD_GUILD_ID), they were that server's admins' words: each LoRA's
// triggers move from the defaults into the home guild, unless the home
// guild set its own for that LoRA (then the defaults keep theirs). With
// homeGuild "", they stay the bot-wide defaults every guild can override.
// Either way this happens once, at the first start after the migration; it
// returns the LoRAs whose words moved.
func (db *DB) AdoptDefaults(homeGuild string) (moved []string, err error) {
	if homeGuild != "" {
		if _, err := guildKey(homeGuild); err != nil {
			return nil, fmt.Errorf("adopt the bot-wide trigger words: %w", err)
		}
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta.Get(keyAdopt) == nil {
			return nil
		}
		if homeGuild != "" {
			defaults, err := readGuild(tx, keyDefaults, "")
			if err != nil {
				return err
			}
			home, err := readGuild(tx, []byte(homeGuild), homeGuild)
			if err != nil {
				return err
			}
			names := make([]string, 0, len(defaults.LoRAs))
			for name := range defaults.LoRAs {
				names = append(names, name)
			}
			slices.Sort(names)
			for _, name := range names {
				l := defaults.LoRAs[name]
				if len(l.Triggers) == 0 || len(home.LoRAs[name].Triggers) > 0 {
					continue
				}
				if home.LoRAs == nil {
					home.LoRAs = map[string]guild.LoRA{}
				}
				h := home.LoRAs[name]
				h.Triggers = l.Triggers
				home.LoRAs[name] = h
				l.Triggers = nil
				if l.Weight == 0 && l.NSFW == nil {
					delete(defaults.LoRAs, name)
				} else {
					defaults.LoRAs[name] = l
				}
				moved = append(moved, name)
			}
			if len(moved) > 0 {
				if err := putGuild(tx, keyDefaults, defaults); err != nil {
					return err
				}
				if err := putGuild(tx, []byte(homeGuild), home); err != nil {
					return err
				}
			}
		}
		return meta.Delete(keyAdopt)
	})
	if err != nil {
		return nil, fmt.Errorf("adopt the bot-wide trigger words into guild %s: %w", homeGuild, err)
	}
	return moved, nil
}

// checkGuilds decodes every guild record, for Check.
func checkGuilds(tx *bolt.Tx) error {
	b := tx.Bucket(bucketGuilds)
	if b == nil {
		return nil
	}
	var errs []error
	b.ForEach(func(k, v []byte) error {
		if string(k) != string(keyDefaults) && !guild.IsSnowflake(string(k)) {
			errs = append(errs, fmt.Errorf("guild settings under key %q, which is no guild ID", k))
			return nil
		}
		var s guild.Settings
		if err := json.Unmarshal(v, &s); err != nil {
			errs = append(errs, fmt.Errorf("settings of guild %q: decode: %w", k, err))
		}
		return nil
	})
	return errors.Join(errs...)
}

package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"lorabot/guild"
	"lorabot/lora"
)

// migrateV2toV3 gives servers settings of their own (the "guilds" bucket,
// see guilds.go). Version 2 kept the trigger words admins set as global
// overrides, "settings" trigger/<LoRA> → comma-separated text; they become
// the bot-wide defaults' LoRA triggers, and the keys are deleted. The file
// does not know DISCORD_GUILD_ID, so the move into the home guild is left
// to the first start (AdoptDefaults), marked in "meta".
//
// The limits of guild.Settings are not applied: a migration keeps what
// admins had.
func migrateV2toV3(db *DB, tx *bolt.Tx) error {
	if _, err := tx.CreateBucketIfNotExists(bucketGuilds); err != nil {
		return fmt.Errorf("create bucket %s: %w", bucketGuilds, err)
	}
	settings := tx.Bucket(bucketSettings)
	if settings == nil {
		return nil
	}
	defaults, err := readGuild(tx, keyDefaults, "")
	if err != nil {
		return err
	}
	var keys [][]byte
	c := settings.Cursor()
	prefix := []byte(triggerPrefix)
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		keys = append(keys, bytes.Clone(k))
		name := string(k[len(prefix):])
		t := lora.SplitTriggers(string(v))
		if name == "" || len(t) == 0 {
			continue
		}
		if defaults.LoRAs == nil {
			defaults.LoRAs = map[string]guild.LoRA{}
		}
		l := defaults.LoRAs[name]
		l.Triggers = t
		defaults.LoRAs[name] = l
	}
	for _, k := range keys {
		if err := settings.Delete(k); err != nil {
			return fmt.Errorf("delete %q: %w", k, err)
		}
	}
	if len(defaults.LoRAs) == 0 {
		return nil
	}
	if err := putGuild(tx, keyDefaults, defaults); err != nil {
		return err
	}
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	db.log.Info("migration moved the admins' trigger words into the bot-wide defaults", "loras", len(defaults.LoRAs))
	return meta.Put(keyAdopt, []byte("pending"))
}

// triggerPrefix was schema version 2's key prefix for an admin's trigger
// words in "settings": trigger/<LoRA name> → comma-separated words. Since
// version 3 they are guild settings (guild.Settings.LoRAs).
const triggerPrefix = "trigger/"

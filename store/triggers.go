package store

import (
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"lorabot/lora"
)

var _ lora.TriggerStore = (*DB)(nil)

// Trigger overrides live among the settings, one key per LoRA.
const triggerPrefix = "trigger/"

// TriggerOverrides returns the trigger words admins set: LoRA name → text.
func (db *DB) TriggerOverrides() (map[string]string, error) {
	out := map[string]string{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketSettings).Cursor()
		p := []byte(triggerPrefix)
		for k, v := c.Seek(p); k != nil && strings.HasPrefix(string(k), triggerPrefix); k, v = c.Next() {
			out[strings.TrimPrefix(string(k), triggerPrefix)] = string(v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read trigger overrides: %w", err)
	}
	return out, nil
}

// SetTriggerOverride sets the admin's trigger words for one LoRA; empty
// words remove the override, so the LoRA's own trigger words apply again.
func (db *DB) SetTriggerOverride(name, words string) error {
	key := triggerPrefix + name
	if strings.TrimSpace(words) == "" {
		return db.DeleteSetting(key)
	}
	return db.SetSetting(key, []byte(strings.TrimSpace(words)))
}

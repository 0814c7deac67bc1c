package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Settings are the bot's own key/value pairs (admin overrides such as a
// LoRA's trigger words), kept apart from users' data. Callers choose the key
// names and the encoding of values; a prefix per feature ("trigger/…") keeps
// them apart.

// SetSetting stores value under key, replacing any previous value. An empty
// value is stored as such; use DeleteSetting to remove a key.
func (db *DB) SetSetting(key string, value []byte) error {
	if err := checkSettingKey(key); err != nil {
		return fmt.Errorf("set setting: %w", err)
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		// bbolt stores a nil value as a key with no value; make it explicit.
		return tx.Bucket(bucketSettings).Put([]byte(key), append([]byte{}, value...))
	})
	if err != nil {
		return fmt.Errorf("set setting %q: %w", key, err)
	}
	return nil
}

// Setting returns the value stored under key; ok is false when there is none.
// The returned slice is the caller's own.
func (db *DB) Setting(key string) (value []byte, ok bool, err error) {
	if err := checkSettingKey(key); err != nil {
		return nil, false, fmt.Errorf("read setting: %w", err)
	}
	err = db.bolt.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketSettings).Get([]byte(key)); v != nil {
			value, ok = bytes.Clone(v), true
			if value == nil {
				value = []byte{}
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("read setting %q: %w", key, err)
	}
	return value, ok, nil
}

// DeleteSetting removes key; a missing key is not an error.
func (db *DB) DeleteSetting(key string) error {
	if err := checkSettingKey(key); err != nil {
		return fmt.Errorf("delete setting: %w", err)
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSettings).Delete([]byte(key))
	})
	if err != nil {
		return fmt.Errorf("delete setting %q: %w", key, err)
	}
	return nil
}

func checkSettingKey(key string) error {
	if key == "" || len(key) > maxSettingKeyLen {
		return fmt.Errorf("%w: %d bytes", ErrBadSetting, len(key))
	}
	return nil
}

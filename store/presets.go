package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"lorabot/gen"
)

var _ gen.PresetStore = (*DB)(nil)

// SavePreset creates or replaces the user's preset of that name, ignoring
// case: saving "Anime" over "anime" replaces it and keeps the new spelling.
// The name is trimmed and must have 1 to gen.MaxPresetNameLen characters, no
// control character, and not be "none" (gen.ErrPresetName). Creating one
// more than gen.MaxPresetsPerUser fails with gen.ErrPresetLimit; replacing
// never does. The seed and the image count are never saved.
func (db *DB) SavePreset(user string, p gen.Preset) error {
	if err := checkUser(user); err != nil {
		return fmt.Errorf("save preset: %w", err)
	}
	name, key, err := cleanName(p.Name)
	if err != nil {
		return fmt.Errorf("save preset %q: %w", p.Name, err)
	}
	p.Name = name
	p.Options = p.Options.ForPreset()
	raw, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("save preset %q: encode: %w", name, err)
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		_, presets, err := userBuckets(tx, user)
		if err != nil {
			return err
		}
		return putPreset(presets, key, raw, false)
	})
	if err != nil {
		return fmt.Errorf("save preset %q: %w", name, err)
	}
	return nil
}

// Presets lists the user's presets sorted by name, ignoring case; none is an
// empty list, not an error.
func (db *DB) Presets(user string) ([]gen.Preset, error) {
	if err := checkUser(user); err != nil {
		return nil, fmt.Errorf("list presets: %w", err)
	}
	var out []gen.Preset
	err := db.bolt.View(func(tx *bolt.Tx) error {
		presets := readPresets(tx, user)
		if presets == nil {
			return nil
		}
		n := 0
		presets.ForEach(func(_, _ []byte) error { n++; return nil })
		out = make([]gen.Preset, 0, n)
		// Keys are folded names, so bbolt's byte order is the order by name
		// ignoring case.
		return presets.ForEach(func(k, v []byte) error {
			p, err := decodePreset(k, v)
			if err != nil {
				return err
			}
			out = append(out, p)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list presets: %w", err)
	}
	return out, nil
}

// Preset returns the user's preset of that name, ignoring case, or
// gen.ErrPresetNotFound.
func (db *DB) Preset(user, name string) (gen.Preset, error) {
	if err := checkUser(user); err != nil {
		return gen.Preset{}, fmt.Errorf("load preset: %w", err)
	}
	var p gen.Preset
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		p, err = getPreset(readPresets(tx, user), lookupKey(name))
		return err
	})
	if err != nil {
		return gen.Preset{}, fmt.Errorf("load preset %q: %w", name, err)
	}
	return p, nil
}

// DeletePreset removes the user's preset of that name, ignoring case, or
// fails with gen.ErrPresetNotFound. When it was the default, the user has no
// default any more.
func (db *DB) DeletePreset(user, name string) error {
	if err := checkUser(user); err != nil {
		return fmt.Errorf("delete preset: %w", err)
	}
	key := lookupKey(name)
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		u := readUser(tx, user)
		if _, err := getPreset(readPresets(tx, user), key); err != nil {
			return err
		}
		if err := u.Bucket(bucketPresets).Delete(key); err != nil {
			return err
		}
		if bytes.Equal(u.Get(keyDefault), key) {
			return u.Delete(keyDefault)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete preset %q: %w", name, err)
	}
	return nil
}

// SetDefaultPreset makes the user's preset of that name the one /imagine
// applies when it names none. "" or "none" (any case) clears the default.
// The preset must exist (gen.ErrPresetNotFound).
func (db *DB) SetDefaultPreset(user, name string) error {
	if err := checkUser(user); err != nil {
		return fmt.Errorf("set default preset: %w", err)
	}
	trimmed := strings.TrimSpace(name)
	clear := trimmed == "" || strings.EqualFold(trimmed, reservedName)
	key := lookupKey(name)
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		if clear {
			if u := readUser(tx, user); u != nil {
				return u.Delete(keyDefault)
			}
			return nil
		}
		if _, err := getPreset(readPresets(tx, user), key); err != nil {
			return err
		}
		return readUser(tx, user).Put(keyDefault, key)
	})
	if err != nil {
		return fmt.Errorf("set default preset %q: %w", name, err)
	}
	return nil
}

// DefaultPreset returns the user's default preset; ok is false when none is set.
func (db *DB) DefaultPreset(user string) (p gen.Preset, ok bool, err error) {
	if err := checkUser(user); err != nil {
		return gen.Preset{}, false, fmt.Errorf("load default preset: %w", err)
	}
	err = db.bolt.View(func(tx *bolt.Tx) error {
		u := readUser(tx, user)
		if u == nil || u.Get(keyDefault) == nil {
			return nil
		}
		p, err = getPreset(u.Bucket(bucketPresets), u.Get(keyDefault))
		if errors.Is(err, gen.ErrPresetNotFound) {
			// DeletePreset clears the default in the same transaction, so
			// this only happens to a file edited by hand: treat it as unset.
			return nil
		}
		ok = err == nil
		return err
	})
	if err != nil {
		return gen.Preset{}, false, fmt.Errorf("load default preset: %w", err)
	}
	return p, ok, nil
}

// readUser is the user's bucket, or nil when the user never saved anything.
func readUser(tx *bolt.Tx, user string) *bolt.Bucket {
	return tx.Bucket(bucketUsers).Bucket([]byte(user))
}

// readPresets is the user's presets bucket, or nil.
func readPresets(tx *bolt.Tx, user string) *bolt.Bucket {
	if u := readUser(tx, user); u != nil {
		return u.Bucket(bucketPresets)
	}
	return nil
}

// userBuckets returns the user's bucket and presets bucket, creating them.
func userBuckets(tx *bolt.Tx, user string) (u, presets *bolt.Bucket, err error) {
	u, err = tx.Bucket(bucketUsers).CreateBucketIfNotExists([]byte(user))
	if err != nil {
		return nil, nil, fmt.Errorf("user bucket: %w", err)
	}
	presets, err = u.CreateBucketIfNotExists(bucketPresets)
	if err != nil {
		return nil, nil, fmt.Errorf("presets bucket: %w", err)
	}
	return u, presets, nil
}

// getPreset decodes the preset at key; a nil bucket or key is not found.
func getPreset(presets *bolt.Bucket, key []byte) (gen.Preset, error) {
	if presets == nil || key == nil {
		return gen.Preset{}, gen.ErrPresetNotFound
	}
	raw := presets.Get(key)
	if raw == nil {
		return gen.Preset{}, gen.ErrPresetNotFound
	}
	return decodePreset(key, raw)
}

// putPreset stores an encoded preset at key. A new key counts against
// gen.MaxPresetsPerUser; an existing one is replaced, unless mustBeNew.
func putPreset(presets *bolt.Bucket, key, raw []byte, mustBeNew bool) error {
	if presets.Get(key) != nil {
		if mustBeNew {
			return gen.ErrPresetExists
		}
	} else if n := countKeys(presets); n >= gen.MaxPresetsPerUser {
		return fmt.Errorf("%w: %d presets is the most one user may keep", gen.ErrPresetLimit, gen.MaxPresetsPerUser)
	}
	return presets.Put(key, raw)
}

func countKeys(b *bolt.Bucket) int {
	n := 0
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n++
	}
	return n
}

func decodePreset(key, raw []byte) (gen.Preset, error) {
	var p gen.Preset
	if err := json.Unmarshal(raw, &p); err != nil {
		return gen.Preset{}, fmt.Errorf("decode preset record %q: %w", key, err)
	}
	return p, nil
}

// checkRecords decodes every preset and share, and checks that each default
// names an existing preset.
func checkRecords(tx *bolt.Tx) error {
	var errs []error
	tx.Bucket(bucketUsers).ForEachBucket(func(user []byte) error {
		u := tx.Bucket(bucketUsers).Bucket(user)
		presets := u.Bucket(bucketPresets)
		if presets != nil {
			presets.ForEach(func(k, v []byte) error {
				p, err := decodePreset(k, v)
				if err != nil {
					errs = append(errs, fmt.Errorf("user %s: %w", user, err))
				} else if !bytes.Equal(foldName(p.Name), k) {
					errs = append(errs, fmt.Errorf("user %s: preset %q stored under key %q", user, p.Name, k))
				}
				return nil
			})
		}
		if d := u.Get(keyDefault); d != nil && (presets == nil || presets.Get(d) == nil) {
			errs = append(errs, fmt.Errorf("user %s: default preset %q does not exist", user, d))
		}
		return nil
	})
	tx.Bucket(bucketShares).ForEach(func(k, v []byte) error {
		if _, err := decodeShare(k, v); err != nil {
			errs = append(errs, err)
		}
		return nil
	})
	return errors.Join(errs...)
}

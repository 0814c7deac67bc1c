package store

import (
	"bytes"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"lorabot/gen"
)

// Schema version 0 is the layout before the file carried a version:
//
//	"presets"  "<user ID>/<name as typed>" → gen.Options (JSON, seed and count included)
//	"defaults" <user ID> → name as typed
//
// It kept every user's presets in one flat bucket under a composite key,
// which made isolation a matter of string prefixes. Version 1 gives each user
// a bucket of their own and stores the name inside the record.
var (
	v0BucketPresets  = []byte("presets")
	v0BucketDefaults = []byte("defaults")
)

func isV0(tx *bolt.Tx) bool {
	return tx.Bucket(v0BucketPresets) != nil || tx.Bucket(v0BucketDefaults) != nil
}

// migrateV0toV1 moves every version 0 preset and default into version 1's
// per-user buckets, then drops version 0's buckets. A record it cannot carry
// faithfully (bad key, bad JSON, invalid name) fails the migration, which
// leaves the file untouched for the operator to fix. Two names that differ
// only in case cannot both live in version 1: the first in key order is
// kept and the other is logged.
func migrateV0toV1(db *DB, tx *bolt.Tx) error {
	if err := ensureBuckets(tx); err != nil {
		return err
	}
	if old := tx.Bucket(v0BucketPresets); old != nil {
		err := old.ForEach(func(k, v []byte) error {
			user, name, ok := bytes.Cut(k, []byte("/"))
			if !ok || checkUser(string(user)) != nil {
				return fmt.Errorf("preset key %q: not <user>/<name>", k)
			}
			clean, key, err := cleanName(string(name))
			if err != nil {
				return fmt.Errorf("preset key %q: %w", k, err)
			}
			var opts gen.Options
			if err := json.Unmarshal(v, &opts); err != nil {
				return fmt.Errorf("preset key %q: decode: %w", k, err)
			}
			_, presets, err := userBuckets(tx, string(user))
			if err != nil {
				return err
			}
			if presets.Get(key) != nil {
				db.log.Warn("migration dropped a preset whose name differs only in case from another",
					"user", string(user), "dropped", clean)
				return nil
			}
			raw, err := json.Marshal(gen.Preset{Name: clean, Options: opts.ForPreset()})
			if err != nil {
				return fmt.Errorf("preset key %q: encode: %w", k, err)
			}
			// The limit is not applied: a migration keeps what users had.
			return presets.Put(key, raw)
		})
		if err != nil {
			return err
		}
		if err := tx.DeleteBucket(v0BucketPresets); err != nil {
			return err
		}
	}
	if old := tx.Bucket(v0BucketDefaults); old != nil {
		err := old.ForEach(func(user, name []byte) error {
			key := foldName(string(name))
			u := readUser(tx, string(user))
			if u == nil || u.Bucket(bucketPresets).Get(key) == nil {
				db.log.Warn("migration dropped a default naming no preset", "user", string(user), "default", string(name))
				return nil
			}
			return u.Put(keyDefault, key)
		})
		if err != nil {
			return err
		}
		if err := tx.DeleteBucket(v0BucketDefaults); err != nil {
			return err
		}
	}
	return nil
}

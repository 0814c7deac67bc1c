package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"lorabot/civitai"
)

var _ civitai.Store = (*DB)(nil)

// bucketCivitai holds what Civitai answered for each LoRA hash:
//
//	"civitai" <lower-case hash> → civitai.Info (JSON)
//
// It is a cache an older binary may ignore, so it came without a schema
// version of its own (see topBuckets).
var bucketCivitai = []byte("civitai")

// errBadHash means a hash is empty, too long or not hex.
var errBadHash = errors.New("invalid LoRA hash")

func hashKey(h string) ([]byte, error) {
	h = strings.ToLower(strings.TrimSpace(h))
	if h == "" || len(h) > 128 || strings.Trim(h, "0123456789abcdef") != "" {
		return nil, fmt.Errorf("%w: %q", errBadHash, clipID(h))
	}
	return []byte(h), nil
}

// CivitaiInfo is what was kept of hash's lookup; ok is false when it was
// never looked up.
func (db *DB) CivitaiInfo(hash string) (civitai.Info, bool, error) {
	key, err := hashKey(hash)
	if err != nil {
		return civitai.Info{}, false, err
	}
	var in civitai.Info
	var ok bool
	err = db.bolt.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketCivitai).Get(key)
		if raw == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(raw, &in)
	})
	if err != nil {
		return civitai.Info{}, false, fmt.Errorf("read civitai info %s: %w", key, err)
	}
	in.Hash = string(key)
	return in, ok, nil
}

// PutCivitaiInfo keeps in under its hash, replacing what was there.
func (db *DB) PutCivitaiInfo(in civitai.Info) error {
	key, err := hashKey(in.Hash)
	if err != nil {
		return err
	}
	in.Hash = string(key)
	raw, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode civitai info: %w", err)
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCivitai).Put(key, raw)
	})
}

package store

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"lorabot/gen"
)

// Share codes are ShareCodeLen characters of shareAlphabet: digits and
// capitals without 0, 1, I and O, which read alike. 32 symbols give 40 random
// bits per code, and a power of two keeps the draw unbiased.
const (
	ShareCodeLen  = 8
	shareAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
	// shareTries bounds the redraws on a collision, which at 40 bits needs
	// about a million shares to happen even once.
	shareTries = 8
)

// shareRecord is what a code holds: a copy of the preset as it was shared,
// so later edits by the owner do not reach those who import it.
type shareRecord struct {
	Owner   string     `json:"owner"`
	Preset  gen.Preset `json:"preset"`
	Created time.Time  `json:"created"`
}

// MaxSharesPerUser bounds the share codes one user keeps; sharing one more
// retires their oldest code, so the file cannot grow without end.
const MaxSharesPerUser = 50

// SharePreset returns a code that anyone can import. The code holds a copy
// of the preset as it is now; sharing the same unchanged preset again gives
// the same code.
func (db *DB) SharePreset(user, name string) (string, error) {
	if err := checkUser(user); err != nil {
		return "", fmt.Errorf("share preset: %w", err)
	}
	var code string
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		p, err := getPreset(readPresets(tx, user), lookupKey(name))
		if err != nil {
			return err
		}
		shares := tx.Bucket(bucketShares)
		same, oldest, n, err := ownShares(shares, user, p)
		if err != nil {
			return err
		}
		if same != "" {
			code = same // the preset is unchanged since it was last shared
			return nil
		}
		if n >= MaxSharesPerUser {
			if err := shares.Delete([]byte(oldest)); err != nil {
				return err
			}
		}
		raw, err := json.Marshal(shareRecord{Owner: user, Preset: p, Created: time.Now().UTC()})
		if err != nil {
			return fmt.Errorf("encode share: %w", err)
		}
		for range shareTries {
			c := newShareCode()
			if shares.Get([]byte(c)) == nil {
				code = c
				return shares.Put([]byte(c), raw)
			}
		}
		return errors.New("no unused share code after several draws")
	})
	if err != nil {
		return "", fmt.Errorf("share preset %q: %w", name, err)
	}
	return code, nil
}

// ImportPreset copies the preset behind code into the user's presets under
// name, or under the shared name when name is "". The code is read ignoring
// case and surrounding spaces. It fails with gen.ErrShareNotFound for an
// unknown code, gen.ErrPresetExists when the user already has a preset of
// that name (ignoring case), and otherwise obeys SavePreset's rules.
func (db *DB) ImportPreset(user, code, name string) (gen.Preset, error) {
	if err := checkUser(user); err != nil {
		return gen.Preset{}, fmt.Errorf("import preset: %w", err)
	}
	code = normalizeShareCode(code)
	var p gen.Preset
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketShares).Get([]byte(code))
		if raw == nil || code == "" {
			return fmt.Errorf("%w: %q", gen.ErrShareNotFound, code)
		}
		rec, err := decodeShare([]byte(code), raw)
		if err != nil {
			return err
		}
		p = rec.Preset
		if strings.TrimSpace(name) != "" {
			p.Name = name
		}
		clean, key, err := cleanName(p.Name)
		if err != nil {
			return err
		}
		p.Name = clean
		p.Options = p.Options.ForPreset()
		enc, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("encode preset: %w", err)
		}
		_, presets, err := userBuckets(tx, user)
		if err != nil {
			return err
		}
		if err := putPreset(presets, key, enc, true); err != nil {
			if errors.Is(err, gen.ErrPresetExists) {
				return fmt.Errorf("%w: you already have a preset named %q", err, clean)
			}
			return err
		}
		return nil
	})
	if err != nil {
		return gen.Preset{}, fmt.Errorf("import preset from code %q: %w", code, err)
	}
	return p, nil
}

func newShareCode() string {
	var b [ShareCodeLen]byte
	rand.Read(b[:]) // never fails since Go 1.24
	for i := range b {
		b[i] = shareAlphabet[b[i]%byte(len(shareAlphabet))]
	}
	return string(b[:])
}

// normalizeShareCode returns the code in its stored form, or "" when it
// cannot be one (so it is looked up as unknown).
func normalizeShareCode(code string) string {
	code = strings.ToUpper(strings.TrimSpace(code))
	if len(code) != ShareCodeLen {
		return ""
	}
	for _, r := range code {
		if !strings.ContainsRune(shareAlphabet, r) {
			return ""
		}
	}
	return code
}

func decodeShare(code, raw []byte) (shareRecord, error) {
	var rec shareRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return shareRecord{}, fmt.Errorf("decode share record %q: %w", code, err)
	}
	return rec, nil
}

// ownShares scans the shares for user's: the code of one holding exactly p,
// the oldest code, and how many there are. Sharing is rare, so a scan is
// cheaper than keeping an index in step.
func ownShares(shares *bolt.Bucket, user string, p gen.Preset) (same, oldest string, n int, err error) {
	want, err := json.Marshal(p)
	if err != nil {
		return "", "", 0, fmt.Errorf("encode preset: %w", err)
	}
	var oldestAt time.Time
	err = shares.ForEach(func(k, v []byte) error {
		r, err := decodeShare(k, v)
		if err != nil || r.Owner != user {
			return nil // a torn record is Check's business, not sharing's
		}
		n++
		if got, _ := json.Marshal(r.Preset); same == "" && string(got) == string(want) {
			same = string(k)
		}
		if oldest == "" || r.Created.Before(oldestAt) {
			oldest, oldestAt = string(k), r.Created
		}
		return nil
	})
	return same, oldest, n, err
}

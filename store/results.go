package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"lorabot/gen"
)

var _ gen.ResultStore = (*DB)(nil)

// KeepResults is how many results' settings are remembered; older ones are
// forgotten, oldest first, as new ones are saved.
const KeepResults = 2000

type resultRecord struct {
	Seq     uint64      `json:"seq"`
	Options gen.Options `json:"options"`
}

// SaveResult remembers the settings behind a posted result under its job
// ID, so the result's "Save as preset" button works across restarts.
func (db *DB) SaveResult(id string, o gen.Options) error {
	if id == "" || len(id) > 100 {
		return fmt.Errorf("save result: bad id %q", id)
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		res, seq := tx.Bucket(bucketResults), tx.Bucket(bucketResSeq)
		n, err := seq.NextSequence()
		if err != nil {
			return err
		}
		raw, err := json.Marshal(resultRecord{Seq: n, Options: o.ForPreset()})
		if err != nil {
			return err
		}
		if old := res.Get([]byte(id)); old != nil {
			var r resultRecord
			if json.Unmarshal(old, &r) == nil {
				_ = seq.Delete(seqKey(r.Seq))
			}
		}
		if err := res.Put([]byte(id), raw); err != nil {
			return err
		}
		if err := seq.Put(seqKey(n), []byte(id)); err != nil {
			return err
		}
		// Forget what is older than the last KeepResults saves; usually
		// one record, the first in key order.
		c := seq.Cursor()
		for k, v := c.First(); k != nil && binary.BigEndian.Uint64(k)+KeepResults <= n; k, v = c.First() {
			if err := res.Delete(v); err != nil {
				return err
			}
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save result %s: %w", id, err)
	}
	return nil
}

// Result returns the settings saved for a job, or gen.ErrResultNotFound.
func (db *DB) Result(id string) (gen.Options, error) {
	var r resultRecord
	err := db.bolt.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketResults).Get([]byte(id))
		if raw == nil {
			return gen.ErrResultNotFound
		}
		return json.Unmarshal(raw, &r)
	})
	if err != nil {
		return gen.Options{}, fmt.Errorf("read result %s: %w", id, err)
	}
	return r.Options, nil
}

// ForgetResult drops the settings saved for a job (its result was
// deleted); a missing entry is no error.
func (db *DB) ForgetResult(id string) error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		res, seq := tx.Bucket(bucketResults), tx.Bucket(bucketResSeq)
		raw := res.Get([]byte(id))
		if raw == nil {
			return nil
		}
		var r resultRecord
		if json.Unmarshal(raw, &r) == nil {
			if err := seq.Delete(seqKey(r.Seq)); err != nil {
				return err
			}
		}
		return res.Delete([]byte(id))
	})
	if err != nil {
		return fmt.Errorf("forget result %s: %w", id, err)
	}
	return nil
}

func seqKey(n uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return b[:]
}

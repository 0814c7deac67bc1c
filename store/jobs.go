package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"lorabot/jobs"
)

var _ jobs.Store = (*DB)(nil)

// ErrBadJob means a job record cannot be stored as it is: its ID is empty
// or longer than MaxJobIDLen, its state is not one jobs knows, or it has no
// user. It is a bug in the caller, not a state of the file.
var ErrBadJob = errors.New("invalid job record")

// MaxJobIDLen bounds a job ID in bytes: IDs are bbolt keys, which must stay
// small, and the bot's own IDs are far shorter.
const MaxJobIDLen = 100

// jobRecord is a job as stored. Seq is the store's, not the caller's: the
// sequence number of the record's first put, which orders PendingJobs and
// count pruning and names the record's jobseq and jobpending entries. It
// wraps the record rather than sitting beside its fields so that a field
// jobs.Record gains later can never collide with it.
type jobRecord struct {
	Seq uint64      `json:"seq"`
	Job jobs.Record `json:"job"`
}

// jobHead is the part of a stored record that indexing and pruning read.
// Decoding only it skips building the request's strings and slices.
type jobHead struct {
	Seq uint64 `json:"seq"`
	Job struct {
		State   jobs.State `json:"state"`
		Created time.Time  `json:"created"`
		Updated time.Time  `json:"updated"`
	} `json:"job"`
}

// PutJob creates or replaces the record with r.ID, in one transaction with
// its index entries. It checks the ID (1 to MaxJobIDLen bytes), the state
// and the user (ErrBadJob) and stores everything else as given: Created and
// Updated are the caller's to set. A replaced record keeps the place in
// PendingJobs' order that its first put gave it.
//
// Errors name the job by its ID and never quote the record, whose
// Reply.Token is a credential.
func (db *DB) PutJob(r jobs.Record) error {
	if err := checkJob(&r); err != nil {
		if len(r.ID) > MaxJobIDLen {
			return fmt.Errorf("put job: %w", err)
		}
		return fmt.Errorf("put job %q: %w", r.ID, err)
	}
	if err := db.bolt.Update(func(tx *bolt.Tx) error { return db.putJob(tx, r) }); err != nil {
		return fmt.Errorf("put job %q: %w", r.ID, err)
	}
	return nil
}

// putJob is PutJob inside a transaction, for a record checkJob passed.
func (db *DB) putJob(tx *bolt.Tx, r jobs.Record) error {
	all, seqs, pending := jobBuckets(tx)
	id := []byte(r.ID)
	seq, indexed, err := db.jobSeq(all, seqs, pending, id)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(jobRecord{Seq: seq, Job: r})
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	if err := all.Put(id, raw); err != nil {
		return err
	}
	key := seqKey(seq)
	if !indexed {
		if err := seqs.Put(key, id); err != nil {
			return err
		}
	}
	// Touch the pending index only when the record enters or leaves it, so
	// that a move between two pending states writes one page fewer.
	switch inPending := pending.Get(key) != nil; {
	case r.State.Pending() && !inPending:
		return pending.Put(key, id)
	case !r.State.Pending() && inPending:
		return pending.Delete(key)
	}
	return nil
}

// jobSeq returns the sequence of the record stored under id, or a new one
// when there is none. indexed says jobseq already maps seq to id.
//
// A stored record that does not decode, or whose seq jobseq does not map
// back to it, can only come from a damaged or hand-edited file. Failing
// would leave that job unable to move for ever, so it is indexed afresh
// instead: any entries naming it are dropped (it loses its place in the
// order, nothing else) and the repair is logged, by job ID only.
func (db *DB) jobSeq(all, seqs, pending *bolt.Bucket, id []byte) (seq uint64, indexed bool, err error) {
	if old := all.Get(id); old != nil {
		var h jobHead
		if json.Unmarshal(old, &h) == nil && bytes.Equal(seqs.Get(seqKey(h.Seq)), id) {
			return h.Seq, true, nil
		}
		n, err := dropIndexEntries(id, seqs, pending)
		if err != nil {
			return 0, false, err
		}
		db.log.Warn("job record unreadable or not indexed; replacing it and indexing it afresh",
			"job", string(id), "dropped_index_entries", n)
	}
	n, err := seqs.NextSequence()
	if err != nil {
		return 0, false, fmt.Errorf("next job sequence: %w", err)
	}
	return n, false, nil
}

// dropIndexEntries removes every entry of the index buckets that names id.
// It scans them whole; it runs only to repair a damaged file.
func dropIndexEntries(id []byte, indexes ...*bolt.Bucket) (int, error) {
	n := 0
	for _, b := range indexes {
		var keys [][]byte
		// Collect first: a bbolt cursor may skip a key after a delete.
		err := b.ForEach(func(k, v []byte) error {
			if bytes.Equal(v, id) {
				keys = append(keys, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// Job returns the record with that ID, or an error wrapping
// jobs.ErrNotFound. Its times come back as JSON keeps them: to the
// nanosecond, without a monotonic reading, in a zone of the same offset.
func (db *DB) Job(id string) (jobs.Record, error) {
	var rec jobRecord
	err := db.bolt.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketJobs).Get([]byte(id))
		if raw == nil {
			return jobs.ErrNotFound
		}
		var err error
		rec, err = decodeJob([]byte(id), raw)
		return err
	})
	if err != nil {
		return jobs.Record{}, fmt.Errorf("read job %q: %w", id, err)
	}
	return rec.Job, nil
}

// PendingJobs returns the queued and running records, oldest first put
// first. It reads only the pending records, however many final ones the
// file holds. None is an empty list, not an error.
func (db *DB) PendingJobs() ([]jobs.Record, error) {
	var out []jobs.Record
	err := db.bolt.View(func(tx *bolt.Tx) error {
		all, _, pending := jobBuckets(tx)
		out = make([]jobs.Record, 0, countKeys(pending))
		return pending.ForEach(func(k, id []byte) error {
			raw := all.Get(id)
			if raw == nil {
				return fmt.Errorf("pending index %s names job %q, which has no record", seqName(k), id)
			}
			rec, err := decodeJob(id, raw)
			if err != nil {
				return err
			}
			if !bytes.Equal(seqKey(rec.Seq), k) || !rec.Job.State.Pending() {
				return fmt.Errorf("pending index %s names job %q, which is %s at seq %d", seqName(k), id, rec.Job.State, rec.Seq)
			}
			out = append(out, rec.Job)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list pending jobs: %w", err)
	}
	return out, nil
}

// PruneJobs forgets, in one transaction: final records updated before
// olderThan; then the oldest (by first put) final records beyond the newest
// keep; and pending records created before pendingBefore. A zero time
// removes nothing by its rule; keep 0 keeps no final record, and a negative
// keep is refused rather than read as either. It returns how many records
// it removed.
//
// It walks every entry of jobseq but decodes only the pending records,
// plus the final ones when olderThan is set (their Updated is in the record
// alone), so pruning by count alone is a walk of small keys. On a damaged
// file it drops the index entries it finds naming no record at their seq
// (by count alone it finds only those among the oldest), and never deletes
// a record through one.
func (db *DB) PruneJobs(olderThan time.Time, keep int, pendingBefore time.Time) (int, error) {
	if keep < 0 {
		return 0, fmt.Errorf("prune jobs: keep %d is negative", keep)
	}
	removed := 0
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		all, seqs, pending := jobBuckets(tx)
		type entry struct{ key, id []byte }
		var victims, dangling []entry
		// head decodes the record an index entry names. An entry naming no
		// record, or one indexed under another seq (a damaged file), is
		// dropped; a record that does not decode stops the prune, since
		// its state is unknown.
		head := func(k, id []byte) (jobHead, bool, error) {
			h, err := indexedHead(all, k, id)
			if errors.Is(err, errNotIndexed) {
				dangling = append(dangling, entry{bytes.Clone(k), bytes.Clone(id)})
				return jobHead{}, false, nil
			}
			return h, err == nil, err
		}
		isPending := map[string]bool{}
		err := pending.ForEach(func(k, id []byte) error {
			isPending[string(k)] = true
			if pendingBefore.IsZero() {
				return nil
			}
			h, ok, err := head(k, id)
			if ok && h.Job.Created.Before(pendingBefore) {
				victims = append(victims, entry{bytes.Clone(k), bytes.Clone(id)})
			}
			return err
		})
		if err != nil {
			return err
		}
		var finals []entry // surviving the age rule, oldest first
		err = seqs.ForEach(func(k, id []byte) error {
			if isPending[string(k)] {
				return nil
			}
			e := entry{bytes.Clone(k), bytes.Clone(id)}
			if !olderThan.IsZero() {
				h, ok, err := head(k, id)
				if err != nil || !ok {
					return err
				}
				if h.Job.Updated.Before(olderThan) {
					victims = append(victims, e)
					return nil
				}
			}
			// Without the age rule nothing is read but the key: an entry
			// naming no record counts here, and is dropped in its turn.
			finals = append(finals, e)
			return nil
		})
		if err != nil {
			return err
		}
		if excess := len(finals) - keep; excess > 0 {
			victims = append(victims, finals[:excess]...)
		}
		// Deleted after the walks: a bbolt cursor may skip a key after a
		// delete. Without the age rule the excess finals were never read,
		// so each record is checked to be the one its entry indexes before
		// it goes: a stale entry must not take a live record with it.
		for _, v := range victims {
			switch _, err := indexedHead(all, v.key, v.id); {
			case errors.Is(err, errNotIndexed):
				dangling = append(dangling, v)
				continue
			case err != nil:
				return err
			}
			if err := all.Delete(v.id); err != nil {
				return err
			}
			if err := dropIndexKey(v.key, seqs, pending); err != nil {
				return err
			}
			removed++
		}
		for _, d := range dangling {
			if err := dropIndexKey(d.key, seqs, pending); err != nil {
				return err
			}
			db.log.Warn("pruning dropped an index entry naming no job record at its seq",
				"job", string(d.id), "entry", seqName(d.key))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune jobs: %w", err)
	}
	return removed, nil
}

// errNotIndexed means an index entry names no record, or a record indexed
// under another seq.
var errNotIndexed = errors.New("index entry names no record at its seq")

// indexedHead decodes the head of the record that the index entry (k, id)
// names, or fails with errNotIndexed when there is none at that seq.
func indexedHead(all *bolt.Bucket, k, id []byte) (jobHead, error) {
	raw := all.Get(id)
	if raw == nil {
		return jobHead{}, errNotIndexed
	}
	var h jobHead
	if err := json.Unmarshal(raw, &h); err != nil {
		return jobHead{}, fmt.Errorf("decode job record %q: %w", id, err)
	}
	if !bytes.Equal(seqKey(h.Seq), k) {
		return jobHead{}, errNotIndexed
	}
	return h, nil
}

// dropIndexKey removes one seq from the index buckets.
func dropIndexKey(k []byte, indexes ...*bolt.Bucket) error {
	for _, b := range indexes {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// checkJob is PutJob's check of a record, which Check applies to stored ones.
func checkJob(r *jobs.Record) error {
	switch {
	case r.ID == "" || len(r.ID) > MaxJobIDLen:
		return fmt.Errorf("%w: ID of %d bytes, want 1 to %d", ErrBadJob, len(r.ID), MaxJobIDLen)
	case !knownState(r.State):
		return fmt.Errorf("%w: unknown state %q", ErrBadJob, r.State)
	}
	if err := checkUser(r.User); err != nil {
		return fmt.Errorf("%w: %w", ErrBadJob, err)
	}
	return nil
}

func knownState(s jobs.State) bool {
	switch s {
	case jobs.Queued, jobs.Running, jobs.Done, jobs.Failed, jobs.Cancelled:
		return true
	}
	return false
}

func jobBuckets(tx *bolt.Tx) (all, seqs, pending *bolt.Bucket) {
	return tx.Bucket(bucketJobs), tx.Bucket(bucketJobSeq), tx.Bucket(bucketJobPending)
}

// decodeJob decodes a stored record. Its error names the key, never the
// content: encoding/json's messages quote at most one character of the
// input, so the token cannot leak through them.
func decodeJob(id, raw []byte) (jobRecord, error) {
	var rec jobRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return jobRecord{}, fmt.Errorf("decode job record %q: %w", id, err)
	}
	return rec, nil
}

// seqName shows an index key: its number, or its bytes when it is not one.
func seqName(k []byte) string {
	if len(k) != 8 {
		return fmt.Sprintf("key %q", k)
	}
	return fmt.Sprintf("seq %d", binary.BigEndian.Uint64(k))
}

// checkJobs decodes every job record and checks that the three job buckets
// agree: each record is under its own ID, has a seq no other record has,
// jobseq maps that seq to it, jobpending does too exactly when it is
// pending, and neither index names anything else.
func checkJobs(tx *bolt.Tx) error {
	all, seqs, pending := jobBuckets(tx)
	var errs []error
	owner := map[uint64]string{} // seq → ID of the record holding it
	broken := map[string]bool{}  // IDs of records that do not decode
	all.ForEach(func(k, v []byte) error {
		rec, err := decodeJob(k, v)
		if err != nil {
			errs = append(errs, err)
			broken[string(k)] = true
			return nil
		}
		r := rec.Job
		if r.ID != string(k) {
			errs = append(errs, fmt.Errorf("job record under %q holds ID %q", k, r.ID))
		}
		if err := checkJob(&r); err != nil {
			errs = append(errs, fmt.Errorf("job record %q: %w", k, err))
		}
		if other, dup := owner[rec.Seq]; dup {
			errs = append(errs, fmt.Errorf("job records %q and %q share seq %d", other, k, rec.Seq))
		}
		owner[rec.Seq] = string(k)
		key := seqKey(rec.Seq)
		if got := seqs.Get(key); !bytes.Equal(got, k) {
			errs = append(errs, fmt.Errorf("job %q: jobseq %d names %q instead", k, rec.Seq, got))
		}
		switch got := pending.Get(key); {
		case r.State.Pending() && !bytes.Equal(got, k):
			errs = append(errs, fmt.Errorf("job %q is %s but jobpending %d names %q instead", k, r.State, rec.Seq, got))
		case !r.State.Pending() && got != nil:
			errs = append(errs, fmt.Errorf("job %q is %s but jobpending %d names %q", k, r.State, rec.Seq, got))
		}
		return nil
	})
	for _, index := range []struct {
		b    *bolt.Bucket
		name string
	}{{seqs, "jobseq"}, {pending, "jobpending"}} {
		index.b.ForEach(func(k, id []byte) error {
			if len(k) != 8 {
				errs = append(errs, fmt.Errorf("%s: %s is not a sequence number", index.name, seqName(k)))
				return nil
			}
			seq := binary.BigEndian.Uint64(k)
			switch {
			case broken[string(id)]:
				// Reported above; its seq is unknown.
			case all.Get(id) == nil:
				errs = append(errs, fmt.Errorf("%s %d names job %q, which has no record", index.name, seq, id))
			case owner[seq] != string(id):
				errs = append(errs, fmt.Errorf("%s %d names job %q, whose record has another seq", index.name, seq, id))
			}
			return nil
		})
	}
	return errors.Join(errs...)
}

// DeleteJob forgets the record with id and its index entries (a result's
// Delete button). A record that is not there is no error: a second press,
// or one after pruning, has nothing left to do.
func (db *DB) DeleteJob(id string) error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		all, seqs, pending := jobBuckets(tx)
		raw := all.Get([]byte(id))
		if raw == nil {
			return nil
		}
		var h jobHead
		if err := json.Unmarshal(raw, &h); err != nil {
			return fmt.Errorf("decode job record %q: %w", id, err)
		}
		if err := all.Delete([]byte(id)); err != nil {
			return err
		}
		return dropIndexKey(seqKey(h.Seq), seqs, pending)
	})
	if err != nil {
		return fmt.Errorf("delete job %s: %w", id, err)
	}
	return nil
}

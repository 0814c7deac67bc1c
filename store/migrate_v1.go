package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// migrateV1toV2 adds the job buckets (see the layout in schema.go). No
// record changes shape; the version goes up because a version 1 lorabot
// knows nothing of job records: on a file holding them it would neither run
// the pending jobs nor prune the final ones, so it must refuse the file
// (ErrSchemaTooNew) instead. The buckets may exist already, made by
// migrateV0toV1's ensureBuckets on the way up from version 0.
func migrateV1toV2(_ *DB, tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketJobs, bucketJobSeq, bucketJobPending} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

package store

import (
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// Layout of schema version 3 (keys in quotes, <> for variable parts):
//
//	"meta"     "schema" → decimal schema version
//	           "adopt-defaults" → present while migrated trigger words wait for AdoptDefaults
//	"users"    <user ID> (bucket)
//	             "presets" (bucket) <folded name> → preset record (JSON)
//	             "default" → folded name of the default preset
//	"shares"   <code> → share record (JSON)
//	"settings" <key> → raw value
//	"guilds"   <guild ID> → guild.Settings (JSON); "defaults" → the bot-wide defaults' (guilds.go)
//	"results"  <job ID> → result record (JSON): the settings behind a posted image
//	"resultseq" <big-endian sequence> → job ID, oldest first, for pruning
//	"jobs"     <job ID> → job record (JSON): {"seq": <first put>, "job": jobs.Record}
//	"jobseq"   <big-endian seq> → job ID, every job record, oldest first put first
//	"jobpending" <big-endian seq> → job ID, the queued and running subset of jobseq
//	"civitai"  <lower-case LoRA hash> → civitai.Info (JSON): Civitai's answer, a cache (civitai.go)
//
// A user's data lives in a bucket of its own, keyed by the raw user ID, so no
// preset name — with "/" or anything else in it — can reach another user's.
//
// Job records carry their seq so that a state change finds and keeps their
// index entries. jobpending exists so that a restart reads the few pending
// records without decoding the thousands of final ones kept for buttons;
// jobseq orders everything for pruning by count. Version 2 added the three
// job buckets (migrateV1toV2). Version 3 added "guilds" and moved version
// 2's "settings" trigger/<LoRA> overrides into the defaults
// (migrateV2toV3).
var (
	bucketMeta     = []byte("meta")
	bucketUsers    = []byte("users")
	bucketShares   = []byte("shares")
	bucketSettings = []byte("settings")
	bucketResults  = []byte("results")
	bucketResSeq   = []byte("resultseq")
	keySchema      = []byte("schema")
	bucketPresets  = []byte("presets") // inside a user's bucket
	keyDefault     = []byte("default") // inside a user's bucket
)

// The job buckets, new in version 2.
var (
	bucketJobs       = []byte("jobs")
	bucketJobSeq     = []byte("jobseq")
	bucketJobPending = []byte("jobpending")
)

// migration turns a file of schema version i into version i+1, inside the
// transaction that upgrade gives it.
type migration func(db *DB, tx *bolt.Tx) error

// migrations[i] upgrades version i to i+1; the current version is their
// count. To change a record's shape: append a migration, never edit one that
// has shipped, and add a test that opens a file of the previous version.
var migrations = []migration{
	migrateV0toV1,
	migrateV1toV2,
	migrateV2toV3,
}

// SchemaVersion is the version of the layout this binary writes; it equals
// len(migrations) (a test holds them together).
const SchemaVersion = 3

// upgrade initialises a new file or migrates an older one to SchemaVersion,
// all in one transaction: a failed migration leaves the file as it was.
// A newer file is refused before anything is written.
func (db *DB) upgrade() error {
	var version int
	var fresh, complete bool
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		version, fresh, err = readVersion(tx)
		complete = hasBuckets(tx)
		return err
	})
	if err != nil {
		return err
	}
	if version > SchemaVersion {
		return fmt.Errorf("%w: the file has schema version %d, this lorabot knows up to %d; run the newer lorabot or restore a backup",
			ErrSchemaTooNew, version, SchemaVersion)
	}
	if version == SchemaVersion && !fresh && complete {
		return nil
	}
	return db.bolt.Update(func(tx *bolt.Tx) error {
		if !fresh {
			for v := version; v < SchemaVersion; v++ {
				db.log.Info("migrating database", "from", v, "to", v+1)
				if err := migrations[v](db, tx); err != nil {
					return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
				}
			}
		}
		if err := ensureBuckets(tx); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keySchema, []byte(strconv.Itoa(SchemaVersion)))
	})
}

// readVersion tells the file's schema version. fresh is true for a file with
// no bucket at all (just created). A file without "meta" is version 0 when it
// holds version 0's buckets, and someone else's database otherwise.
func readVersion(tx *bolt.Tx) (version int, fresh bool, err error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		var names []string
		if err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			names = append(names, string(name))
			return nil
		}); err != nil {
			return 0, false, err
		}
		switch {
		case len(names) == 0:
			return SchemaVersion, true, nil
		case isV0(tx):
			return 0, false, nil
		default:
			return 0, false, fmt.Errorf("%w: no schema version, buckets %q", ErrNotLorabot, names)
		}
	}
	raw := meta.Get(keySchema)
	v, err := strconv.Atoi(string(raw))
	if err != nil || v < 0 {
		return 0, false, fmt.Errorf("%w: unreadable schema version %q", ErrNotLorabot, raw)
	}
	return v, false, nil
}

// topBuckets are the buckets every current file has; upgrade creates any
// that is missing. A bucket that an older binary may safely ignore can be
// added here alone, without a new version. One whose contents an older
// binary would silently fail to honour (pending jobs it would never run)
// also comes with a migration, so that the older binary refuses the file.
var topBuckets = [][]byte{bucketMeta, bucketUsers, bucketShares, bucketSettings, bucketResults, bucketResSeq,
	bucketJobs, bucketJobSeq, bucketJobPending, bucketGuilds, bucketCivitai}

func hasBuckets(tx *bolt.Tx) bool {
	for _, name := range topBuckets {
		if tx.Bucket(name) == nil {
			return false
		}
	}
	return true
}

func ensureBuckets(tx *bolt.Tx) error {
	for _, name := range topBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

// SchemaVersion reads the version recorded in the file.
func (db *DB) SchemaVersion() (int, error) {
	var v int
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		v, _, err = readVersion(tx)
		return err
	})
	return v, err
}

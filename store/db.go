// Package store keeps the bot's durable state in one bbolt file: each user's
// presets, the share codes that copy a preset to another user, the bot's
// settings, each Discord server's settings, and the job records that let a
// restarted bot finish what it was asked. It is the only package that
// touches bbolt; the rest of the bot sees typed methods (DB implements
// gen.PresetStore, jobs.Store and guild.Store).
//
// Rules the store keeps, whatever its callers do:
//   - one process per file: a second Open of a file in use fails within
//     Options.Timeout with ErrLocked;
//   - every write is one bbolt transaction, so a crash leaves either the old
//     or the new state, never half of one;
//   - records are JSON, so a field added later leaves old records readable
//     and old binaries ignore fields they do not know;
//   - the file carries a schema version; older files are migrated in one
//     transaction on Open, newer ones are refused untouched (ErrSchemaTooNew).
package store

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// DefaultTimeout is how long Open waits for another process to release the
// file when Options.Timeout is not set.
const DefaultTimeout = time.Second

var (
	// ErrLocked means another process holds the database file: most likely
	// another lorabot running on the same DB_PATH.
	ErrLocked = errors.New("database is locked by another process")
	// ErrSchemaTooNew means the file was written by a newer lorabot whose
	// record shapes this binary does not know; it is left untouched.
	ErrSchemaTooNew = errors.New("database schema is newer than this lorabot")
	// ErrNotLorabot means the file is a bbolt database of some other program.
	ErrNotLorabot = errors.New("not a lorabot database")
	// ErrBadUser means the user ID is empty or absurdly long.
	ErrBadUser = errors.New("invalid user ID")
	// ErrBadSetting means the setting key is empty or too long.
	ErrBadSetting = errors.New("invalid setting key")
)

// Options tune Open. The zero value is ready to use.
type Options struct {
	// Timeout bounds the wait for the file lock; DefaultTimeout when zero or
	// negative (bbolt's own zero would wait forever).
	Timeout time.Duration
	// Logger receives migration notes; slog.Default() when nil.
	Logger *slog.Logger
}

// DB is an open lorabot database. Its methods are safe for concurrent use.
type DB struct {
	bolt *bolt.DB
	path string
	log  *slog.Logger
}

// Open opens the database at path, creating the file and its folder (0700)
// when missing, and brings its schema up to date.
func Open(path string, opts Options) (*DB, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("open database %s: create folder: %w", path, err)
		}
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.Timeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open database %s: %w: another lorabot seems to be running on this file (no lock after %s: %w)",
			path, ErrLocked, opts.Timeout, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	db := &DB{bolt: b, path: path, log: opts.Logger.With("db", path)}
	if err := db.upgrade(); err != nil {
		b.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return db, nil
}

// Path is the file the database lives in.
func (db *DB) Path() string { return db.path }

// Close releases the file and its lock.
func (db *DB) Close() error {
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("close database %s: %w", db.path, err)
	}
	return nil
}

// Check walks the whole file and reports the first inconsistency bbolt finds
// (pages freed twice, unreachable pages, unsorted keys), then checks that
// every preset, share, guild settings and job record decodes and that the job indexes agree
// with the job records. Nil means the file is sound.
func (db *DB) Check() error {
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			return fmt.Errorf("bbolt consistency: %w", errors.Join(errs...))
		}
		return errors.Join(checkRecords(tx), checkJobs(tx), checkGuilds(tx))
	})
	if err != nil {
		return fmt.Errorf("check database %s: %w", db.path, err)
	}
	return nil
}

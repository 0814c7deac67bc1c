package store

import bolt "go.etcd.io/bbolt"

// Ping reports whether the database is open and readable (readiness): an
// empty read transaction, which fails once the file is closed.
func (db *DB) Ping() error {
	return db.bolt.View(func(*bolt.Tx) error { return nil })
}

package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"lorabot/gen"
	"lorabot/jobs"
)

// writeRaw builds a file by hand, as an older or newer lorabot (or another
// program) would have left it.
func writeRaw(t *testing.T, path string, fill func(tx *bolt.Tx) error) {
	t.Helper()
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(fill); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

// readRaw reads a file by hand, with none of Open's upgrades.
func readRaw(t *testing.T, path string, read func(tx *bolt.Tx) error) {
	t.Helper()
	b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.View(read); err != nil {
		t.Fatal(err)
	}
}

func put(tx *bolt.Tx, bucket, key, value string) error {
	b, err := tx.CreateBucketIfNotExists([]byte(bucket))
	if err != nil {
		return err
	}
	return b.Put([]byte(key), []byte(value))
}

func TestMigrationsMatchSchemaVersion(t *testing.T) {
	if len(migrations) != SchemaVersion {
		t.Fatalf("%d migrations for schema version %d", len(migrations), SchemaVersion)
	}
}

func TestNewFileRecordsSchemaVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "data", "bot.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := db.SchemaVersion(); err != nil || v != SchemaVersion {
		t.Errorf("SchemaVersion = %d, %v", v, err)
	}
	db.Close()
	info, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o700 {
		t.Errorf("created folder has mode %o, want 700", perm)
	}
	readRaw(t, path, func(tx *bolt.Tx) error {
		if got, want := string(tx.Bucket(bucketMeta).Get(keySchema)), strconv.Itoa(SchemaVersion); got != want {
			t.Errorf("meta/schema = %q, want %q", got, want)
		}
		return nil
	})
}

func writeV0(t *testing.T, path string) {
	writeRaw(t, path, func(tx *bolt.Tx) error {
		for k, v := range map[string]string{
			// Version 0 kept seed and count, and had no rule against case twins.
			"111/ANIME":      `{"prompt":"upper","steps":30,"seed":5,"count":2,"loras":[{"name":"add_detail","weight":0.5},{},{}]}`,
			"111/Anime":      `{"prompt":"mixed"}`,
			"111/dark/moody": `{"negative":"bright","loras":[{},{},{}]}`,
			"222/Anime":      `{"prompt":"bob","cfg":4.5,"loras":[{},{},{}]}`,
		} {
			if err := put(tx, "presets", k, v); err != nil {
				return err
			}
		}
		if err := put(tx, "defaults", "111", "anime"); err != nil {
			return err
		}
		return put(tx, "defaults", "333", "ghost")
	})
}

func TestMigrateFromV0(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	writeV0(t, path)
	db := openAt(t, path)
	if v, err := db.SchemaVersion(); err != nil || v != SchemaVersion {
		t.Fatalf("after migration: schema %d, %v", v, err)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	alice, err := db.Presets("111")
	if err != nil {
		t.Fatal(err)
	}
	want := []gen.Preset{
		{Name: "ANIME", Options: gen.Options{Prompt: "upper", Steps: 30,
			LoRAs: [gen.LoRASlots]gen.LoRAChoice{{Name: "add_detail", Weight: ptr(0.5)}}}},
		{Name: "dark/moody", Options: gen.Options{Negative: "bright"}},
	}
	if !reflect.DeepEqual(alice, want) {
		t.Errorf("migrated presets of 111:\n got %+v\nwant %+v", alice, want)
	}
	if d, ok, err := db.DefaultPreset("111"); err != nil || !ok || d.Name != "ANIME" {
		t.Errorf("migrated default of 111: %+v %v %v", d, ok, err)
	}
	if bob, _ := db.Presets("222"); len(bob) != 1 || bob[0].Options.CFG != 4.5 {
		t.Errorf("migrated presets of 222: %+v", bob)
	}
	if _, ok, _ := db.DefaultPreset("333"); ok {
		t.Error("a default naming no preset survived")
	}
	// The migrated file works like a new one.
	if err := db.SavePreset("111", gen.Preset{Name: "anime", Options: gen.Options{Steps: 3}}); err != nil {
		t.Fatal(err)
	}
	if list, _ := db.Presets("111"); !slices.Equal(presetNames(list), []string{"anime", "dark/moody"}) {
		t.Errorf("after a save: %q", presetNames(list))
	}
	db.Close()
	readRaw(t, path, func(tx *bolt.Tx) error {
		if tx.Bucket([]byte("defaults")) != nil {
			t.Error("version 0 bucket defaults left behind")
		}
		if tx.Bucket([]byte("presets")) != nil {
			t.Error("version 0 bucket presets left behind")
		}
		return nil
	})
	// Opening again is not a second migration.
	db2 := openAt(t, path)
	if list, _ := db2.Presets("111"); !slices.Equal(presetNames(list), []string{"anime", "dark/moody"}) {
		t.Errorf("after reopening: %q", presetNames(list))
	}
}

// writeV1 builds a version 1 file as a version 1 lorabot left it: presets
// of two users with a default, a share, a setting and a result.
func writeV1(t *testing.T, path string) {
	writeRaw(t, path, func(tx *bolt.Tx) error {
		for _, kv := range [][3]string{
			{"meta", "schema", "1"},
			{"shares", "ABCDEFGH", `{"owner":"222","preset":{"name":"Bob","options":{"steps":6}},"created":"2026-11-01T10:00:00Z"}`},
			{"settings", "trigger/add_detail", "detailed"},
			{"results", "job1", `{"seq":1,"options":{"prompt":"cat","steps":20}}`},
			{"resultseq", "\x00\x00\x00\x00\x00\x00\x00\x01", "job1"},
		} {
			if err := put(tx, kv[0], kv[1], kv[2]); err != nil {
				return err
			}
		}
		users, err := tx.CreateBucket([]byte("users"))
		if err != nil {
			return err
		}
		for user, presets := range map[string]map[string]string{
			"111": {
				"anime":      `{"name":"Anime","options":{"prompt":"cel","steps":30,"loras":[{"name":"add_detail","weight":0.5},{},{}]}}`,
				"dark/moody": `{"name":"dark/moody","options":{"negative":"bright"}}`,
			},
			"222": {"bob": `{"name":"Bob","options":{"steps":6}}`},
		} {
			u, err := users.CreateBucket([]byte(user))
			if err != nil {
				return err
			}
			b, err := u.CreateBucket([]byte("presets"))
			if err != nil {
				return err
			}
			for k, v := range presets {
				if err := b.Put([]byte(k), []byte(v)); err != nil {
					return err
				}
			}
			if user == "111" {
				if err := u.Put([]byte("default"), []byte("anime")); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func TestMigrateFromV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	writeV1(t, path)
	db := openAt(t, path)
	if v, err := db.SchemaVersion(); err != nil || v != SchemaVersion {
		t.Fatalf("after migration: schema %d, %v", v, err)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	alice, err := db.Presets("111")
	if err != nil {
		t.Fatal(err)
	}
	want := []gen.Preset{
		{Name: "Anime", Options: gen.Options{Prompt: "cel", Steps: 30,
			LoRAs: [gen.LoRASlots]gen.LoRAChoice{{Name: "add_detail", Weight: ptr(0.5)}}}},
		{Name: "dark/moody", Options: gen.Options{Negative: "bright"}},
	}
	if !reflect.DeepEqual(alice, want) {
		t.Errorf("presets of 111 after migration:\n got %+v\nwant %+v", alice, want)
	}
	if d, ok, err := db.DefaultPreset("111"); err != nil || !ok || d.Name != "Anime" {
		t.Errorf("default of 111 after migration: %+v %v %v", d, ok, err)
	}
	if bob, err := db.Presets("222"); err != nil || len(bob) != 1 || bob[0].Options.Steps != 6 {
		t.Errorf("presets of 222 after migration: %+v %v", bob, err)
	}
	if p, err := db.ImportPreset("333", "abcdefgh", ""); err != nil || p.Name != "Bob" {
		t.Errorf("share after migration: %+v %v", p, err)
	}
	// Version 3 moved the trigger override into the bot-wide defaults.
	if d, err := db.GuildSettings(""); err != nil || !slices.Equal(d.LoRAs["add_detail"].Triggers, []string{"detailed"}) {
		t.Errorf("trigger override after migration: %+v %v", d.LoRAs, err)
	}
	if o, err := db.Result("job1"); err != nil || o.Prompt != "cat" {
		t.Errorf("result after migration: %+v %v", o, err)
	}
	// The migrated file keeps jobs like a new one.
	now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	if err := db.PutJob(jobs.Record{ID: "j1", User: "111", State: jobs.Queued, Created: now, Updated: now}); err != nil {
		t.Fatal(err)
	}
	if pending, err := db.PendingJobs(); err != nil || len(pending) != 1 || pending[0].ID != "j1" {
		t.Errorf("pending jobs after migration: %+v %v", pending, err)
	}
	if err := db.Check(); err != nil {
		t.Error(err)
	}
	db.Close()
	readRaw(t, path, func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketJobs, bucketJobSeq, bucketJobPending} {
			if tx.Bucket(name) == nil {
				t.Errorf("no bucket %s after migration", name)
			}
		}
		if got := string(tx.Bucket(bucketMeta).Get(keySchema)); got != strconv.Itoa(SchemaVersion) {
			t.Errorf("meta/schema = %q after migration", got)
		}
		return nil
	})
}

func TestFailedMigrationLeavesFileUntouched(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	writeV0(t, path)
	writeRaw(t, path, func(tx *bolt.Tx) error {
		return put(tx, "presets", "111/broken", `{"prompt":`)
	})
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(path, Options{})
	if err == nil || !strings.Contains(err.Error(), "111/broken") || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open of a file with a broken record: %v, want an error naming the file and the record", err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readRaw(t, path, func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta) != nil || tx.Bucket(bucketUsers) != nil {
			t.Error("a failed migration left version 1 buckets")
		}
		if tx.Bucket([]byte("presets")).Get([]byte("111/ANIME")) == nil {
			t.Error("a failed migration lost a version 0 preset")
		}
		return nil
	})
	// bbolt may rewrite its free list on a rolled-back file, but the data pages stay.
	if len(after) != len(before) {
		t.Errorf("file size changed from %d to %d", len(before), len(after))
	}
}

func TestNewerSchemaIsRefusedUntouched(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	db := openAt(t, path)
	if err := db.SavePreset("111", gen.Preset{Name: "keep"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	writeRaw(t, path, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchema, []byte(strconv.Itoa(SchemaVersion+1)))
	})
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(path, Options{})
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open of a newer file: %v, want ErrSchemaTooNew", err)
	}
	for _, part := range []string{path, fmt.Sprintf("version %d", SchemaVersion+1), fmt.Sprintf("up to %d", SchemaVersion)} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not say %q", err, part)
		}
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("refusing a newer file changed it")
	}
}

func TestForeignFilesAreRefused(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "other.db")
	writeRaw(t, other, func(tx *bolt.Tx) error { return put(tx, "widgets", "a", "b") })
	if _, err := Open(other, Options{}); !errors.Is(err, ErrNotLorabot) {
		t.Errorf("Open of another program's bbolt file: %v, want ErrNotLorabot", err)
	}
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, bytes.Repeat([]byte("not a database\n"), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(text, Options{}); err == nil || !strings.Contains(err.Error(), text) {
		t.Errorf("Open of a text file: %v, want an error naming it", err)
	}
}

// Records are JSON so that binaries of different ages read each other's.
func TestRecordsTolerateAddedAndMissingFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	db := openAt(t, path)
	if err := db.SavePreset("111", gen.Preset{Name: "seed"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	writeRaw(t, path, func(tx *bolt.Tx) error {
		presets := tx.Bucket(bucketUsers).Bucket([]byte("111")).Bucket(bucketPresets)
		// From a future binary: fields this one does not know.
		if err := presets.Put([]byte("future"), []byte(`{"name":"Future","options":{"steps":9,"hires":{"scale":2}},"owner_note":"x"}`)); err != nil {
			return err
		}
		// From an older binary: fields missing.
		return presets.Put([]byte("past"), []byte(`{"name":"Past","options":{}}`))
	})
	db = openAt(t, path)
	if p, err := db.Preset("111", "future"); err != nil || p.Name != "Future" || p.Options.Steps != 9 {
		t.Errorf("record with unknown fields: %+v, %v", p, err)
	}
	if p, err := db.Preset("111", "past"); err != nil || p.Name != "Past" || !reflect.DeepEqual(p.Options, gen.Options{}) {
		t.Errorf("record with missing fields: %+v, %v", p, err)
	}
	if err := db.Check(); err != nil {
		t.Error(err)
	}
}

func TestCheckFindsBrokenRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	db := openAt(t, path)
	if err := db.SavePreset("111", gen.Preset{Name: "ok"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	writeRaw(t, path, func(tx *bolt.Tx) error {
		u := tx.Bucket(bucketUsers).Bucket([]byte("111"))
		if err := u.Bucket(bucketPresets).Put([]byte("torn"), []byte(`{"name":"torn","opt`)); err != nil {
			return err
		}
		return u.Put(keyDefault, []byte("gone"))
	})
	db = openAt(t, path)
	err := db.Check()
	if err == nil || !strings.Contains(err.Error(), "torn") || !strings.Contains(err.Error(), "gone") {
		t.Errorf("Check = %v, want it to name the torn record and the dangling default", err)
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	db := openAt(t, path)
	full := gen.Preset{Name: "Full", Options: fullOptions().ForPreset()}
	steps := func(name string, n int) gen.Preset { return gen.Preset{Name: name, Options: gen.Options{Steps: n}} }
	for _, s := range []struct {
		user string
		p    gen.Preset
	}{{"111", full}, {"111", steps("other", 5)}, {"222", steps("bob", 6)}} {
		if err := db.SavePreset(s.user, s.p); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SetDefaultPreset("111", "full"); err != nil {
		t.Fatal(err)
	}
	code, err := db.SharePreset("222", "bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetSetting("k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openAt(t, path)
	if list, _ := db.Presets("111"); !reflect.DeepEqual(list, []gen.Preset{full, steps("other", 5)}) {
		t.Errorf("presets of 111 after reopening: %+v", list)
	}
	if list, _ := db.Presets("222"); !reflect.DeepEqual(list, []gen.Preset{steps("bob", 6)}) {
		t.Errorf("presets of 222 after reopening: %+v", list)
	}
	if d, ok, _ := db.DefaultPreset("111"); !ok || !reflect.DeepEqual(d, full) {
		t.Errorf("default after reopening: %+v %v", d, ok)
	}
	if p, err := db.ImportPreset("333", code, ""); err != nil || p.Options.Steps != 6 {
		t.Errorf("share after reopening: %+v %v", p, err)
	}
	if v, ok, _ := db.Setting("k"); !ok || string(v) != "v" {
		t.Errorf("setting after reopening: %q %v", v, ok)
	}
}

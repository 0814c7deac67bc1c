package store

import (
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"lorabot/guild"
)

const (
	guildA = "100000000000000001"
	guildB = "100000000000000002"
)

func TestGuildSettingsAreKeptPerGuild(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	db := openAt(t, path)
	if s, err := db.GuildSettings(guildA); err != nil || !reflect.DeepEqual(s, guild.Settings{GuildID: guildA}) {
		t.Fatalf("a guild that set nothing: %+v %v", s, err)
	}
	got, err := db.UpdateGuildSettings(guildB, func(s *guild.Settings) error {
		s.Policy = guild.Spoiler
		s.Channels = []string{"200000000000000009"}
		s.Bounds.Cooldown = 30 * time.Second
		return s.Ban("Dragon")
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.GuildID != guildB || got.Policy != guild.Spoiler || !slices.Equal(got.Banned, []string{"dragon"}) {
		t.Errorf("UpdateGuildSettings answered %+v", got)
	}
	if _, err := db.UpdateGuildSettings("", func(s *guild.Settings) error { s.DMs = ptr(false); return nil }); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db = openAt(t, path)
	b, err := db.GuildSettings(guildB)
	if err != nil || !reflect.DeepEqual(b, got) {
		t.Errorf("B after reopening:\n got %+v %v\nwant %+v", b, err, got)
	}
	own, defaults, err := db.GuildAndDefaults(guildA)
	if err != nil || !reflect.DeepEqual(own, guild.Settings{GuildID: guildA}) {
		t.Errorf("A is untouched by B's changes: %+v %v", own, err)
	}
	if defaults.GuildID != "" || defaults.DMsAllowed() || defaults.Policy != "" {
		t.Errorf("defaults: %+v", defaults)
	}
	if own.Over(defaults).DMsAllowed() {
		t.Error("A's effective settings lost the defaults' DMs")
	}
	own, defaults, err = db.GuildAndDefaults("")
	if err != nil || !reflect.DeepEqual(own, defaults) {
		t.Errorf("GuildAndDefaults(\"\") = %+v, %+v, %v; want the defaults twice", own, defaults, err)
	}
	if err := db.Check(); err != nil {
		t.Error(err)
	}
}

func TestUpdateGuildSettingsStoresNothingWhenRefused(t *testing.T) {
	db := openTemp(t)
	if _, err := db.UpdateGuildSettings(guildA, func(s *guild.Settings) error { return s.Ban("keep") }); err != nil {
		t.Fatal(err)
	}
	mine := errors.New("no such channel")
	_, err := db.UpdateGuildSettings(guildA, func(s *guild.Settings) error {
		s.Policy = guild.Allow
		return mine
	})
	if err != mine {
		t.Errorf("the change's error should come back as it is: %v", err)
	}
	for name, change := range map[string]func(*guild.Settings){
		"too many channels": func(s *guild.Settings) {
			for i := range guild.MaxChannels + 1 {
				s.Channels = append(s.Channels, strconv.Itoa(200+i))
			}
		},
		"a channel that is no ID": func(s *guild.Settings) { s.Channels = []string{"general"} },
		"an unknown policy":       func(s *guild.Settings) { s.Policy = "sometimes" },
		"a negative limit":        func(s *guild.Settings) { s.Bounds.MaxSteps = -1 },
		"a cooldown over an hour": func(s *guild.Settings) { s.Bounds.Cooldown = guild.MaxCooldown + time.Second },
		"a width without height":  func(s *guild.Settings) { s.Bounds.MaxWidth = 512 },
		"a long negative":         func(s *guild.Settings) { s.DefaultNegative = strings.Repeat("n", guild.MaxNegative+1) },
	} {
		_, err := db.UpdateGuildSettings(guildA, func(s *guild.Settings) error { change(s); return nil })
		var ge *guild.Error
		if !errors.As(err, &ge) || ge.UserMessage() == "" {
			t.Errorf("%s: %v, want a *guild.Error", name, err)
		}
	}
	if s, _ := db.GuildSettings(guildA); s.Policy != "" || len(s.Channels) != 0 || !slices.Equal(s.Banned, []string{"keep"}) || s.Bounds != (guild.Bounds{}) {
		t.Errorf("a refused change was stored: %+v", s)
	}
}

func TestGuildIDsAreChecked(t *testing.T) {
	db := openTemp(t)
	for _, id := range []string{"abc", "1/2", "defaults", strings.Repeat("1", 21), " 1"} {
		if _, err := db.GuildSettings(id); !errors.Is(err, ErrBadGuild) {
			t.Errorf("GuildSettings(%q) = %v", id, err)
		}
		if _, _, err := db.GuildAndDefaults(id); !errors.Is(err, ErrBadGuild) {
			t.Errorf("GuildAndDefaults(%q) = %v", id, err)
		}
		if _, err := db.UpdateGuildSettings(id, func(*guild.Settings) error { return nil }); !errors.Is(err, ErrBadGuild) {
			t.Errorf("UpdateGuildSettings(%q) = %v", id, err)
		}
		if _, err := db.AdoptDefaults(id); !errors.Is(err, ErrBadGuild) {
			t.Errorf("AdoptDefaults(%q) = %v", id, err)
		}
	}
}

// writeV2 builds a version 2 file as a version 2 lorabot left it, with two
// global trigger overrides (one blank) and another setting.
func writeV2(t *testing.T, path string) {
	writeRaw(t, path, func(tx *bolt.Tx) error {
		for _, kv := range [][3]string{
			{"meta", "schema", "2"},
			{"settings", "trigger/pixel-art-xl", " pixelated, 8-bit "},
			{"settings", "trigger/add_detail", "detailed"},
			{"settings", "trigger/blank", " , "},
			{"settings", "discord/other", "kept"},
		} {
			if err := put(tx, kv[0], kv[1], kv[2]); err != nil {
				return err
			}
		}
		for _, name := range topBuckets {
			if string(name) == string(bucketGuilds) {
				continue // version 3's
			}
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
}

func triggersOf(s guild.Settings) map[string]string {
	out := map[string]string{}
	for name, l := range s.LoRAs {
		out[name] = strings.Join(l.Triggers, ", ")
	}
	return out
}

func TestMigrateFromV2MovesTriggerOverridesIntoTheHomeGuild(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	writeV2(t, path)
	db := openAt(t, path)
	if v, err := db.SchemaVersion(); err != nil || v != SchemaVersion {
		t.Fatalf("after migration: schema %d, %v", v, err)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"pixel-art-xl": "pixelated, 8-bit", "add_detail": "detailed"}
	d, err := db.GuildSettings("")
	if err != nil || !reflect.DeepEqual(triggersOf(d), want) {
		t.Errorf("defaults after migration: %q %v, want %q", triggersOf(d), err, want)
	}
	if v, ok, _ := db.Setting("discord/other"); !ok || string(v) != "kept" {
		t.Errorf("another setting after migration: %q %v", v, ok)
	}
	// The home guild already has its own words for add_detail.
	if _, err := db.UpdateGuildSettings(guildA, func(s *guild.Settings) error {
		return s.SetLoRA("add_detail", func(l *guild.LoRA) { l.Triggers = []string{"mine"} })
	}); err != nil {
		t.Fatal(err)
	}
	moved, err := db.AdoptDefaults(guildA)
	if err != nil || !slices.Equal(moved, []string{"pixel-art-xl"}) {
		t.Errorf("AdoptDefaults moved %q, %v", moved, err)
	}
	home, defaults, err := db.GuildAndDefaults(guildA)
	if err != nil {
		t.Fatal(err)
	}
	if got := triggersOf(home); !reflect.DeepEqual(got, map[string]string{"pixel-art-xl": "pixelated, 8-bit", "add_detail": "mine"}) {
		t.Errorf("home guild after adopting: %q", got)
	}
	if got := triggersOf(defaults); !reflect.DeepEqual(got, map[string]string{"add_detail": "detailed"}) {
		t.Errorf("defaults after adopting: %q", got)
	}
	if b, _ := db.GuildSettings(guildB); len(b.LoRAs) != 0 {
		t.Errorf("another guild got trigger words: %+v", b.LoRAs)
	}
	db.Close()

	readRaw(t, path, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketSettings).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if strings.HasPrefix(string(k), triggerPrefix) {
				t.Errorf("version 2 key %q left behind", k)
			}
		}
		if tx.Bucket(bucketMeta).Get(keyAdopt) != nil {
			t.Error("the adoption is still marked pending")
		}
		return nil
	})
	// Once: a later start, even with another home guild, moves nothing.
	db = openAt(t, path)
	if moved, err := db.AdoptDefaults(guildB); err != nil || len(moved) != 0 {
		t.Errorf("a second AdoptDefaults moved %q, %v", moved, err)
	}
	if b, _ := db.GuildSettings(guildB); len(b.LoRAs) != 0 {
		t.Errorf("a second AdoptDefaults gave guild B %+v", b.LoRAs)
	}
}

func TestMigrateFromV2WithoutHomeGuildKeepsTriggersBotWide(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	writeV2(t, path)
	db := openAt(t, path)
	if moved, err := db.AdoptDefaults(""); err != nil || len(moved) != 0 {
		t.Fatalf("AdoptDefaults(\"\") moved %q, %v", moved, err)
	}
	// Decided at the first start: a home guild set later gets nothing.
	if moved, err := db.AdoptDefaults(guildA); err != nil || len(moved) != 0 {
		t.Errorf("AdoptDefaults after a global start moved %q, %v", moved, err)
	}
	if d, _ := db.GuildSettings(""); len(d.LoRAs) != 2 {
		t.Errorf("the defaults should keep the words: %q", triggersOf(d))
	}
}

func TestAdoptDefaultsOnANewFileDoesNothing(t *testing.T) {
	db := openTemp(t)
	if _, err := db.UpdateGuildSettings("", func(s *guild.Settings) error {
		return s.SetLoRA("pixel-art-xl", func(l *guild.LoRA) { l.Triggers = []string{"set after the upgrade"} })
	}); err != nil {
		t.Fatal(err)
	}
	if moved, err := db.AdoptDefaults(guildA); err != nil || len(moved) != 0 {
		t.Errorf("AdoptDefaults on a new file moved %q, %v", moved, err)
	}
	if d, _ := db.GuildSettings(""); triggersOf(d)["pixel-art-xl"] != "set after the upgrade" {
		t.Errorf("bot-wide words set after the upgrade must stay: %q", triggersOf(d))
	}
}

func TestCheckFindsBrokenGuildSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	db := openAt(t, path)
	db.Close()
	writeRaw(t, path, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketGuilds)
		if err := b.Put([]byte(guildA), []byte(`{"policy":`)); err != nil {
			return err
		}
		return b.Put([]byte("general"), []byte(`{}`))
	})
	db = openAt(t, path)
	err := db.Check()
	if err == nil || !strings.Contains(err.Error(), guildA) || !strings.Contains(err.Error(), "general") {
		t.Errorf("Check = %v, want it to name the torn record and the bad key", err)
	}
	if _, err := db.GuildSettings(guildA); err == nil || !strings.Contains(err.Error(), "decode") {
		t.Errorf("reading a torn record: %v", err)
	}
}

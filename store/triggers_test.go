package store

import (
	"path/filepath"
	"testing"
)

func TestTriggerOverridesRoundTripAndClear(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	db := openAt(t, path)
	if err := db.SetTriggerOverride("pixel-art-xl", " pixelated, 8-bit "); err != nil {
		t.Fatal(err)
	}
	if err := db.SetTriggerOverride("ブルーアーカイブ_style", "blue archive"); err != nil {
		t.Fatal(err)
	}
	if err := db.SetSetting("other", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, path)
	got, err := db.TriggerOverrides()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["pixel-art-xl"] != "pixelated, 8-bit" || got["ブルーアーカイブ_style"] != "blue archive" {
		t.Errorf("overrides after reopen: %q", got)
	}
	if err := db.SetTriggerOverride("pixel-art-xl", ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.TriggerOverrides(); len(got) != 1 || got["pixel-art-xl"] != "" {
		t.Errorf("clearing should remove only that override: %q", got)
	}
}

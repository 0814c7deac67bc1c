package store

import (
	"errors"
	"strings"
	"testing"

	"lorabot/gen"
)

func TestSettings(t *testing.T) {
	db := openTemp(t)
	if v, ok, err := db.Setting("trigger/add_detail"); ok || v != nil || err != nil {
		t.Fatalf("missing setting = %q %v %v", v, ok, err)
	}
	value := []byte("detailed, intricate")
	if err := db.SetSetting("trigger/add_detail", value); err != nil {
		t.Fatal(err)
	}
	value[0] = 'X' // the caller's slice is not the stored one
	v, ok, err := db.Setting("trigger/add_detail")
	if err != nil || !ok || string(v) != "detailed, intricate" {
		t.Fatalf("Setting = %q %v %v", v, ok, err)
	}
	v[0] = 'Y' // nor is the returned one
	if v, _, _ := db.Setting("trigger/add_detail"); string(v) != "detailed, intricate" {
		t.Errorf("changing the returned slice changed the setting: %q", v)
	}
	if err := db.SetSetting("trigger/add_detail", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := db.Setting("trigger/add_detail"); string(v) != "v2" {
		t.Errorf("overwritten setting = %q", v)
	}
	if err := db.SetSetting("empty", nil); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := db.Setting("empty"); !ok || len(v) != 0 || err != nil {
		t.Errorf("empty setting = %q %v %v, want present and empty", v, ok, err)
	}
	if err := db.DeleteSetting("trigger/add_detail"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.Setting("trigger/add_detail"); ok {
		t.Error("deleted setting still there")
	}
	if err := db.DeleteSetting("never-set"); err != nil {
		t.Errorf("deleting a missing setting: %v", err)
	}
	for _, key := range []string{"", strings.Repeat("k", maxSettingKeyLen+1)} {
		if err := db.SetSetting(key, []byte("x")); !errors.Is(err, ErrBadSetting) {
			t.Errorf("SetSetting(%d-byte key) = %v", len(key), err)
		}
		if _, _, err := db.Setting(key); !errors.Is(err, ErrBadSetting) {
			t.Errorf("Setting(%d-byte key) = %v", len(key), err)
		}
	}
}

func TestSettingsAndPresetsDoNotMix(t *testing.T) {
	db := openTemp(t)
	if err := db.SavePreset("111", gen.Preset{Name: "anime"}); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"users", "111", "presets", "anime", "schema"} {
		if err := db.SetSetting(key, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if list, _ := db.Presets("111"); len(list) != 1 || list[0].Name != "anime" {
		t.Errorf("presets after settings: %q", presetNames(list))
	}
	if v, err := db.SchemaVersion(); err != nil || v != SchemaVersion {
		t.Errorf("schema after settings: %d %v", v, err)
	}
	if err := db.Check(); err != nil {
		t.Error(err)
	}
}

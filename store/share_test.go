package store

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"lorabot/gen"
)

func TestShareAndImportCopy(t *testing.T) {
	db := openTemp(t)
	owner, importer := "111", "222"
	original := gen.Preset{Name: "Neon City", Options: gen.Options{Prompt: "neon", Steps: 25, Seed: ptr(int64(7))}}
	if err := db.SavePreset(owner, original); err != nil {
		t.Fatal(err)
	}
	code, err := db.SharePreset(owner, "neon city")
	if err != nil {
		t.Fatal(err)
	}
	if len(code) != ShareCodeLen || strings.Trim(code, shareAlphabet) != "" {
		t.Fatalf("code %q: want %d characters of %s", code, ShareCodeLen, shareAlphabet)
	}
	// The owner changes and then deletes theirs: the share keeps the old copy.
	if err := db.SavePreset(owner, gen.Preset{Name: "Neon City", Options: gen.Options{Prompt: "changed"}}); err != nil {
		t.Fatal(err)
	}
	got, err := db.ImportPreset(importer, " "+strings.ToLower(code)+" ", "")
	if err != nil {
		t.Fatal(err)
	}
	want := gen.Preset{Name: "Neon City", Options: original.Options.ForPreset()}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ImportPreset = %+v, want %+v", got, want)
	}
	if stored, err := db.Preset(importer, "neon city"); err != nil || !reflect.DeepEqual(stored, want) {
		t.Errorf("imported preset as stored: %+v, %v", stored, err)
	}
	// The importer's copy is theirs: the owner's later edits do not reach it.
	if err := db.SavePreset(owner, gen.Preset{Name: "Neon City", Options: gen.Options{Prompt: "changed again"}}); err != nil {
		t.Fatal(err)
	}
	if err := db.DeletePreset(owner, "neon city"); err != nil {
		t.Fatal(err)
	}
	if stored, _ := db.Preset(importer, "Neon City"); stored.Options.Prompt != "neon" {
		t.Errorf("importer's copy changed with the owner's: %+v", stored)
	}
	// Nor do the importer's edits reach the share.
	if err := db.SavePreset(importer, gen.Preset{Name: "neon city", Options: gen.Options{Prompt: "mine now"}}); err != nil {
		t.Fatal(err)
	}
	third, err := db.ImportPreset("333", code, "")
	if err != nil || third.Options.Prompt != "neon" {
		t.Errorf("a later import: %+v, %v", third, err)
	}
}

func TestImportRules(t *testing.T) {
	db := openTemp(t)
	if err := db.SavePreset("111", gen.Preset{Name: "anime", Options: gen.Options{Steps: 12}}); err != nil {
		t.Fatal(err)
	}
	code, err := db.SharePreset("111", "anime")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportPreset("222", code, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportPreset("222", code, ""); !errors.Is(err, gen.ErrPresetExists) {
		t.Errorf("second import under the same name: %v, want ErrPresetExists", err)
	}
	if _, err := db.ImportPreset("222", code, "ANIME"); !errors.Is(err, gen.ErrPresetExists) {
		t.Errorf("import under the same name in other case: %v, want ErrPresetExists", err)
	}
	if _, err := db.ImportPreset("111", code, ""); !errors.Is(err, gen.ErrPresetExists) {
		t.Errorf("owner imports over their own: %v, want ErrPresetExists", err)
	}
	p, err := db.ImportPreset("222", code, "  anime 2 ")
	if err != nil || p.Name != "anime 2" || p.Options.Steps != 12 {
		t.Errorf("import under a new name: %+v, %v", p, err)
	}
	for _, name := range []string{"none", strings.Repeat("y", 33), "a\nb"} {
		if _, err := db.ImportPreset("222", code, name); !errors.Is(err, gen.ErrPresetName) {
			t.Errorf("import as %q: %v, want ErrPresetName", name, err)
		}
	}
	for i := 2; i < gen.MaxPresetsPerUser; i++ {
		if err := db.SavePreset("222", gen.Preset{Name: fmt.Sprintf("filler %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ImportPreset("222", code, "fifty-one"); !errors.Is(err, gen.ErrPresetLimit) {
		t.Errorf("import past the limit: %v, want ErrPresetLimit", err)
	}
	for _, bad := range []string{"", "ZZZZZZZZ", "ABCDEFG", "ABCDEFGHJ", "0O1I0O1I", code + "/", "../" + code} {
		if _, err := db.ImportPreset("333", bad, ""); !errors.Is(err, gen.ErrShareNotFound) {
			t.Errorf("import %q: %v, want ErrShareNotFound", bad, err)
		}
	}
	if list, _ := db.Presets("333"); len(list) != 0 {
		t.Errorf("failed imports stored %q", presetNames(list))
	}
}

func TestShareCodesAreDistinct(t *testing.T) {
	db := openTemp(t)
	seen := map[string]bool{}
	var first string
	for i := range 200 {
		// A changed preset gets a new code.
		if err := db.SavePreset("111", gen.Preset{Name: "p", Options: gen.Options{Steps: i + 1}}); err != nil {
			t.Fatal(err)
		}
		code, err := db.SharePreset("111", "p")
		if err != nil {
			t.Fatal(err)
		}
		if seen[code] {
			t.Fatalf("code %s handed out twice", code)
		}
		seen[code] = true
		if i == 0 {
			first = code
		}
	}
	// Only the newest MaxSharesPerUser codes are kept.
	if _, err := db.ImportPreset("222", first, "old"); !errors.Is(err, gen.ErrShareNotFound) {
		t.Errorf("the oldest of 200 codes should be retired past %d, got %v", MaxSharesPerUser, err)
	}
}

func TestSharingAnUnchangedPresetGivesTheSameCode(t *testing.T) {
	db := openTemp(t)
	if err := db.SavePreset("111", gen.Preset{Name: "p", Options: gen.Options{Steps: 9}}); err != nil {
		t.Fatal(err)
	}
	a, err := db.SharePreset("111", "p")
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.SharePreset("111", "P")
	if err != nil || a != b {
		t.Errorf("an unchanged preset shared twice: %q then %q (%v)", a, b, err)
	}
	if err := db.SavePreset("222", gen.Preset{Name: "p", Options: gen.Options{Steps: 9}}); err != nil {
		t.Fatal(err)
	}
	if c, err := db.SharePreset("222", "p"); err != nil || c == a {
		t.Errorf("another user's identical preset must get its own code: %q %v", c, err)
	}
}

package store

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"lorabot/gen"
)

func TestSavePresetRoundTripDropsSeedAndCount(t *testing.T) {
	db := openTemp(t)
	opts := fullOptions()
	if err := db.SavePreset("111", gen.Preset{Name: "  Portrait  ", Options: opts}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Preset("111", "portrait")
	if err != nil {
		t.Fatal(err)
	}
	want := gen.Preset{Name: "Portrait", Options: opts.ForPreset()}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Preset = %+v\nwant      %+v", got, want)
	}
	if got.Options.Seed != nil || got.Options.Count != 0 {
		t.Errorf("seed %v and count %d were saved", got.Options.Seed, got.Options.Count)
	}
	list, err := db.Presets("111")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || !reflect.DeepEqual(list[0], want) {
		t.Errorf("Presets = %+v", list)
	}
}

func TestPresetNamesIgnoreCaseAndKeepNewSpelling(t *testing.T) {
	db := openTemp(t)
	if err := db.SavePreset("111", gen.Preset{Name: "anime", Options: gen.Options{Steps: 10}}); err != nil {
		t.Fatal(err)
	}
	if err := db.SavePreset("111", gen.Preset{Name: "Anime", Options: gen.Options{Steps: 20}}); err != nil {
		t.Fatal(err)
	}
	list, _ := db.Presets("111")
	if len(list) != 1 || list[0].Name != "Anime" || list[0].Options.Steps != 20 {
		t.Fatalf("after saving Anime over anime: %+v", list)
	}
	for _, q := range []string{"anime", "ANIME", " aNiMe "} {
		p, err := db.Preset("111", q)
		if err != nil || p.Name != "Anime" {
			t.Errorf("Preset(%q) = %+v, %v", q, p, err)
		}
	}
	if err := db.DeletePreset("111", "ANIME"); err != nil {
		t.Fatal(err)
	}
	if list, _ := db.Presets("111"); len(list) != 0 {
		t.Errorf("after delete: %q", presetNames(list))
	}
}

func TestPresetsAreSortedIgnoringCase(t *testing.T) {
	db := openTemp(t)
	for _, n := range []string{"beta", "Alpha", "gamma", "Delta"} {
		if err := db.SavePreset("111", gen.Preset{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := db.Presets("111")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := presetNames(list), []string{"Alpha", "beta", "Delta", "gamma"}; !slices.Equal(got, want) {
		t.Errorf("Presets = %q, want %q", got, want)
	}
	if list, err := db.Presets("never-saved"); err != nil || len(list) != 0 {
		t.Errorf("Presets of a new user = %v, %v", list, err)
	}
}

func TestPresetLimit(t *testing.T) {
	db := openTemp(t)
	for i := range gen.MaxPresetsPerUser {
		if err := db.SavePreset("111", gen.Preset{Name: fmt.Sprintf("p%02d", i)}); err != nil {
			t.Fatalf("preset %d of %d: %v", i+1, gen.MaxPresetsPerUser, err)
		}
	}
	err := db.SavePreset("111", gen.Preset{Name: "one too many"})
	if !errors.Is(err, gen.ErrPresetLimit) {
		t.Fatalf("51st preset: %v, want ErrPresetLimit", err)
	}
	if _, err := db.Preset("111", "one too many"); !errors.Is(err, gen.ErrPresetNotFound) {
		t.Errorf("refused preset was stored: %v", err)
	}
	if err := db.SavePreset("111", gen.Preset{Name: "P07", Options: gen.Options{Steps: 9}}); err != nil {
		t.Errorf("replacing at the limit: %v", err)
	}
	if err := db.SavePreset("222", gen.Preset{Name: "mine"}); err != nil {
		t.Errorf("another user is held by the first one's limit: %v", err)
	}
	if err := db.DeletePreset("111", "p00"); err != nil {
		t.Fatal(err)
	}
	if err := db.SavePreset("111", gen.Preset{Name: "one too many"}); err != nil {
		t.Errorf("after a delete, a new preset fits: %v", err)
	}
	if list, _ := db.Presets("111"); len(list) != gen.MaxPresetsPerUser {
		t.Errorf("%d presets stored, want %d", len(list), gen.MaxPresetsPerUser)
	}
}

func TestBadPresetNames(t *testing.T) {
	db := openTemp(t)
	bad := []string{"", "   ", strings.Repeat("x", 33), strings.Repeat("é", 33), "none", "NONE", " None ",
		"two\nlines", "tab\there", "nul\x00", "bell\a", "mid\u0085dle", "\u202egnp.exe", "bad\xffutf8"}
	for _, name := range bad {
		if err := db.SavePreset("111", gen.Preset{Name: name}); !errors.Is(err, gen.ErrPresetName) {
			t.Errorf("SavePreset(%q) = %v, want ErrPresetName", name, err)
		}
	}
	if list, _ := db.Presets("111"); len(list) != 0 {
		t.Errorf("bad names were stored: %q", presetNames(list))
	}
	good := []string{"x", strings.Repeat("x", 32), strings.Repeat("é", 32), "dark/moody", "../111", "none of these", "🙂 smile", "👨\u200d👩 family"}
	for _, name := range good {
		if err := db.SavePreset("111", gen.Preset{Name: name}); err != nil {
			t.Errorf("SavePreset(%q) = %v", name, err)
		}
		if p, err := db.Preset("111", name); err != nil || p.Name != name {
			t.Errorf("Preset(%q) = %+v, %v", name, p, err)
		}
	}
}

func TestMissingPresets(t *testing.T) {
	db := openTemp(t)
	if err := db.SavePreset("111", gen.Preset{Name: "real"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ghost", "", "none", strings.Repeat("x", 40), "bad\x00"} {
		if _, err := db.Preset("111", name); !errors.Is(err, gen.ErrPresetNotFound) {
			t.Errorf("Preset(%q) = %v", name, err)
		}
		if err := db.DeletePreset("111", name); !errors.Is(err, gen.ErrPresetNotFound) {
			t.Errorf("DeletePreset(%q) = %v", name, err)
		}
		if _, err := db.SharePreset("111", name); !errors.Is(err, gen.ErrPresetNotFound) {
			t.Errorf("SharePreset(%q) = %v", name, err)
		}
	}
	if err := db.SetDefaultPreset("111", "ghost"); !errors.Is(err, gen.ErrPresetNotFound) {
		t.Errorf("SetDefaultPreset(ghost) = %v", err)
	}
}

func TestDefaultPreset(t *testing.T) {
	db := openTemp(t)
	if _, ok, err := db.DefaultPreset("111"); ok || err != nil {
		t.Fatalf("new user has a default: %v %v", ok, err)
	}
	for _, n := range []string{"anime", "photo"} {
		if err := db.SavePreset("111", gen.Preset{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	wantDefault := func(name string) {
		t.Helper()
		p, ok, err := db.DefaultPreset("111")
		switch {
		case err != nil:
			t.Fatal(err)
		case name == "" && ok:
			t.Errorf("default is %q, want none", p.Name)
		case name != "" && (!ok || p.Name != name):
			t.Errorf("default = %q (%v), want %q", p.Name, ok, name)
		}
	}
	if err := db.SetDefaultPreset("111", "ANIME"); err != nil {
		t.Fatal(err)
	}
	wantDefault("anime")
	if err := db.SetDefaultPreset("111", "ghost"); !errors.Is(err, gen.ErrPresetNotFound) {
		t.Errorf("default to a missing preset: %v", err)
	}
	wantDefault("anime")
	// Replacing the default preset keeps it the default, with the new spelling.
	if err := db.SavePreset("111", gen.Preset{Name: "Anime", Options: gen.Options{Steps: 5}}); err != nil {
		t.Fatal(err)
	}
	wantDefault("Anime")
	if err := db.DeletePreset("111", "photo"); err != nil {
		t.Fatal(err)
	}
	wantDefault("Anime")
	for _, clear := range []string{"", "none", " NONE "} {
		if err := db.SetDefaultPreset("111", "anime"); err != nil {
			t.Fatal(err)
		}
		if err := db.SetDefaultPreset("111", clear); err != nil {
			t.Fatalf("clear with %q: %v", clear, err)
		}
		wantDefault("")
	}
	if err := db.SetDefaultPreset("111", "anime"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeletePreset("111", "anime"); err != nil {
		t.Fatal(err)
	}
	wantDefault("")
	// A new preset of the deleted default's name does not become the default.
	if err := db.SavePreset("111", gen.Preset{Name: "anime"}); err != nil {
		t.Fatal(err)
	}
	wantDefault("")
	if err := db.SetDefaultPreset("never-saved", ""); err != nil {
		t.Errorf("clearing a new user's default: %v", err)
	}
}

func TestUsersAreIsolated(t *testing.T) {
	db := openTemp(t)
	alice, bob := "111", "222"
	secret := gen.Preset{Name: "anime", Options: gen.Options{Prompt: "alice's secret"}}
	if err := db.SavePreset(alice, secret); err != nil {
		t.Fatal(err)
	}
	if err := db.SetDefaultPreset(alice, "anime"); err != nil {
		t.Fatal(err)
	}
	// Names that would reach Alice's record under a path- or prefix-based layout.
	for _, name := range []string{"anime", "111/anime", "../111/presets/anime", "users/111/presets/anime", "111"} {
		if _, err := db.Preset(bob, name); !errors.Is(err, gen.ErrPresetNotFound) {
			t.Errorf("bob loads %q: %v", name, err)
		}
		if err := db.DeletePreset(bob, name); !errors.Is(err, gen.ErrPresetNotFound) {
			t.Errorf("bob deletes %q: %v", name, err)
		}
		if err := db.SetDefaultPreset(bob, name); !errors.Is(err, gen.ErrPresetNotFound) {
			t.Errorf("bob defaults to %q: %v", name, err)
		}
		if _, err := db.SharePreset(bob, name); !errors.Is(err, gen.ErrPresetNotFound) {
			t.Errorf("bob shares %q: %v", name, err)
		}
	}
	// User IDs that look like Alice's keys reach nothing either.
	for _, user := range []string{"111/presets", "11", "1111", "111\x00"} {
		if list, err := db.Presets(user); err != nil || len(list) != 0 {
			t.Errorf("Presets(%q) = %q, %v", user, presetNames(list), err)
		}
		if _, err := db.Preset(user, "anime"); !errors.Is(err, gen.ErrPresetNotFound) {
			t.Errorf("Preset(%q, anime) = %v", user, err)
		}
	}
	if list, _ := db.Presets(bob); len(list) != 0 {
		t.Errorf("bob lists %q", presetNames(list))
	}
	if _, ok, _ := db.DefaultPreset(bob); ok {
		t.Error("bob has alice's default")
	}
	// Bob's preset of the same name is his own.
	if err := db.SavePreset(bob, gen.Preset{Name: "ANIME", Options: gen.Options{Prompt: "bob's"}}); err != nil {
		t.Fatal(err)
	}
	if err := db.SavePreset(bob, gen.Preset{Name: "111/anime", Options: gen.Options{Prompt: "bob's slash"}}); err != nil {
		t.Fatal(err)
	}
	if err := db.DeletePreset(bob, "anime"); err != nil {
		t.Fatal(err)
	}
	got, err := db.Preset(alice, "anime")
	if err != nil || !reflect.DeepEqual(got, secret) {
		t.Errorf("alice's preset after bob's writes: %+v, %v", got, err)
	}
	if d, ok, _ := db.DefaultPreset(alice); !ok || d.Name != "anime" {
		t.Errorf("alice's default after bob's writes: %+v %v", d, ok)
	}
	if list, _ := db.Presets(alice); !slices.Equal(presetNames(list), []string{"anime"}) {
		t.Errorf("alice lists %q", presetNames(list))
	}
}

func TestBadUser(t *testing.T) {
	db := openTemp(t)
	for _, user := range []string{"", strings.Repeat("9", maxUserLen+1)} {
		if err := db.SavePreset(user, gen.Preset{Name: "x"}); !errors.Is(err, ErrBadUser) {
			t.Errorf("SavePreset(user %q) = %v", user, err)
		}
		if _, err := db.Presets(user); !errors.Is(err, ErrBadUser) {
			t.Errorf("Presets(user %q) = %v", user, err)
		}
		if _, _, err := db.DefaultPreset(user); !errors.Is(err, ErrBadUser) {
			t.Errorf("DefaultPreset(user %q) = %v", user, err)
		}
		if _, err := db.ImportPreset(user, "ABCDEFGH", ""); !errors.Is(err, ErrBadUser) {
			t.Errorf("ImportPreset(user %q) = %v", user, err)
		}
	}
}

// Concurrent saves (two Discord interactions at once) cannot push a user past
// the limit between the count and the write.
func TestPresetLimitHoldsUnderConcurrentSaves(t *testing.T) {
	db := openTemp(t)
	const workers, each = 8, 10
	errs := make(chan error, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				errs <- db.SavePreset("111", gen.Preset{Name: fmt.Sprintf("w%d p%d", w, i)})
			}
		})
	}
	wg.Wait()
	close(errs)
	refused := 0
	for err := range errs {
		switch {
		case errors.Is(err, gen.ErrPresetLimit):
			refused++
		case err != nil:
			t.Fatal(err)
		}
	}
	list, _ := db.Presets("111")
	if len(list) != gen.MaxPresetsPerUser || refused != workers*each-gen.MaxPresetsPerUser {
		t.Errorf("%d stored and %d refused, want %d and %d", len(list), refused, gen.MaxPresetsPerUser, workers*each-gen.MaxPresetsPerUser)
	}
}

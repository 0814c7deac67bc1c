package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"lorabot/gen"
)

func TestResultsSurviveReopenAndOldOnesAreForgotten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	db := openAt(t, path)
	seed := int64(7)
	o := gen.Options{Prompt: "prefix", Steps: 30, Seed: &seed, Count: 4,
		LoRAs: [gen.LoRASlots]gen.LoRAChoice{{Name: "pixel-art-xl"}}}
	if err := db.SaveResult("job1", o); err != nil {
		t.Fatal(err)
	}
	for i := range KeepResults {
		if err := db.SaveResult(fmt.Sprintf("later%d", i), gen.Options{Steps: i + 1}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Result("job1"); !errors.Is(err, gen.ErrResultNotFound) {
		t.Errorf("the oldest result beyond %d should be forgotten, got %v", KeepResults, err)
	}
	if err := db.SaveResult("job2", o); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openAt(t, path)
	got, err := db.Result("job2")
	if err != nil {
		t.Fatal(err)
	}
	if got.Steps != 30 || got.LoRAs[0].Name != "pixel-art-xl" || got.Prompt != "prefix" {
		t.Errorf("result not kept whole: %+v", got)
	}
	if got.Seed != nil || got.Count != 0 {
		t.Errorf("a result is kept as a preset would be, without seed and count: %+v", got)
	}
	if _, err := db.Result("later1999"); err != nil {
		t.Errorf("recent results stay: %v", err)
	}
	if err := db.Check(); err != nil {
		t.Errorf("file check: %v", err)
	}
}

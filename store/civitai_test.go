package store

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"lorabot/civitai"
)

func TestCivitaiInfoRoundTripsAcrossARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	db := openAt(t, path)
	const h = "5f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8"
	if _, ok, err := db.CivitaiInfo(h); ok || err != nil {
		t.Fatalf("never looked up: ok %v err %v", ok, err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	in := civitai.Info{Hash: strings.ToUpper(h), Found: true, VersionID: 2, ModelID: 1, ModelName: "Pixel", TrainedWords: []string{"pixel art", "sprite"},
		BaseModel: "SDXL 1.0", NSFWLevel: 1, PageURL: "https://civitai.com/models/1?modelVersionId=2", PreviewURL: "https://image.civitai.com/x.jpeg",
		Description: "plain", Checked: now, Failures: 2, NextTry: now.Add(time.Minute)}
	if err := db.PutCivitaiInfo(in); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = openAt(t, path)
	got, ok, err := db.CivitaiInfo(strings.ToUpper(h))
	if err != nil || !ok {
		t.Fatalf("after a restart: ok %v err %v", ok, err)
	}
	in.Hash = h
	if !reflect.DeepEqual(got, in) {
		t.Errorf("read back %+v\nwant %+v", got, in)
	}
	if err := db.PutCivitaiInfo(civitai.Info{Hash: "../../etc"}); err == nil {
		t.Errorf("a hash that is not hex should be refused")
	}
}

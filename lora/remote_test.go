package lora

import (
	"bytes"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"lorabot/internal/testkit"
)

func TestRemoteKnowledgeTakesItsPlaceInThePrecedence(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "sdxl/pixel-art-xl.json", `{"activation text": "from sidecar"}`)
	c := sampleCatalog(t, CatalogOptions{LoRADir: dir, Logger: discard()})
	c.SetRemote(map[string]Remote{
		"pixel-art-xl":     {TrainedWords: []string{"civitai pixel"}, Family: FamilySD1},
		"revAnimated_v122": {TrainedWords: []string{"civitai 3d"}, NSFW: true, PageURL: "https://civitai.com/models/1"},
		"more_details":     {Family: FamilySDXL, TrainedWords: nil},
	})
	get := func(name string) LoRA {
		l, _ := c.Index().Get(name)
		return l
	}
	if l := get("pixel-art-xl"); !slices.Equal(l.Triggers, []string{"from sidecar"}) || l.Family != FamilySDXL {
		t.Errorf("the sidecar beats Civitai, the metadata's family stays: %q %v", l.Triggers, l.Family)
	}
	if l := get("revAnimated_v122"); !slices.Equal(l.Triggers, []string{"civitai 3d"}) || !l.NSFW || l.Civitai.PageURL == "" {
		t.Errorf("Civitai's words beat the metadata's, its NSFW mark counts: %+v", l)
	}
	if l := get("more_details"); l.Family != FamilySDXL || len(l.Triggers) != 0 {
		t.Errorf("Civitai's base model fills a family the metadata lacks: %+v", l)
	}
	if l := get("ghibli_style_offset"); !slices.Equal(l.Triggers, []string{"ghibli style"}) {
		t.Errorf("a LoRA Civitai does not know keeps its own words: %q", l.Triggers)
	}
	c.SetRemote(nil)
	if l := get("revAnimated_v122"); l.NSFW || !slices.Equal(l.Triggers, []string{"3dmm style"}) {
		t.Errorf("without Civitai's knowledge the metadata's is back: %+v", l)
	}
}

func TestRemoteFamily(t *testing.T) {
	for in, want := range map[string]Family{"SD 1.5": FamilySD1, "SDXL 1.0": FamilySDXL, "Pony": FamilySDXL, "Illustrious": FamilySDXL,
		"Flux.1 D": FamilyFlux, "SD 3.5 Large": FamilySD3, "SD 2.1 768": FamilySD2, "Hunyuan Video": FamilyUnknown} {
		if got := RemoteFamily(in); got != want {
			t.Errorf("RemoteFamily(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestWantsHashOrLocalFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "add_detail.safetensors", "weights")
	c := sampleCatalog(t, CatalogOptions{LoRADir: dir, Logger: discard()})
	ws := c.Wants(t.Context())
	byName := map[string]Want{}
	for _, w := range ws {
		byName[w.Name] = w
	}
	if w := byName["pixel-art-xl"]; w.Hash == "" || w.File != "" {
		t.Errorf("a LoRA with sshs_model_hash is looked up by it: %+v", w)
	}
	if w := byName["add_detail"]; w.Hash != "" || w.File != filepath.Join(dir, "add_detail.safetensors") {
		t.Errorf("a LoRA without a hash is looked up by its file: %+v", w)
	}
	if _, ok := byName["more_details"]; ok {
		t.Errorf("a LoRA with neither a hash nor a file cannot be looked up")
	}
}

func TestPreviewIsFoundAsA1111FindsIt(t *testing.T) {
	dir := t.TempDir()
	c := sampleCatalog(t, CatalogOptions{LoRADir: dir, Logger: discard()})
	if _, _, err := c.Preview("pixel-art-xl"); err != ErrNoPreview {
		t.Errorf("no file: %v", err)
	}
	want := testkit.SolidPNG(t, 8, 8, color.RGBA{200, 10, 10, 255})
	writeFile(t, dir, "sdxl/pixel-art-xl.preview.jpg", string(testkit.SolidPNG(t, 4, 4, color.RGBA{200, 10, 10, 255}))) // a PNG named .jpg is still an image
	writeFile(t, dir, "sdxl/pixel-art-xl.png", string(want))
	got, _, err := c.Preview("pixel-art-xl")
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("NAME.png comes first: %d bytes, %v", len(got), err)
	}
}

func TestPreviewSkipsHugeNonImagesAndLinksOut(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	c := sampleCatalog(t, CatalogOptions{LoRADir: dir, Logger: discard()})
	secret := filepath.Join(outside, "secret.png")
	if err := os.WriteFile(secret, testkit.SolidPNG(t, 2, 2, color.RGBA{200, 10, 10, 255}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(dir, "revAnimated_v122.png")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "revAnimated_v122.preview.png", "not a picture at all")
	huge := append(testkit.SolidPNG(t, 2, 2, color.RGBA{200, 10, 10, 255}), make([]byte, MaxPreviewBytes)...)
	writeFile(t, dir, "revAnimated_v122.jpg", string(huge))
	_, skipped, err := c.Preview("revAnimated_v122")
	if err != ErrNoPreview {
		t.Fatalf("every candidate is unusable, yet: %v", err)
	}
	all := strings.Join(skipped, "\n")
	for _, why := range []string{"leads out of LORA_DIR", "not an image", "over"} {
		if !strings.Contains(all, why) {
			t.Errorf("skipped reasons should include %q:\n%s", why, all)
		}
	}
	// A link inside LORA_DIR is fine.
	good := testkit.SolidPNG(t, 3, 3, color.RGBA{200, 10, 10, 255})
	writeFile(t, dir, "pics/ghibli.png", string(good))
	if err := os.Symlink(filepath.Join(dir, "pics/ghibli.png"), filepath.Join(dir, "ghibli_style_offset.webp")); err != nil {
		t.Fatal(err)
	}
	if got, _, err := c.Preview("ghibli_style_offset"); err != nil || !bytes.Equal(got, good) {
		t.Errorf("a link within LORA_DIR: %d bytes, %v", len(got), err)
	}
}

func TestForModelRanksTheFamilyFirstAndMarksMismatches(t *testing.T) {
	ix := sampleIndex(t)
	found := ix.Search("style", SearchOptions{})
	fam := func(c Choice) Family {
		l, _ := ix.Lookup(c.Value)
		return l.Family
	}
	got := ForModel(found, FamilySDXL, fam)
	if len(got) != len(found) {
		t.Fatalf("ForModel dropped choices: %d of %d", len(got), len(found))
	}
	seenOther := false
	for _, c := range got {
		f := fam(c)
		marked := strings.HasPrefix(c.Name, "⚠ ")
		switch {
		case f == FamilySDXL && (marked || seenOther):
			t.Errorf("SDXL LoRA %q should come first, unmarked", c.Name)
		case f != FamilySDXL && f != FamilyUnknown:
			seenOther = true
			if want := "⚠ " + f.String() + " LoRA on an SDXL model · "; !strings.HasPrefix(c.Name, want) {
				t.Errorf("mismatch %q should start %q", c.Name, want)
			}
		}
		if n := len([]rune(c.Name)); n > ChoiceMax {
			t.Errorf("choice name of %d runes", n)
		}
		if l, ok := ix.Lookup(c.Value); !ok || l.Family != f {
			t.Errorf("the value %q must still resolve", c.Value)
		}
	}
	if !seenOther {
		t.Fatalf("the sample should have non-SDXL matches for %q: %v", "style", got)
	}
	if Mismatch(FamilySDXL, FamilyFlux) != "⚠ SDXL LoRA on a Flux model" || Mismatch(FamilySD1, FamilyUnknown) != "" {
		t.Errorf("Mismatch wording")
	}
}

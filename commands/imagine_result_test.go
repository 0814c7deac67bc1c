package commands

import (
	"bytes"
	"image/jpeg"
	"io"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"lorabot/a1111/a1111test"
)

func TestFileBudgetKeepsFourImagesUnderTheRequestLimit(t *testing.T) {
	const mib = 1 << 20
	if got := fileBudget(10*mib, 1); got != 10*mib {
		t.Errorf("one image: budget %d, want the 10 MiB attachment limit", got)
	}
	// Four 10 MiB files would be 40 MiB in one request: Discord takes 25.
	if got := fileBudget(10*mib, 4); got*4 > 25*mib {
		t.Errorf("four images: budget %d each exceeds 25 MiB together", got)
	}
	if got := fileBudget(50*mib, 2); got*2 > 25*mib {
		t.Errorf("a boosted server's 50 MiB limit still meets the request limit: %d", got)
	}
}

func TestFitImage(t *testing.T) {
	img := a1111test.NoisyPNG(256, 256, 1)
	f, note, err := fitImage(img, int64(len(img)), "x")
	if err != nil || note != "" || f.ContentType != "image/png" {
		t.Fatalf("an image within the limit is sent as it is: %v %q %+v", err, note, f)
	}

	limit := int64(len(img)) / 2
	f, note, err = fitImage(img, limit, "x")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(f.Reader)
	if int64(len(data)) > limit || f.ContentType != "image/jpeg" || note == "" {
		t.Fatalf("too big: want a JPEG within %d bytes and a note, got %d bytes %s %q", limit, len(data), f.ContentType, note)
	}
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(data)); err != nil || cfg.Width != 256 {
		t.Errorf("re-encoded at full size first: %+v %v", cfg, err)
	}

	if _, _, err := fitImage(img, 100, "x"); err == nil {
		t.Errorf("an impossible limit must be an error, not a silently dropped image")
	}
}

func TestShowImagesAsSpoilers(t *testing.T) {
	files := func() []*discordgo.File {
		return []*discordgo.File{{Name: "lorabot_j1_1.png"}, {Name: "lorabot_j1_2.png"}}
	}
	attached := func(e *discordgo.MessageEmbed, fs []*discordgo.File) bool {
		if e.Image == nil {
			return true
		}
		for _, f := range fs {
			if e.Image.URL == "attachment://"+f.Name {
				return true
			}
		}
		return false
	}

	plain, e := files(), &discordgo.MessageEmbed{}
	showImages(e, plain, false)
	if e.Image == nil || e.Image.URL != "attachment://lorabot_j1_1.png" || plain[0].Name != "lorabot_j1_1.png" {
		t.Errorf("a normal result shows its first image in the embed: %+v %q", e.Image, plain[0].Name)
	}

	sp, e := files(), &discordgo.MessageEmbed{Image: &discordgo.MessageEmbedImage{URL: "attachment://lorabot_j1_1.png"}}
	showImages(e, sp, true)
	for _, f := range sp {
		if !strings.HasPrefix(f.Name, "SPOILER_lorabot_j1_") {
			t.Errorf("a spoiler file is named %q", f.Name)
		}
	}
	// An embed's image is never blurred, so a spoiler result has none, and
	// no attachment:// may name a file by its old name.
	if e.Image != nil || !attached(e, sp) {
		t.Errorf("a spoiler result's embed shows an image: %+v", e.Image)
	}
	showImages(e, sp, true)
	if sp[0].Name != "SPOILER_lorabot_j1_1.png" {
		t.Errorf("marked twice: %q", sp[0].Name)
	}
}

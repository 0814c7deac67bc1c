package commands

import (
	"bytes"
	"image/jpeg"
	"io"
	"testing"

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

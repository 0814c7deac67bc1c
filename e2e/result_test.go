package e2e

import (
	"bytes"
	"image/jpeg"
	"strings"
	"testing"

	"lorabot/a1111/a1111test"
	"lorabot/bot/discordtest"
)

// A server whose uploads are capped low (the interaction's
// attachment_size_limit) still gets every image: the bot re-encodes what is
// too big and says so.
func TestImagesOverTheAttachmentLimitAreReencoded(t *testing.T) {
	// A noisy 384x384 PNG is about 190 KB; the bot only re-encodes what is
	// over the limit, so a JPEG shows it was. (384, not 1024: PNG work is
	// slow under -race.)
	const limit = 100 << 10
	e := start(t, setup{
		discord: discordtest.Options{AttachmentSizeLimit: limit},
		a1111:   a1111test.Options{NoisyImages: true},
	})
	it := e.imagine(alice, discordtest.String("prompt", "a forest"), discordtest.String("size", "384x384"),
		discordtest.Int("count", 2), discordtest.Int("seed", 7))
	m := e.finished(it)
	if len(m.Attachments) != 2 {
		t.Fatalf("want both images, got %d (content %q)", len(m.Attachments), m.Content)
	}
	for i, a := range m.Attachments {
		if a.Size > limit || int64(len(a.Data)) > limit {
			t.Errorf("image %d is %d bytes, over the %d limit", i+1, len(a.Data), limit)
		}
		if !strings.HasSuffix(a.Filename, ".jpg") || a.ContentType != "image/jpeg" {
			t.Errorf("image %d: %q (%s), want a JPEG", i+1, a.Filename, a.ContentType)
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(a.Data))
		if err != nil {
			t.Errorf("image %d is not a JPEG: %v", i+1, err)
			continue
		}
		if cfg.Width != 384 || cfg.Height != 384 {
			t.Errorf("image %d is %dx%d; JPEG alone fits, so it should stay 384x384", i+1, cfg.Width, cfg.Height)
		}
	}
	if !strings.Contains(m.Content, "JPEG") {
		t.Errorf("the message should say the images were converted: %q", m.Content)
	}
	if len(m.Embeds) != 1 || m.Embeds[0].Image == nil || m.Embeds[0].Image.URL != "attachment://"+m.Attachments[0].Filename {
		t.Errorf("the embed should show the first (converted) image: %+v", m.Embeds)
	}
	if v := e.dc.Violations(); len(v) > 0 {
		t.Errorf("violations: %v", v)
	}
}

// An image that JPEG alone cannot bring under the limit is scaled down
// rather than dropped.
func TestImageFarOverTheLimitIsScaledDown(t *testing.T) {
	// JPEG at full size takes about 1.5 KB here (256x256: PNG work is slow
	// under -race).
	const limit = 1 << 10
	e := start(t, setup{
		discord: discordtest.Options{AttachmentSizeLimit: limit},
		a1111:   a1111test.Options{NoisyImages: true},
	})
	m := e.finished(e.imagine(alice, discordtest.String("prompt", "a forest"), discordtest.String("size", "256x256")))
	if len(m.Attachments) != 1 {
		t.Fatalf("the image must not be dropped: %d attachments, content %q", len(m.Attachments), m.Content)
	}
	a := m.Attachments[0]
	if int64(len(a.Data)) > limit {
		t.Errorf("image is %d bytes, over the %d limit", len(a.Data), limit)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(a.Data))
	if err != nil {
		t.Fatalf("not a JPEG: %v", err)
	}
	if cfg.Width >= 256 || cfg.Width < 64 {
		t.Errorf("want a scaled-down image, got %dx%d", cfg.Width, cfg.Height)
	}
	if !strings.Contains(m.Content, "size") {
		t.Errorf("the message should say the image was made smaller: %q", m.Content)
	}
}

package a1111_test

import (
	"errors"
	"image/color"
	"strings"
	"testing"
	"time"

	"lorabot/a1111"
	"lorabot/a1111/a1111test"
	"lorabot/internal/testkit"
)

func TestInterrogate(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{})
	c := newClient(t, srv.URL(), a1111.Options{})
	img := testkit.SolidPNG(t, 96, 64, red)
	caption, err := c.Interrogate(bounded(t), img, a1111.InterrogatorCLIP)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(caption, "red dominant") || !strings.Contains(caption, "landscape") {
		t.Errorf("clip caption %q", caption)
	}
	tags, err := c.Interrogate(bounded(t), testkit.SolidPNG(t, 64, 96, color.RGBA{0, 0, 0xff, 0xff}), a1111.InterrogatorDeepDanbooru)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tags, "blue theme") || !strings.Contains(tags, "portrait") {
		t.Errorf("deepdanbooru tags %q", tags)
	}
	got := srv.Interrogations()
	if len(got) != 2 || got[0].Model != "clip" || got[1].Model != "deepdanbooru" || string(got[0].Image) != string(img) {
		t.Errorf("the server got %+v", got)
	}

	_, err = c.Interrogate(bounded(t), []byte("plain text"), a1111.InterrogatorCLIP)
	if e := asError(t, err, a1111.KindServer); e.ServerDown() || errors.Is(err, a1111.ErrNotSupported) {
		t.Errorf("not an image: %v", e)
	}
	_, err = c.Interrogate(bounded(t), img, "wd14")
	if e := asError(t, err, a1111.KindNotSupported); !errors.Is(err, a1111.ErrNotSupported) || e.UserMessage() != "The image server at "+srv.Addr()+" has no wd14 interrogator." {
		t.Errorf("unknown model: %v / %q", e, e.UserMessage())
	}
}

// "Not available" is told from failures: an install that cannot fetch
// DeepDanbooru's weights, and SD.Next, which has neither name (for CLIP
// the client uses its first OpenCLIP model instead).
func TestInterrogatorNotAvailable(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{NoDeepDanbooru: true})
	c := newClient(t, srv.URL(), a1111.Options{})
	img := testkit.SolidPNG(t, 32, 32, red)
	_, err := c.Interrogate(bounded(t), img, a1111.InterrogatorDeepDanbooru)
	if e := asError(t, err, a1111.KindNotSupported); !errors.Is(err, a1111.ErrNotSupported) || e.ServerDown() {
		t.Errorf("offline deepdanbooru: %v", e)
	}
	if _, err := c.Interrogate(bounded(t), img, a1111.InterrogatorCLIP); err != nil {
		t.Errorf("clip on the same server: %v", err)
	}

	sd := a1111test.Start(t, a1111test.Options{Flavor: a1111test.FlavorSDNext})
	sc := newClient(t, sd.URL(), a1111.Options{})
	caption, err := sc.Interrogate(bounded(t), img, a1111.InterrogatorCLIP)
	if err != nil || !strings.Contains(caption, "red dominant") {
		t.Errorf("sdnext clip: %q, %v", caption, err)
	}
	if got := sd.Interrogations(); len(got) != 2 || got[0].Model != "clip" || got[1].Model != "ViT-L-14/openai" {
		t.Errorf("sdnext got %+v", got)
	}
	_, err = sc.Interrogate(bounded(t), img, a1111.InterrogatorDeepDanbooru)
	if !errors.Is(err, a1111.ErrNotSupported) {
		t.Errorf("sdnext deepdanbooru: %v", err)
	}

	// Forge hides the failed download behind a bare 500: a failure of
	// the job, not of the server.
	forge := a1111test.Start(t, a1111test.Options{Flavor: a1111test.FlavorForge, NoDeepDanbooru: true})
	fc := newClient(t, forge.URL(), a1111.Options{})
	_, err = fc.Interrogate(bounded(t), img, a1111.InterrogatorDeepDanbooru)
	if e := asError(t, err, a1111.KindServer); e.ServerDown() {
		t.Errorf("forge: %v", e)
	}
}

func TestInterrogateFaults(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{})
	c := newClient(t, srv.URL(), a1111.Options{RequestTimeout: 200 * time.Millisecond})
	img := testkit.SolidPNG(t, 8, 8, red)
	for _, tc := range []struct {
		mode a1111test.Mode
		kind a1111.Kind
		down bool
	}{
		{a1111test.Mode500, a1111.KindServer, false},
		{a1111test.Mode401, a1111.KindAuth, false},
		{a1111test.ModeNoAPI, a1111.KindNotSupported, false},
		{a1111test.ModeHang, a1111.KindTimeout, true},
		{a1111test.ModeDown, a1111.KindUnreachable, true},
	} {
		srv.SetMode(tc.mode)
		_, err := c.Interrogate(bounded(t), img, a1111.InterrogatorCLIP)
		if e := asError(t, err, tc.kind); e.ServerDown() != tc.down {
			t.Errorf("%v: ServerDown() = %t for %v", tc.mode, e.ServerDown(), e)
		}
	}
}

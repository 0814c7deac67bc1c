package a1111_test

import (
	"bytes"
	"errors"
	"image"
	"strings"
	"testing"
	"time"

	"lorabot/a1111"
	"lorabot/a1111/a1111test"
	"lorabot/internal/testkit"
)

// 2× with an upscaler the server lists: the size A1111 gives (each side
// rounded down to a multiple of 8), the upscaler sent, the source's
// infotext kept.
func TestExtraSingleImageUpscales(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{})
	c := newClient(t, srv.URL(), a1111.Options{})
	list, err := c.Upscalers(bounded(t))
	if err != nil {
		t.Fatal(err)
	}
	up, ok := a1111.PickUpscaler(list)
	if !ok || up.Name != "R-ESRGAN 4x+" {
		t.Fatalf("picked %+v from %+v", up, list)
	}
	// A txt2img result, with its infotext chunk.
	gen, err := c.Txt2Img(bounded(t), a1111.Txt2ImgRequest{Prompt: "a lighthouse", Steps: 1, Width: 104, Height: 64})
	if err != nil {
		t.Fatal(err)
	}
	src := gen.Images[0]
	res, err := c.ExtraSingleImage(bounded(t), a1111.ExtrasRequest{Image: src, UpscalingResize: 2.5, Upscaler1: up.Name})
	if err != nil {
		t.Fatal(err)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(res.Image))
	if err != nil || format != "png" {
		t.Fatalf("result: %v, %s", err, format)
	}
	if cfg.Width != 256 || cfg.Height != 160 {
		t.Errorf("2.5× of 104×64 is %d×%d, want 256×160 (260 rounded down to a multiple of 8)", cfg.Width, cfg.Height)
	}
	if !strings.Contains(res.HTMLInfo, "Postprocess upscaler: R-ESRGAN 4x+") || !strings.Contains(res.HTMLInfo, "upscale by: 2.5") {
		t.Errorf("html_info %q", res.HTMLInfo)
	}
	if p, ok := a1111test.PNGParameters(res.Image); !ok || !strings.HasPrefix(p, "a lighthouse") {
		t.Errorf("the upscaled PNG lost the infotext: %q", p)
	}
	sent := srv.ExtrasRequests()
	if len(sent) != 1 || !bytes.Equal(sent[0].Image, src) || sent[0].Upscaler1 != up.Name || sent[0].UpscalingResize != 2.5 || sent[0].ResizeMode != 0 {
		t.Errorf("the server got %+v", sent)
	}

	// The default factor is A1111's 2; "None" returns the image unscaled.
	res, err = c.ExtraSingleImage(bounded(t), a1111.ExtrasRequest{Image: src, Upscaler1: "Lanczos"})
	if err != nil {
		t.Fatal(err)
	}
	if b := decodePNG(t, res.Image).Bounds(); b.Dx() != 208 || b.Dy() != 128 {
		t.Errorf("default factor gave %v", b)
	}
	res, err = c.ExtraSingleImage(bounded(t), a1111.ExtrasRequest{Image: src, Upscaler1: "None"})
	if err != nil {
		t.Fatal(err)
	}
	if b := decodePNG(t, res.Image).Bounds(); b.Dx() != 104 {
		t.Errorf("upscaler None gave %v, want the image as it was", b)
	}
}

// A server whose samples_format is webp answers a WEBP, of the new size.
func TestExtraSingleImageWebP(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{})
	c := newClient(t, srv.URL(), a1111.Options{})
	if err := c.SetOptions(bounded(t), map[string]any{"samples_format": "webp"}); err != nil {
		t.Fatal(err)
	}
	res, err := c.ExtraSingleImage(bounded(t), a1111.ExtrasRequest{Image: testkit.SolidPNG(t, 64, 48, red), Upscaler1: "ESRGAN_4x"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(res.Image))
	if err != nil || format != "webp" || cfg.Width != 128 || cfg.Height != 96 {
		t.Errorf("got %s %d×%d (%v), want a 128×96 webp", format, cfg.Width, cfg.Height, err)
	}
}

// A server without the upscaler: the request's fault with the name said,
// not the server's failure. PickUpscaler takes what it has instead.
func TestExtraSingleImageUnknownUpscaler(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{Upscalers: []string{"None", "Lanczos", "Nearest"}})
	c := newClient(t, srv.URL(), a1111.Options{})
	_, err := c.ExtraSingleImage(bounded(t), a1111.ExtrasRequest{Image: testkit.SolidPNG(t, 16, 16, red), Upscaler1: "R-ESRGAN 4x+"})
	e := asError(t, err, a1111.KindBadRequest)
	if !errors.Is(err, a1111.ErrUnknownUpscaler) || e.ServerDown() || e.Status != 500 || e.UserMessage() != `A1111 rejected the request: the server has no upscaler named "R-ESRGAN 4x+".` {
		t.Errorf("%v / %q", e, e.UserMessage())
	}
	list, err := c.Upscalers(bounded(t))
	if err != nil {
		t.Fatal(err)
	}
	if up, ok := a1111.PickUpscaler(list); !ok || up.Name != "Lanczos" {
		t.Errorf("picked %+v, want the built-in Lanczos", up)
	}

	// Forge says only "Internal Server Error": a server failure, which
	// is why the name should be checked first.
	forge := a1111test.Start(t, a1111test.Options{Flavor: a1111test.FlavorForge, Upscalers: []string{"None", "Lanczos"}})
	fc := newClient(t, forge.URL(), a1111.Options{})
	_, err = fc.ExtraSingleImage(bounded(t), a1111.ExtrasRequest{Image: testkit.SolidPNG(t, 16, 16, red), Upscaler1: "R-ESRGAN 4x+"})
	if e := asError(t, err, a1111.KindServer); e.ServerDown() {
		t.Errorf("forge: %v", e)
	}
}

func TestExtraSingleImageFaults(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{})
	c := newClient(t, srv.URL(), a1111.Options{RequestTimeout: 200 * time.Millisecond})
	req := a1111.ExtrasRequest{Image: testkit.SolidPNG(t, 16, 16, red), Upscaler1: "Lanczos"}
	_, err := c.ExtraSingleImage(bounded(t), a1111.ExtrasRequest{Image: []byte("GIF89a, honestly"), Upscaler1: "Lanczos"})
	if e := asError(t, err, a1111.KindServer); e.ServerDown() || !strings.Contains(e.Detail, "Invalid encoded image") {
		t.Errorf("not an image: %v", e)
	}
	cases := []struct {
		mode a1111test.Mode
		kind a1111.Kind
		down bool
	}{
		{a1111test.Mode500, a1111.KindServer, false},
		{a1111test.ModeMalformed, a1111.KindBadResponse, false},
		{a1111test.ModeHang, a1111.KindTimeout, true},
		{a1111test.Mode502, a1111.KindUnreachable, true},
		{a1111test.ModeDown, a1111.KindUnreachable, true},
	}
	for _, tc := range cases {
		srv.SetMode(tc.mode)
		_, err := c.ExtraSingleImage(bounded(t), req)
		if e := asError(t, err, tc.kind); e.ServerDown() != tc.down {
			t.Errorf("%v: ServerDown() = %t for %v", tc.mode, e.ServerDown(), e)
		}
	}
	srv.SetMode(a1111test.ModeOK)
	if srv.Hits("/sdapi/v1/extra-single-image") != 1+len(cases)-1 {
		// ModeDown refuses the connection: that one never arrives.
		t.Errorf("hits %d", srv.Hits("/sdapi/v1/extra-single-image"))
	}
}

// The upscale waits for the server's lock behind a running generation,
// as A1111's queue_lock makes it.
func TestExtraSingleImageWaitsForTheLock(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{StepTime: 5 * time.Millisecond})
	c := newClient(t, srv.URL(), a1111.Options{})
	theirs := srv.WebUIJob(bounded(t), 40)
	if err := srv.WaitStep(bounded(t), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExtraSingleImage(bounded(t), a1111.ExtrasRequest{Image: testkit.SolidPNG(t, 16, 16, red), Upscaler1: "Lanczos"}); err != nil {
		t.Fatal(err)
	}
	// The fake records a generation before it lets go of the lock; its
	// answer to the web UI may arrive after the upscale's.
	if jobs := srv.Jobs(); len(jobs) != 1 || jobs[0].StepsDone != 40 {
		t.Errorf("the upscale finished while a generation held the lock (jobs done: %+v)", jobs)
	}
	select {
	case err := <-theirs:
		if err != nil {
			t.Fatal(err)
		}
	case <-bounded(t).Done():
		t.Fatal("the web UI's generation never ended")
	}
	if srv.MaxConcurrent() != 2 {
		t.Errorf("MaxConcurrent %d: want the generation and the upscale counted", srv.MaxConcurrent())
	}
}

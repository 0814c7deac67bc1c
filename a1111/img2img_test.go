package a1111_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"strings"
	"testing"
	"time"

	"lorabot/a1111"
	"lorabot/a1111/a1111test"
	"lorabot/internal/testkit"
)

func decodePNG(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the image does not decode: %v", err)
	}
	return img
}

var red = color.RGBA{0xff, 0, 0, 0xff}

// The init image reaches the server and shapes the result: a light
// denoise keeps it, a strong one mostly replaces it; the size is the
// request's; progress follows img2img's own task.
func TestImg2ImgUsesTheInitImage(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{StepTime: 5 * time.Millisecond})
	c := newClient(t, srv.URL(), a1111.Options{})
	init := testkit.SolidPNG(t, 64, 64, red)
	log := newProgressLog()
	req := a1111.Img2ImgRequest{
		Txt2ImgRequest: a1111.Txt2ImgRequest{Prompt: "a red cat", Steps: 20, Width: 128, Height: 96, Seed: 7},
		InitImages:     [][]byte{init}, DenoisingStrength: 0.1,
	}
	res, err := c.GenerateImg2Img(bounded(t), req, 5*time.Millisecond, log.add)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Images) != 1 {
		t.Fatalf("got %d images", len(res.Images))
	}
	img := decodePNG(t, res.Images[0])
	if b := img.Bounds(); b.Dx() != 128 || b.Dy() != 96 {
		t.Errorf("result is %v, want the request's 128×96", b)
	}
	// Bottom left: the gradient txt2img would draw is green there.
	r, g, _, _ := img.At(0, 95).RGBA()
	if r>>8 < 200 || g>>8 > 60 {
		t.Errorf("denoise 0.1 of a red image gave (%d, %d) at the corner: the init image was not kept", r>>8, g>>8)
	}
	if res.Info.Seed != 7 || res.Info.Width != 128 {
		t.Errorf("info %+v", res.Info)
	}
	got := srv.Img2ImgRequests()
	if len(got) != 1 || !bytes.Equal(got[0].InitImages[0], init) || got[0].DenoisingStrength != 0.1 || got[0].Prompt != "a red cat" {
		t.Fatalf("the server got %+v", got)
	}
	if len(srv.Requests()) != 0 {
		t.Error("img2img was recorded as a txt2img")
	}
	id := got[0].ForceTaskID
	job := srv.Jobs()[0]
	if !job.Img2Img || job.Denoising != 0.1 || job.TaskID != id || !strings.HasPrefix(id, "task(") {
		t.Errorf("job %+v, force_task_id %q", job, id)
	}
	own := 0
	for _, p := range log.all() {
		if p.Own && p.TaskID == id {
			own++
		}
	}
	if own == 0 {
		t.Errorf("no progress of img2img's own task: %+v", log.all())
	}

	req.DenoisingStrength = 0.95
	res, err = c.Img2Img(bounded(t), req)
	if err != nil {
		t.Fatal(err)
	}
	r, g, _, _ = decodePNG(t, res.Images[0]).At(0, 95).RGBA()
	if r>>8 > 60 || g>>8 < 200 {
		t.Errorf("denoise 0.95 gave (%d, %d) at the corner: want mostly the new picture", r>>8, g>>8)
	}
}

// Someone at the web UI holds the server: cancelling our img2img, queued
// behind them, sends no /interrupt during their job; ours is stopped when
// its turn comes.
func TestImg2ImgCancelInterruptsOnlyOurTask(t *testing.T) {
	const theirSteps = 100
	srv := a1111test.Start(t, a1111test.Options{StepTime: 5 * time.Millisecond})
	c := newClient(t, srv.URL(), a1111.Options{})
	theirs := srv.WebUIJob(bounded(t), theirSteps)
	if err := srv.WaitStep(bounded(t), 1); err != nil {
		t.Fatal(err)
	}
	log := newProgressLog()
	ctx, cancel := context.WithCancel(bounded(t))
	errc := make(chan error, 1)
	go func() {
		_, err := c.GenerateImg2Img(ctx, a1111.Img2ImgRequest{
			Txt2ImgRequest: a1111.Txt2ImgRequest{Prompt: "ours", Steps: 2000, Width: 64, Height: 64},
			InitImages:     [][]byte{testkit.SolidPNG(t, 64, 64, red)},
		}, 10*time.Millisecond, log.add)
		errc <- err
	}()
	select {
	case <-log.queued:
	case <-time.After(10 * time.Second):
		t.Fatalf("no progress said queued; got %+v", log.all())
	}
	cancel()
	e := asError(t, within(t, errc, 10*time.Second), a1111.KindCanceled)
	if e.Route != "POST /sdapi/v1/img2img" || e.ServerDown() {
		t.Errorf("error %v: want img2img's route, not a server failure", e)
	}
	if n := srv.Interrupts(); n != 0 {
		t.Errorf("cancelling our queued img2img sent %d /interrupt while theirs ran", n)
	}
	if err := <-theirs; err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitJobs(bounded(t), 2); err != nil {
		t.Fatal(err)
	}
	jobs := srv.Jobs()
	if jobs[0].Interrupted || jobs[0].StepsDone != theirSteps {
		t.Errorf("the web UI's job: %+v, want it run in full", jobs[0])
	}
	if !jobs[1].Img2Img || !jobs[1].Interrupted || jobs[1].StepsDone >= 2000 {
		t.Errorf("our cancelled img2img: %+v, want it stopped as soon as it started", jobs[1])
	}
}

// The job's own failures are not the server's; the server's are, as for
// txt2img, so that a caller fails over on the same rule.
func TestImg2ImgErrors(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{StepTime: 5 * time.Millisecond})
	c := newClient(t, srv.URL(), a1111.Options{})
	base := a1111.Txt2ImgRequest{Prompt: "x", Steps: 100000, Width: 64, Height: 64}

	_, err := c.Img2Img(bounded(t), a1111.Img2ImgRequest{Txt2ImgRequest: base})
	if e := asError(t, err, a1111.KindBadRequest); e.Status != 404 || e.ServerDown() || !strings.Contains(e.Detail, "Init image not found") {
		t.Errorf("no init image: %v", e)
	}
	_, err = c.Img2Img(bounded(t), a1111.Img2ImgRequest{Txt2ImgRequest: base, InitImages: [][]byte{[]byte("not an image")}})
	if e := asError(t, err, a1111.KindServer); e.ServerDown() || !strings.Contains(e.Detail, "Invalid encoded image") {
		t.Errorf("bad init image: %v", e)
	}

	ok := a1111.Img2ImgRequest{Txt2ImgRequest: base, InitImages: [][]byte{testkit.SolidPNG(t, 8, 8, red)}}
	errc := make(chan error, 1)
	go func() { _, err := c.GenerateImg2Img(bounded(t), ok, 20*time.Millisecond, nil); errc <- err }()
	if err := srv.WaitStep(bounded(t), 1); err != nil {
		t.Fatal(err)
	}
	srv.SetMode(a1111test.ModeDown)
	if e := asError(t, within(t, errc, 5*time.Second), a1111.KindUnreachable); !e.ServerDown() || e.Route != "POST /sdapi/v1/img2img" {
		t.Errorf("server gone mid-img2img: %v", e)
	}

	srv.SetMode(a1111test.ModeOK)
	hc := newClient(t, srv.URL(), a1111.Options{StallTimeout: 200 * time.Millisecond, InterruptGrace: 200 * time.Millisecond})
	go func() { _, err := hc.GenerateImg2Img(bounded(t), ok, 20*time.Millisecond, nil); errc <- err }()
	if err := srv.WaitStep(bounded(t), 1); err != nil {
		t.Fatal(err)
	}
	srv.SetRouteMode("/internal/progress", a1111test.ModeHang)
	srv.SetRouteMode("/sdapi/v1/progress", a1111test.ModeHang)
	srv.SetRouteMode("/sdapi/v1/interrupt", a1111test.ModeHang)
	e := asError(t, within(t, errc, 5*time.Second), a1111.KindTimeout)
	if !e.ServerDown() || e.Limit != 0 || e.Route != "POST /sdapi/v1/img2img" {
		t.Errorf("hung server during img2img: %v", e)
	}
}

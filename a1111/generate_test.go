package a1111_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"lorabot/a1111"
	"lorabot/a1111/a1111test"
)

func TestGenerateReportsProgress(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{StepTime: 10 * time.Millisecond})
	c := newClient(t, srv.URL(), a1111.Options{})
	var (
		mu       sync.Mutex
		seen     []a1111.Progress
		returned atomic.Bool
		late     atomic.Bool
	)
	onProgress := func(p a1111.Progress) {
		if returned.Load() {
			late.Store(true)
		}
		mu.Lock()
		seen = append(seen, p)
		mu.Unlock()
	}
	res, err := c.Generate(bounded(t), a1111.Txt2ImgRequest{Prompt: "x", Steps: 20, Width: 64, Height: 64}, 5*time.Millisecond, onProgress)
	returned.Store(true)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Images) != 1 {
		t.Errorf("got %d images", len(res.Images))
	}
	mu.Lock()
	steps := map[int]bool{}
	last := 0
	for _, p := range seen {
		if p.State.JobCount == 0 {
			continue // before the job started or after it ended
		}
		if p.State.SamplingStep < last {
			t.Errorf("sampling step went back from %d to %d", last, p.State.SamplingStep)
		}
		last = p.State.SamplingStep
		steps[p.State.SamplingStep] = true
		if p.Progress <= 0 || p.Progress > 1 || p.State.SamplingSteps != 20 {
			t.Errorf("progress %+v", p)
		}
	}
	mu.Unlock()
	if len(steps) < 2 {
		t.Errorf("progress showed %d distinct steps during a 20-step job, want it to move", len(steps))
	}
	// A second generation gives a leaked poller of the first time to fire.
	if _, err := c.Txt2Img(bounded(t), a1111.Txt2ImgRequest{Prompt: "y", Steps: 10, Width: 64, Height: 64}); err != nil {
		t.Fatal(err)
	}
	if late.Load() {
		t.Error("onProgress was called after Generate returned")
	}
}

func TestGenerateCancelInterrupts(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{StepTime: 5 * time.Millisecond})
	c := newClient(t, srv.URL(), a1111.Options{})
	ctx, cancel := context.WithCancel(bounded(t))
	errc := make(chan error, 1)
	go func() {
		_, err := c.Generate(ctx, a1111.Txt2ImgRequest{Prompt: "x", Steps: 2000, NIter: 3, Width: 64, Height: 64}, time.Second, func(a1111.Progress) {})
		errc <- err
	}()
	if err := srv.WaitStep(bounded(t), 2); err != nil {
		t.Fatal(err)
	}
	cancel()
	var err error
	select {
	case err = <-errc:
	case <-time.After(15 * time.Second):
		t.Fatal("Generate did not return after its context was cancelled")
	}
	e := asError(t, err, a1111.KindCanceled)
	if !errors.Is(err, context.Canceled) || e.UserMessage() != "The job was cancelled." {
		t.Errorf("%v / %q", err, e.UserMessage())
	}
	if srv.Interrupts() < 1 {
		t.Error("no /interrupt was sent")
	}
	// Generate waited for A1111's partial answer: the server is free.
	if n := srv.InFlight(); n != 0 {
		t.Errorf("%d txt2img requests still held by the server after Generate returned", n)
	}
	jobs := srv.Jobs()
	if len(jobs) != 1 || !jobs[0].Interrupted || jobs[0].StepsDone >= 2000 {
		t.Errorf("jobs = %+v, want one job interrupted early", jobs)
	}
}

func TestTxt2ImgLimitStopsTheJob(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{StepTime: 5 * time.Millisecond})
	c := newClient(t, srv.URL(), a1111.Options{GenerateTimeout: 150 * time.Millisecond})
	_, err := c.Txt2Img(bounded(t), a1111.Txt2ImgRequest{Prompt: "x", Steps: 5000, Width: 64, Height: 64})
	e := asError(t, err, a1111.KindTimeout)
	if e.UserMessage() != "The image server took longer than 150ms and the job was stopped." || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%v / %q", err, e.UserMessage())
	}
	if jobs := srv.Jobs(); len(jobs) != 1 || !jobs[0].Interrupted {
		t.Errorf("jobs = %+v, want the job interrupted", jobs)
	}
}

func TestSkipEndsTheBatch(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{StepTime: 5 * time.Millisecond})
	c := newClient(t, srv.URL(), a1111.Options{})
	type result struct {
		res *a1111.Txt2ImgResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := c.Txt2Img(bounded(t), a1111.Txt2ImgRequest{Prompt: "x", Steps: 1000, NIter: 2, Width: 64, Height: 64})
		done <- result{res, err}
	}()
	if err := srv.WaitStep(bounded(t), 1); err != nil {
		t.Fatal(err)
	}
	if err := c.Skip(bounded(t)); err != nil {
		t.Fatal(err)
	}
	secondBatch := func(st a1111.ProgressState) bool { return st.JobNo == 1 && st.SamplingStep >= 1 }
	if err := srv.WaitState(bounded(t), secondBatch); err != nil {
		t.Fatal(err)
	}
	if err := c.Interrupt(bounded(t)); err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("txt2img did not return after skip and interrupt")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	// A skipped or interrupted batch still returns its (partial) image.
	if len(r.res.Images) != 2 {
		t.Errorf("got %d images, want 2", len(r.res.Images))
	}
	if jobs := srv.Jobs(); len(jobs) != 1 || jobs[0].Skipped != 1 || !jobs[0].Interrupted {
		t.Errorf("jobs = %+v", jobs)
	}
}

func TestProgressIdle(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{})
	c := newClient(t, srv.URL(), a1111.Options{})
	p, err := c.Progress(bounded(t), true)
	if err != nil {
		t.Fatal(err)
	}
	if p.State.JobCount != 0 || p.Progress != 0 || p.CurrentImage != "" {
		t.Errorf("idle progress = %+v", p)
	}
}

package a1111_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"lorabot/a1111"
	"lorabot/a1111/a1111test"
)

// progressLog gathers what onProgress was given.
type progressLog struct {
	mu     sync.Mutex
	seen   []a1111.Progress
	queued chan struct{} // closed at the first Queued progress
	once   sync.Once
}

func newProgressLog() *progressLog { return &progressLog{queued: make(chan struct{})} }

func (l *progressLog) add(p a1111.Progress) {
	l.mu.Lock()
	l.seen = append(l.seen, p)
	l.mu.Unlock()
	if p.Queued {
		l.once.Do(func() { close(l.queued) })
	}
}

func (l *progressLog) all() []a1111.Progress {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]a1111.Progress(nil), l.seen...)
}

// Someone at the web UI holds the server: our generation is told it waits
// (its place in the queue), not the other job's steps; cancelling it sends
// no /interrupt while theirs runs, and when its turn comes it is stopped
// at once rather than run for nobody.
func TestGenerateQueuedBehindTheWebUI(t *testing.T) {
	const theirSteps = 150
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
		_, err := c.Generate(ctx, a1111.Txt2ImgRequest{Prompt: "ours", Steps: 2000, Width: 64, Height: 64}, 10*time.Millisecond, log.add)
		errc <- err
	}()
	select {
	case <-log.queued:
	case <-time.After(10 * time.Second):
		t.Fatalf("no progress said queued; got %+v", log.all())
	}
	cancel()
	err := within(t, errc, 10*time.Second)
	asError(t, err, a1111.KindCanceled)
	select {
	case <-theirs:
		t.Error("Generate returned only after the web UI's job: a queued job's cancel has nothing to wait for")
	default:
	}
	if n := srv.Interrupts(); n != 0 {
		t.Errorf("cancelling our queued job sent %d /interrupt while theirs ran", n)
	}
	for _, p := range log.all() {
		if !p.Own || !p.Queued || p.Active || p.QueuePos != 1 || p.QueueLen != 1 || p.State.SamplingStep != 0 || p.Progress != 0 {
			t.Errorf("progress while theirs runs: %+v; want ours, queued 1/1, without their figures", p)
		}
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
	if !jobs[1].Interrupted || jobs[1].StepsDone >= 2000 || jobs[1].Request.Prompt != "ours" {
		t.Errorf("our cancelled job: %+v, want it stopped as soon as it started", jobs[1])
	}
}

func TestGenerateFollowsItsOwnTask(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{StepTime: 10 * time.Millisecond})
	c := newClient(t, srv.URL(), a1111.Options{})
	log := newProgressLog()
	if _, err := c.Generate(bounded(t), a1111.Txt2ImgRequest{Prompt: "x", Steps: 20, Width: 64, Height: 64}, 5*time.Millisecond, log.add); err != nil {
		t.Fatal(err)
	}
	id := srv.Requests()[0].ForceTaskID
	if !strings.HasPrefix(id, "task(") || len(id) != len("task()")+15 || srv.Jobs()[0].TaskID != id {
		t.Errorf("force_task_id %q, job filed under %q", id, srv.Jobs()[0].TaskID)
	}
	active := 0
	for _, p := range log.all() {
		if p.TaskID != id || !p.Own {
			t.Errorf("progress %+v: want our own task's", p)
		}
		if p.State.JobCount > 0 && p.State.SamplingSteps == 20 {
			active++
			if !p.Active {
				t.Errorf("sampling progress %+v: want it marked Active", p)
			}
		}
	}
	if active == 0 {
		t.Error("no progress with step figures")
	}
	// A caller's own id is kept.
	if _, err := c.Txt2Img(bounded(t), a1111.Txt2ImgRequest{Prompt: "y", Steps: 1, Width: 64, Height: 64, ForceTaskID: "task(mine)"}); err != nil {
		t.Fatal(err)
	}
	if got := srv.Jobs()[1].TaskID; got != "task(mine)" {
		t.Errorf("task id %q, want the caller's", got)
	}
}

// With --nowebui there is no /internal/progress: one 404, remembered, and
// the global /progress and /interrupt as before.
func TestGenerateWithoutTheWebUIRoutes(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{StepTime: 5 * time.Millisecond, NoWebUI: true})
	c := newClient(t, srv.URL(), a1111.Options{})
	log := newProgressLog()
	for range 2 {
		if _, err := c.Generate(bounded(t), a1111.Txt2ImgRequest{Prompt: "x", Steps: 10, Width: 64, Height: 64}, 5*time.Millisecond, log.add); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Hits("/internal/progress"); n != 1 {
		t.Errorf("/internal/progress asked %d times, want once (its 404 remembered)", n)
	}
	for _, p := range log.all() {
		if p.Own || p.Queued || p.Active {
			t.Errorf("progress %+v claims to know our task", p)
		}
	}
	ctx, cancel := context.WithCancel(bounded(t))
	errc := make(chan error, 1)
	go func() {
		_, err := c.Generate(ctx, long, 10*time.Millisecond, nil)
		errc <- err
	}()
	if err := srv.WaitStep(bounded(t), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	asError(t, within(t, errc, 10*time.Second), a1111.KindCanceled)
	if srv.Interrupts() == 0 {
		t.Error("no /interrupt: a server that cannot say whose job runs is interrupted as before")
	}
}

// SD.Next has /internal/progress but files API jobs under no task: the
// client finds that out after one generation and stops asking; its stops
// interrupt as before, and its 204 answer to /interrupt is fine.
func TestGenerateOnSDNext(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{StepTime: 5 * time.Millisecond, Flavor: a1111test.FlavorSDNext})
	c := newClient(t, srv.URL(), a1111.Options{})
	if _, err := c.Generate(bounded(t), a1111.Txt2ImgRequest{Prompt: "x", Steps: 10, Width: 64, Height: 64}, 5*time.Millisecond, nil); err != nil {
		t.Fatal(err)
	}
	asked := srv.Hits("/internal/progress")
	if asked == 0 {
		t.Fatal("/internal/progress never asked")
	}
	ctx, cancel := context.WithCancel(bounded(t))
	errc := make(chan error, 1)
	go func() {
		_, err := c.Generate(ctx, long, 10*time.Millisecond, nil)
		errc <- err
	}()
	if err := srv.WaitStep(bounded(t), 2); err != nil {
		t.Fatal(err)
	}
	cancel()
	asError(t, within(t, errc, 10*time.Second), a1111.KindCanceled)
	// One more hit may be the first job's last poll, cancelled on our side
	// as the job ended but still arriving; polls every 10 ms would be many.
	if n := srv.Hits("/internal/progress"); n > asked+1 {
		t.Errorf("/internal/progress asked %d more times after the server was found to file no tasks", n-asked)
	}
	if j := srv.Jobs(); len(j) != 2 || !j[1].Interrupted {
		t.Errorf("jobs %+v: want the second interrupted", j)
	}
	if err := c.Interrupt(bounded(t)); err != nil {
		t.Errorf("Interrupt on SD.Next (204): %v", err)
	}
}

// A generation without polls costs one extra question, once per client, to
// learn whether the server follows tasks.
func TestTxt2ImgLearnsTaskTrackingOnce(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{})
	c := newClient(t, srv.URL(), a1111.Options{})
	for range 3 {
		if _, err := c.Txt2Img(bounded(t), a1111.Txt2ImgRequest{Prompt: "x", Steps: 1, Width: 64, Height: 64}); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Hits("/internal/progress"); n != 1 {
		t.Errorf("/internal/progress asked %d times over 3 jobs without polls, want 1", n)
	}
}

func TestTaskProgressCall(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{StepTime: 5 * time.Millisecond})
	c := newClient(t, srv.URL(), a1111.Options{})
	theirs := srv.WebUIJob(bounded(t), 100000)
	if err := srv.WaitStep(bounded(t), 1); err != nil {
		t.Fatal(err)
	}
	p, err := c.TaskProgress(bounded(t), srv.CurrentTask(), -1, true)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Active || p.Queued || p.Progress <= 0 || p.ETA <= 0 || !strings.HasPrefix(p.LivePreview, "data:image/png;base64,") || p.IDLivePreview <= 0 {
		t.Errorf("the running task: %+v", p)
	}
	again, _ := c.TaskProgress(bounded(t), srv.CurrentTask(), p.IDLivePreview+1_000_000, false)
	if again == nil || again.LivePreview != "" {
		t.Errorf("preview sent though not asked for: %+v", again)
	}
	p, err = c.TaskProgress(bounded(t), "task(nobody)", -1, false)
	if err != nil || p.Known() || p.TextInfo != "Waiting..." {
		t.Errorf("an unknown task: %+v, %v", p, err)
	}
	if pos, of := (&a1111.TaskProgress{TextInfo: "In queue: 2/5"}).QueuePosition(); pos != 2 || of != 5 {
		t.Errorf("QueuePosition = %d/%d", pos, of)
	}
	if pos, of := (&a1111.TaskProgress{TextInfo: "Queued..."}).QueuePosition(); pos != 0 || of != 0 {
		t.Errorf("SD.Next's text: %d/%d", pos, of)
	}
	_ = c.Interrupt(bounded(t))
	if err := <-theirs; err != nil {
		t.Fatal(err)
	}

	nowebui := a1111test.Start(t, a1111test.Options{NoWebUI: true})
	_, err = newClient(t, nowebui.URL(), a1111.Options{}).TaskProgress(bounded(t), "x", -1, false)
	if e := asError(t, err, a1111.KindNotSupported); !errors.Is(e, a1111.ErrNotSupported) {
		t.Errorf("--nowebui: %v", err)
	}
}

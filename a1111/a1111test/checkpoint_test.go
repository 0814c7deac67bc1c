package a1111test_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"lorabot/a1111"
	"lorabot/a1111/a1111test"
)

// job runs one short txt2img, with a checkpoint override unless ckpt is "".
func job(t *testing.T, srv *a1111test.Server, ckpt string, extra ...string) {
	t.Helper()
	body := `{"steps":1,"width":64,"height":64`
	if ckpt != "" {
		body += fmt.Sprintf(`,"override_settings":{"sd_model_checkpoint":%q}`, ckpt)
	}
	for _, e := range extra {
		body += "," + e
	}
	txt2img(t, srv, body+"}")
}

func TestOverrideIsRestoredButItsWeightsStay(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{})
	job(t, srv, "")
	if n := srv.ModelLoads(); n != 0 || srv.Jobs()[0].Loaded {
		t.Fatalf("the first default job loaded %d models: the default's weights are in memory at start", n)
	}
	// Alternating: every job finds the other model's weights in memory.
	for i, ckpt := range []string{a1111test.ModelSDXL, "", a1111test.ModelSDXL, ""} {
		job(t, srv, ckpt)
		j := srv.Jobs()[i+1]
		want := ckpt
		if want == "" {
			want = a1111test.ModelSD15
		}
		if j.Checkpoint != want || !j.Loaded || srv.Loaded() != want {
			t.Errorf("job %d (override %q): ran on %q, loaded=%t, weights now %q", i, ckpt, j.Checkpoint, j.Loaded, srv.Loaded())
		}
		if srv.Checkpoint() != a1111test.ModelSD15 {
			t.Errorf("job %d: option sd_model_checkpoint = %q after the job, want the default restored", i, srv.Checkpoint())
		}
	}
	if n := srv.ModelLoads(); n != 4 {
		t.Errorf("alternating 4 jobs: %d loads, want 4", n)
	}
}

func TestSameOverrideInARowLoadsOnce(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{})
	for range 3 {
		job(t, srv, a1111test.ModelSDXL)
	}
	jobs := srv.Jobs()
	if srv.ModelLoads() != 1 || !jobs[0].Loaded || jobs[1].Loaded || jobs[2].Loaded {
		t.Errorf("3 jobs with one override: %d loads, loaded per job %t %t %t; want 1, for the first", srv.ModelLoads(), jobs[0].Loaded, jobs[1].Loaded, jobs[2].Loaded)
	}
	// A checkpoint A1111 does not know is dropped: the default runs, and
	// its weights have to come back.
	job(t, srv, "no-such-model.safetensors")
	if j := srv.Jobs()[3]; j.Checkpoint != a1111test.ModelSD15 || !j.Loaded || srv.ModelLoads() != 2 {
		t.Errorf("unknown override: ran on %q, loaded=%t, %d loads", j.Checkpoint, j.Loaded, srv.ModelLoads())
	}
	// Without the restore, the override becomes the default.
	job(t, srv, a1111test.ModelAnimX, `"override_settings_restore_afterwards":false`)
	if srv.Checkpoint() != a1111test.ModelAnimX {
		t.Errorf("option after restore_afterwards=false: %q", srv.Checkpoint())
	}
}

func TestPostingTheCheckpointLoadsIt(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{})
	post := func(title string) {
		t.Helper()
		if status, b := do(t, http.MethodPost, srv.URL()+"/sdapi/v1/options", fmt.Sprintf(`{"sd_model_checkpoint":%q}`, title)); status != 200 {
			t.Fatalf("POST options: %d %s", status, b)
		}
	}
	post(a1111test.ModelSDXL)
	if srv.Checkpoint() != a1111test.ModelSDXL || srv.Loaded() != a1111test.ModelSDXL || srv.ModelLoads() != 1 {
		t.Errorf("after POST: option %q, weights %q, %d loads", srv.Checkpoint(), srv.Loaded(), srv.ModelLoads())
	}
	_, b := do(t, http.MethodGet, srv.URL()+"/sdapi/v1/options", "")
	var opts map[string]any
	if err := json.Unmarshal(b, &opts); err != nil || opts["sd_checkpoint_hash"] != a1111test.Models[2].SHA256 {
		t.Errorf("sd_checkpoint_hash = %v (%v), want the loaded file's", opts["sd_checkpoint_hash"], err)
	}
	post(a1111test.ModelSDXL)
	job(t, srv, "")
	if srv.ModelLoads() != 1 || srv.Jobs()[0].Checkpoint != a1111test.ModelSDXL {
		t.Errorf("same checkpoint again, then a default job: %d loads, ran on %q", srv.ModelLoads(), srv.Jobs()[0].Checkpoint)
	}
}

func progressNow(t *testing.T, srv *a1111test.Server) a1111.Progress {
	t.Helper()
	_, b := do(t, http.MethodGet, srv.URL()+"/sdapi/v1/progress?skip_current_image=true", "")
	var p a1111.Progress
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestModelLoadAsProgressShowsIt(t *testing.T) {
	const load = time.Second
	srv := a1111test.Start(t, a1111test.Options{ModelSwitchTime: load, StepTime: 5 * time.Millisecond})
	txt2img(t, srv, `{"steps":7,"n_iter":2,"width":64,"height":64}`)

	// Idle after a job: only job and job_count were reset.
	if p := progressNow(t, srv); p.Progress != 0 || p.ETARelative != 0 || p.State.JobCount != 0 || p.State.Job != "" ||
		p.State.SamplingSteps != 7 || p.State.JobNo != 2 {
		t.Errorf("idle after a 2×7-step job: %+v", p)
	}

	sent := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		txt2img(t, srv, fmt.Sprintf(`{"steps":1000,"width":64,"height":64,"override_settings":{"sd_model_checkpoint":%q}}`, a1111test.ModelSDXL))
	}()
	loading := func(st a1111.ProgressState) bool { return st.JobCount == -1 }
	if err := srv.WaitState(bounded(t), loading); err != nil {
		t.Fatal(err)
	}
	// The job began (job set, step 0) but keeps the last job's
	// sampling_steps; progress is A1111's 0.01 with an ETA 99 times the
	// time spent.
	p := progressNow(t, srv)
	if p.State.JobCount != -1 || p.State.Job != "scripts_txt2img" || p.State.SamplingStep != 0 || p.State.SamplingSteps != 7 || p.State.JobNo != 0 ||
		p.Progress != 0.01 || p.ETARelative <= 0 {
		t.Errorf("during the load: %+v", p)
	}
	// job_count is set once the model is loaded, sampling_steps a moment
	// later as the sampler starts (as in A1111): wait for both.
	sampling := func(st a1111.ProgressState) bool { return st.JobCount > 0 && st.SamplingSteps == 1000 }
	if err := srv.WaitState(bounded(t), sampling); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(sent); d < load {
		t.Errorf("sampling began %v after the request, before the %v load ended", d, load)
	}
	if p := progressNow(t, srv); p.State.JobCount != 1 || p.State.SamplingSteps != 1000 || p.Progress < 0.01 || p.Progress > 0.5 {
		t.Errorf("sampling after the load: %+v", p)
	}
	do(t, http.MethodPost, srv.URL()+"/sdapi/v1/interrupt", "")
	select {
	case <-done:
	case <-bounded(t).Done():
		t.Fatal("txt2img did not answer after the interrupt")
	}
	if j := srv.Jobs(); len(j) != 2 || !j[1].Loaded || !j[1].Interrupted {
		t.Errorf("jobs = %+v", j)
	}
}

func TestInterruptDuringTheLoad(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{ModelSwitchTime: 300 * time.Millisecond})
	done := make(chan answer, 1)
	go func() {
		a, _ := txt2img(t, srv, fmt.Sprintf(`{"steps":1000,"override_settings":{"sd_model_checkpoint":%q}}`, a1111test.ModelSDXL))
		done <- a
	}()
	if err := srv.WaitState(bounded(t), func(st a1111.ProgressState) bool { return st.JobCount == -1 }); err != nil {
		t.Fatal(err)
	}
	do(t, http.MethodPost, srv.URL()+"/sdapi/v1/interrupt", "")
	// A load cannot be interrupted; the flag stops the job before its first
	// batch, so A1111 answers with no images.
	select {
	case a := <-done:
		if len(a.Images) != 0 {
			t.Errorf("%d images from a job interrupted before sampling", len(a.Images))
		}
	case <-bounded(t).Done():
		t.Fatal("no answer")
	}
	if j := srv.Jobs(); len(j) != 1 || !j[0].Interrupted || j[0].StepsDone != 0 || srv.Loaded() != a1111test.ModelSDXL {
		t.Errorf("jobs = %+v, weights %q", j, srv.Loaded())
	}
}

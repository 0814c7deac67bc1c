package a1111test

import (
	"time"

	"lorabot/a1111"
)

// genState is what /progress reports: A1111's shared.state. Its fields keep
// A1111's lifetimes, which a client reading /progress has to live with: begin
// resets the step counter but not sampling_steps, job_count is -1 until the
// model is loaded, and end clears only job and job_count, so the last job's
// step figures stay visible while the server is idle.
type genState struct {
	running     bool // a job holds the lock (loading its model or sampling)
	job         string
	jobCount    int
	jobNo       int
	step        int
	steps       int
	start       time.Time
	timestamp   string
	interrupted bool
	skipped     bool
}

// begin is shared.state.begin(): a job took the lock.
func (g *genState) begin(job string, now time.Time) {
	*g = genState{
		running: true, job: job, jobCount: -1, steps: g.steps,
		start: now, timestamp: now.Format("20060102150405"),
	}
}

// nextjob is shared.state.nextjob(), called after every batch.
func (g *genState) nextjob() {
	g.jobNo++
	g.step = 0
}

// end is shared.state.end().
func (g *genState) end() {
	g.running = false
	g.job = ""
	g.jobCount = 0
}

// progress is modules/api/api.py progressapi's arithmetic. The 0.01 keeps
// it from dividing by zero; it is also why a model load reads "1 %" with an
// ETA of 99 times the time spent so far. (A1111 divides by job_count even
// when it is -1; sampling_step is 0 then, so guarding it changes nothing.)
func (g genState) progress(now time.Time) (progress, etaRelative float64) {
	if g.jobCount == 0 {
		return 0, 0
	}
	p := 0.01
	perJob := 1.0
	if g.jobCount > 0 {
		p += float64(g.jobNo) / float64(g.jobCount)
		perJob = 1 / float64(g.jobCount)
	}
	if g.steps > 0 {
		p += perJob * float64(g.step) / float64(g.steps)
	}
	elapsed := now.Sub(g.start).Seconds()
	return min(p, 1), elapsed/p - elapsed
}

func (g genState) progressState() a1111.ProgressState {
	return a1111.ProgressState{
		Skipped: g.skipped, Interrupted: g.interrupted, Job: g.job, JobCount: g.jobCount,
		JobNo: g.jobNo, SamplingStep: g.step, SamplingSteps: g.steps,
	}
}

// previewID is shared.state.id_live_preview: it grows with every new live
// preview. The fake makes one a step, so it counts the steps sampled in
// this job; 0 means there is no preview yet.
func (g genState) previewID() int {
	if !g.running || g.jobCount <= 0 {
		return 0
	}
	return g.jobNo*g.steps + g.step
}

// sdnextProgress is SD.Next's /sdapi/v1/progress arithmetic
// (modules/api/server.py get_progress): steps done over steps in all
// batches, without A1111's 0.01, and an ETA of 0 until a step is done.
func (g genState) sdnextProgress(now time.Time) (progress, etaRelative float64) {
	if g.jobCount == 0 {
		return 0, 0
	}
	steps := max(g.steps, 1)
	done := steps*max(g.jobNo, 0) + max(g.step, 0)
	total := steps * max(g.jobCount, 1)
	if done <= 0 {
		return 0, 0
	}
	progress = float64(done) / float64(total)
	elapsed := now.Sub(g.start).Seconds()
	return progress, elapsed/progress - elapsed
}

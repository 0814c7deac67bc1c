package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"lorabot/a1111/a1111test"
	"lorabot/app"
	"lorabot/bot/discordtest"
)

// Several A1111 servers as users meet them: one dead from the start, one
// that dies or hangs under a job, one that comes back, all of them down.
// Jobs finish on the servers that work, none is lost, none runs twice on
// one server at once.

// fastHealth shortens the health tracker's clocks so that a test sees a
// down server found, probed and back within a fraction of a second.
func fastHealth(change func(*app.Timings)) app.Timings {
	return timings(func(t *app.Timings) {
		t.ProbeMin, t.ProbeMax, t.ProbeEvery = 30*time.Millisecond, 200*time.Millisecond, 100*time.Millisecond
		t.StallAfter, t.InterruptGrace = 600*time.Millisecond, 200*time.Millisecond
		t.RefreshTimeout, t.StartWait = 2*time.Second, 3*time.Second
		if change != nil {
			change(t)
		}
	})
}

// serverJobs counts the finished generations on each fake, in order.
func (e *env) serverJobs() []int {
	out := make([]int, len(e.sds))
	for i, sd := range e.sds {
		out[i] = len(sd.Jobs())
	}
	return out
}

func (e *env) checkOneAtATime() {
	e.t.Helper()
	for i, sd := range e.sds {
		if n := sd.MaxConcurrent(); n > 1 {
			e.t.Errorf("server %d held %d generations at once; the bot must keep each at 1", i+1, n)
		}
	}
}

func TestDeadServerGetsNoJobs(t *testing.T) {
	step := a1111test.Options{StepTime: 5 * time.Millisecond}
	e := start(t, setup{a1111: step, more: []a1111test.Options{step}, timings: fastHealth(nil)})
	e.sds[0].SetMode(a1111test.ModeDown) // gpu1 crashed
	if err := e.dc.WaitHeartbeat(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	var its []*discordtest.Interaction
	for i, u := range []discordtest.User{alice, bob, carol, alice, bob, carol} {
		its = append(its, e.job(u, fmt.Sprintf("j%d a lighthouse", i), 10))
	}
	for _, it := range its {
		if m := e.finished(it); len(m.Attachments) != 1 {
			t.Fatalf("%s's job ended %q; every job should finish on the server that works", it.User.Name, m.Content)
		}
	}
	if got := e.serverJobs(); got[0] != 0 || got[1] != len(its) {
		t.Errorf("generations per server %v; want all %d on server 2", got, len(its))
	}
	e.checkOneAtATime()
}

func TestJobMovesWhenItsServerDiesAndTheServerComesBack(t *testing.T) {
	slow := a1111test.Options{StepTime: 20 * time.Millisecond}
	e := start(t, setup{a1111: slow, more: []a1111test.Options{slow}, timings: fastHealth(nil)})
	it := e.job(alice, "a1 a castle", 100)
	if err := e.sds[0].WaitStep(ctxT(t), 3); err != nil {
		t.Fatalf("the job did not start on server 1: %v", err)
	}
	e.sds[0].SetMode(a1111test.ModeDown) // the GPU box reboots mid-generation
	m := e.finished(it)
	if !m.Showed("moved to another server") {
		t.Errorf("the user was never told the job moved; the message showed %q", m.Shown)
	}
	if len(m.Attachments) != 1 {
		t.Fatalf("the moved job ended %q; want its image from server 2", m.Content)
	}
	if got := e.serverJobs(); got[1] != 1 {
		t.Errorf("generations per server %v; the job should have finished on server 2", got)
	}
	if strings.Contains(m.Content, "⚠️") {
		t.Errorf("the user saw an error for a job that finished elsewhere: %q", m.Content)
	}

	// Server 1 comes back: it takes jobs again.
	e.sds[0].SetMode(a1111test.ModeOK)
	deadline := time.Now().Add(wait)
	for len(e.sds[0].Jobs()) == 0 && time.Now().Before(deadline) {
		a := e.job(alice, "a2 after the reboot", 30)
		b := e.job(bob, "b2 after the reboot", 30)
		e.finished(a)
		e.finished(b)
	}
	if len(e.sds[0].Jobs()) == 0 {
		t.Errorf("server 1 answers again but never got a job back: per server %v", e.serverJobs())
	}
	e.checkOneAtATime()
}

func TestHungServerLosesItsJobToAnother(t *testing.T) {
	slow := a1111test.Options{StepTime: 20 * time.Millisecond}
	e := start(t, setup{a1111: slow, more: []a1111test.Options{slow}, timings: fastHealth(nil)})
	it := e.job(alice, "a1 a castle", 100)
	if err := e.sds[0].WaitStep(ctxT(t), 3); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	e.sds[0].SetMode(a1111test.ModeHang) // accepts connections, answers nothing
	m := e.finished(it)
	if len(m.Attachments) != 1 {
		t.Fatalf("the job on the hung server ended %q; want it finished on server 2", m.Content)
	}
	if !m.Showed("moved to another server") {
		t.Errorf("the user was never told the job moved; the message showed %q", m.Shown)
	}
	// The harness's A1111_TIMEOUT is a minute: the move came from the
	// stalled progress, not from the time limit.
	if took := time.Since(began); took >= e.cfg.A1111Timeout {
		t.Errorf("the job waited %v, the whole generation limit, on a hung server", took)
	}
	e.checkOneAtATime()
}

func TestThreeServersOneRefusesOneHangs(t *testing.T) {
	step := a1111test.Options{StepTime: 5 * time.Millisecond}
	e := start(t, setup{a1111: step, more: []a1111test.Options{step, step}, timings: fastHealth(nil)})
	e.sds[0].SetMode(a1111test.ModeDown)
	e.sds[1].SetMode(a1111test.ModeHang)
	var its []*discordtest.Interaction
	for i, u := range []discordtest.User{alice, bob, carol, alice, bob, carol} {
		its = append(its, e.job(u, fmt.Sprintf("j%d a harbour", i), 10))
	}
	for _, it := range its {
		if m := e.finished(it); len(m.Attachments) != 1 {
			t.Fatalf("%s's job ended %q; want every job finished on server 3", it.User.Name, m.Content)
		}
	}
	if got := e.serverJobs(); got[2] != len(its) {
		t.Errorf("generations per server %v; want all %d on server 3", got, len(its))
	}
	e.checkOneAtATime()
}

func TestServerThatListsLoRAsButCannotGenerate(t *testing.T) {
	step := a1111test.Options{StepTime: 5 * time.Millisecond}
	e := start(t, setup{a1111: step, more: []a1111test.Options{step}, timings: fastHealth(func(t *app.Timings) { t.ProbeMin = time.Minute })})
	// Behind a proxy, txt2img answers 502; /loras, /options and the probe work.
	e.sds[0].SetRouteMode("/sdapi/v1/txt2img", a1111test.Mode502)
	first := e.job(alice, "a1 a castle", 10)
	if m := e.finished(first); len(m.Attachments) != 1 {
		t.Fatalf("the job sent to the failing server ended %q; want it moved and finished", m.Content)
	}
	var its []*discordtest.Interaction
	for i, u := range []discordtest.User{bob, carol, alice} {
		its = append(its, e.job(u, fmt.Sprintf("j%d a harbour", i), 10))
	}
	for _, it := range its {
		e.finished(it)
	}
	// One try found it out; it stays out of the line although it answers
	// the probe, until the hold (ProbeMin, a minute here) is over.
	if n := e.sds[0].Hits("/sdapi/v1/txt2img"); n != 1 {
		t.Errorf("server 1 got %d txt2img requests; after its first 502 it should get none", n)
	}
}

func TestJobTriedOnThreeServersThenFails(t *testing.T) {
	step := a1111test.Options{StepTime: 5 * time.Millisecond}
	opts := []a1111test.Options{step, step, step}
	e := start(t, setup{a1111: step, more: opts, timings: fastHealth(nil)})
	for _, sd := range e.sds {
		sd.SetRouteMode("/sdapi/v1/txt2img", a1111test.Mode502)
	}
	m := e.finished(e.job(alice, "a1 a castle", 10))
	if !strings.HasPrefix(m.Content, "⚠️") || !strings.Contains(m.Content, "3 image servers") {
		t.Fatalf("after three servers failed it the job says %q; want one sentence saying it was tried on 3 servers", m.Content)
	}
	if strings.Contains(m.Content, "127.0.0.1") {
		t.Errorf("the public message names a server's address: %q", m.Content)
	}
	tried := 0
	for _, sd := range e.sds {
		tried += sd.Hits("/sdapi/v1/txt2img")
	}
	if tried != 3 {
		t.Errorf("the job was sent %d times; at most 3 servers may try it", tried)
	}
}

func TestJobsOwnFailureIsNotRetried(t *testing.T) {
	step := a1111test.Options{StepTime: 5 * time.Millisecond}
	e := start(t, setup{a1111: step, more: []a1111test.Options{step}, timings: fastHealth(nil)})
	e.sds[0].SetRouteMode("/sdapi/v1/txt2img", a1111test.Mode500) // CUDA out of memory for this request
	m := e.finished(e.job(alice, "a1 a huge castle", 10))
	if !strings.HasPrefix(m.Content, "⚠️") || !strings.Contains(m.Content, "out of memory") {
		t.Fatalf("the job says %q; want A1111's own reason", m.Content)
	}
	if n := e.sds[1].Hits("/sdapi/v1/txt2img"); n != 0 {
		t.Errorf("a failure of the request itself was retried on server 2 (%d requests)", n)
	}
}

func TestAllServersDownJobsWaitThenRun(t *testing.T) {
	step := a1111test.Options{StepTime: 5 * time.Millisecond}
	e := start(t, setup{a1111: step, more: []a1111test.Options{step}, timings: fastHealth(nil)})
	for _, sd := range e.sds {
		sd.SetMode(a1111test.ModeDown)
	}
	it := e.job(alice, "a1 a castle", 10)
	e.shows(it, "Waiting for an image server")
	// The bot keeps serving what needs no server.
	if cb := e.presetCmd(bob, "list"); !strings.Contains(cb.Content, "no presets") {
		t.Errorf("/preset list while the servers were down: %q", cb.Content)
	}
	e.sds[1].SetMode(a1111test.ModeOK)
	if m := e.finished(it); len(m.Attachments) != 1 {
		t.Fatalf("the waiting job ended %q once a server came back; want its image", m.Content)
	}
}

func TestAllServersDownTooLongFailsClearly(t *testing.T) {
	step := a1111test.Options{StepTime: 5 * time.Millisecond}
	e := start(t, setup{a1111: step, more: []a1111test.Options{step}, timings: fastHealth(func(t *app.Timings) { t.NoServerWait = 500 * time.Millisecond })})
	for _, sd := range e.sds {
		sd.SetMode(a1111test.ModeDown)
	}
	m := e.finished(e.job(alice, "a1 a castle", 10))
	if !strings.HasPrefix(m.Content, "⚠️") || !strings.Contains(m.Content, "No image server has answered") {
		t.Fatalf("a job that found no server says %q; want one clear sentence", m.Content)
	}
}

func TestStatusShowsServersQueueAndYourJobs(t *testing.T) {
	slow := a1111test.Options{StepTime: 20 * time.Millisecond}
	e := start(t, setup{a1111: slow, more: []a1111test.Options{slow}, timings: fastHealth(nil)})
	e.sds[0].SetMode(a1111test.ModeDown)
	status := func(perms string) discordtest.Callback {
		return e.response(e.dc.SendCommand(discordtest.CommandSpec{User: alice, Name: "status", Permissions: perms}))
	}
	// Wait until the bot knows server 1 is down.
	deadline := time.Now().Add(wait)
	for !strings.Contains(status("").Content, "Server 1: down") && time.Now().Before(deadline) {
		if err := e.dc.WaitHeartbeat(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	running := e.job(alice, "a1 a castle", 150)
	if err := e.sds[1].WaitGenerating(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	e.job(alice, "a2 a castle", 5)

	cb := status("")
	if !cb.Ephemeral() {
		t.Errorf("/status is about the caller: it should be ephemeral")
	}
	for _, want := range []string{"Server 1: down", "Server 2: running a job of <@" + alice.ID + ">", "1 waiting, 1 running", "running on server 2", "place 1 in line"} {
		if !strings.Contains(cb.Content, want) {
			t.Errorf("/status lacks %q:\n%s", want, cb.Content)
		}
	}
	for _, sd := range e.sds {
		if strings.Contains(cb.Content, sd.Addr()) {
			t.Errorf("/status shows a server's address to a member who does not manage the server:\n%s", cb.Content)
		}
	}
	admin := status(fmt.Sprint(discordgo.PermissionManageGuild))
	if !strings.Contains(admin.Content, e.sds[1].Addr()) {
		t.Errorf("a server manager should see which address each server is:\n%s", admin.Content)
	}
	if bobs := e.response(e.dc.SendCommand(discordtest.CommandSpec{User: bob, Name: "status"})); !strings.Contains(bobs.Content, "none queued or running") {
		t.Errorf("bob has no jobs, his /status says:\n%s", bobs.Content)
	}
	e.clickCancel(running, alice)
}

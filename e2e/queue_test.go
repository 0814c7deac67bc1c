package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"lorabot/a1111"
	"lorabot/a1111/a1111test"
	"lorabot/app"
	"lorabot/bot/discordtest"
)

// The queue as users see it: one generation at a time per A1111 server,
// users served in turn, the per-user limit, the place in line, Cancel,
// progress, results that outlive the interaction token, and shutdown.

var carol = discordtest.User{ID: "300000000000000033", Name: "carol"}

// timings are the harness's short ones with changes; StopWithin stays
// production's so a slow shutdown is not mistaken for a hang.
func timings(change func(*app.Timings)) app.Timings {
	t := app.DefaultTimings
	t.ProgressEvery = 50 * time.Millisecond
	t.EditEvery = 100 * time.Millisecond
	if change != nil {
		change(&t)
	}
	return t
}

// job sends /imagine with a prompt and a step count (steps × the fake's
// StepTime is how long it runs) and waits for the bot's answer, so that
// jobs reach the queue in the order they were sent.
func (e *env) job(user discordtest.User, prompt string, steps int) *discordtest.Interaction {
	e.t.Helper()
	it := e.imagine(user, discordtest.String("prompt", prompt), discordtest.Int("steps", int64(steps)))
	if cb := e.response(it); cb.Ephemeral() {
		e.t.Fatalf("%s's job %q was refused: %q", user.Name, prompt, cb.Content)
	}
	return it
}

// shows waits until the job's message contains all of want.
func (e *env) shows(it *discordtest.Interaction, want ...string) discordtest.Message {
	e.t.Helper()
	m, err := it.WaitOriginal(ctxT(e.t), func(m discordtest.Message) bool {
		for _, w := range want {
			if !strings.Contains(m.Content, w) {
				return false
			}
		}
		return true
	})
	if err != nil {
		e.t.Fatalf("message never showed %q: %v\nit shows %q\nlogs:\n%s", want, err, it.Original().Content, e.logs)
	}
	return m
}

// clickCancel has user press the Cancel button on the job's message.
func (e *env) clickCancel(it *discordtest.Interaction, user discordtest.User) discordtest.Callback {
	e.t.Helper()
	m := it.Original()
	b, ok := m.FindButton("Cancel")
	if !ok {
		e.t.Fatalf("no Cancel button on %q", m.Content)
	}
	return e.response(e.dc.ClickButton(m, b.CustomID, user))
}

// sentOrder is the test name at the start of each prompt A1111 received, in
// order of arrival.
func (e *env) sentOrder() []string {
	var out []string
	for _, r := range e.sd.Requests() {
		out = append(out, strings.Fields(r.Prompt)[0])
	}
	return out
}

func TestOneGenerationAtATimeUsersServedInTurn(t *testing.T) {
	e := start(t, setup{a1111: a1111test.Options{StepTime: 20 * time.Millisecond}})
	// alice's first job runs at once; her next two wait, and bob, who comes
	// after them, goes before them.
	a1 := e.job(alice, "a1 a castle", 10)
	a2 := e.job(alice, "a2 a castle", 10)
	a3 := e.job(alice, "a3 a castle", 10)
	b1 := e.job(bob, "b1 a dog", 10)
	for _, it := range []*discordtest.Interaction{a1, a2, a3, b1} {
		if m := e.finished(it); len(m.Attachments) != 1 {
			t.Fatalf("%v ended without its image: %q", it, m.Content)
		}
	}
	if got, want := strings.Join(e.sentOrder(), " "), "a1 b1 a2 a3"; got != want {
		t.Errorf("order of generations: got %s, want %s (bob waits for one of alice's jobs, not three)", got, want)
	}
	if n := e.sd.MaxConcurrent(); n != 1 {
		t.Errorf("A1111 held %d generations at once; the bot must keep it at 1", n)
	}
}

func TestPerUserLimit(t *testing.T) {
	e := start(t, setup{a1111: a1111test.Options{StepTime: 20 * time.Millisecond}})
	limit := e.cfg.MaxQueuePerUser
	if limit != 3 {
		t.Fatalf("test assumes MAX_QUEUE_PER_USER=3, harness has %d", limit)
	}
	// The first job is long enough to still run when the fourth comes.
	first := e.job(alice, "a1 a castle", 60)
	e.job(alice, "a2 a castle", 5)
	e.job(alice, "a3 a castle", 5)

	cb := e.response(e.imagine(alice, discordtest.String("prompt", "a4 one too many")))
	if !cb.Ephemeral() {
		t.Fatalf("the job over the limit should be refused privately, got %q", cb.Content)
	}
	if !strings.Contains(cb.Content, fmt.Sprint(limit)) || strings.Contains(strings.TrimSpace(cb.Content), "\n") {
		t.Errorf("refusal should be one sentence naming the limit %d: %q", limit, cb.Content)
	}
	// The limit is alice's, not everyone's.
	b1 := e.job(bob, "b1 a dog", 5)

	e.finished(first)
	again := e.job(alice, "a5 after one finished", 5)
	e.finished(b1)
	if m := e.finished(again); len(m.Attachments) != 1 {
		t.Fatalf("job after a slot freed did not produce its image: %q", m.Content)
	}
	for _, p := range e.sentOrder() {
		if p == "a4" {
			t.Errorf("the refused job reached A1111")
		}
	}
}

func TestWaitingMessageKeepsItsPlaceCurrent(t *testing.T) {
	e := start(t, setup{a1111: a1111test.Options{StepTime: 20 * time.Millisecond}})
	e.job(alice, "a1 a castle", 40)
	b := e.job(bob, "b1 a dog", 20)
	c := e.job(carol, "c1 a bird", 5)
	if cb, _ := b.Response(); !strings.Contains(cb.Content, "position 1") {
		t.Errorf("bob's job waits first in line; it says %q", cb.Content)
	}
	if cb, _ := c.Response(); !strings.Contains(cb.Content, "position 2") {
		t.Errorf("carol's job waits second in line; it says %q", cb.Content)
	}
	// alice's job ends, bob's runs, carol is next.
	e.shows(c, "position 1")
	m := e.finished(c)
	if len(m.Attachments) != 1 {
		t.Fatalf("carol's job ended without its image: %q", m.Content)
	}
	for _, it := range []*discordtest.Interaction{b, c} {
		if strings.Contains(e.finished(it).Content, "position") {
			t.Errorf("a finished job still shows a place in line")
		}
	}
}

func TestCancelButton(t *testing.T) {
	e := start(t, setup{a1111: a1111test.Options{StepTime: 20 * time.Millisecond}})
	running := e.job(alice, "a1 long", 150)
	if err := e.sd.WaitGenerating(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	queued := e.job(alice, "a2 never", 5)
	next := e.job(bob, "b1 next", 5)

	// Someone else's job: refused privately, and it goes on.
	cb := e.clickCancel(running, bob)
	if !cb.Ephemeral() || !strings.Contains(cb.Content, "Only the person") {
		t.Errorf("bob cancelling alice's job: want a private refusal, got %+v", cb)
	}
	at := -1
	if err := e.sd.WaitState(ctxT(t), func(st a1111.ProgressState) bool {
		if at < 0 {
			at = st.SamplingStep
		}
		return st.JobCount > 0 && st.SamplingStep >= at+5
	}); err != nil {
		t.Fatalf("alice's job stopped after bob pressed Cancel: %v", err)
	}
	if n := e.sd.Interrupts(); n != 0 {
		t.Fatalf("bob's click interrupted A1111 %d times", n)
	}

	// Her queued job: it leaves the line and never reaches A1111.
	if cb := e.clickCancel(queued, alice); cb.Ephemeral() {
		t.Errorf("alice cancelling her own job was refused: %q", cb.Content)
	}
	m := e.shows(queued, "Cancelled")
	if _, ok := m.FindButton("Cancel"); ok {
		t.Errorf("a cancelled job still offers Cancel")
	}

	// Her running job: A1111 is told to stop.
	if cb := e.clickCancel(running, alice); cb.Ephemeral() {
		t.Errorf("alice cancelling her running job was refused: %q", cb.Content)
	}
	m = e.shows(running, "Cancelled")
	if len(m.Attachments) != 0 {
		t.Errorf("a cancelled job should not post images")
	}
	if e.sd.Interrupts() == 0 {
		t.Errorf("cancelling the running job did not call /interrupt on A1111")
	}

	// The line moves on.
	if m := e.finished(next); len(m.Attachments) != 1 {
		t.Fatalf("the next job did not run after the cancel: %q", m.Content)
	}
	if got := strings.Join(e.sentOrder(), " "); got != "a1 b1" {
		t.Errorf("A1111 received %s; the cancelled queued job must never reach it", got)
	}
	if jobs := e.sd.Jobs(); len(jobs) == 0 || !jobs[0].Interrupted {
		t.Errorf("A1111's first generation should have been interrupted: %+v", jobs)
	}
}

var progressLine = regexp.MustCompile(`[▰▱]{12} \d+% · step (\d+)/30 · ETA (<1s|\d+s)`)

func TestProgressIsShownAndEditsAreSpaced(t *testing.T) {
	tm := timings(func(t *app.Timings) {
		t.ProgressEvery = 20 * time.Millisecond
		t.EditEvery = 200 * time.Millisecond
	})
	e := start(t, setup{a1111: a1111test.Options{StepTime: 20 * time.Millisecond}, timings: tm})
	it := e.job(alice, "a1 a castle", 30)
	m, err := it.WaitOriginal(ctxT(t), func(m discordtest.Message) bool { return progressLine.MatchString(m.Content) })
	if err != nil {
		t.Fatalf("no progress bar with step x/30 and ETA: %v; message %q", err, it.Original().Content)
	}
	if _, ok := m.FindButton("Cancel"); !ok {
		t.Errorf("a running job should offer Cancel")
	}
	final := e.finished(it)
	if len(final.Attachments) != 1 {
		t.Fatalf("no image: %q", final.Content)
	}
	times := it.EditTimes()
	// The last edit is the result, which waits for nothing; the others are
	// progress, at most one per EditEvery (start to start, so arrivals may
	// jitter: allow half).
	if len(times) < 3 {
		t.Fatalf("want several progress edits in a %v job, got %d edits", 30*20*time.Millisecond, len(times))
	}
	progress := times[:len(times)-1]
	for i := 1; i < len(progress); i++ {
		if gap := progress[i].Sub(progress[i-1]); gap < tm.EditEvery/2 {
			t.Errorf("progress edits %d and %d came %v apart; EditEvery is %v", i-1, i, gap, tm.EditEvery)
		}
	}
}

func TestResultAfterTokenExpiryIsPostedInTheChannel(t *testing.T) {
	const life = 1500 * time.Millisecond
	tm := timings(func(t *app.Timings) { t.TokenLifetime = life })
	e := start(t, setup{
		discord: discordtest.Options{TokenLifetime: life},
		a1111:   a1111test.Options{StepTime: 20 * time.Millisecond},
		timings: tm,
	})
	// 100 steps of 20ms: the job outlives the token.
	it := e.imagine(alice, discordtest.String("prompt", "a1 a slow castle"), discordtest.Int("steps", 100), discordtest.Int("count", 2))
	if cb := e.response(it); cb.Ephemeral() {
		t.Fatalf("refused: %q", cb.Content)
	}
	m, err := e.dc.WaitChannelMessage(ctxT(t), func(m discordtest.Message) bool {
		return m.Kind == discordtest.KindChannel && len(m.Attachments) > 0
	})
	if err != nil {
		t.Fatalf("no channel message with the images: %v\nlogs:\n%s", err, e.logs)
	}
	if !strings.Contains(m.Content, "<@"+alice.ID+">") {
		t.Errorf("the channel message should mention alice: %q", m.Content)
	}
	if strings.Count(m.Content, "<@"+alice.ID+">") > 1 {
		t.Errorf("alice is mentioned more than once: %q", m.Content)
	}
	if len(m.Attachments) != 2 {
		t.Errorf("want both images, got %d", len(m.Attachments))
	}
	for _, a := range m.Attachments {
		pngSize(t, a.Data)
	}
	if len(m.Embeds) != 1 || !strings.Contains(m.Embeds[0].Description, "a slow castle") {
		t.Errorf("the result should carry its settings embed: %+v", m.Embeds)
	}
	if v := e.dc.Violations(); len(v) > 0 {
		t.Errorf("the bot used an expired token: %v", v)
	}
}

func TestResultSurvivesAFailedEditOfItsMessage(t *testing.T) {
	// No progress polls: the only edits are "Starting" and the result.
	tm := timings(func(t *app.Timings) { t.ProgressEvery = time.Hour })
	e := start(t, setup{a1111: a1111test.Options{StepTime: 20 * time.Millisecond}, timings: tm})
	it := e.imagine(alice, discordtest.String("prompt", "a1 a castle"), discordtest.Int("steps", 50))
	e.response(it)
	if _, err := it.WaitOriginal(ctxT(t), func(m discordtest.Message) bool { return len(m.EditLog) >= 1 }); err != nil {
		t.Fatalf("the job never showed it started: %v", err)
	}
	// Someone deleted the message, say: editing it fails.
	e.dc.FailNext(discordtest.RouteEditOriginal, 404)
	m, err := e.dc.WaitChannelMessage(ctxT(t), func(m discordtest.Message) bool { return m.Kind == discordtest.KindChannel })
	if err != nil {
		t.Fatalf("the result was not posted anywhere: %v\nlogs:\n%s", err, e.logs)
	}
	if len(m.Attachments) != 1 {
		t.Fatalf("want the image in the channel message, got %d: %q", len(m.Attachments), m.Content)
	}
	if w, h := pngSize(t, m.Attachments[0].Data); w == 0 || h == 0 {
		t.Errorf("empty image")
	}
}

func TestShutdownKeepsJobsForTheNextStart(t *testing.T) {
	e := start(t, setup{a1111: a1111test.Options{StepTime: 20 * time.Millisecond}})
	running := e.job(alice, "a1 long", 150)
	if err := e.sd.WaitGenerating(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	queued := e.job(bob, "b1 waiting", 5)

	began := time.Now()
	e.stop()
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("the bot took %v to stop; SIGTERM must end it within 10s", took)
	}
	for _, it := range []*discordtest.Interaction{running, queued} {
		m := it.Original()
		if !strings.Contains(m.Content, "restarting") || !strings.Contains(m.Content, "keeps its place") {
			t.Errorf("%s's job message after shutdown: %q; want it to say the job waits for the restart", it.User.Name, m.Content)
		}
		if _, ok := m.FindButton("Cancel"); ok {
			t.Errorf("%s's stopped job still offers Cancel while the bot is away", it.User.Name)
		}
	}
	if got := strings.Join(e.sentOrder(), " "); got != "a1" {
		t.Errorf("A1111 received %s; the queued job must not start during shutdown", got)
	}
	if e.sd.Interrupts() == 0 {
		t.Errorf("the running job was abandoned, not interrupted, on A1111")
	}

	// The next start runs both: the interrupted one again, from the start.
	e.restart()
	for _, it := range []*discordtest.Interaction{running, queued} {
		if m := e.finished(it); len(m.Attachments) != 1 {
			t.Errorf("%s's job after the restart: %q with %d images; want its result", it.User.Name, m.Content, len(m.Attachments))
		}
	}
	if got := strings.Join(e.sentOrder(), " "); got != "a1 a1 b1" {
		t.Errorf("A1111 received %s; want the cut-off job once more, then the queued one", got)
	}
}

func TestShutdownWithAFrozenA1111(t *testing.T) {
	tm := timings(func(t *app.Timings) { t.StopWithin = 500 * time.Millisecond })
	e := start(t, setup{a1111: a1111test.Options{StepTime: 100 * time.Millisecond}, timings: tm})
	running := e.job(alice, "a1 long", 150)
	if err := e.sd.WaitGenerating(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	e.sd.SetMode(a1111test.ModeHang) // /interrupt is never answered
	began := time.Now()
	e.stop() // fails the test if Run returns an error
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("stopping took %v; the issue allows 10 s", took)
	}
	if m := running.Original(); !strings.Contains(m.Content, "restarting") {
		t.Errorf("the running job's user should be told the bot is restarting, message: %q", m.Content)
	}
}

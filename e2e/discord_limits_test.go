package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"lorabot/a1111/a1111test"
	"lorabot/app"
	"lorabot/bot/discordtest"
)

// Discord's limits over weeks of uptime, as users meet them: a result that
// arrives although Discord rate-limited a progress edit (and no request
// goes before retry_after), images in every API version, a job message
// that does not stay frozen once its token expires, a shutdown that keeps
// its 10 s with many jobs and a frozen A1111, a second signal, and a token
// reset that ends the bot with a clear message.

func noRequestBefore(t *testing.T, reqs []discordtest.Request, retryAfter time.Duration) {
	t.Helper()
	for _, v := range discordtest.SentDuringHold(reqs, retryAfter) {
		t.Error(v)
	}
}

func TestResultArrivesAfterAProgressEdit429(t *testing.T) {
	const retryAfter = 1500 * time.Millisecond
	tm := timings(func(t *app.Timings) { t.ProgressEvery = 20 * time.Millisecond })
	e := start(t, setup{a1111: a1111test.Options{StepTime: 20 * time.Millisecond}, timings: tm})
	it := e.job(alice, "a1 a castle", 60)
	if _, err := it.WaitOriginal(ctxT(t), func(m discordtest.Message) bool { return strings.Contains(m.Content, "Generating") }); err != nil {
		t.Fatalf("no progress shown: %v; the message showed %q\nlogs:\n%s", err, it.Original().Shown, e.logs)
	}
	e.dc.RateLimitNext(discordtest.RouteEditOriginal, 1, retryAfter)
	m := e.finished(it)
	if len(m.Attachments) != 1 {
		t.Fatalf("the result shows %q with %d images", m.Content, len(m.Attachments))
	}
	reqs := e.dc.TokenRequests(it.Token)
	limited := 0
	for _, r := range reqs {
		if r.Status == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited != 1 {
		t.Fatalf("%d requests got a 429, want the one progress edit\nlogs:\n%s", limited, e.logs)
	}
	noRequestBefore(t, reqs, retryAfter)
	if msgs := e.dc.ChannelMessages(discordtest.DefaultChannelID); len(msgs) != 1 {
		t.Errorf("%d messages in the channel; the result belongs in the job's own", len(msgs))
	}
}

func TestResultEditRetriedAfter502(t *testing.T) {
	// No progress polls: the edits are "Starting" and the result.
	tm := timings(func(t *app.Timings) { t.ProgressEvery = time.Hour })
	e := start(t, setup{a1111: a1111test.Options{StepTime: 20 * time.Millisecond}, timings: tm})
	it := e.job(alice, "a1 a castle", 30)
	if _, err := it.WaitOriginal(ctxT(t), func(m discordtest.Message) bool { return len(m.EditLog) >= 1 }); err != nil {
		t.Fatalf("the job never showed it started: %v", err)
	}
	e.dc.FailNext(discordtest.RouteEditOriginal, http.StatusBadGateway)
	e.dc.FailNext(discordtest.RouteEditOriginal, http.StatusInternalServerError)
	if m := e.finished(it); len(m.Attachments) != 1 {
		t.Fatalf("the result shows %q with %d images", m.Content, len(m.Attachments))
	}
	if n := e.dc.RequestCount(discordtest.RouteCreateMessage, 0); n != 0 {
		t.Errorf("%d channel posts: a 502 is worth another try on the job's own message", n)
	}
}

func TestResultsInAPIVersion10(t *testing.T) {
	e := start(t, setup{discord: discordtest.Options{APIVersion: 10}, a1111: a1111test.Options{StepTime: time.Millisecond}})
	if !strings.Contains(e.cfg.DiscordAPIURL, "/api/v10/") {
		t.Fatalf("DISCORD_API_URL is %s", e.cfg.DiscordAPIURL)
	}
	it := e.imagine(alice, discordtest.String("prompt", "a1 a castle"), discordtest.Int("count", 2))
	e.response(it)
	if m := e.finished(it); len(m.Attachments) != 2 {
		t.Errorf("the result shows %q with %d images, want 2", m.Content, len(m.Attachments))
	}
}

// tokenEnds is a short token life on both sides, for the tests of what
// follows its end.
func tokenEnds(life time.Duration, stepTime time.Duration) setup {
	return setup{
		discord: discordtest.Options{TokenLifetime: life},
		a1111:   a1111test.Options{StepTime: stepTime},
		timings: timings(func(t *app.Timings) { t.TokenLifetime = life }),
	}
}

// A job that outlives its token: its message says, before the token ends,
// that it stops following the job and where the result will go; the result
// goes to the channel; a press on the old message's Cancel then shows how
// the job ended.
func TestStaleJobMessageIsCorrected(t *testing.T) {
	e := start(t, tokenEnds(3*time.Second, 40*time.Millisecond))
	it := e.job(alice, "a1 a slow castle", 100) // 4 s
	notice := e.shows(it, "stops updating", "posted in this channel")
	if _, ok := notice.FindButton("Cancel"); !ok {
		t.Errorf("the notice should keep Cancel, which still works: %q", notice.Content)
	}
	if _, err := e.dc.WaitChannelMessage(ctxT(t), func(m discordtest.Message) bool {
		return m.Kind == discordtest.KindChannel && len(m.Attachments) == 1
	}); err != nil {
		t.Fatalf("no result in the channel: %v\nlogs:\n%s", err, e.logs)
	}
	if m := it.Original(); !strings.Contains(m.Content, "stops updating") {
		t.Fatalf("the old message was changed with an expired token: %q", m.Content)
	}
	cb := e.clickCancel(it, bob) // anyone's press may correct it
	if cb.Type != 7 {
		t.Errorf("the press was answered with type %d, want the message updated (7)", cb.Type)
	}
	m := it.Original()
	if !strings.Contains(m.Content, "Finished") || !strings.Contains(m.Content, "posted in this channel") {
		t.Errorf("the corrected message says %q", m.Content)
	}
	if _, ok := m.FindButton("Cancel"); ok {
		t.Errorf("the corrected message still offers Cancel")
	}
	if v := e.dc.Violations(); len(v) > 0 {
		t.Errorf("violations: %q", v)
	}
}

// After the token, a press on a running job's message brings the message
// up to date and lets the job edit it again: someone else's press shows
// where the job is (and tells them privately it is not theirs); the
// owner's Cancel ends it, and the message itself says so.
func TestCancelAfterTheTokenExpired(t *testing.T) {
	e := start(t, tokenEnds(2*time.Second, 60*time.Millisecond))
	it := e.job(alice, "a1 a long castle", 140) // 8.4 s
	queued := e.job(alice, "a2 waits behind it", 5)
	e.shows(it, "stops updating")
	e.shows(queued, "stops updating")
	// Step 50 is 3 s into the job: the 2 s tokens have ended.
	if err := e.sd.WaitStep(ctxT(t), 50); err != nil {
		t.Fatal(err)
	}
	// A queued job ends the moment it is cancelled: its "Cancelled" must
	// still find the message, through the press.
	if cb := e.clickCancel(queued, alice); cb.Type != 6 {
		t.Errorf("alice's Cancel of the queued job answered type %d, want a deferred update (6)", cb.Type)
	}
	e.shows(queued, "Cancelled")
	b, ok := it.Original().FindButton("Cancel")
	if !ok {
		t.Fatalf("no Cancel on %q", it.Original().Content)
	}
	press := e.dc.ClickButton(it.Original(), b.CustomID, bob)
	cb := e.response(press)
	if cb.Type != 7 || !strings.Contains(cb.Content, "Generating") {
		t.Errorf("bob's press answered type %d %q; want the message brought up to date (7)", cb.Type, cb.Content)
	}
	if f, err := press.WaitFollowup(ctxT(t), nil); err != nil || !f.Ephemeral() || !strings.Contains(f.Content, "Only the person") {
		t.Errorf("bob should be told privately the job is not his: %+v %v", f, err)
	}
	cb = e.clickCancel(it, alice)
	if cb.Type != 6 {
		t.Errorf("alice's Cancel answered type %d, want a deferred update (6)", cb.Type)
	}
	m := e.shows(it, "Cancelled")
	if _, ok := m.FindButton("Cancel"); ok {
		t.Errorf("the cancelled job still offers Cancel")
	}
	for _, c := range e.dc.ChannelMessages(discordtest.DefaultChannelID) {
		if c.Kind == discordtest.KindChannel {
			t.Errorf("a channel message %q: the job's own message could say it", c.Content)
		}
	}
	if v := e.dc.Violations(); len(v) > 0 {
		t.Errorf("violations: %q", v)
	}
}

// 30 jobs queued behind one on an A1111 that froze: every user is told
// within the 10 s a service manager allows, with production's StopWithin.
func TestShutdownWith30QueuedJobsAndAFrozenA1111(t *testing.T) {
	e := start(t, setup{a1111: a1111test.Options{StepTime: 50 * time.Millisecond}, timings: timings(nil)})
	running := e.job(alice, "r1 the long one", 150)
	if err := e.sd.WaitGenerating(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	e.sd.SetMode(a1111test.ModeHang) // /progress and /interrupt never answer
	its := []*discordtest.Interaction{running}
	for i := range 30 {
		u := discordtest.User{ID: fmt.Sprintf("3000000000001%05d", i), Name: fmt.Sprintf("user%d", i)}
		its = append(its, e.job(u, fmt.Sprintf("q%d waiting", i), 5))
	}
	began := time.Now()
	e.stop()
	took := time.Since(began)
	t.Logf("stopped in %v with %d jobs", took.Round(time.Millisecond), len(its))
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(line, "stopping") || strings.Contains(line, "stopped") || strings.Contains(line, "shutdown") || strings.Contains(line, "did not close") {
			t.Log(line)
		}
	}
	if took > 10*time.Second {
		t.Errorf("stopping took %v; the issue allows 10 s\nlogs:\n%s", took, e.logs)
	}
	var first, last time.Time
	for _, it := range its {
		m := it.Original()
		if !strings.Contains(m.Content, "restarting") {
			t.Errorf("%s was not told: %q", it.User.Name, m.Content)
			continue
		}
		at := m.EditLog[len(m.EditLog)-1]
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
	}
	t.Logf("the %d notices arrived within %v", len(its), last.Sub(first).Round(time.Millisecond))
}

// binEnv runs the built bot against dc and sd.
func binEnv(dc *discordtest.Server, sd *a1111test.Server, dir string) []string {
	return []string{
		"DISCORD_TOKEN=" + dc.Token(),
		"DISCORD_API_URL=" + dc.APIURL(),
		"DISCORD_GUILD_ID=" + discordtest.DefaultGuildID,
		"A1111_URL=" + sd.URL(),
		"DB_PATH=" + filepath.Join(dir, "data", "bot.db"),
	}
}

// A second SIGINT during a shutdown that waits on a frozen A1111 ends the
// process at once.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	bin := lorabotBin(t)
	dc := discordtest.New(t, discordtest.Options{HeartbeatInterval: 100 * time.Millisecond})
	sd := a1111test.Start(t, a1111test.Options{StepTime: 100 * time.Millisecond})
	dir := t.TempDir()
	p := startBin(t, bin, dir, binEnv(dc, sd, dir))
	ctx := ctxT(t)
	if _, err := dc.WaitCommands(ctx); err != nil {
		t.Fatalf("the bot did not register its commands: %v\nstderr:\n%s", err, p.stderr.String())
	}
	it := dc.SendCommand(discordtest.CommandSpec{User: alice, Name: "imagine", Options: []discordtest.Option{discordtest.String("prompt", "a cat"), discordtest.Int("steps", 100)}})
	if err := sd.WaitGenerating(ctx); err != nil {
		t.Fatalf("the job did not start: %v\nstderr:\n%s", err, p.stderr.String())
	}
	sd.SetMode(a1111test.ModeHang) // the shutdown now waits its whole budget
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The notice shows the shutdown is under way.
	if _, err := it.WaitOriginal(ctx, func(m discordtest.Message) bool { return strings.Contains(m.Content, "restarting") }); err != nil {
		t.Fatalf("the shutdown did not begin: %v\nstderr:\n%s", err, p.stderr.String())
	}
	sent := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	code := p.wait(t, 10*time.Second)
	took := time.Since(sent)
	t.Logf("exited %v after the second signal", took.Round(time.Millisecond))
	if code == 0 || took > 2*time.Second {
		t.Errorf("second signal: exit %d after %v; want non-zero at once\nstderr:\n%s", code, took.Round(time.Millisecond), p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "second signal") {
		t.Errorf("the exit should say why:\n%s", p.stderr.String())
	}
}

// A token reset while the bot runs: Discord closes the gateway with 4004.
// The bot stops (telling users their jobs wait) and exits with code 3 and a
// message naming DISCORD_TOKEN, rather than reconnecting for ever.
func TestTokenResetEndsTheBotWithAClearMessage(t *testing.T) {
	bin := lorabotBin(t)
	dc := discordtest.New(t, discordtest.Options{HeartbeatInterval: 100 * time.Millisecond})
	sd := a1111test.Start(t, a1111test.Options{StepTime: time.Millisecond})
	dir := t.TempDir()
	p := startBin(t, bin, dir, binEnv(dc, sd, dir))
	if _, err := dc.WaitCommands(ctxT(t)); err != nil {
		t.Fatalf("the bot did not register its commands: %v\nstderr:\n%s", err, p.stderr.String())
	}
	if err := dc.WaitHeartbeat(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	dc.RevokeToken()
	code := p.wait(t, 20*time.Second)
	t.Logf("exited %v after the token was revoked", time.Since(revoked).Round(time.Millisecond))
	errOut := p.stderr.String()
	// 3, not 1: the systemd unit does not restart on it (no restart helps).
	if code != 3 || !strings.Contains(errOut, "DISCORD_TOKEN") || !strings.Contains(errOut, "4004") {
		t.Errorf("exit %d; want 3 and a message naming 4004 and DISCORD_TOKEN:\n%s", code, errOut)
	}
	if strings.Contains(errOut, dc.Token()) {
		t.Error("the token appears in the logs")
	}
	if n := dc.Identifies(); n != 1 {
		t.Errorf("%d identifies: the bot should not try a refused token again", n)
	}
}

// A job its server says is about to end when the shutdown comes is let
// finish: its user gets the images now, and the next start does not run
// it again.
func TestShutdownLetsAJobAboutToFinishFinish(t *testing.T) {
	tm := timings(func(t *app.Timings) { t.ProgressEvery = 20 * time.Millisecond })
	e := start(t, setup{a1111: a1111test.Options{StepTime: 50 * time.Millisecond}, timings: tm})
	it := e.job(alice, "a1 nearly there", 40) // 2 s
	queued := e.job(bob, "b1 waiting", 5)
	if err := e.sd.WaitStep(ctxT(t), 34); err != nil { // 0.3 s left
		t.Fatal(err)
	}
	began := time.Now()
	e.stop()
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("stopping took %v", took)
	}
	if m := it.Original(); len(m.Attachments) != 1 {
		t.Fatalf("the job about to finish shows %q with %d images; want its result\nlogs:\n%s", m.Content, len(m.Attachments), e.logs)
	}
	if m := queued.Original(); !strings.Contains(m.Content, "restarting") {
		t.Errorf("the queued job should wait for the restart: %q", m.Content)
	}
	e.restart()
	if m := e.finished(queued); len(m.Attachments) != 1 {
		t.Errorf("the queued job after the restart: %q", m.Content)
	}
	if got := strings.Join(e.sentOrder(), " "); got != "a1 b1" {
		t.Errorf("A1111 received %s; the finished job must not run again", got)
	}
}

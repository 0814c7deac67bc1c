package bot_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"lorabot/bot"
	"lorabot/bot/discordtest"
	"lorabot/internal/testkit"
)

// What users notice of Discord's limits: a result that arrives although a
// progress edit hit a 429, answers that are not lost to a 429 or a 5xx,
// images that stay whichever API version, deadlines kept when Discord's
// clock or the gateway is off, and a bot that neither grows with traffic
// nor loops when its token is reset.

func png(name string) *discordgo.File {
	return &discordgo.File{Name: name, ContentType: "image/png", Reader: bytes.NewReader([]byte("\x89PNG\r\n\x1a\n" + name))}
}

func noRequestDuringHolds(t *testing.T, reqs []discordtest.Request, retryAfter time.Duration) {
	t.Helper()
	for _, v := range discordtest.SentDuringHold(reqs, retryAfter) {
		t.Error(v)
	}
}

// A progress edit that gets a 429 is dropped; the result that follows on
// the same message (with a file: discordgo kept those apart) waits out
// retry_after, then arrives.
func TestResultWaitsOutAProgressEdits429(t *testing.T) {
	const retryAfter = 800 * time.Millisecond
	type outcome struct{ progress, result error }
	got := make(chan outcome, 1)
	h := start(t, setup{routes: func(h *harness, r *bot.Router) {
		r.Command(bot.Command{Def: command("job"), Handle: func(c *bot.Ctx) error {
			if err := c.Defer(false); err != nil {
				return err
			}
			h.dc.RateLimitNext(discordtest.RouteEditOriginal, 1, retryAfter)
			var o outcome
			_, o.progress = c.Edit(bot.Message{Content: "🎨 40%"}, discordgo.WithRetryOnRatelimit(false))
			_, o.result = c.Edit(bot.Message{Content: "✅ done", Files: []*discordgo.File{png("out.png")}})
			got <- o
			return nil
		}})
	}})
	it := h.send("job")
	o := receive(t, got)
	var rl *bot.RateLimited
	if !errors.As(o.progress, &rl) || rl.RetryAfter != retryAfter {
		t.Errorf("the progress edit: %v, want a 429 with its retry_after", o.progress)
	}
	if o.result != nil {
		t.Fatalf("the result: %v", o.result)
	}
	m := h.original(it, func(m discordtest.Message) bool { return m.Content == "✅ done" })
	if len(m.Attachments) != 1 || m.Attachments[0].Filename != "out.png" {
		t.Errorf("the result shows %d attachments, want out.png", len(m.Attachments))
	}
	reqs := h.dc.TokenRequests(it.Token)
	if n := len(reqs); n != 3 {
		t.Errorf("%d requests on the interaction, want the callback, the 429 and the result", n)
	}
	noRequestDuringHolds(t, reqs, retryAfter)
	if !strings.Contains(h.logs.String(), "waiting out Discord's rate limit") {
		t.Error("the wait is not logged")
	}
	if strings.Contains(h.logs.String(), it.Token) {
		t.Error("the interaction token is in the logs")
	}
	if n := h.b.Limiter().Len(); n != 0 {
		t.Errorf("the limiter keeps %d entries once the hold passed", n)
	}
}

// A 429 on the callback itself is waited out when the answer can still
// come within 3 seconds; past them, nothing more is sent.
func TestCallback429(t *testing.T) {
	h := start(t, setup{discord: discordtest.Options{ExpectViolations: true}, routes: func(h *harness, r *bot.Router) {
		r.Command(bot.Command{Def: command("hello"), Handle: func(c *bot.Ctx) error {
			return c.Reply(bot.Message{Content: "hello"})
		}})
	}})
	t.Run("short wait", func(t *testing.T) {
		const retryAfter = 400 * time.Millisecond
		h.dc.RateLimitNext(discordtest.RouteCallback, 1, retryAfter)
		it := h.send("hello")
		if cb := h.response(it); cb.Content != "hello" || cb.Latency > 3*time.Second {
			t.Errorf("answer %q after %v", cb.Content, cb.Latency)
		}
		noRequestDuringHolds(t, h.dc.TokenRequests(it.Token), retryAfter)
	})
	t.Run("past the window", func(t *testing.T) {
		h.dc.RateLimitNext(discordtest.RouteCallback, 1, 10*time.Second)
		it := h.send("hello")
		if _, err := h.dc.WaitViolation(h.ctx, it.ID+" (/hello): no response"); err != nil {
			t.Fatal(err)
		}
		h.settle()
		if n := len(h.dc.TokenRequests(it.Token)); n != 1 {
			t.Errorf("%d callbacks sent; after a 429 longer than the window, want none more", n)
		}
		if !strings.Contains(h.logs.String(), "Discord request given up") {
			t.Error("giving up is not logged")
		}
	})
	if v := h.dc.Violations(); len(v) != 1 {
		t.Errorf("violations %q: want only the unanswerable one", v)
	}
}

// A 500 or 502 on an edit that must arrive is retried; a progress edit is
// not.
func TestEditsRetriedAfterServerErrors(t *testing.T) {
	errs := make(chan error, 2)
	h := start(t, setup{routes: func(h *harness, r *bot.Router) {
		r.Command(bot.Command{Def: command("job"), Handle: func(c *bot.Ctx) error {
			if err := c.Defer(false); err != nil {
				return err
			}
			h.dc.FailNext(discordtest.RouteEditOriginal, http.StatusBadGateway)
			_, err := c.Edit(bot.Message{Content: "50%"}, discordgo.WithRetryOnRatelimit(false))
			errs <- err
			h.dc.FailNext(discordtest.RouteEditOriginal, http.StatusInternalServerError)
			h.dc.FailNext(discordtest.RouteEditOriginal, http.StatusBadGateway)
			_, err = c.Edit(bot.Message{Content: "done", Files: []*discordgo.File{png("a.png")}})
			errs <- err
			return nil
		}})
	}})
	it := h.send("job")
	if err := receive(t, errs); err == nil {
		t.Error("a progress edit answered 502 reported success")
	}
	if err := receive(t, errs); err != nil {
		t.Fatalf("the result after a 500 and a 502: %v", err)
	}
	if m := h.original(it, nil); m.Content != "done" || len(m.Attachments) != 1 {
		t.Errorf("the message shows %q with %d files", m.Content, len(m.Attachments))
	}
	if n := h.dc.RequestCount(discordtest.RouteEditOriginal, 0); n != 4 {
		t.Errorf("%d edits sent, want 1 progress edit and the result's 3 tries", n)
	}
}

// Files reach the message whichever API version DISCORD_API_URL names: a
// v10 edit keeps only the files its attachments list, so the bot lists
// each as a placeholder.
func TestFilesSurviveEveryAPIVersion(t *testing.T) {
	for _, version := range []int{9, 10} {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
			done := make(chan error, 1)
			h := start(t, setup{discord: discordtest.Options{APIVersion: version}, routes: func(h *harness, r *bot.Router) {
				r.Command(bot.Command{Def: command("job"), Handle: func(c *bot.Ctx) error {
					err := c.Reply(bot.Message{Content: "first", Files: []*discordgo.File{png("first.png")}})
					if err == nil {
						_, err = c.Edit(bot.Message{Content: "result", Files: []*discordgo.File{png("1.png"), png("2.png")}})
					}
					if err == nil {
						_, err = c.Followup(bot.Message{Content: "more", Files: []*discordgo.File{png("3.png")}})
					}
					done <- err
					return err
				}})
			}})
			if !strings.Contains(h.dc.APIURL(), fmt.Sprintf("/v%d/", version)) {
				t.Fatalf("the fake serves %s", h.dc.APIURL())
			}
			it := h.send("job")
			if err := receive(t, done); err != nil {
				t.Fatal(err)
			}
			names := func(m discordtest.Message) string {
				var out []string
				for _, a := range m.Attachments {
					out = append(out, a.Filename)
				}
				return strings.Join(out, ",")
			}
			if got := names(it.Original()); got != "1.png,2.png" {
				t.Errorf("the edited reply shows %q, want the result's two files only", got)
			}
			if f := it.Followups(); len(f) != 1 || names(f[0]) != "3.png" {
				t.Errorf("follow-ups %+v", f)
			}
		})
	}
}

// An interaction that arrives older than Discord's 3 seconds (gateway lag,
// a replay) is not answered, and counted; one that arrives 2 s old is
// deferred by the watchdog in time, since its deadline runs from its ID.
func TestDeadlinesRunFromTheInteractionsID(t *testing.T) {
	var g *gate
	h := start(t, setup{routes: func(h *harness, r *bot.Router) {
		g = h.gate()
		r.Command(bot.Command{Def: command("slow"), Handle: func(c *bot.Ctx) error {
			if err := g.wait(); err != nil {
				return err
			}
			return c.Reply(bot.Message{Content: "done"})
		}})
	}})
	stale := h.dc.SendCommand(discordtest.CommandSpec{Name: "slow", Age: 4 * time.Second})
	lagged := h.dc.SendCommand(discordtest.CommandSpec{Name: "slow", Age: 2 * time.Second})
	cb := h.response(lagged)
	if cb.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource || cb.Latency >= 3*time.Second {
		t.Errorf("the lagged one got type %d %v after its creation; want a defer within 3 s", cb.Type, cb.Latency)
	}
	if arrived := cb.At.Sub(lagged.Dispatched()); arrived >= bot.DefaultWatchdogDelay-time.Second {
		t.Errorf("deferred %v after it arrived; the watchdog counts from its creation 2 s earlier", arrived)
	}
	close(g.open)
	h.original(lagged, func(m discordtest.Message) bool { return m.Content == "done" })
	h.settle()
	if _, ok := stale.Response(); ok {
		t.Error("the interaction that arrived 4 s old was answered")
	}
	if st := h.r.Stats(); st.TooOld != 1 || st.Late != 0 {
		t.Errorf("stats %+v, want one too old and none late", st)
	}
	if !strings.Contains(h.logs.String(), "interaction arrived too old to answer") {
		t.Error("the unanswered interaction is not logged")
	}
}

// A Discord whose clock is 10 s off from this machine's: the bot learns the
// offset from its answers' Date headers, so it neither takes every
// interaction for too old nor defers too late.
func TestDeadlinesWithASkewedDiscordClock(t *testing.T) {
	for _, skew := range []time.Duration{-10 * time.Second, 10 * time.Second} {
		t.Run(fmt.Sprint(skew), func(t *testing.T) {
			var g *gate
			h := start(t, setup{discord: discordtest.Options{ClockSkew: skew}, routes: func(h *harness, r *bot.Router) {
				g = h.gate()
				r.Command(bot.Command{Def: command("quick"), Handle: func(c *bot.Ctx) error {
					return c.Reply(bot.Message{Content: "hi"})
				}})
				r.Command(bot.Command{Def: command("slow"), Handle: func(c *bot.Ctx) error {
					if err := g.wait(); err != nil {
						return err
					}
					return c.Reply(bot.Message{Content: "done"})
				}})
			}})
			if off, _ := h.b.DiscordClock().Offset(); off-skew > time.Second || skew-off > time.Second {
				t.Errorf("the bot reckons Discord's clock %v off, it is %v", off, skew)
			}
			if cb := h.response(h.send("quick")); cb.Content != "hi" {
				t.Errorf("answer %q", cb.Content)
			}
			cb := h.response(h.send("slow"))
			if cb.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource || cb.Latency >= 3*time.Second {
				t.Errorf("answer type %d after %v, want a defer within 3 s", cb.Type, cb.Latency)
			}
			close(g.open)
			h.settle()
			if st := h.r.Stats(); st != (bot.RouterStats{}) {
				t.Errorf("stats %+v, want nothing too old or late", st)
			}
		})
	}
}

// bucketCount is how many rate-limit buckets discordgo's session keeps.
func bucketCount(s *discordgo.Session) int {
	s.Ratelimiter.Lock()
	defer s.Ratelimiter.Unlock()
	return reflect.ValueOf(s.Ratelimiter).Elem().FieldByName("buckets").Len()
}

// Every interaction, each autocomplete keystroke included, once left a
// bucket behind in discordgo. Over 20,000 of them neither discordgo nor
// the bot's limiter keeps anything per interaction; entries a 429 leaves
// go when their tokens expire.
func TestMemoryStaysFlatOver20000Interactions(t *testing.T) {
	const total, batch, held = 20_000, 200, 50
	clk := newWallStepClock()
	h := start(t, setup{
		// Discord's heartbeat is 41 s; the harness's 100 ms would count
		// the gateway lost while 200 events wait in the socket.
		discord: discordtest.Options{ExpectViolations: true, HeartbeatInterval: 5 * time.Second},
		options: func(o *bot.Options) { o.Limiter = bot.NewLimiter(clk) },
		routes: func(h *harness, r *bot.Router) {
			r.Command(bot.Command{Def: command("find", autocompleted(option(discordgo.ApplicationCommandOptionString, "q"))),
				Handle: func(c *bot.Ctx) error { return nil },
				Autocomplete: func(c *bot.Ctx) error {
					return c.Choices([]*discordgo.ApplicationCommandOptionChoice{{Name: "one", Value: "one"}})
				}})
		},
	})
	buckets := bucketCount(h.b.Session())
	peak := 0
	for sent := 0; sent < total; sent += batch {
		its := make([]*discordtest.Interaction, batch)
		for i := range its {
			its[i] = h.autocomplete("find", discordtest.String("q", fmt.Sprint(sent+i)).Focus())
		}
		// Each batch is bounded on its own: the whole run takes longer
		// than one wait under -race.
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		for _, it := range its {
			if _, err := it.WaitResponse(ctx); err != nil {
				cancel()
				t.Fatalf("after %d interactions: %v", sent, err)
			}
		}
		cancel()
		peak = max(peak, h.b.Limiter().Len())
	}
	settled, cancelSettled := context.WithTimeout(context.Background(), wait)
	defer cancelSettled()
	if err := h.r.Wait(settled); err != nil {
		t.Fatal(err)
	}
	if n := h.b.Limiter().Len(); n != 0 {
		t.Errorf("the limiter keeps %d entries after %d answered interactions, want 0", n, total)
	}
	if peak > batch {
		t.Errorf("the limiter held %d entries at once, more than the %d interactions in flight", peak, batch)
	}
	if n := bucketCount(h.b.Session()); n != buckets {
		t.Errorf("discordgo's buckets went from %d to %d over %d interactions", buckets, n, total)
	}
	t.Logf("%d interactions: limiter peak %d entries, now %d; discordgo buckets %d", total, peak, h.b.Limiter().Len(), bucketCount(h.b.Session()))

	// A 429 whose retry_after outlasts the token leaves entries behind,
	// until the token expires.
	h.dc.RateLimitNext(discordtest.RouteCallback, held, time.Hour)
	for range held {
		h.autocomplete("find", discordtest.String("q", "x").Focus())
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := h.dc.WaitRequests(ctx, discordtest.RouteCallback, http.StatusTooManyRequests, held); err != nil {
		t.Fatal(err)
	}
	if err := h.r.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if n := h.b.Limiter().Len(); n != held {
		t.Fatalf("%d entries, want the %d held by a 429", n, held)
	}
	clk.Advance(bot.TokenLifetime)
	if n := h.b.Limiter().Len(); n != 0 {
		t.Errorf("%d entries once their tokens expired, want 0", n)
	}
}

// wallStepClock starts at the wall clock's now and then moves only when
// told, for the limiter's expiry.
type wallStepClock struct {
	mu  sync.Mutex
	off time.Duration
}

func newWallStepClock() *wallStepClock { return &wallStepClock{} }

func (c *wallStepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *wallStepClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

func (c *wallStepClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// A dropped connection is resumed by the bot itself.
func TestBotReconnectsAfterADroppedConnection(t *testing.T) {
	h := start(t, setup{routes: func(h *harness, r *bot.Router) {
		r.Command(bot.Command{Def: command("hello"), Handle: func(c *bot.Ctx) error { return c.Reply(bot.Message{Content: "hi"}) }})
	}})
	if err := h.dc.WaitHeartbeat(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.dc.DropConnection()
	if cb := h.response(h.send("hello")); cb.Content != "hi" {
		t.Errorf("answer %q", cb.Content)
	}
	if h.dc.Resumes() != 1 || h.dc.Identifies() != 1 {
		t.Errorf("resumes %d, identifies %d; want the session resumed", h.dc.Resumes(), h.dc.Identifies())
	}
}

// A token reset while the bot runs: Discord closes the gateway with 4004.
// The bot does not retry for ever: it reports why, naming the setting.
func TestTokenResetWhileRunningEndsTheSession(t *testing.T) {
	dc := discordtest.New(t, discordtest.Options{HeartbeatInterval: 100 * time.Millisecond})
	logs := &testkit.LogBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	b, err := bot.New(bot.Options{Token: dc.Token(), APIURL: dc.APIURL(), Router: bot.NewRouter(log), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := b.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	if err := dc.WaitHeartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	dc.RevokeToken()
	select {
	case err := <-b.Failed():
		if !strings.Contains(err.Error(), "DISCORD_TOKEN") || !strings.Contains(err.Error(), "4004") || strings.Contains(err.Error(), dc.Token()) {
			t.Errorf("the error %q should name 4004 and DISCORD_TOKEN, without the token", err)
		}
	case <-ctx.Done():
		t.Fatalf("the bot did not give up on a revoked token\nlogs:\n%s", logs)
	}
	if n := dc.Identifies(); n > 1 {
		t.Errorf("%d identifies: the bot kept trying a refused token", n)
	}
}

// At shutdown every request is bounded by the budget: an edit that would
// wait out a long rate limit gives up at once.
func TestStoppingBoundsRequests(t *testing.T) {
	got := make(chan error, 1)
	var stopping context.Context
	h := start(t, setup{routes: func(h *harness, r *bot.Router) {
		r.Command(bot.Command{Def: command("job"), Handle: func(c *bot.Ctx) error {
			if err := c.Defer(false); err != nil {
				return err
			}
			h.dc.RateLimitNext(discordtest.RouteEditOriginal, 1, time.Minute)
			c.Edit(bot.Message{Content: "50%"}, discordgo.WithRetryOnRatelimit(false))
			h.b.Stopping(stopping)
			began := time.Now()
			_, err := c.Edit(bot.Message{Content: "⏸️ restarting"})
			if took := time.Since(began); took > time.Second {
				err = fmt.Errorf("took %v: %w", took, err)
			}
			got <- err
			return nil
		}})
	}})
	var cancel context.CancelFunc
	stopping, cancel = context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	h.send("job")
	err := receive(t, got)
	if !errors.Is(err, bot.ErrHeld) || strings.Contains(err.Error(), "took") {
		t.Errorf("the notice: %v; want it given up at once, held past the budget", err)
	}
}

package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
)

// ErrTokenExpired is returned, wrapped, for a request on an interaction
// whose 15-minute token has run out: it is not sent, since Discord would
// only answer 401, and 401s count toward its ban on invalid requests.
var ErrTokenExpired = errors.New("the interaction's token has expired")

// RateLimited is Discord's 429, without the URL discordgo's own error
// names: an interaction's URL carries its token.
type RateLimited struct {
	RetryAfter time.Duration
}

func (e *RateLimited) Error() string {
	return fmt.Sprintf("rate limited by Discord (retry after %v)", e.RetryAfter.Round(time.Millisecond))
}

// maxAttempts caps how often a request that must arrive (a result, a
// failure message, a callback) is sent: once, and again after each of up
// to three 429s or 5xx answers.
const maxAttempts = 4

// requester sends the bot's requests on interaction routes and channel
// posts, with the Limiter deciding every wait (see Limiter for why not
// discordgo's). Each request gets a bucket of its own that discordgo never
// registers, so discordgo neither remembers a token's URL nor makes one
// interaction's request wait behind another's.
type requester struct {
	s     *discordgo.Session
	lim   *Limiter
	clock *DiscordClock
	log   *slog.Logger

	mu       sync.Mutex
	stopping context.Context // nil until Bot.Stopping
	life     context.Context // cancelled when stopping ends
	endLife  context.CancelCauseFunc
}

func newRequester(s *discordgo.Session, lim *Limiter, clock *DiscordClock, log *slog.Logger) *requester {
	q := &requester{s: s, lim: lim, clock: clock, log: log}
	q.life, q.endLife = context.WithCancelCause(context.Background())
	return q
}

// stop bounds every request from now on, and those waiting or in flight,
// by ctx: at shutdown, no Discord request outlives the budget.
func (q *requester) stop(ctx context.Context) {
	q.mu.Lock()
	q.stopping = ctx
	q.mu.Unlock()
	context.AfterFunc(ctx, func() { q.endLife(fmt.Errorf("shutting down: %w", context.Cause(ctx))) })
}

// bound returns ctx, ended also when the shutdown budget ends, and
// carrying its deadline, so that the limiter can tell at once that a
// wait would outlast it.
func (q *requester) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	q.mu.Lock()
	stopping := q.stopping
	q.mu.Unlock()
	ctx, cancel := context.WithCancelCause(ctx)
	unhook := context.AfterFunc(q.life, func() { cancel(context.Cause(q.life)) })
	cancelDL := context.CancelFunc(func() {})
	if stopping != nil {
		if dl, ok := stopping.Deadline(); ok {
			ctx, cancelDL = context.WithDeadline(ctx, dl)
		}
	}
	return ctx, func() { cancelDL(); unhook(); cancel(nil) }
}

// call is one request as the requester sends it.
type call struct {
	// what names the request in errors and logs; never the token.
	what   string
	method string
	url    string
	body   any // JSON body; nil for none
	files  []*discordgo.File
	key    uint64
	// expires is the token's end (zero for routes without one).
	expires time.Time
	// droppable: sent once, and not at all while its route is held (a
	// progress edit, soon outdated anyway).
	droppable bool
	// retryBy: no attempt starts after it (the 3-second window of a
	// callback); zero for no limit but the context.
	retryBy time.Time
	// callback: a retried callback answered "already acknowledged" had
	// got through the first time.
	callback bool
}

// observed is what the transport saw of one response.
type observed struct {
	status int
	hold   time.Duration // X-RateLimit-Remaining 0: until the bucket resets
}

type observerKey struct{}

// do sends c, waiting and retrying as its kind allows.
func (q *requester) do(ctx context.Context, c call, opts ...discordgo.RequestOption) ([]byte, error) {
	ctx, done := q.bound(ctx)
	defer done()
	if !c.expires.IsZero() && !time.Now().Before(c.expires) {
		return nil, fmt.Errorf("%s: %w", c.what, ErrTokenExpired)
	}
	ctype, body := "application/json", []byte(nil)
	var err error
	switch {
	case len(c.files) > 0:
		// Encoded once: the files' readers are read once, and each retry
		// sends the same bytes.
		ctype, body, err = discordgo.MultipartBodyWithJSON(c.body, c.files)
	case c.body != nil:
		body, err = discordgo.Marshal(c.body)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: encode: %w", c.what, err)
	}
	for attempt := 1; ; attempt++ {
		if held := q.lim.heldFor(c.key); held > 0 && !c.droppable {
			if !c.retryBy.IsZero() && time.Now().Add(held).After(c.retryBy) {
				return nil, fmt.Errorf("%s: route rate-limited for %v, past the response window: %w", c.what, held.Round(time.Millisecond), ErrHeld)
			}
			q.log.Info("waiting out Discord's rate limit before sending", "request", c.what, "wait", held.Round(time.Millisecond))
		}
		r, err := q.lim.acquire(ctx, c.key, c.expires, c.droppable)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.what, err)
		}
		var seen observed
		rctx := context.WithValue(ctx, observerKey{}, &seen)
		// A bucket of its own, unknown to the session's limiter; it is
		// locked because RequestWithLockedBucket releases it.
		bucket := discordgo.NewRatelimiter().GetBucket("interaction")
		bucket.Lock()
		all := append(append([]discordgo.RequestOption(nil), opts...),
			discordgo.WithContext(rctx), discordgo.WithRetryOnRatelimit(false), discordgo.WithRestRetries(0))
		resp, err := q.s.RequestWithLockedBucket(c.method, c.url, ctype, body, bucket, 0, all...)
		hold := seen.hold
		var rle *discordgo.RateLimitError
		if errors.As(err, &rle) && rle.TooManyRequests != nil {
			hold = max(hold, rle.RetryAfter)
			if hold <= 0 {
				hold = time.Second // a 429 without a wait: do not hammer
			}
		}
		q.lim.release(c.key, r, hold)
		if err == nil {
			return resp, nil
		}
		// A request that could not even be made (a URL that does not parse,
		// say from a token with "%") will not be made by trying again.
		var ue *url.Error
		unbuildable := errors.As(err, &ue) && ue.Op == "parse"
		err = scrub(err)
		if unbuildable {
			return nil, fmt.Errorf("%s: %w", c.what, err)
		}
		if c.callback && attempt > 1 && isAlreadyAcknowledged(err) {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", c.what, errors.Join(err, context.Cause(ctx)))
		}
		wait, retryable := retryWait(seen.status, hold, attempt)
		if c.droppable || !retryable {
			return nil, fmt.Errorf("%s: %w", c.what, err)
		}
		if attempt >= maxAttempts || !c.retryBy.IsZero() && time.Now().Add(wait).After(c.retryBy) {
			q.log.Warn("Discord request given up", "request", c.what, "status", seen.status, "attempts", attempt, "err", err)
			return nil, fmt.Errorf("%s: gave up after %d attempts: %w", c.what, attempt, err)
		}
		q.log.Warn("Discord request failed or was held; retrying after the wait", "request", c.what, "status", seen.status, "wait", wait.Round(time.Millisecond), "attempt", attempt)
		if seen.status != http.StatusTooManyRequests {
			// A 429's wait is the limiter's (it holds the route for
			// everyone); a server error's is this request's own.
			if err := sleepCtx(ctx, wait); err != nil {
				return nil, fmt.Errorf("%s: %w", c.what, errors.Join(err, context.Cause(ctx)))
			}
		}
	}
}

// retryWait says whether a request that failed with status (0: no answer)
// is worth sending again, and after how long.
func retryWait(status int, hold time.Duration, attempt int) (time.Duration, bool) {
	switch status {
	case http.StatusTooManyRequests:
		return hold, true
	case 0, http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return min(250*time.Millisecond<<(attempt-1), 2*time.Second), true
	}
	return 0, false
}

func isAlreadyAcknowledged(err error) bool {
	var re *discordgo.RESTError
	return errors.As(err, &re) && re.Message != nil && re.Message.Code == discordgo.ErrCodeInteractionHasAlreadyBeenAcknowledged
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// tap is the session's HTTP transport: it reads Discord's clock from every
// answer's Date header, and the status and rate-limit headers of the
// requests the requester sends (they carry an observed in their context).
type tap struct {
	base     http.RoundTripper
	clock    *DiscordClock
	requests func(route string, status int) // Options.Requests; nil: off
}

func (t *tap) RoundTrip(req *http.Request) (*http.Response, error) {
	sent := time.Now()
	resp, err := t.base.RoundTrip(req)
	if t.requests != nil {
		status := 0
		if err == nil {
			status = resp.StatusCode
		}
		t.requests(RouteClass(req.Method, req.URL.Path), status)
	}
	if err != nil {
		return nil, err
	}
	t.clock.observeHeader(resp.Header, sent, time.Now())
	if seen, ok := req.Context().Value(observerKey{}).(*observed); ok {
		seen.status = resp.StatusCode
		seen.hold = exhausted(resp.Header)
	}
	return resp, nil
}

// exhausted is how long Discord's headers say the bucket is empty: the
// reset when no request remains, else 0.
func exhausted(h http.Header) time.Duration {
	if h.Get("X-RateLimit-Remaining") != "0" {
		return 0
	}
	secs, err := strconv.ParseFloat(h.Get("X-RateLimit-Reset-After"), 64)
	if err != nil || secs <= 0 {
		return 0
	}
	return time.Duration(secs * float64(time.Second))
}

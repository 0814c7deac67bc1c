package discordtest

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Route names a REST route as "METHOD /path" with Discord's placeholders.
// FailNext, RateLimitNext and Requests use these names.
type Route string

// The REST routes the fake serves. Edits and reads of @original have their
// own names so a test can target them apart from follow-up edits.
const (
	RouteGateway              Route = "GET /gateway"
	RouteGatewayBot           Route = "GET /gateway/bot"
	RouteCurrentUser          Route = "GET /users/@me"
	RouteCurrentApplication   Route = "GET /oauth2/applications/@me"
	RouteGetGlobalCommands    Route = "GET /applications/{app}/commands"
	RoutePutGlobalCommands    Route = "PUT /applications/{app}/commands"
	RouteGetGuildCommands     Route = "GET /applications/{app}/guilds/{guild}/commands"
	RoutePutGuildCommands     Route = "PUT /applications/{app}/guilds/{guild}/commands"
	RouteCallback             Route = "POST /interactions/{id}/{token}/callback"
	RouteExecuteWebhook       Route = "POST /webhooks/{app}/{token}"
	RouteGetOriginal          Route = "GET /webhooks/{app}/{token}/messages/@original"
	RouteEditOriginal         Route = "PATCH /webhooks/{app}/{token}/messages/@original"
	RouteDeleteOriginal       Route = "DELETE /webhooks/{app}/{token}/messages/@original"
	RouteGetWebhookMessage    Route = "GET /webhooks/{app}/{token}/messages/{message}"
	RouteEditWebhookMessage   Route = "PATCH /webhooks/{app}/{token}/messages/{message}"
	RouteDeleteWebhookMessage Route = "DELETE /webhooks/{app}/{token}/messages/{message}"
	RouteGetChannel           Route = "GET /channels/{channel}"
	RouteCreateMessage        Route = "POST /channels/{channel}/messages"
	RouteGetMessage           Route = "GET /channels/{channel}/messages/{message}"
	RouteEditMessage          Route = "PATCH /channels/{channel}/messages/{message}"
	RouteDeleteMessage        Route = "DELETE /channels/{channel}/messages/{message}"
)

// Request is one REST request the fake answered.
type Request struct {
	Route  Route // "" when no route matched
	Method string
	Path   string
	Status int
	At     time.Time
	// Token is the interaction token in the path of an interaction or
	// webhook route ("" for other routes): Discord rate-limits all of
	// them per token.
	Token string
}

// SentDuringHold lists the requests of reqs (one token's, in order) that
// came after a 429 and before its retry_after ran out: what Discord counts
// toward its invalid-request ban. Each entry says which, for a test's error.
func SentDuringHold(reqs []Request, retryAfter time.Duration) []string {
	var out []string
	for i, r := range reqs {
		if r.Status != http.StatusTooManyRequests {
			continue
		}
		for _, next := range reqs[i+1:] {
			if gap := next.At.Sub(r.At); gap < retryAfter {
				out = append(out, fmt.Sprintf("%s %v after a 429 on %s, before its retry_after of %v", next.Route, gap.Round(time.Millisecond), r.Route, retryAfter))
			}
		}
	}
	return out
}

type fault struct {
	status     int
	retryAfter time.Duration // for 429
}

// FailNext makes the next request to route fail with status (500, 502,
// 503, ...) and Discord's JSON error body.
func (s *Server) FailNext(route Route, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[route] = append(s.faults[route], fault{status: status})
}

// RateLimitNext makes the next n requests to route answer 429 with
// retry_after (seconds, float), global false and X-RateLimit-* headers,
// as Discord does when a bucket is exhausted.
func (s *Server) RateLimitNext(route Route, n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[route] = append(s.faults[route], fault{status: http.StatusTooManyRequests, retryAfter: retryAfter})
	}
}

// TokenRequests lists the requests answered on the routes of the
// interaction token (callback, webhook edits, follow-ups), oldest first.
func (s *Server) TokenRequests(token string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if r.Token == token {
			out = append(out, r)
		}
	}
	return out
}

// WaitRequests waits until n requests on route were answered with status
// (0 for any status).
func (s *Server) WaitRequests(ctx context.Context, route Route, status, n int) error {
	return s.waitFor(ctx, fmt.Sprintf("%d requests on %s", n, route), func() bool {
		got := 0
		for _, r := range s.requests {
			if r.Route == route && (status == 0 || r.Status == status) {
				got++
			}
		}
		return got >= n
	})
}

// Requests lists every REST request answered so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// RequestCount counts the requests answered on route with the given status
// (0 for any status).
func (s *Server) RequestCount(route Route, status int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if r.Route == route && (status == 0 || r.Status == status) {
			n++
		}
	}
	return n
}

var apiVersion = regexp.MustCompile(`^v[0-9]+$`)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	api := func(route Route, auth bool, h handler) {
		method, path, _ := strings.Cut(string(route), " ")
		mux.HandleFunc(method+" /api/{apiversion}"+path, s.wrap(route, auth, h))
	}
	api(RouteGateway, false, s.handleGateway)
	api(RouteGatewayBot, true, s.handleGatewayBot)
	api(RouteCurrentUser, true, s.handleCurrentUser)
	api(RouteCurrentApplication, true, s.handleCurrentApplication)
	api(RouteGetGlobalCommands, true, s.handleGetCommands)
	api(RoutePutGlobalCommands, true, s.handlePutCommands)
	api(RouteGetGuildCommands, true, s.handleGetCommands)
	api(RoutePutGuildCommands, true, s.handlePutCommands)
	// Interaction and webhook routes authenticate by the token in the path.
	api(RouteCallback, false, s.handleCallback)
	api(RouteExecuteWebhook, false, s.handleExecuteWebhook)
	api(RouteGetOriginal, false, s.handleGetWebhookMessage)
	api(RouteEditOriginal, false, s.handleEditWebhookMessage)
	api(RouteDeleteOriginal, false, s.handleDeleteWebhookMessage)
	api(RouteGetWebhookMessage, false, s.handleGetWebhookMessage)
	api(RouteEditWebhookMessage, false, s.handleEditWebhookMessage)
	api(RouteDeleteWebhookMessage, false, s.handleDeleteWebhookMessage)
	api(RouteGetChannel, true, s.handleGetChannel)
	api(RouteCreateMessage, true, s.handleCreateMessage)
	api(RouteGetMessage, true, s.handleGetMessage)
	api(RouteEditMessage, true, s.handleEditMessage)
	api(RouteDeleteMessage, true, s.handleDeleteMessage)

	mux.HandleFunc("GET /gateway", s.serveGateway)
	mux.HandleFunc("GET /gateway/", s.serveGateway)
	mux.HandleFunc("GET /attachments/{id}/{name}", s.serveAttachment)
	mux.HandleFunc("/", s.serveUnknown)
	return mux
}

// wrap adds what every REST route shares: the version check, the bot
// token, injected faults, rate-limit headers and the request log.
func (s *Server) wrap(route Route, auth bool, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		status, body := s.serve(route, auth, h, w, r)
		s.mu.Lock()
		s.requests = append(s.requests, Request{Route: route, Method: r.Method, Path: r.URL.Path, Status: status, At: time.Now(), Token: r.PathValue("token")})
		s.broadcastLocked()
		s.mu.Unlock()
		// Discord's clock, to the second, as bots may read it.
		w.Header().Set("Date", s.Now().UTC().Format(http.TimeFormat))
		writeJSON(w, status, body)
	}
}

func (s *Server) serve(route Route, auth bool, h handler, w http.ResponseWriter, r *http.Request) (int, any) {
	if !apiVersion.MatchString(r.PathValue("apiversion")) {
		return http.StatusNotFound, discordError(0, "404: Not Found")
	}
	if auth && !s.tokenOK(strings.TrimPrefix(r.Header.Get("Authorization"), "Bot ")) {
		// Not a violation: tests of a bad token provoke this on purpose.
		return http.StatusUnauthorized, discordError(0, "401: Unauthorized")
	}
	token := r.PathValue("token")
	now := time.Now()
	s.mu.Lock()
	var f fault
	queue := s.faults[route]
	if len(queue) > 0 {
		f, s.faults[route] = queue[0], queue[1:]
	}
	if until, held := s.holds[token]; held && token != "" {
		if left := until.Sub(now); left > 0 {
			s.violateLocked("%s: request on an interaction token %v before the retry_after of its 429 ran out", route, left.Round(time.Millisecond))
			f = fault{status: http.StatusTooManyRequests, retryAfter: left}
		} else {
			delete(s.holds, token)
		}
	}
	if f.status == http.StatusTooManyRequests && token != "" {
		if until := now.Add(f.retryAfter); until.After(s.holds[token]) {
			s.holds[token] = until
		}
	}
	s.mu.Unlock()
	switch {
	case f.status == http.StatusTooManyRequests:
		secs := f.retryAfter.Seconds()
		h := w.Header()
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(secs))))
		h.Set("X-RateLimit-Limit", "5")
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Reset", fmt.Sprintf("%.3f", float64(time.Now().Add(f.retryAfter).UnixMilli())/1000))
		h.Set("X-RateLimit-Reset-After", fmt.Sprintf("%.3f", secs))
		h.Set("X-RateLimit-Bucket", bucketOf(route))
		h.Set("X-RateLimit-Scope", "user")
		return f.status, map[string]any{"message": "You are being rate limited.", "retry_after": secs, "global": false}
	case f.status != 0:
		return f.status, discordError(0, fmt.Sprintf("%d: %s", f.status, http.StatusText(f.status)))
	}
	// Plenty of quota: discordgo reads these and must never need to wait.
	hd := w.Header()
	hd.Set("X-RateLimit-Limit", "50")
	hd.Set("X-RateLimit-Remaining", "49")
	hd.Set("X-RateLimit-Reset", fmt.Sprintf("%.3f", float64(time.Now().Add(time.Second).UnixMilli())/1000))
	hd.Set("X-RateLimit-Reset-After", "1.000")
	hd.Set("X-RateLimit-Bucket", bucketOf(route))
	return h(r)
}

func (s *Server) serveUnknown(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.violateLocked("%s %s: the fake knows no such route (does Discord?)", r.Method, r.URL.Path)
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Status: http.StatusNotFound, At: time.Now()})
	s.mu.Unlock()
	writeJSON(w, http.StatusNotFound, discordError(0, "404: Not Found"))
}

func bucketOf(route Route) string {
	h := fnv.New64a()
	h.Write([]byte(route))
	return strconv.FormatUint(h.Sum64(), 16)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	if body == nil {
		w.WriteHeader(status)
		return
	}
	b, err := json.Marshal(body)
	if err != nil {
		http.Error(w, "discordtest: encoding the answer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

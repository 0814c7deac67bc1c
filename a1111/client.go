package a1111

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Options tune a Client. Zero values take the defaults.
type Options struct {
	// HTTPClient sends the requests; nil means a client with its own
	// transport (5 s dial timeout, no overall timeout: contexts bound calls).
	// A client given here must have no Timeout shorter than GenerateTimeout.
	HTTPClient *http.Client
	// GenerateTimeout bounds one txt2img (A1111_TIMEOUT); default 10m.
	GenerateTimeout time.Duration
	// RequestTimeout bounds every other call; default 1m.
	RequestTimeout time.Duration
	// InterruptGrace is how long a stopped generation waits, after sending
	// /interrupt, for A1111 to answer with its partial result, so that the
	// server is free again when the call returns; default 30s.
	InterruptGrace time.Duration
	// StallTimeout is how long Generate, while it polls /progress, lets the
	// server go without answering one poll before it takes the server for
	// hung and stops the generation as the server's failure; default 60s.
	// Without it a hung server would hold the job for GenerateTimeout.
	StallTimeout time.Duration
	// Logger receives debug lines (failed progress polls, interrupts); nil
	// means slog.Default(). Lines name the server by host:port only.
	Logger *slog.Logger
}

// Client calls one A1111 server. It is safe for concurrent use, but A1111
// runs one generation at a time: callers should keep at most one txt2img in
// flight per server.
type Client struct {
	base   string // scheme://host[:port][/prefix], no credentials, no trailing slash
	addr   string // host:port
	user   string
	pass   string
	auth   bool
	hc     *http.Client
	opts   Options
	logger *slog.Logger
	// noPing is set once the server answered 404 to /internal/ping, so
	// that Ping goes straight to /sdapi/v1/options from then on.
	noPing atomic.Bool
	// noTaskProgress is set once /internal/progress answered 404 (or
	// another 4xx but auth): generations follow /sdapi/v1/progress.
	noTaskProgress atomic.Bool
	// tracks says whether the server files txt2img requests under their
	// force_task_id (tracksUnknown, tracksYes, tracksNo), as found out by
	// the generations so far.
	tracks atomic.Int32
}

// New parses rawURL (http://[user:pass@]host[:port][/prefix], trailing slash
// optional). user:pass becomes HTTP Basic auth on every request and is kept
// out of every URL, message and error. A malformed URL is an *Error of
// KindConfig naming the problem.
func New(rawURL string, opts Options) (*Client, error) {
	u, err := parseServerURL(rawURL)
	if err != nil {
		return nil, err
	}
	if opts.GenerateTimeout <= 0 {
		opts.GenerateTimeout = 10 * time.Minute
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = time.Minute
	}
	if opts.InterruptGrace <= 0 {
		opts.InterruptGrace = 30 * time.Second
	}
	if opts.StallTimeout <= 0 {
		opts.StallTimeout = time.Minute
	}
	c := &Client{opts: opts, hc: opts.HTTPClient, logger: opts.Logger}
	if c.hc == nil {
		c.hc = &http.Client{Transport: newTransport()}
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	if u.User != nil {
		c.auth = true
		c.user = u.User.Username()
		c.pass, _ = u.User.Password()
		u.User = nil
	}
	c.addr = hostPort(u)
	c.base = strings.TrimRight(u.String(), "/")
	return c, nil
}

// idleConnTimeout is how long the client keeps an idle connection for
// reuse: less than the 5 s after which A1111 under its web UI (uvicorn's
// timeout_keep_alive) closes one (30 s with --nowebui, 60 s on SD.Next). A
// connection kept longer can be picked for a request just as the server
// closes it, and Go retries such a request by itself only when it is
// idempotent: GETs, and the POSTs marked so in send. A txt2img it would not
// retry, and blindly must not (it may have reached the server), so the race
// is avoided here; for a server (or proxy) whose keep-alive is shorter
// still, postGeneration retries once where the server confirms it never got
// the request.
const idleConnTimeout = 4 * time.Second

func newTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       idleConnTimeout,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

func parseServerURL(rawURL string) (*url.URL, error) {
	raw := strings.TrimSpace(rawURL)
	bad := func(format string, args ...any) error {
		return &Error{Kind: KindConfig, Detail: fmt.Sprintf(format, args...)}
	}
	if raw == "" {
		return nil, bad("the URL is empty")
	}
	shown := redactURL(raw)
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the whole URL, password included: keep only
		// the inner reason, and only when it cannot hold the userinfo.
		reason := "it cannot be parsed"
		var ue *url.Error
		// With a user:pass, the parser's reason may quote a piece of the
		// password (`invalid port ":s3cr"`): say nothing more then.
		if userinfo(raw) != "" {
			reason = "check it, and percent-encode / ? # @ in the password"
		} else if errors.As(err, &ue) {
			reason = ue.Err.Error()
		}
		return nil, bad("%q is not a valid URL: %s", shown, reason)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, bad("%q must start with http:// or https://", shown)
	}
	if ui := userinfo(raw); ui != "" && !sameUserinfo(u, ui) {
		return nil, bad("%q has an @ that is not after its user:pass; percent-encode / ? # @ in the password", shown)
	}
	if u.Hostname() == "" {
		return nil, bad("%q has no host", shown)
	}
	if p := u.Port(); p == "0" {
		return nil, bad("%q has port 0", shown)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, bad("%q must not have a query or fragment", shown)
	}
	return u, nil
}

// userinfo returns the "user:pass" part of a raw URL, or "".
func userinfo(raw string) string {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		rest = raw
	}
	// Up to the last "@" of the whole string: a password may hold "/", "?"
	// or "#" that a parser would take for the path, and must still be hidden.
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		return rest[:i]
	}
	return ""
}

// sameUserinfo reports whether the parser read exactly ui as the userinfo;
// if not, an "@" sits in the path, query or fragment.
func sameUserinfo(u *url.URL, ui string) bool {
	if u.User == nil {
		return false
	}
	user, pass, hasPass := strings.Cut(ui, ":")
	du, err1 := url.PathUnescape(user)
	dp, err2 := url.PathUnescape(pass)
	p, ok := u.User.Password()
	return err1 == nil && err2 == nil && du == u.User.Username() && dp == p && ok == hasPass
}

// redactURL replaces the userinfo of a raw URL with "***" for messages.
func redactURL(raw string) string {
	if ui := userinfo(raw); ui != "" {
		return strings.Replace(raw, ui+"@", "***@", 1)
	}
	return raw
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	port := "80"
	if u.Scheme == "https" {
		port = "443"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// Addr is the server's host:port, for messages; it never holds credentials.
func (c *Client) Addr() string { return c.addr }

// GenerateTimeout is the limit one txt2img may take.
func (c *Client) GenerateTimeout() time.Duration { return c.opts.GenerateTimeout }

var (
	errCallTimeout     = errors.New("request timeout")
	errGenerateTimeout = errors.New("generation timeout")
)

// call sends one request and hands a 2xx answer to handle. Every failure
// comes back as an *Error. timeout bounds the call on top of ctx; cause tells
// which limit it is.
func (c *Client) call(ctx context.Context, method, route string, body any, handle func(io.Reader) error) error {
	ctx, cancel := context.WithTimeoutCause(ctx, c.opts.RequestTimeout, errCallTimeout)
	defer cancel()
	return c.send(ctx, method, route, body, handle)
}

// send is call without its own time limit.
func (c *Client) send(ctx context.Context, method, route string, body any, handle func(io.Reader) error) error {
	name := method + " " + strings.SplitN(route, "?", 2)[0]
	if err := ctx.Err(); err != nil {
		return c.ctxErr(ctx, name)
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return &Error{Kind: KindBadRequest, Server: c.addr, Route: name, Detail: "the request cannot be encoded", Err: err}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+route, rd)
	if err != nil {
		return &Error{Kind: KindConfig, Server: c.addr, Route: name, Err: err}
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method == http.MethodPost && idempotentPOST[strings.SplitN(route, "?", 2)[0]] {
		// Lets the transport send it again on a fresh connection when
		// the server closed the reused one before answering (a
		// keep-alive race); a nil value marks it without sending a
		// header (net/http Transport docs).
		req.Header["Idempotency-Key"] = nil
	}
	if c.auth {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.transportErr(ctx, name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return c.statusErr(name, resp.StatusCode, raw)
	}
	if handle == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	if err := handle(bodyReader{resp.Body}); err != nil {
		return c.readErr(ctx, name, err)
	}
	return nil
}

// idempotentPOST are the POST routes that do the same when sent twice:
// a read (/internal/progress), setting a flag or options to the same value,
// a rescan. txt2img (a second generation) and skip (a second batch cut)
// are not.
var idempotentPOST = map[string]bool{
	"/internal/progress":      true,
	"/sdapi/v1/interrupt":     true,
	"/sdapi/v1/options":       true,
	"/sdapi/v1/refresh-loras": true,
}

// bodyReader marks the errors of the connection itself, so that an answer
// cut off by a server that died or a reset (io.ErrUnexpectedEOF from the
// body) is not taken for malformed JSON, which decoders report the same way.
type bodyReader struct{ r io.Reader }

func (b bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = &connReadError{err}
	}
	return n, err
}

type connReadError struct{ err error }

func (e *connReadError) Error() string { return "reading the answer: " + e.err.Error() }
func (e *connReadError) Unwrap() error { return e.err }

// ctxErr explains why ctx ended: the caller's cancel or deadline, or one of
// the client's own limits.
func (c *Client) ctxErr(ctx context.Context, route string) *Error {
	e := &Error{Server: c.addr, Route: route, Err: ctx.Err()}
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errGenerateTimeout):
		e.Kind, e.Limit = KindTimeout, c.opts.GenerateTimeout
	case errors.Is(cause, errCallTimeout), errors.Is(ctx.Err(), context.DeadlineExceeded):
		e.Kind = KindTimeout
	default:
		e.Kind = KindCanceled
	}
	return e
}

func (c *Client) transportErr(ctx context.Context, route string, err error) *Error {
	if ctx.Err() != nil {
		return c.ctxErr(ctx, route)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL is known from Server and Route
	}
	e := &Error{Kind: KindUnreachable, Server: c.addr, Route: route, Err: err}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && !errors.Is(err, syscall.ECONNREFUSED) {
		e.Kind = KindTimeout
	}
	return e
}

// readErr classifies a failure while reading a 2xx answer.
func (c *Client) readErr(ctx context.Context, route string, err error) *Error {
	var se *json.SyntaxError
	var ce *connReadError
	switch {
	case ctx.Err() != nil:
		return c.ctxErr(ctx, route)
	case errors.As(err, &ce):
		e := c.transportErr(ctx, route, ce.err)
		e.Detail = "the connection broke during the answer"
		return e
	case errors.Is(err, errSyntax), errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF) && !isNetErr(err):
		return &Error{Kind: KindBadResponse, Server: c.addr, Route: route, Detail: "malformed answer", Err: err}
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &Error{Kind: KindBadResponse, Server: c.addr, Route: route, Detail: "unexpected answer", Err: err}
	}
	return c.transportErr(ctx, route, err)
}

func isNetErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne)
}

func (c *Client) statusErr(route string, status int, raw []byte) *Error {
	eb := parseErrorBodyStatus(raw, status)
	e := &Error{Server: c.addr, Route: route, Status: status, Class: c.redact(eb.Class), Detail: c.redact(eb.Detail)}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Kind = KindAuth
	case status == http.StatusNotFound && (eb.NotFound || eb.Class == "" && !json.Valid(raw) || apiCoreRoutes[route]):
		e.Kind = KindNoAPI
	case status == http.StatusBadGateway || status == http.StatusServiceUnavailable:
		e.Kind = KindUnreachable
	case status == http.StatusGatewayTimeout || status == http.StatusRequestTimeout:
		e.Kind = KindTimeout
	case status >= 500:
		e.Kind = KindServer
	default:
		e.Kind = KindBadRequest
	}
	return e
}

// apiCoreRoutes are routes that every A1111, Forge and SD.Next started with
// --api has and that never answer 404 themselves: a 404 there, whatever its
// body (a proxy's JSON, SD.Next's error shape), means no API at this URL:
// started without --api, or a wrong path prefix. Routes such as txt2img
// are not here: they answer 404 for a sampler they do not know.
var apiCoreRoutes = map[string]bool{
	"GET /sdapi/v1/sd-models": true,
	"GET /sdapi/v1/options":   true,
	"POST /sdapi/v1/options":  true,
	"GET /sdapi/v1/samplers":  true,
	"GET /sdapi/v1/upscalers": true,
	"GET /sdapi/v1/progress":  true,
}

// redact removes the password from text a server sent back, in case a proxy
// or fork echoes the request.
func (c *Client) redact(s string) string {
	if c.auth && len(c.pass) >= 3 {
		s = strings.ReplaceAll(s, c.pass, "***")
	}
	return s
}

// decodeJSON decodes a small answer. A field of an unexpected type is
// tolerated (the rest is kept); malformed JSON is not.
func decodeJSON(v any) func(io.Reader) error {
	return func(r io.Reader) error {
		err := json.NewDecoder(r).Decode(v)
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil
		}
		return err
	}
}

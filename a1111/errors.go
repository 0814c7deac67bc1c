package a1111

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Kind says what went wrong with a call, in terms a person can act on.
type Kind int

const (
	KindUnknown      Kind = iota
	KindConfig            // the A1111 URL itself is malformed
	KindUnreachable       // connection refused, DNS failure, reset, or a proxy's 502/503
	KindTimeout           // a deadline passed before the answer came, or a generating server stopped answering (Limit 0)
	KindAuth              // 401/403: --api-auth refused the credentials
	KindNoAPI             // 404 "Not Found" on an /sdapi route: started without --api
	KindBadRequest        // 400/404/422: the server rejected what was sent
	KindServer            // 500: the server failed while working
	KindBadResponse       // the answer could not be read (malformed JSON, bad base64)
	KindCanceled          // the caller's context was cancelled
	KindNotSupported      // the server lacks this route (an older A1111, a fork); wraps ErrNotSupported
)

var kindNames = [...]string{"unknown", "config", "unreachable", "timeout", "auth", "no-api", "bad-request", "server", "bad-response", "canceled", "not-supported"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// ErrNotSupported is returned (unwrapped, with a nil result) by calls whose
// route an older server lacks, such as GET /sdapi/v1/schedulers before
// A1111 1.9. Callers fall back rather than fail.
var ErrNotSupported = errors.New("a1111: not supported by this server")

// Error is the one error type every failing Client call returns. Error()
// carries the detail for logs; UserMessage gives one sentence for a Discord
// user. Neither ever holds the credentials of the server's URL.
type Error struct {
	Kind   Kind
	Server string // host:port
	Route  string // "POST /sdapi/v1/txt2img"; empty for KindConfig
	Status int    // HTTP status, 0 when no answer came
	Class  string // the server's exception class ("RuntimeError", "HTTPException"), when given
	Detail string // the server's message, shortened; or what was wrong
	// Limit is the generation time limit that ran out, for KindTimeout on
	// txt2img; zero for other timeouts.
	Limit time.Duration
	Err   error // the cause, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("a1111")
	if e.Server != "" {
		b.WriteString(" " + e.Server)
	}
	if e.Route != "" {
		b.WriteString(": " + e.Route)
	}
	b.WriteString(": " + e.Kind.String())
	if e.Status != 0 {
		fmt.Fprintf(&b, ": status %d", e.Status)
	}
	if e.Limit > 0 {
		fmt.Fprintf(&b, ": over the %s limit", e.Limit)
	}
	if e.Class != "" {
		b.WriteString(": " + e.Class)
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// stalledDetail starts the Detail of a generation stopped because the
// server stopped answering its progress polls.
const stalledDetail = "stopped answering"

// ServerDown says whether the error means the server is unavailable (gone,
// unreachable, or hung), as opposed to this request being refused or this
// job failing: a caller can then take the server out of rotation, or try
// the job on another one, instead of reporting the job as failed.
//
// The rule: true for KindUnreachable (connection refused or reset, DNS
// failure, a proxy's 502/503) and for KindTimeout with Limit == 0 (no answer
// within RequestTimeout or the caller's deadline, a proxy's 504, a
// generation whose server stopped answering for StallTimeout). False for
// everything else: 401/403, 404 and 422 (the request or the setup is wrong),
// 500 (the server answered: it failed at this job, e.g. out of memory),
// malformed answers, cancellation, and the generation limit (Limit > 0: the
// job was too long, not the server gone).
func (e *Error) ServerDown() bool {
	if e == nil {
		return false
	}
	switch e.Kind {
	case KindUnreachable:
		return true
	case KindTimeout:
		return e.Limit == 0
	}
	return false
}

// IsServerDown reports whether err holds an *Error whose ServerDown is true.
func IsServerDown(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.ServerDown()
}

// IsNotReached reports whether err holds an *Error whose NotReached is true.
func IsNotReached(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.NotReached()
}

// NotReached says whether the request never reached the server: the
// connection was refused or could not be made, so nothing ran there. A job
// that failed this way was not tried by that server; it can simply wait for
// a server that answers.
func (e *Error) NotReached() bool {
	if e == nil || e.Kind != KindUnreachable {
		return false
	}
	var op *net.OpError
	return errors.As(e.Err, &op) && op.Op == "dial"
}

// UserMessage is one short sentence for the person who asked for the image.
func (e *Error) UserMessage() string {
	switch e.Kind {
	case KindConfig:
		return "The image server's address is misconfigured: " + sentence(e.Detail)
	case KindUnreachable:
		return fmt.Sprintf("The image server at %s is not answering.", e.Server)
	case KindTimeout:
		if e.Limit > 0 {
			return fmt.Sprintf("The image server took longer than %s and the job was stopped.", e.Limit)
		}
		if strings.HasPrefix(e.Detail, stalledDetail) {
			return fmt.Sprintf("The image server at %s stopped answering and the job was stopped.", e.Server)
		}
		return fmt.Sprintf("The image server at %s did not answer in time.", e.Server)
	case KindAuth:
		return fmt.Sprintf("A1111 at %s refused the login (check A1111_URL's user:pass).", e.Server)
	case KindNoAPI:
		return fmt.Sprintf("A1111 at %s was started without --api.", e.Server)
	case KindBadRequest:
		if e.Detail == "" {
			return fmt.Sprintf("A1111 at %s rejected the request.", e.Server)
		}
		return "A1111 rejected the request: " + sentence(e.Detail)
	case KindServer:
		d := e.Detail
		if d == "" {
			d = e.Class
		}
		if d == "" {
			return fmt.Sprintf("A1111 at %s failed.", e.Server)
		}
		return "A1111 failed: " + sentence(d)
	case KindBadResponse:
		return fmt.Sprintf("The image server at %s sent an answer the bot cannot read.", e.Server)
	case KindCanceled:
		return "The job was cancelled."
	case KindNotSupported:
		if e.Detail != "" {
			return fmt.Sprintf("The image server at %s %s.", e.Server, strings.Replace(e.Detail, "this server ", "", 1))
		}
		return fmt.Sprintf("The image server at %s does not support this.", e.Server)
	}
	return fmt.Sprintf("Something went wrong with the image server at %s.", e.Server)
}

// PublicMessage is UserMessage without the detail: no host, port, route or
// exception text, only what happened in words. A job's message is read by
// the whole channel, and an address or a stack's wording helps nobody there
// while it tells strangers where the image servers are; the detail goes to
// the logs, to admins and to lorabot check (UserMessage, Error).
func (e *Error) PublicMessage() string {
	switch e.Kind {
	case KindConfig:
		return "The image server's address is misconfigured; an admin must fix the bot's settings."
	case KindUnreachable:
		return "The image server is not answering; your job was not run."
	case KindTimeout:
		if e.Limit > 0 {
			return fmt.Sprintf("The image server took longer than %s and the job was stopped.", e.Limit)
		}
		if strings.HasPrefix(e.Detail, stalledDetail) {
			return "The image server stopped answering and the job was stopped."
		}
		return "The image server did not answer in time; your job was not finished."
	case KindAuth:
		return "The image server refused the bot's login; an admin must fix the bot's settings."
	case KindNoAPI:
		return "The image server is not set up for the bot (its API is off); an admin must fix it."
	case KindBadRequest:
		return "The image server rejected the request."
	case KindServer:
		if strings.Contains(strings.ToLower(e.Detail+" "+e.Class), "out of memory") {
			// The one failure a user can do something about.
			return "The image server ran out of memory for this job; try a smaller size or fewer images."
		}
		return "The image server failed while working on the job; please try again."
	case KindBadResponse:
		return "The image server sent an answer the bot cannot read."
	case KindCanceled:
		return "The job was cancelled."
	case KindNotSupported:
		return "The image server does not support this."
	}
	return "Something went wrong with the image server."
}

// sentence shortens s for a chat message and ends it with one period.
func sentence(s string) string {
	s = truncate(s, 160)
	s = strings.TrimRight(s, ". ")
	if strings.HasSuffix(s, "…") {
		return s
	}
	return s + "."
}

// truncate collapses white space and cuts s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

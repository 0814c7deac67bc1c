package discordtest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// Default identities used when Options or specs leave them empty. They are
// numeric like real snowflakes because bots may parse them.
const (
	DefaultAppID     = "400000000000000001"
	DefaultGuildID   = "100000000000000001"
	DefaultChannelID = "200000000000000001"
	DefaultUserID    = "300000000000000001"
)

// servers numbers fakes so each gets its own default token.
var servers atomic.Int64

// DefaultPermissions is the member permission set sent when a spec gives
// none: an ordinary member who can read, write, attach files and run
// commands, but not manage the server.
const DefaultPermissions int64 = discordgo.PermissionViewChannel |
	discordgo.PermissionSendMessages |
	discordgo.PermissionEmbedLinks |
	discordgo.PermissionAttachFiles |
	discordgo.PermissionReadMessageHistory |
	discordgo.PermissionUseApplicationCommands

// DefaultAppPermissions is what the bot may do in the channel of an
// interaction when a spec gives nothing else.
const DefaultAppPermissions = DefaultPermissions

// privilegedIntents need approval in the developer portal; Discord closes
// the gateway with 4014 when a bot asks for one it was not granted.
const privilegedIntents = discordgo.IntentGuildMembers | discordgo.IntentGuildPresences | discordgo.IntentMessageContent

// Options configure a Server. Zero values take the defaults named on each
// field.
type Options struct {
	AppID     string // default DefaultAppID
	BotUserID string // default AppID (as for applications made since 2020)
	BotName   string // default "lorabot"
	// Token is expected in "Authorization: Bot <token>" and in Identify.
	// The default is unique to each server, so that a stray discordgo
	// session left reconnecting by an earlier test cannot join this one
	// (discordgo re-reads its endpoint globals when it reconnects).
	Token string

	// TokenLifetime is how long an interaction token serves the webhook
	// routes after dispatch; Discord's is 15 minutes.
	TokenLifetime time.Duration
	// ResponseDeadline is how long after dispatch the first callback may
	// arrive; Discord's is 3 seconds.
	ResponseDeadline time.Duration
	// AttachmentSizeLimit is the largest file accepted, and is sent in each
	// interaction as attachment_size_limit; default 10 MiB.
	AttachmentSizeLimit int64
	// RequestSizeLimit caps a whole request body; default 25 MiB.
	RequestSizeLimit int64
	// HeartbeatInterval is announced in Hello; default 41.25 s like Discord.
	HeartbeatInterval time.Duration
	// Guilds listed (unavailable) in READY; default [DefaultGuildID].
	Guilds []string
	// GrantedIntents are the privileged intents the application may ask
	// for; asking for any other privileged intent closes the gateway 4014.
	GrantedIntents discordgo.Intent

	// ExpectViolations stops violations from failing the test: they are
	// still recorded and logged, for tests that provoke them on purpose.
	ExpectViolations bool

	// ClockSkew sets the fake's clock ahead of this machine's (behind when
	// negative): its Date headers and the times in its IDs read from it,
	// as a Discord whose clock differs from the bot's would.
	ClockSkew time.Duration
	// APIVersion is the version in APIURL (default discordgo's, 9). The
	// fake answers any version a request names, and from v10 on an edit
	// keeps only the new files its "attachments" lists, as Discord does.
	APIVersion int
}

// Server is a fake Discord. All its methods are safe for concurrent use.
type Server struct {
	tb   testing.TB
	opts Options
	srv  *httptest.Server
	base string // http://127.0.0.1:PORT

	ids     atomic.Uint64 // low bits of the next ID
	revoked atomic.Bool   // RevokeToken was called

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every state change
	closed  bool

	violations []string
	faults     map[Route][]fault
	requests   []Request
	// holds are the interaction tokens a 429 rate-limited, until when:
	// Discord holds every route of the token, and a request before then
	// is one more invalid request.
	holds map[string]time.Time

	commands commandState
	gw       gateway

	interactions map[string]*Interaction // by id
	byToken      map[string]*Interaction
	messages     map[string]*Message
	uploads      map[string]*Attachment // files users attached to commands, by ID
	msgOrder     []string
	channels     map[string]*Channel
	timers       []*time.Timer
}

// New starts a fake Discord on a random 127.0.0.1 port. It stops when the
// test ends.
func New(tb testing.TB, opts Options) *Server {
	tb.Helper()
	if opts.AppID == "" {
		opts.AppID = DefaultAppID
	}
	if opts.BotUserID == "" {
		opts.BotUserID = opts.AppID
	}
	if opts.BotName == "" {
		opts.BotName = "lorabot"
	}
	if opts.Token == "" {
		opts.Token = "test-token-" + strconv.FormatInt(servers.Add(1), 10)
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = 15 * time.Minute
	}
	if opts.ResponseDeadline <= 0 {
		opts.ResponseDeadline = 3 * time.Second
	}
	if opts.AttachmentSizeLimit <= 0 {
		opts.AttachmentSizeLimit = 10 << 20
	}
	if opts.RequestSizeLimit <= 0 {
		opts.RequestSizeLimit = 25 << 20
	}
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = 41250 * time.Millisecond
	}
	if opts.Guilds == nil {
		opts.Guilds = []string{DefaultGuildID}
	}
	s := &Server{
		tb:           tb,
		opts:         opts,
		changed:      make(chan struct{}),
		faults:       map[Route][]fault{},
		holds:        map[string]time.Time{},
		interactions: map[string]*Interaction{},
		byToken:      map[string]*Interaction{},
		messages:     map[string]*Message{},
		uploads:      map[string]*Attachment{},
		channels:     map[string]*Channel{},
	}
	s.commands.init()
	s.gw.init()
	s.srv = httptest.NewServer(s.routes())
	s.base = s.srv.URL
	tb.Cleanup(s.close)
	return s
}

// close stops the server. Violations found after this are not reported,
// because the test may already be over.
func (s *Server) close() {
	s.mu.Lock()
	s.closed = true
	for _, t := range s.timers {
		t.Stop()
	}
	conns := s.gw.allConns()
	s.broadcastLocked()
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	s.srv.Close()
}

// APIURL is the REST base with the version and a trailing slash, as
// discordgo's EndpointAPI: "http://127.0.0.1:PORT/api/v9/" (Options.APIVersion
// names another).
func (s *Server) APIURL() string {
	v := discordgo.APIVersion
	if s.opts.APIVersion > 0 {
		v = strconv.Itoa(s.opts.APIVersion)
	}
	return s.base + "/api/v" + v + "/"
}

// URL is the server's root, "http://127.0.0.1:PORT".
func (s *Server) URL() string { return s.base }

// GatewayURL is the websocket address answered by GET gateway.
func (s *Server) GatewayURL() string { return "ws" + strings.TrimPrefix(s.base, "http") + "/gateway" }

// AppID is the application's id.
func (s *Server) AppID() string { return s.opts.AppID }

// Token is the bot token the server expects.
func (s *Server) Token() string { return s.opts.Token }

// discordEpochMS is the first millisecond of 2015, from which Discord's
// snowflakes count.
const discordEpochMS = 1420070400000

// Now is the time by the fake's clock (Options.ClockSkew).
func (s *Server) Now() time.Time { return time.Now().Add(s.opts.ClockSkew) }

// nextID returns a fresh snowflake made now by the fake's clock.
func (s *Server) nextID() string { return s.idAt(time.Now()) }

// idAt returns a fresh snowflake made at t (this machine's clock): the
// fake's time of t in its top bits, a counter below.
func (s *Server) idAt(t time.Time) string {
	ms := uint64(max(t.Add(s.opts.ClockSkew).UnixMilli()-discordEpochMS, 0))
	return strconv.FormatUint(ms<<22|s.ids.Add(1)&(1<<22-1), 10)
}

// snowflakeTime is when the snowflake id was made, on this machine's
// clock, to the millisecond as its bits say.
func (s *Server) snowflakeTime(id string) time.Time {
	n, _ := strconv.ParseUint(id, 10, 64)
	return time.UnixMilli(int64(n>>22) + discordEpochMS).Add(-s.opts.ClockSkew)
}

// RevokeToken makes the bot's token worthless, as resetting it in the
// developer portal does: REST answers 401 from now on, the gateway
// connections close with 4004 (authentication failed), and so do later
// identifies; a resume is refused (op 9).
func (s *Server) RevokeToken() {
	s.revoked.Store(true)
	s.mu.Lock()
	conns := s.gw.allConns()
	s.gw.active = nil
	s.broadcastLocked()
	s.mu.Unlock()
	for _, c := range conns {
		c.closeWith(4004, "Authentication failed.")
	}
}

// tokenOK reports whether token is the bot's, and not revoked.
func (s *Server) tokenOK(token string) bool {
	return token == s.opts.Token && !s.revoked.Load()
}

// broadcastLocked wakes every waiter; callers hold s.mu.
func (s *Server) broadcastLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor blocks until check (called with s.mu held) reports true, the
// context ends, or the server closes.
func (s *Server) waitFor(ctx context.Context, what string, check func() bool) error {
	for {
		s.mu.Lock()
		if check() {
			s.mu.Unlock()
			return nil
		}
		closed, ch := s.closed, s.changed
		s.mu.Unlock()
		if closed {
			return fmt.Errorf("discordtest: waiting for %s: server closed", what)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("discordtest: waiting for %s: %w", what, ctx.Err())
		}
	}
}

// violateLocked records a breach of Discord's rules; callers hold s.mu.
func (s *Server) violateLocked(format string, args ...any) {
	v := fmt.Sprintf(format, args...)
	s.violations = append(s.violations, v)
	s.broadcastLocked()
	if s.closed {
		return
	}
	if s.opts.ExpectViolations {
		s.tb.Logf("discordtest: violation (expected): %s", v)
		return
	}
	s.tb.Errorf("discordtest: violation: %s", v)
}

// Violations lists every breach of Discord's rules seen so far, oldest first.
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.violations...)
}

// WaitViolation waits until a violation containing substr is recorded and
// returns it.
func (s *Server) WaitViolation(ctx context.Context, substr string) (string, error) {
	var found string
	err := s.waitFor(ctx, "a violation containing "+strconv.Quote(substr), func() bool {
		for _, v := range s.violations {
			if strings.Contains(v, substr) {
				found = v
				return true
			}
		}
		return false
	})
	return found, err
}

// errorf reports a mistake in the test's use of the fake (not the bot's).
func (s *Server) errorf(format string, args ...any) {
	s.tb.Helper()
	s.tb.Errorf("discordtest: "+format, args...)
}

// handler is the shape of every REST route handler: it returns the status
// and the JSON body (nil for none).
type handler func(r *http.Request) (int, any)

package discordtest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

// Gateway opcodes the fake speaks.
const (
	opDispatch       = 0
	opHeartbeat      = 1
	opIdentify       = 2
	opResume         = 6
	opReconnect      = 7
	opInvalidSession = 9
	opHello          = 10
	opHeartbeatAck   = 11
)

// gateway is the websocket side. Dispatched events wait in a queue until
// an identified (or resumed) connection takes them; each session keeps
// what it sent so a resume can replay what the bot missed.
type gateway struct {
	events     []*pendingEvent
	next       int // index in events of the first event not yet sent
	sessions   map[string]*gwSession
	conns      map[*gwConn]bool
	active     *gwConn // the connection that receives new events
	identifies int
	resumes    int
	heartbeats int
	intents    discordgo.Intent
}

func (g *gateway) init() {
	g.sessions = map[string]*gwSession{}
	g.conns = map[*gwConn]bool{}
}

func (g *gateway) allConns() []*gwConn {
	out := make([]*gwConn, 0, len(g.conns))
	for c := range g.conns {
		out = append(out, c)
	}
	return out
}

type pendingEvent struct {
	typ  string
	data json.RawMessage
	// sent runs, with s.mu held, each time the event is about to be
	// written to a socket.
	sent func(at time.Time)
}

type gwSession struct {
	id   string
	seq  int64
	sent []sentFrame
}

type sentFrame struct {
	seq   int64
	frame []byte
	ev    *pendingEvent
}

func (ss *gwSession) frame(typ string, data json.RawMessage) (int64, []byte) {
	ss.seq++
	b, _ := json.Marshal(map[string]any{"op": opDispatch, "t": typ, "s": ss.seq, "d": data})
	return ss.seq, b
}

type gwConn struct {
	ws      *websocket.Conn
	wmu     sync.Mutex
	done    chan struct{}
	once    sync.Once
	session *gwSession // set by identify or resume; guarded by Server.mu
	beats   int        // heartbeats received; guarded by Server.mu
}

func (c *gwConn) write(frame []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, frame)
}

func (c *gwConn) writeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.write(b)
}

// closeWith sends a close frame with a gateway close code, then closes.
func (c *gwConn) closeWith(code int, text string) {
	c.wmu.Lock()
	c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
	c.wmu.Unlock()
	c.close()
}

func (c *gwConn) close() {
	c.once.Do(func() {
		close(c.done)
		c.ws.Close()
	})
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// serveGateway runs one websocket connection: Hello, then Identify or
// Resume, heartbeats, and events pumped from the queue.
func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	c := &gwConn{ws: ws, done: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ws.Close()
		return
	}
	s.gw.conns[c] = true
	s.mu.Unlock()
	defer func() {
		c.close()
		s.mu.Lock()
		delete(s.gw.conns, c)
		if s.gw.active == c {
			s.gw.active = nil
		}
		s.broadcastLocked()
		s.mu.Unlock()
	}()

	hello := map[string]any{"op": opHello, "d": map[string]any{"heartbeat_interval": s.opts.HeartbeatInterval.Milliseconds()}}
	if c.writeJSON(hello) != nil {
		return
	}
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			return
		}
		var f struct {
			Op int             `json:"op"`
			D  json.RawMessage `json:"d"`
		}
		if json.Unmarshal(msg, &f) != nil {
			c.closeWith(4002, "Decode error")
			return
		}
		switch f.Op {
		case opHeartbeat:
			s.mu.Lock()
			c.beats++
			s.gw.heartbeats++
			s.broadcastLocked()
			s.mu.Unlock()
			if c.writeJSON(map[string]any{"op": opHeartbeatAck}) != nil {
				return
			}
		case opIdentify:
			if !s.identify(c, f.D) {
				return
			}
		case opResume:
			if !s.resume(c, f.D) {
				return
			}
		}
	}
}

// identify checks the token and intents, then starts a new session with
// READY. It reports whether the connection lives on.
func (s *Server) identify(c *gwConn, d json.RawMessage) bool {
	var id struct {
		Token   string           `json:"token"`
		Intents discordgo.Intent `json:"intents"`
	}
	json.Unmarshal(d, &id)
	s.mu.Lock()
	if c.session != nil {
		s.mu.Unlock()
		c.closeWith(4005, "Already authenticated.")
		return false
	}
	if !s.tokenOK(strings.TrimPrefix(id.Token, "Bot ")) {
		s.mu.Unlock()
		c.closeWith(4004, "Authentication failed.")
		return false
	}
	if denied := id.Intents & privilegedIntents &^ s.opts.GrantedIntents; denied != 0 {
		s.violateLocked("gateway identify asks for privileged intents %d the application was not granted (a slash-command bot needs none)", denied)
		s.mu.Unlock()
		c.closeWith(4014, "Disallowed intent(s).")
		return false
	}
	ss := &gwSession{id: "session-" + s.nextID()}
	s.gw.sessions[ss.id] = ss
	c.session = ss
	s.gw.identifies++
	s.gw.intents = id.Intents
	guilds := make([]map[string]any, len(s.opts.Guilds))
	for i, g := range s.opts.Guilds {
		guilds[i] = map[string]any{"id": g, "unavailable": true}
	}
	ready, _ := json.Marshal(map[string]any{
		"v":                  9,
		"user":               wireUser{ID: s.opts.BotUserID, Username: s.opts.BotName, Discriminator: "0", Bot: true},
		"session_id":         ss.id,
		"resume_gateway_url": s.GatewayURL(),
		"application":        map[string]any{"id": s.opts.AppID, "flags": 0},
		"guilds":             guilds,
		"private_channels":   []any{},
		"shard":              []int{0, 1},
	})
	_, frame := ss.frame("READY", ready)
	s.mu.Unlock()
	if c.write(frame) != nil {
		return false
	}
	s.activate(c)
	return true
}

// resume re-attaches a session: it replays what the session sent after the
// client's sequence, then RESUMED. An unknown session gets op 9, after
// which discordgo identifies again on the same connection.
func (s *Server) resume(c *gwConn, d json.RawMessage) bool {
	var rs struct {
		Token     string `json:"token"`
		SessionID string `json:"session_id"`
		Seq       int64  `json:"seq"`
	}
	json.Unmarshal(d, &rs)
	s.mu.Lock()
	ss := s.gw.sessions[rs.SessionID]
	if ss == nil || !s.tokenOK(strings.TrimPrefix(rs.Token, "Bot ")) || c.session != nil {
		s.mu.Unlock()
		return c.writeJSON(map[string]any{"op": opInvalidSession, "d": false}) == nil
	}
	c.session = ss
	s.gw.resumes++
	var replay []sentFrame
	for _, f := range ss.sent {
		if f.seq > rs.Seq {
			replay = append(replay, f)
		}
	}
	_, resumed := ss.frame("RESUMED", json.RawMessage(`{}`))
	for _, f := range replay {
		if f.ev.sent != nil {
			f.ev.sent(time.Now())
		}
	}
	s.mu.Unlock()
	for _, f := range replay {
		if c.write(f.frame) != nil {
			return false
		}
	}
	if c.write(resumed) != nil {
		return false
	}
	s.activate(c)
	return true
}

// activate makes c the connection that receives new events.
func (s *Server) activate(c *gwConn) {
	s.mu.Lock()
	s.gw.active = c
	s.broadcastLocked()
	s.mu.Unlock()
	go s.pump(c)
}

// pump sends queued events to c while it is the active connection.
func (s *Server) pump(c *gwConn) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		if s.gw.active == c && s.gw.next < len(s.gw.events) {
			ev := s.gw.events[s.gw.next]
			s.gw.next++
			seq, frame := c.session.frame(ev.typ, ev.data)
			c.session.sent = append(c.session.sent, sentFrame{seq: seq, frame: frame, ev: ev})
			// Mark it sent before writing: the bot may answer before this
			// goroutine could take the lock again.
			if ev.sent != nil {
				ev.sent(time.Now())
			}
			s.broadcastLocked()
			s.mu.Unlock()
			if c.write(frame) != nil {
				return // kept in the session's log for a resume
			}
			continue
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-c.done:
			return
		}
	}
}

// dispatchLocked queues a dispatch event; callers hold s.mu.
func (s *Server) dispatchLocked(typ string, data any, sent func(time.Time)) {
	b, err := json.Marshal(data)
	if err != nil {
		panic("discordtest: encoding " + typ + ": " + err.Error())
	}
	s.gw.events = append(s.gw.events, &pendingEvent{typ: typ, data: b, sent: sent})
	s.broadcastLocked()
}

// Dispatch queues any gateway event (for example GUILD_CREATE) for the bot.
func (s *Server) Dispatch(eventType string, data any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dispatchLocked(eventType, data, nil)
}

// WaitReady waits until a bot session is connected (identified or
// resumed) and receiving events.
func (s *Server) WaitReady(ctx context.Context) error {
	return s.waitFor(ctx, "the bot's gateway session", func() bool { return s.gw.active != nil })
}

// WaitHeartbeat waits until the connected session has sent a heartbeat.
//
// Tests should wait for it before closing a discordgo v0.29 session that
// has just (re)connected: Open starts a heartbeat goroutine that sends at
// once, but if Close runs first that goroutine blocks on the session lock
// through Close's one-second sleep, then fails to write on the closed
// socket and starts a reconnect loop that never ends (and that re-reads
// discordgo's endpoint globals, racing the next test).
func (s *Server) WaitHeartbeat(ctx context.Context) error {
	return s.waitFor(ctx, "a heartbeat on the bot's gateway connection", func() bool {
		return s.gw.active != nil && s.gw.active.beats > 0
	})
}

// Heartbeats counts heartbeats received on all connections.
func (s *Server) Heartbeats() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gw.heartbeats
}

// Connected reports whether a bot session is receiving events now.
func (s *Server) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gw.active != nil
}

// Identifies counts gateway identifies (new sessions).
func (s *Server) Identifies() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gw.identifies
}

// Resumes counts successful gateway resumes.
func (s *Server) Resumes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gw.resumes
}

// Intents returns the intents of the last identify.
func (s *Server) Intents() discordgo.Intent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gw.intents
}

// Reconnect asks the connected bot to reconnect (op 7), as Discord does
// before moving a session; discordgo then resumes.
func (s *Server) Reconnect() {
	s.mu.Lock()
	c := s.gw.active
	s.mu.Unlock()
	if c != nil {
		c.writeJSON(map[string]any{"op": opReconnect, "d": nil})
	}
}

// DropConnection cuts the bot's websocket without a close frame, like a
// network failure; discordgo then reconnects and resumes.
func (s *Server) DropConnection() {
	s.mu.Lock()
	c := s.gw.active
	s.gw.active = nil
	s.broadcastLocked()
	s.mu.Unlock()
	if c != nil {
		c.close()
	}
}

// handleGateway answers GET gateway with this server's websocket address.
func (s *Server) handleGateway(*http.Request) (int, any) {
	return http.StatusOK, map[string]any{"url": s.GatewayURL()}
}

func (s *Server) handleGatewayBot(*http.Request) (int, any) {
	return http.StatusOK, map[string]any{
		"url":    s.GatewayURL(),
		"shards": 1,
		"session_start_limit": map[string]any{
			"total": 1000, "remaining": 999, "reset_after": 86_400_000, "max_concurrency": 1,
		},
	}
}

// handleCurrentApplication answers the bot's own application, whose ID is
// not the bot user's for applications made before 2020.
func (s *Server) handleCurrentApplication(*http.Request) (int, any) {
	return http.StatusOK, map[string]any{
		"id": s.opts.AppID, "name": s.opts.BotName, "description": "", "bot_public": true,
		"bot": map[string]any{"id": s.opts.BotUserID, "username": s.opts.BotName, "bot": true},
	}
}

func (s *Server) handleCurrentUser(*http.Request) (int, any) {
	return http.StatusOK, map[string]any{
		"id": s.opts.BotUserID, "username": s.opts.BotName, "discriminator": "0",
		"avatar": nil, "bot": true, "verified": true, "flags": 0,
	}
}

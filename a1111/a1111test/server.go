// Package a1111test is a fake AUTOMATIC1111 WebUI API for tests: real PNGs,
// A1111's one-job-at-a-time lock, step-by-step /progress, interrupt and
// skip, img2img (its images blend the init image by denoising_strength),
// extra-single-image upscaling and interrogate (CLIP, DeepDanbooru) under
// the same lock, /upscalers, checkpoint loads, the LoRA catalog with refresh, --api-auth,
// --nowebui, the web UI's task queue (force_task_id, /internal/progress,
// /internal/pending-tasks), keep-alive closing, and failure switches (down,
// 500, hang, malformed JSON, 401, no --api, a proxy's 502) that can be
// flipped while it runs. Options.Flavor makes it Forge or SD.Next where
// those differ from A1111 (see Flavor).
//
// It follows A1111 1.10 where that matters to a client (see
// shared/spec/a1111.md): unknown request fields, samplers (DPM++ 2M is the
// fallback), checkpoints and LoRA names are ignored silently; no sampler
// means Euler; /loras, /refresh-loras and the web UI's /internal/* routes
// skip auth and exist without --api; a generation keeps running when its
// client hangs up (only /interrupt stops it); /interrupt and /progress act
// on whatever runs, and /internal/progress tells one task's state.
//
// Checkpoints: the option sd_model_checkpoint (Checkpoint) and the weights
// in memory (Loaded) are kept apart, as in A1111. An override sets the
// option for its job and restores it afterwards, but the weights stay: a
// job whose checkpoint differs from them first loads it, taking
// ModelSwitchTime (ModelLoads counts them). Alternating jobs with and
// without an override reload every time; a run with the same override loads
// once. POST /options with a new checkpoint loads it under the generation
// lock, after any running job. Files in a subfolder are named with it, and
// a file not hashed yet (Options.Unhashed) is titled without " [hash]"
// until a load hashes it.
//
// Progress keeps A1111's lifetimes: a job's start sets job_count to -1 and
// sampling_step to 0 but keeps the last job's sampling_steps; job_count
// becomes n_iter once the model is loaded, so a load reads as 1 % with an
// ETA of 99 times the time spent; a job's end resets only job and
// job_count, so the last job's figures stay visible while idle. Helpers that
// wait for sampling (WaitStep) look at JobCount > 0.
package a1111test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"lorabot/a1111"
)

// Flavor picks which server the fake plays where they differ (see each
// constant, flavors.go and a1111.md "Behaviours that surprise").
type Flavor int

const (
	// FlavorA1111 is AUTOMATIC1111 1.10: errors {"error","detail","body","errors"}.
	FlavorA1111 Flavor = iota
	// FlavorForge is Forge (2025-06), which turns A1111's error middleware
	// off: an HTTP error is FastAPI's {"detail": "..."} and an exception a
	// plain-text "Internal Server Error" 500, with no message. It lists
	// more samplers and schedulers, and when one <lora:> name of several is
	// unknown it loads none of them.
	FlavorForge
	// FlavorSDNext is SD.Next: A1111's error shape plus "code"; samplers
	// named after diffusers schedulers, /schedulers {name, cls, options};
	// checkpoint titles without extension; LoRA names with "." made "_";
	// /loras behind auth (401 "Unauthorized"); /interrupt answers 204; info
	// without sd_model_name, its LoRAs in "LoRA networks"; API jobs not
	// filed under a task for /internal/progress.
	FlavorSDNext
)

// Mode is a failure switch; see SetMode.
type Mode int

const (
	ModeOK        Mode = iota
	ModeDown           // the port refuses connections (the URL stays; ModeOK listens again)
	Mode500            // every route fails with the flavor's exception shape, status 500
	ModeHang           // requests are accepted and never answered, until the client gives up or the server closes
	ModeMalformed      // 200 with a body cut in the middle of the JSON
	Mode401            // auth-checked routes refuse the credentials (not /loras, /refresh-loras, /internal/*)
	ModeNoAPI          // started without --api: 404 {"detail":"Not Found"} except /loras, /refresh-loras, /internal/*
	Mode422            // FastAPI's validation error, as for a field of the wrong type (steps: "many")
	Mode502            // a reverse proxy in front answers 502 with its HTML page: A1111 behind it is not running
)

var modeNames = [...]string{"ok", "down", "500", "hang", "malformed", "401", "no-api", "422", "502"}

func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Options configure a fake. The zero value is a healthy A1111 serving the
// sample catalog.
type Options struct {
	LoRAsJSON       []byte        // the catalog as /loras answers it; nil: SampleLoRAsJSON
	StepTime        time.Duration // time per sampling step; default 2ms
	APIAuth         string        // "user:pass[,user2:pass2]" as --api-auth; empty: no auth
	Flavor          Flavor
	NoisyImages     bool          // photo-like PNGs (~1.3 MB at 1024×1024) instead of tiny gradients
	OldServer       bool          // before A1111 1.9: /schedulers is 404, sampler names carry the schedule
	ExtraImages     int           // images appended after the requested ones, as Forge's ControlNet does
	ModelSwitchTime time.Duration // time to load a checkpoint whose weights are not in memory
	NoWebUI         bool          // started with --nowebui: the web UI's /internal/* routes are 404
	FailDetail      string        // what Mode500 says; default a CUDA out-of-memory message
	Addr            string        // listen address; default 127.0.0.1:0 (a free port)
	// Unhashed names checkpoints the server has not hashed yet (their
	// file relative to the models folder, "sdxl/animagine-xl-3.1.safetensors",
	// or their Models title): they are listed without " [hash]" and with
	// no hash, and their hashed title is no alias, until a job or POST
	// /options loads them. Two servers with the same files list different
	// titles this way.
	Unhashed []string
	// Upscalers names what /upscalers lists and extra-single-image
	// accepts, in order (known names get A1111's model fields; others are
	// listed as ESRGAN models of scale 4); nil: DefaultUpscalers. Leave a
	// name out to play a server without that model.
	Upscalers []string
	// NoDeepDanbooru plays an install that cannot interrogate with
	// DeepDanbooru: on A1111 and Forge its weights are missing and cannot
	// be downloaded (offline), so the model fails as A1111's download
	// does (500 URLError; Forge's bare 500). SD.Next never has it on
	// /interrogate (404 "Model not found"), whatever this says.
	NoDeepDanbooru bool
	// IdleTimeout is how long the server keeps an idle keep-alive
	// connection before closing it: uvicorn's timeout_keep_alive, 5 s
	// under the web UI, 30 s with --nowebui (60 s on SD.Next). A client
	// that reuses a connection longer can send a request on a socket
	// being closed. Tests set it short to see that the client copes.
	IdleTimeout time.Duration
}

// Server is a running fake. Its methods are safe for concurrent use.
type Server struct {
	opts  Options
	addr  string // fixed after the first listen, so that ModeDown keeps the URL
	creds map[string]string
	lock  fifoLock

	mu         sync.Mutex
	srv        *http.Server
	epoch      chan struct{} // closed when the server goes down or closes: running jobs end
	closed     bool
	active     int // handlers running
	changed    chan struct{}
	mode       Mode
	routeModes map[string]Mode
	oldServer  bool

	diskLoRAs   []byte // what a rescan finds
	loadedLoRAs []byte // what /loras answers until the next rescan
	index       loraIndex
	refreshes   int

	options    map[string]any
	loaded     string          // the file of the checkpoint whose weights are in memory
	hashed     map[string]bool // checkpoint files whose hash is known (by Filename)
	modelLoads int
	hits       map[string]int
	thumbs     map[string][]byte // SetThumb: files the thumbnail route serves, by full path
	tasks      taskQueue

	// Connection counts have their own lock: http.Server runs the
	// ConnState hook for a new connection on its accept loop, which
	// Server.Close (called with mu held) waits for.
	connMu      sync.Mutex
	conns       int           // connections accepted
	connsGone   int           // connections closed, by either side
	connChanged chan struct{} // closed and replaced when a count changes

	requests []a1111.Txt2ImgRequest
	// What the other generation-lock routes received, in order.
	img2imgRequests []a1111.Img2ImgRequest
	extrasRequests  []a1111.ExtrasRequest
	interrogations  []Interrogation
	jobs            []Job
	inflight        int
	maxInfl         int
	gen             genState
	interrupts      int
	skips           int
}

// NewServer starts a fake on opts.Addr (default 127.0.0.1, a free port).
// It panics when it cannot listen, like httptest.NewServer.
func NewServer(opts Options) *Server {
	if opts.StepTime <= 0 {
		opts.StepTime = 2 * time.Millisecond
	}
	if opts.FailDetail == "" {
		opts.FailDetail = "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 7.79 GiB total capacity)"
	}
	if opts.LoRAsJSON == nil {
		opts.LoRAsJSON = SampleLoRAsJSON()
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.IdleTimeout <= 0 {
		switch {
		case opts.NoWebUI && opts.Flavor == FlavorSDNext:
			opts.IdleTimeout = 60 * time.Second
		case opts.NoWebUI:
			opts.IdleTimeout = 30 * time.Second
		default:
			opts.IdleTimeout = 5 * time.Second
		}
	}
	s := &Server{
		opts:        opts,
		addr:        opts.Addr,
		changed:     make(chan struct{}),
		connChanged: make(chan struct{}),
		routeModes:  map[string]Mode{},
		oldServer:   opts.OldServer,
		diskLoRAs:   opts.LoRAsJSON,
		options:     defaultOptions(),
		loaded:      Models[0].Filename,
		hashed:      map[string]bool{},
		hits:        map[string]int{},
	}
	s.loadedLoRAs = s.asListed(opts.LoRAsJSON)
	s.index = indexLoRAs(s.loadedLoRAs)
	for _, m := range Models {
		s.hashed[m.Filename] = !slices.ContainsFunc(opts.Unhashed, func(u string) bool { return u == relName(m) || u == m.Title })
	}
	// The model loaded at start was hashed by loading it.
	s.hashed[s.loaded] = true
	s.options["sd_model_checkpoint"] = s.loadedLocked().Title
	if opts.APIAuth != "" {
		s.creds = map[string]string{}
		for pair := range strings.SplitSeq(opts.APIAuth, ",") {
			u, p, _ := strings.Cut(pair, ":")
			s.creds[u] = p
		}
	}
	s.mu.Lock()
	err := s.listenLocked()
	s.mu.Unlock()
	if err != nil {
		panic(fmt.Sprintf("a1111test: listen on %s: %v", opts.Addr, err))
	}
	return s
}

// Start is NewServer for a test: the server closes when the test ends.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s := NewServer(opts)
	tb.Cleanup(s.Close)
	return s
}

func (s *Server) listenLocked() error {
	var ln net.Listener
	var err error
	// The port was just released by ModeDown; rebinding is immediate on
	// Linux, but allow a short retry on slower systems.
	for range 50 {
		ln, err = net.Listen("tcp", s.addr)
		if err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	s.addr = ln.Addr().String()
	s.epoch = make(chan struct{})
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: s.opts.IdleTimeout,
		ConnState: func(_ net.Conn, st http.ConnState) {
			s.connMu.Lock()
			defer s.connMu.Unlock()
			switch st {
			case http.StateNew:
				s.conns++
			case http.StateClosed, http.StateHijacked:
				s.connsGone++
			default:
				return
			}
			close(s.connChanged)
			s.connChanged = make(chan struct{})
		}}
	go func(srv *http.Server) { _ = srv.Serve(ln) }(s.srv)
	return nil
}

// downLocked closes the listener and every connection, and ends running jobs.
func (s *Server) downLocked() {
	if s.srv == nil {
		return
	}
	_ = s.srv.Close()
	s.srv = nil
	close(s.epoch)
	s.gen = genState{}
	s.tasks = taskQueue{}
	s.notifyLocked()
}

// URL is the base URL, e.g. http://127.0.0.1:40123 (no credentials).
func (s *Server) URL() string { return "http://" + s.Addr() }

// Addr is host:port.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// URLWithAuth is the base URL with user:pass@, for a client of a server
// started with APIAuth.
func (s *Server) URLWithAuth(user, pass string) string {
	return "http://" + user + ":" + pass + "@" + s.Addr()
}

// Close stops the server, ends running jobs and hanging requests, and waits
// (briefly) for its handlers to return.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.downLocked()
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.waitFor(ctx, func() bool { return s.active == 0 })
}

// SetMode switches how the server behaves from now on, for every route
// without its own mode (SetRouteMode). ModeDown closes the port; any other
// mode opens it again on the same address.
func (s *Server) SetMode(m Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.mode = m
	switch {
	case m == ModeDown:
		s.downLocked()
	case s.srv == nil:
		if err := s.listenLocked(); err != nil {
			panic(fmt.Sprintf("a1111test: listen again on %s: %v", s.addr, err))
		}
	}
	s.notifyLocked()
}

// SetRouteMode gives one path (e.g. "/sdapi/v1/txt2img") its own mode, which
// wins over SetMode's; ModeOK there means "follow SetMode" again. ModeDown is
// not a route mode (a port is up or down) and is treated as ModeOK.
func (s *Server) SetRouteMode(path string, m Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m == ModeOK || m == ModeDown {
		delete(s.routeModes, path)
	} else {
		s.routeModes[path] = m
	}
}

// SetOldServer switches between a pre-1.9 server (no /schedulers, sampler
// names with the schedule) and a current one.
func (s *Server) SetOldServer(old bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oldServer = old
}

// SetLoRAsJSON replaces the LoRA files on the fake's disk with the catalog
// raw (a /loras answer, any shape). As in A1111, GET /loras shows them after
// POST /refresh-loras, or after a txt2img names a LoRA the loaded list lacks
// (A1111 rescans then).
func (s *Server) SetLoRAsJSON(raw []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.diskLoRAs = raw
}

// SetLoRAs is SetLoRAsJSON for typed entries (see MarshalLoRAs).
func (s *Server) SetLoRAs(loras []a1111.LoRA) { s.SetLoRAsJSON(MarshalLoRAs(loras)) }

// refreshLocked rescans the disk.
func (s *Server) refreshLocked() {
	s.loadedLoRAs = s.asListed(s.diskLoRAs)
	s.index = indexLoRAs(s.loadedLoRAs)
	s.refreshes++
	s.notifyLocked()
}

// Refreshes counts rescans (refresh-loras calls and rescans by txt2img).
func (s *Server) Refreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes
}

// Requests returns every txt2img request received, decoded, in order of
// arrival (including ones still queued or running).
func (s *Server) Requests() []a1111.Txt2ImgRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]a1111.Txt2ImgRequest(nil), s.requests...)
}

// Img2ImgRequests returns every img2img request received, decoded (the
// init images as the bytes sent), in order of arrival.
func (s *Server) Img2ImgRequests() []a1111.Img2ImgRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]a1111.Img2ImgRequest(nil), s.img2imgRequests...)
}

// ExtrasRequests returns every extra-single-image request received,
// decoded, in order of arrival.
func (s *Server) ExtrasRequests() []a1111.ExtrasRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]a1111.ExtrasRequest(nil), s.extrasRequests...)
}

// Interrogations returns every interrogate request received, in order of
// arrival.
func (s *Server) Interrogations() []Interrogation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Interrogation(nil), s.interrogations...)
}

// Jobs returns the finished generations, in order of completion.
func (s *Server) Jobs() []Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Job(nil), s.jobs...)
}

// MaxConcurrent is the most requests of the generation lock (txt2img,
// img2img, extra-single-image, interrogate) the server held at once,
// counting from arrival to answer (queued at the lock or working). A
// client that keeps one job in flight per server keeps it at 1.
func (s *Server) MaxConcurrent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInfl
}

// InFlight is the number of generation-lock requests held now (see
// MaxConcurrent).
func (s *Server) InFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inflight
}

// Interrupts and Skips count the calls of /interrupt and /skip.
func (s *Server) Interrupts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.interrupts
}

func (s *Server) Skips() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.skips
}

// Conns counts the TCP connections the server accepted, and Gone those that
// were closed since (by the client, or by the server's IdleTimeout).
func (s *Server) Conns() (accepted, gone int) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	return s.conns, s.connsGone
}

// WaitConnsClosed returns once n connections in total have been closed.
func (s *Server) WaitConnsClosed(ctx context.Context, n int) error {
	for {
		s.connMu.Lock()
		ok, ch := s.connsGone >= n, s.connChanged
		s.connMu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("a1111test: waiting for closed connections: %w", ctx.Err())
		}
	}
}

// Hits counts the requests that reached path (e.g. "/internal/ping"),
// whatever the mode answered them with.
func (s *Server) Hits(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

// WaitGenerating returns once a generation holds the lock and runs (loading
// its checkpoint or sampling), or with ctx's error. To wait for sampling,
// use WaitStep or WaitState with JobCount > 0.
func (s *Server) WaitGenerating(ctx context.Context) error {
	return s.waitFor(ctx, func() bool { return s.gen.running })
}

// WaitStep returns once the running generation reached sampling step n
// (of any batch).
func (s *Server) WaitStep(ctx context.Context, n int) error {
	return s.WaitState(ctx, func(st a1111.ProgressState) bool { return st.JobCount > 0 && st.SamplingStep >= n })
}

// WaitState returns once the state /progress would report satisfies cond,
// e.g. the second batch (JobNo 1) has begun sampling.
func (s *Server) WaitState(ctx context.Context, cond func(a1111.ProgressState) bool) error {
	return s.waitFor(ctx, func() bool { return cond(s.gen.progressState()) })
}

// WaitIdle returns once no generation-lock request is held.
func (s *Server) WaitIdle(ctx context.Context) error {
	return s.waitFor(ctx, func() bool { return s.inflight == 0 })
}

// WaitRequests returns once n generation requests (txt2img and img2img)
// arrived in total.
func (s *Server) WaitRequests(ctx context.Context, n int) error {
	return s.waitFor(ctx, func() bool { return len(s.requests)+len(s.img2imgRequests) >= n })
}

// WaitJobs returns once n generations finished in total.
func (s *Server) WaitJobs(ctx context.Context, n int) error {
	return s.waitFor(ctx, func() bool { return len(s.jobs) >= n })
}

// waitFor blocks until cond (called with s.mu held) is true, or ctx ends.
func (s *Server) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok, ch := cond(), s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("a1111test: waiting: %w", ctx.Err())
		}
	}
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// ServeHTTP routes one request, applying the current mode and auth first.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.active++
	s.hits[r.URL.Path]++
	epoch := s.epoch
	mode := s.mode
	if m, ok := s.routeModes[r.URL.Path]; ok {
		mode = m
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.active--
		s.notifyLocked()
		s.mu.Unlock()
	}()

	loraRoute := s.appRoute(r.URL.Path)
	switch mode {
	case ModeHang:
		select {
		case <-r.Context().Done():
		case <-epoch:
		}
		return
	case ModeMalformed:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"images": ["iVBORw0KGgoAAAANSUhEUgAAAAgAAAAI`))
		return
	case ModeNoAPI:
		if !loraRoute {
			notFound(w)
			return
		}
	case Mode401:
		if !loraRoute {
			s.httpError(w, http.StatusUnauthorized, s.wrongPassword())
			return
		}
	case Mode500:
		s.exception(w, http.StatusInternalServerError, "RuntimeError", s.opts.FailDetail)
		return
	case Mode422:
		s.validationError(w, &json.UnmarshalTypeError{Value: "string", Type: reflect.TypeFor[int](), Field: "steps"})
		return
	case Mode502:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"))
		return
	}
	if !loraRoute && !s.authorized(w, r) {
		return
	}
	s.route(w, r, epoch)
}

func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if s.creds == nil {
		return true
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		s.httpError(w, http.StatusUnauthorized, "Not authenticated")
		return false
	}
	if want, known := s.creds[user]; !known || want != pass {
		s.httpError(w, http.StatusUnauthorized, s.wrongPassword())
		return false
	}
	return true
}

// wrongPassword is what the server's auth check says of bad credentials:
// A1111's and Forge's "Incorrect username or password", SD.Next's
// "Unauthorized" (modules/api/api.py auth). Missing credentials are
// FastAPI's own "Not authenticated" everywhere.
func (s *Server) wrongPassword() string {
	if s.opts.Flavor == FlavorSDNext {
		return "Unauthorized"
	}
	return "Incorrect username or password"
}

// appRoute says whether path is registered on the app itself rather than
// through the API's add_api_route, so that it needs no --api and skips
// --api-auth: A1111's and Forge's Lora extension routes and the web UI's
// /internal/* routes. SD.Next registers /loras, /refresh-loras and
// /internal/progress through its API (auth applies); only its
// /internal/ping stays outside.
func (s *Server) appRoute(path string) bool {
	if s.opts.Flavor == FlavorSDNext {
		return path == "/internal/ping"
	}
	return path == "/sdapi/v1/loras" || path == "/sdapi/v1/refresh-loras" || strings.HasPrefix(path, "/internal/") || path == "/sd_extra_networks/thumb"
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, epoch chan struct{}) {
	type handler struct {
		method string
		fn     func(http.ResponseWriter, *http.Request)
	}
	var h []handler
	if s.opts.NoWebUI && strings.HasPrefix(r.URL.Path, "/internal/") {
		notFound(w)
		return
	}
	switch r.URL.Path {
	case "/sdapi/v1/txt2img":
		h = []handler{{http.MethodPost, func(w http.ResponseWriter, r *http.Request) { s.txt2img(w, r, epoch) }}}
	case "/sdapi/v1/img2img":
		h = []handler{{http.MethodPost, func(w http.ResponseWriter, r *http.Request) { s.img2img(w, r, epoch) }}}
	case "/sdapi/v1/extra-single-image":
		h = []handler{{http.MethodPost, func(w http.ResponseWriter, r *http.Request) { s.extraSingleImage(w, r, epoch) }}}
	case "/sdapi/v1/interrogate":
		h = []handler{{http.MethodPost, func(w http.ResponseWriter, r *http.Request) { s.interrogate(w, r, epoch) }}}
		if s.opts.Flavor == FlavorSDNext {
			h = append(h, handler{http.MethodGet, func(w http.ResponseWriter, _ *http.Request) { writeJSON200(w, sdnextInterrogators) }})
		}
	case "/sdapi/v1/progress":
		h = []handler{{http.MethodGet, s.progress}}
	case "/sdapi/v1/interrupt":
		h = []handler{{http.MethodPost, s.interrupt}}
	case "/sdapi/v1/skip":
		h = []handler{{http.MethodPost, s.skip}}
	case "/sdapi/v1/loras":
		h = []handler{{http.MethodGet, s.loras}}
	case "/sdapi/v1/refresh-loras":
		h = []handler{{http.MethodPost, s.refreshLoRAs}}
	case "/sdapi/v1/sd-models":
		h = []handler{{http.MethodGet, s.sdModels}}
	case "/sdapi/v1/samplers":
		h = []handler{{http.MethodGet, s.samplers}}
	case "/sdapi/v1/schedulers":
		h = []handler{{http.MethodGet, s.schedulers}}
	case "/sdapi/v1/upscalers":
		h = []handler{{http.MethodGet, func(w http.ResponseWriter, _ *http.Request) { writeJSON200(w, upscalerList(s.upscalerNames())) }}}
	case "/sdapi/v1/options":
		h = []handler{{http.MethodGet, s.getOptions}, {http.MethodPost, func(w http.ResponseWriter, r *http.Request) { s.setOptions(w, r, epoch) }}}
	case "/sd_extra_networks/thumb":
		if !s.opts.NoWebUI {
			h = []handler{{http.MethodGet, s.thumb}}
		}
	case "/internal/ping":
		// modules/ui.py setup_ui_api: `lambda: {}`.
		h = []handler{{http.MethodGet, func(w http.ResponseWriter, _ *http.Request) { writeRaw200(w, []byte("{}")) }}}
	case "/internal/progress":
		h = []handler{{http.MethodPost, s.internalProgress}}
	case "/internal/pending-tasks":
		if s.opts.Flavor != FlavorSDNext {
			h = []handler{{http.MethodGet, s.pendingTasks}}
		}
	}
	if h == nil {
		notFound(w)
		return
	}
	for _, x := range h {
		if x.method == r.Method {
			x.fn(w, r)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusMethodNotAllowed)
	_, _ = w.Write([]byte(`{"detail":"Method Not Allowed"}`))
}

// asListed is a catalog on disk as the server lists it: as is, except that
// SD.Next names each LoRA by its file stem with "." made "_" (the alias,
// ss_output_name or that name, follows). A catalog that is not a list of
// objects is served as it is.
func (s *Server) asListed(raw []byte) []byte {
	if s.opts.Flavor != FlavorSDNext {
		return raw
	}
	var list []map[string]any
	if json.Unmarshal(raw, &list) != nil {
		return raw
	}
	for _, e := range list {
		name, ok := e["name"].(string)
		if !ok {
			continue
		}
		e["name"] = sdnextLoRAName(name)
		if alias, _ := e["alias"].(string); alias == name {
			e["alias"] = e["name"]
		}
	}
	b, err := json.Marshal(list)
	if err != nil {
		return raw
	}
	return b
}

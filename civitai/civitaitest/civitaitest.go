// Package civitaitest is a fake of Civitai's public API for tests: GET
// /api/v1/model-versions/by-hash/{hash} with the real answer's shape, and
// switches for the ways the real one fails (404 for an unknown hash, 429
// with Retry-After, 500, malformed JSON, no answer at all).
package civitaitest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"lorabot/civitai"
)

// Fault is how the fake answers every request while set.
type Fault int

const (
	FaultNone      Fault = iota
	FaultRateLimit       // 429 with Retry-After (Options.RetryAfter seconds)
	Fault500             // 500 with Cloudflare-like HTML
	FaultMalformed       // 200 with a truncated JSON body
	FaultHang            // accepts the request and never answers (until Close or the client gives up)
)

// Options configure the fake.
type Options struct {
	RetryAfter int // seconds a 429 asks for; default 1
}

// Server is a running fake. Its methods are safe for concurrent use.
type Server struct {
	srv  *httptest.Server
	opts Options

	mu       sync.Mutex
	versions map[string]civitai.Version // by lower-case hash
	fault    Fault
	hashes   []string    // every hash asked, in order
	times    []time.Time // when each request arrived
	auth     []string    // each request's Authorization header
	changed  chan struct{}
	release  chan struct{} // closed by Close: hung requests end
}

// Start runs a fake on 127.0.0.1 until the test ends.
func Start(t testing.TB, opts Options) *Server {
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 1
	}
	s := &Server{opts: opts, versions: map[string]civitai.Version{}, changed: make(chan struct{}), release: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Close stops the fake; hung requests end.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.release:
	default:
		close(s.release)
	}
	s.mu.Unlock()
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// URL is the API base, as CIVITAI_API_URL takes it.
func (s *Server) URL() string { return s.srv.URL + "/api/v1/" }

// SetFault makes every following request fail as f says (FaultNone: answer).
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	s.fault = f
	s.mu.Unlock()
}

// Add makes the fake know v under hash (its files' SHA256 and AutoV3 then
// hold hash too, as Civitai's would).
func (s *Server) Add(hash string, v civitai.Version) {
	s.mu.Lock()
	s.versions[strings.ToLower(hash)] = v
	s.mu.Unlock()
}

// LoRA is a realistic version of a LoRA model: files with hashes, two
// preview images (the first of nsfwLevel level), an HTML description.
func LoRA(hash string, modelID, versionID int64, model, baseModel string, words []string, level int) civitai.Version {
	desc := fmt.Sprintf(`<p>A <strong>%s</strong> LoRA.</p><script>alert(1)</script><p>Use the trigger words &amp; weight 0.8.</p>`, model)
	v := civitai.Version{ID: versionID, ModelID: modelID, Name: "v1.0", BaseModel: baseModel, TrainedWords: words, Description: &desc, NSFWLevel: level}
	v.Model.Name, v.Model.Type = model, "LORA"
	img := func(n, lvl int) civitai.Image {
		return civitai.Image{URL: fmt.Sprintf("https://image.civitai.com/xG1nkqKTMzGDvpLrqFT7WA/%d-%d/width=450/%d.jpeg", versionID, n, n),
			NSFWLevel: lvl, Width: 832, Height: 1216, Type: "image"}
	}
	v.Images = []civitai.Image{img(1, max(level, 1)), img(2, max(level, 1)*2)}
	v.Files = []civitai.File{{Name: model + ".safetensors", Primary: true, Hashes: map[string]string{
		"AutoV1": "ABCDEF12", "AutoV2": strings.ToUpper(hash[:min(10, len(hash))]), "SHA256": strings.ToUpper(hash), "AutoV3": strings.ToUpper(hash), "CRC32": "0A1B2C3D", "BLAKE3": strings.ToUpper(hash),
	}}}
	return v
}

// Requests is how many lookups arrived.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.hashes)
}

// Hashes are the hashes asked, in order.
func (s *Server) Hashes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.hashes...)
}

// Times are when the lookups arrived, in order.
func (s *Server) Times() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.times...)
}

// Authorizations are the Authorization headers of the lookups, in order.
func (s *Server) Authorizations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.auth...)
}

// WaitRequests returns once n lookups arrived in total.
func (s *Server) WaitRequests(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		got, ch := len(s.hashes), s.changed
		s.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("civitaitest: %d lookups of %d: %w", got, n, ctx.Err())
		case <-ch:
		}
	}
}

const byHash = "/api/v1/model-versions/by-hash/"

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, byHash) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "Not found"})
		return
	}
	hash := strings.ToLower(strings.TrimPrefix(r.URL.Path, byHash))
	s.mu.Lock()
	s.hashes = append(s.hashes, hash)
	s.times = append(s.times, time.Now())
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	close(s.changed)
	s.changed = make(chan struct{})
	fault, v, ok, release := s.fault, s.versions[hash], false, s.release
	if _, known := s.versions[hash]; known {
		ok = true
	}
	s.mu.Unlock()
	switch fault {
	case FaultRateLimit:
		w.Header().Set("Retry-After", strconv.Itoa(s.opts.RetryAfter))
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": "Rate limit exceeded"})
		return
	case Fault500:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("<html><body><h1>500 Internal Server Error</h1></body></html>"))
		return
	case FaultMalformed:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id": 12, "modelId": 3, "trainedWords": ["tru`))
		return
	case FaultHang:
		select {
		case <-r.Context().Done():
		case <-release:
		}
		return
	}
	if !ok {
		// Civitai's answer for a hash it has no file of.
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "Model not found"})
		return
	}
	writeJSON(w, http.StatusOK, withRest(v))
}

// withRest is v with the fields Civitai sends that the bot does not read,
// so that the client is shown a whole answer.
func withRest(v civitai.Version) map[string]any {
	b, _ := json.Marshal(v)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	m["baseModelType"] = "Standard"
	m["air"] = fmt.Sprintf("urn:air:sdxl:lora:civitai:%d@%d", v.ModelID, v.ID)
	m["status"] = "Published"
	m["availability"] = "Public"
	m["createdAt"] = "2024-03-18T08:55:00.000Z"
	m["publishedAt"] = "2024-03-18T09:16:12.062Z"
	m["stats"] = map[string]int{"downloadCount": 21562, "thumbsUpCount": 1382, "thumbsDownCount": 2}
	m["downloadUrl"] = fmt.Sprintf("https://civitai.com/api/download/models/%d", v.ID)
	if model, ok := m["model"].(map[string]any); ok {
		model["poi"], model["minor"] = false, false
	}
	return m
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

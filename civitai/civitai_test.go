package civitai_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"lorabot/civitai"
	"lorabot/civitai/civitaitest"
	"lorabot/internal/testkit"
)

const hashA = "5f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8"
const hashB = "0b1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8"

func bounded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestByHashDecodesTheRealShape(t *testing.T) {
	fake := civitaitest.Start(t, civitaitest.Options{})
	fake.Add(hashA, civitaitest.LoRA(hashA, 1234, 5678, "Pixel Art XL", "SDXL 1.0", []string{"pixel art", "game sprite, 8bit"}, civitai.LevelPG))
	c, err := civitai.New(fake.URL(), "sekrit-key", nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.ByHash(bounded(t), strings.ToUpper(hashA))
	if err != nil {
		t.Fatal(err)
	}
	if v.ID != 5678 || v.ModelID != 1234 || v.BaseModel != "SDXL 1.0" || v.Model.Type != "LORA" || len(v.Images) != 2 || v.Files[0].Hashes["SHA256"] == "" {
		t.Errorf("decoded %+v", v)
	}
	if got := fake.Authorizations(); len(got) != 1 || got[0] != "Bearer sekrit-key" {
		t.Errorf("the API key should go as a Bearer token, got %q", got)
	}
	in := civitai.InfoOf(hashA, v, time.Now())
	if !slices.Equal(in.TrainedWords, []string{"pixel art", "game sprite", "8bit"}) {
		t.Errorf("trained words %q: each comma-separated word on its own", in.TrainedWords)
	}
	if in.PageURL != "https://civitai.com/models/1234?modelVersionId=5678" || !strings.HasPrefix(in.PreviewURL, "https://image.civitai.com/") || in.NSFW {
		t.Errorf("info %+v", in)
	}
	if strings.ContainsAny(in.Description, "<>") || strings.Contains(in.Description, "alert") || !strings.Contains(in.Description, "trigger words & weight") {
		t.Errorf("description should be plain text without the script: %q", in.Description)
	}
}

func TestByHashFaults(t *testing.T) {
	fake := civitaitest.Start(t, civitaitest.Options{RetryAfter: 7})
	fake.Add(hashA, civitaitest.LoRA(hashA, 1, 2, "x", "SD 1.5", nil, 1))
	c, _ := civitai.New(fake.URL(), "k3y-value", &http.Client{Timeout: 300 * time.Millisecond})
	if _, err := c.ByHash(bounded(t), hashB); !errors.Is(err, civitai.ErrNotFound) {
		t.Errorf("unknown hash: %v, want ErrNotFound", err)
	}
	fake.SetFault(civitaitest.FaultRateLimit)
	var rl *civitai.RateLimitError
	if _, err := c.ByHash(bounded(t), hashA); !errors.As(err, &rl) || rl.After != 7*time.Second {
		t.Errorf("429: %v, want a RateLimitError of 7s", err)
	}
	for _, f := range []civitaitest.Fault{civitaitest.Fault500, civitaitest.FaultMalformed, civitaitest.FaultHang} {
		fake.SetFault(f)
		_, err := c.ByHash(bounded(t), hashA)
		if err == nil || errors.Is(err, civitai.ErrNotFound) || errors.As(err, &rl) {
			t.Errorf("fault %d: %v, want an error to retry", f, err)
		}
		if err != nil && strings.Contains(err.Error(), "k3y-value") {
			t.Errorf("fault %d: the key leaks in %v", f, err)
		}
	}
}

func TestStripHTML(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`<p>Hello <b>world</b></p><p>again</p>`, "Hello world again"},
		{`a<br/>b &lt;script&gt;x&lt;/script&gt;`, "a b scriptx/script"},
		{`<style>p{}</style>text<!-- hidden -->`, "text"},
		{`<a href="javascript:alert(1)">link</a> & more`, "link & more"},
		{`unclosed <img src=x onerror=alert(1)`, "unclosed"},
		{"tabs\tand\nnewlines\x00", "tabs and newlines"},
	} {
		if got := civitai.StripHTML(tt.in, 100); got != tt.want {
			t.Errorf("StripHTML(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := civitai.StripHTML("<p>"+strings.Repeat("word ", 500)+"</p>", 50)
	if n := len([]rune(long)); n > 50 || !strings.HasSuffix(long, "…") {
		t.Errorf("a long description should be cut to 50 runes with an ellipsis: %d %q", n, long)
	}
}

// memStore is the Store contract in memory.
type memStore struct {
	mu sync.Mutex
	m  map[string]civitai.Info
}

func (s *memStore) CivitaiInfo(h string) (civitai.Info, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.m[h]
	return in, ok, nil
}

func (s *memStore) PutCivitaiInfo(in civitai.Info) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]civitai.Info{}
	}
	s.m[in.Hash] = in
	return nil
}

func hashN(i int) string {
	const hex = "0123456789abcdef"
	b := []byte(strings.Repeat("0", 64))
	for j := 0; i > 0; j++ {
		b[63-j] = hex[i%16]
		i /= 16
	}
	return string(b)
}

func startLooker(t *testing.T, c *civitai.Client, st civitai.Store, opts civitai.LookerOptions) (*civitai.Looker, <-chan map[string]civitai.Info) {
	updates := make(chan map[string]civitai.Info, 100)
	opts.OnUpdate = func(m map[string]civitai.Info) { updates <- m }
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	l := civitai.NewLooker(c, st, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return l, updates
}

func TestLookerKeepsItsRate(t *testing.T) {
	fake := civitaitest.Start(t, civitaitest.Options{})
	var wants []civitai.Want
	const n = 12
	for i := range n {
		h := hashN(i + 1)
		if i%2 == 0 {
			fake.Add(h, civitaitest.LoRA(h, int64(i+1), int64(100+i), "m", "SD 1.5", []string{"w"}, 1))
		}
		wants = append(wants, civitai.Want{Name: "lora" + h[60:], Hash: h})
	}
	c, _ := civitai.New(fake.URL(), "", nil)
	const every = 40 * time.Millisecond
	l, updates := startLooker(t, c, &memStore{}, civitai.LookerOptions{Interval: every})
	l.Want(wants)
	if err := fake.WaitRequests(bounded(t), n); err != nil {
		t.Fatal(err)
	}
	times := fake.Times()
	// The fake stamps arrivals, and a request that reaches it late makes
	// the next gap look short; over the whole run the pace shows: n
	// requests at one an interval take (n-1) intervals, a burst none.
	if span, want := times[len(times)-1].Sub(times[0]), time.Duration(n-2)*every; span < want {
		t.Errorf("%d lookups came within %v; at one per %v they take at least %v", len(times), span, every, want)
	}
	var last map[string]civitai.Info
	for len(last) < n/2 {
		last = testkit.Recv(t, updates, 20*time.Second, "the looker's knowledge")
	}
	if len(last) != n/2 {
		t.Errorf("knowledge of %d LoRAs, want the %d Civitai knows", len(last), n/2)
	}
	if got := l.Requests(); got != n {
		t.Errorf("%d requests for %d hashes: each should be asked once", got, n)
	}
}

func TestLookerRetriesFaultsWithBackoffAndRespectsRetryAfter(t *testing.T) {
	fake := civitaitest.Start(t, civitaitest.Options{RetryAfter: 1})
	fake.Add(hashA, civitaitest.LoRA(hashA, 1, 2, "x", "SD 1.5", []string{"trig"}, 1))
	st := &memStore{}
	// What an earlier run learnt stays known through the faults.
	old := civitai.Info{Hash: hashA, Found: true, TrainedWords: []string{"old words"}, Checked: time.Now().Add(-8 * 24 * time.Hour)}
	_ = st.PutCivitaiInfo(old)
	c, _ := civitai.New(fake.URL(), "", &http.Client{Timeout: 200 * time.Millisecond})
	fake.SetFault(civitaitest.FaultRateLimit)
	logs := &testkit.LogBuffer{}
	l, updates := startLooker(t, c, st, civitai.LookerOptions{Interval: time.Millisecond, RetryMin: 50 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	l.Want([]civitai.Want{{Name: "a", Hash: hashA}})
	first := testkit.Recv(t, updates, 20*time.Second, "the first knowledge")
	if got := first["a"].TrainedWords; !slices.Equal(got, []string{"old words"}) {
		t.Errorf("before any answer the stored words should be known, got %q", got)
	}
	if err := fake.WaitRequests(bounded(t), 1); err != nil {
		t.Fatal(err)
	}
	at429 := fake.Times()[0]
	for _, f := range []civitaitest.Fault{civitaitest.Fault500, civitaitest.FaultMalformed, civitaitest.FaultHang} {
		fake.SetFault(f)
		if err := fake.WaitRequests(bounded(t), fake.Requests()+1); err != nil {
			t.Fatal(err)
		}
	}
	if times := fake.Times(); times[1].Sub(at429) < 900*time.Millisecond {
		t.Errorf("after a 429 with Retry-After: 1 the next lookup came %v later", times[1].Sub(at429))
	}
	fake.SetFault(civitaitest.FaultNone)
	for {
		m := testkit.Recv(t, updates, 20*time.Second, "knowledge after Civitai recovers")
		if slices.Equal(m["a"].TrainedWords, []string{"trig"}) {
			break
		}
	}
	if n := strings.Count(logs.String(), "civitai lookup failed"); n < 4 {
		t.Errorf("each fault should log one line, got %d:\n%s", n, logs)
	}
	in, _, _ := st.CivitaiInfo(hashA)
	if in.Failures != 0 || !in.Found {
		t.Errorf("after a success the stored info should be clean: %+v", in)
	}
}

// The preview is the mildest rated image; an unrated one (level 0) is
// taken only when it is all there is, and then as age-restricted, as is
// one rated R or above, whatever the model's own mark.
func TestPreviewIsTheMildestRatedImage(t *testing.T) {
	img := func(url string, level int) civitai.Image {
		return civitai.Image{URL: "https://image.civitai.com/" + url, NSFWLevel: level, Type: "image"}
	}
	for _, c := range []struct {
		images   []civitai.Image
		want     string
		nsfw     bool
		modelMrk bool
	}{
		{[]civitai.Image{img("x", civitai.LevelX), img("unrated", 0), img("pg", civitai.LevelPG)}, "pg", false, false},
		{[]civitai.Image{img("unrated", 0)}, "unrated", true, false},
		{[]civitai.Image{img("r", civitai.LevelR), img("x", civitai.LevelX)}, "r", true, true},
	} {
		in := civitai.InfoOf("abc", civitai.Version{Images: c.images}, time.Now())
		if !strings.HasSuffix(in.PreviewURL, "/"+c.want) || in.PreviewNSFW != c.nsfw || in.NSFW != c.modelMrk {
			t.Errorf("images %v: preview %q nsfw %v (LoRA %v); want %s, %v, %v", c.images, in.PreviewURL, in.PreviewNSFW, in.NSFW, c.want, c.nsfw, c.modelMrk)
		}
	}
}

package imagine

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"lorabot/a1111"
	"lorabot/gen"
	"lorabot/lora"
)

// fakeBackend is a small A1111 with its own checkpoint list, for what the
// shared fake cannot vary: titles with and without hash, subfolders,
// Windows paths. It can hang (accept requests and never answer) or fail.
type fakeBackend struct {
	srv   *httptest.Server
	stop  chan struct{} // ends hanging requests when the test ends
	asked chan string   // receives the path of each request as it arrives (never blocks)

	mu      sync.Mutex
	models  []a1111.Model
	current string
	hang    bool
	fail    bool
}

func startBackend(t *testing.T, current string, models ...a1111.Model) *fakeBackend {
	t.Helper()
	b := &fakeBackend{stop: make(chan struct{}), asked: make(chan string, 64), models: models, current: current}
	b.srv = httptest.NewServer(b)
	t.Cleanup(b.srv.Close)
	t.Cleanup(func() { close(b.stop) }) // runs first
	return b
}

func (b *fakeBackend) set(f func(b *fakeBackend)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f(b)
}

func (b *fakeBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	hang, fail, models, current := b.hang, b.fail, slices.Clone(b.models), b.current
	b.mu.Unlock()
	select {
	case b.asked <- r.URL.Path:
	default:
	}
	if hang {
		select {
		case <-r.Context().Done():
		case <-b.stop:
		}
		return
	}
	if fail {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error": "RuntimeError", "detail": "CUDA out of memory", "body": "", "errors": ""}`))
		return
	}
	var v any
	switch r.URL.Path {
	case "/sdapi/v1/sd-models":
		v = models
	case "/sdapi/v1/samplers":
		v = []map[string]any{{"name": "Euler a", "aliases": []string{"k_euler_a"}}, {"name": "DPM++ 2M"}}
	case "/sdapi/v1/schedulers":
		v = []map[string]any{{"name": "karras", "label": "Karras"}}
	case "/sdapi/v1/options":
		v = map[string]any{"sd_model_checkpoint": current}
	case "/sdapi/v1/loras":
		v = []map[string]any{{"name": "pixel-art-xl", "alias": "pixel-art-xl", "path": "/sd/models/Lora/pixel-art-xl.safetensors",
			"metadata": map[string]any{"modelspec.trigger_phrase": "pixel art", "ss_base_model_version": "sdxl_base_v1-0"}}}
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func clientsOf(t *testing.T, bs ...*fakeBackend) []*a1111.Client {
	t.Helper()
	var out []*a1111.Client
	for _, b := range bs {
		c, err := a1111.New(b.srv.URL, a1111.Options{})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func bounded(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// The same files on two machines: A hashed them, B (a Windows box) not yet.
var (
	animA = a1111.Model{Title: "sdxl/animagine-xl-3.1.safetensors [e3c47aedb0]", ModelName: "sdxl_animagine-xl-3.1", Hash: "e3c47aedb0",
		Filename: "/home/sd/models/Stable-diffusion/sdxl/animagine-xl-3.1.safetensors"}
	sd15A = a1111.Model{Title: "v1-5-pruned-emaonly.safetensors [6ce0161689]", ModelName: "v1-5-pruned-emaonly", Hash: "6ce0161689",
		Filename: "/home/sd/models/Stable-diffusion/v1-5-pruned-emaonly.safetensors"}
	onlyA = a1111.Model{Title: "only_on_a.safetensors [0123456789]", ModelName: "only_on_a", Filename: "/home/sd/models/Stable-diffusion/only_on_a.safetensors"}

	animB = a1111.Model{Title: `sdxl\Animagine-XL-3.1.safetensors`, ModelName: "sdxl_Animagine-XL-3.1",
		Filename: `D:\sd\models\Stable-diffusion\sdxl\Animagine-XL-3.1.safetensors`}
	sd15B = a1111.Model{Title: "v1-5-pruned-emaonly.safetensors", ModelName: "v1-5-pruned-emaonly",
		Filename: `D:\sd\models\Stable-diffusion\v1-5-pruned-emaonly.safetensors`}
	onlyB = a1111.Model{Title: "only_on_b.safetensors", ModelName: "only_on_b", Filename: `D:\sd\models\Stable-diffusion\only_on_b.safetensors`}
)

func TestCheckpointKey(t *testing.T) {
	for _, tc := range []struct {
		m    a1111.Model
		want string
	}{
		{animA, "sdxl/animagine-xl-3.1.safetensors"},
		{animB, "sdxl/animagine-xl-3.1.safetensors"},
		{sd15A, "v1-5-pruned-emaonly.safetensors"},
		{sd15B, "v1-5-pruned-emaonly.safetensors"},
		{a1111.Model{Title: "x.ckpt [abcdef12]"}, "x.ckpt"},
		{a1111.Model{Title: "style [v2].safetensors"}, "style [v2].safetensors"},          // brackets in the file name stay
		{a1111.Model{Title: "style [v2].safetensors [abc123]"}, "style [v2].safetensors"}, // only the hash goes
		{a1111.Model{Filename: `C:\models\Stable-diffusion\Dream.safetensors`}, "dream.safetensors"},
		{a1111.Model{Filename: "/m/Stable-diffusion/sub/dream.safetensors"}, "dream.safetensors"},
	} {
		if got := CheckpointKey(tc.m); got != tc.want {
			t.Errorf("CheckpointKey(%q, %q) = %q, want %q", tc.m.Title, tc.m.Filename, got, tc.want)
		}
	}
}

func TestCheckpointsMatchedByFileAcrossServers(t *testing.T) {
	a := startBackend(t, sd15A.Title, animA, sd15A, onlyA)
	// B's option holds a bare file name for a model in a subfolder.
	b := startBackend(t, "animagine-xl-3.1.safetensors", onlyB, sd15B, animB)
	clients := clientsOf(t, a, b)
	srv := NewServers(clients, nil)
	if err := srv.Refresh(bounded(t)); err != nil {
		t.Fatal(err)
	}

	var got []string
	for _, m := range srv.Checkpoints() {
		got = append(got, m.Title)
	}
	if want := []string{animA.Title, sd15A.Title}; !slices.Equal(got, want) {
		t.Fatalf("checkpoints both servers have = %q, want %q (the first server's titles)", got, want)
	}

	key := "sdxl/animagine-xl-3.1.safetensors"
	for i, want := range []string{animA.Title, animB.Title} {
		if title, ok := srv.TitleOn(i, key); !ok || title != want {
			t.Errorf("TitleOn(%d) = %q, %v; want %q", i, title, ok, want)
		}
	}
	if _, ok := srv.TitleOn(1, CheckpointKey(onlyA)); ok {
		t.Error("B does not have only_on_a")
	}
	if got := srv.Loaded(0); got != "v1-5-pruned-emaonly.safetensors" {
		t.Errorf("Loaded(A) = %q", got)
	}
	if got := srv.Loaded(1); got != key {
		t.Errorf("Loaded(B) = %q, want %q (its option names the file without folder)", got, key)
	}

	// Plan with the file's name alone, then run on each server with its
	// own title.
	cat := lora.NewCatalog(nil, lora.CatalogOptions{})
	p := &Planner{Catalog: cat, Presets: newMemPresets(), Servers: srv}
	r, err := p.Plan("u", gen.Options{Prompt: "a fox", Checkpoint: "Animagine-XL-3.1"}, "", Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if r.CheckpointKey() != key {
		t.Errorf("planned checkpoint key %q, want %q", r.CheckpointKey(), key)
	}
	if r.Options.Width != 1024 {
		t.Errorf("an SDXL checkpoint in a subfolder should give 1024, got %d", r.Options.Width)
	}
	sent := func(req a1111.Txt2ImgRequest) string {
		s, _ := req.OverrideSettings["sd_model_checkpoint"].(string)
		return s
	}
	for i, want := range []string{animA.Title, animB.Title} {
		req := r.Txt2ImgOn(func(k string) (string, bool) { return srv.TitleOn(i, k) })
		if sent(req) != want {
			t.Errorf("on server %d the request carries %q, want %q", i, sent(req), want)
		}
	}
	if got := sent(r.Txt2Img()); got != animA.Title {
		t.Errorf("Txt2Img carries %q, want the planned title %q", got, animA.Title)
	}
	// A server whose lists are not known: the file without hash, which
	// A1111 takes whether it hashed the file or not.
	if got := sent(r.Txt2ImgOn(func(string) (string, bool) { return "", false })); got != "sdxl/animagine-xl-3.1.safetensors" {
		t.Errorf("with no title known, the request carries %q", got)
	}
	none, err := p.Plan("u", gen.Options{Prompt: "a fox"}, "", Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if none.CheckpointKey() != "" || none.Txt2ImgOn(func(string) (string, bool) { return "x", true }).OverrideSettings != nil {
		t.Error("a request without checkpoint must not override the server's model")
	}

	// A checkpoint only one server has is refused: a job may run on either.
	for _, v := range []string{"only_on_a", "only_on_b"} {
		if _, err := p.Plan("u", gen.Options{Prompt: "x", Checkpoint: v}, "", Scope{}); !isInput(err, "no checkpoint") {
			t.Errorf("%s is on one server only and should be refused, got %v", v, err)
		}
	}
}

func TestResolveCheckpointByFileName(t *testing.T) {
	xl := a1111.Model{Title: "sdxl/dream.safetensors [1111111111]", ModelName: "sdxl_dream", Filename: "/m/sdxl/dream.safetensors"}
	v1 := a1111.Model{Title: "sd15/dream.safetensors [2222222222]", ModelName: "sd15_dream", Filename: "/m/sd15/dream.safetensors"}
	solo := a1111.Model{Title: "sdxl/juggernaut_v9.safetensors [3333333333]", ModelName: "sdxl_juggernaut_v9", Filename: "/m/sdxl/juggernaut_v9.safetensors"}
	srv := NewServers(clientsOf(t, startBackend(t, "", xl, v1, solo)), nil)
	if err := srv.Refresh(bounded(t)); err != nil {
		t.Fatal(err)
	}
	for v, want := range map[string]string{
		"juggernaut_v9":                       solo.Title,
		"JUGGERNAUT_V9.safetensors":           solo.Title,
		"sdxl/dream.safetensors":              xl.Title,
		`sdxl\dream.safetensors`:              xl.Title,
		"sd15_dream":                          v1.Title,
		"sdxl/dream.safetensors [1111111111]": xl.Title,
		"sd15/dr":                             v1.Title, // a unique prefix
	} {
		m, err := srv.ResolveCheckpoint(v)
		if err != nil || m.Title != want {
			t.Errorf("ResolveCheckpoint(%q) = %q, %v; want %q", v, m.Title, err, want)
		}
	}
	_, err := srv.ResolveCheckpoint("dream")
	if !isInput(err, "sdxl/dream.safetensors") || !isInput(err, "sd15/dream.safetensors") {
		t.Errorf("two folders hold dream: want both named, got %v", err)
	}
}

func TestHungBackendDelaysNoOtherBackend(t *testing.T) {
	a := startBackend(t, sd15A.Title, animA, sd15A)
	b := startBackend(t, sd15B.Title, animB, sd15B)
	a.set(func(b *fakeBackend) { b.hang = true })
	srv := NewServers(clientsOf(t, a, b), nil)
	srv.RefreshTimeout = time.Hour // longer than this test may take

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Refresh(ctx) }()
	// A comes first and hangs; B is asked for all its lists meanwhile.
	timeout := time.After(5 * time.Second)
	select {
	case <-a.asked:
	case <-timeout:
		t.Fatal("A was never asked")
	}
	for asked := ""; asked != "/sdapi/v1/options"; {
		select {
		case asked = <-b.asked:
		case <-timeout:
			t.Fatal("B was not asked for its lists while A hung")
		}
	}
	// B alone, while A's refresh hangs.
	if err := srv.RefreshOne(bounded(t), 1); err != nil {
		t.Fatalf("RefreshOne(B) while A hangs: %v", err)
	}
	if n := len(srv.Checkpoints()); n != 2 {
		t.Errorf("B's checkpoints while A hangs: %d, want 2", n)
	}
	if title, ok := srv.TitleOn(1, CheckpointKey(animA)); !ok || title != animB.Title {
		t.Errorf("TitleOn(B) = %q, %v", title, ok)
	}
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), clientsOf(t, a)[0].Addr()) {
			t.Errorf("Refresh with A hung should fail naming A, got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Refresh did not return once its context ended")
	}
	if n := len(srv.Checkpoints()); n != 2 {
		t.Errorf("B's checkpoints after A's refresh gave up: %d, want 2", n)
	}
}

func TestFailedBackendKeepsItsLastLists(t *testing.T) {
	a := startBackend(t, sd15A.Title, animA, sd15A, onlyA)
	b := startBackend(t, animB.Title, animB, sd15B, onlyB)
	srv := NewServers(clientsOf(t, a, b), nil)
	srv.RefreshTimeout = 50 * time.Millisecond
	if err := srv.Refresh(bounded(t)); err != nil {
		t.Fatal(err)
	}

	for _, mode := range []string{"hang", "fail"} {
		a.set(func(f *fakeBackend) { f.hang, f.fail = mode == "hang", mode == "fail" })
		// B changes meanwhile: its new list is used although A fails.
		b.set(func(f *fakeBackend) { f.models = []a1111.Model{animB} })
		done := make(chan error, 1)
		// No deadline of the caller's: only RefreshTimeout ends A's requests.
		go func() { done <- srv.Refresh(context.Background()) }()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("%s: Refresh should report A", mode)
			} else if mode == "hang" && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s: the error should say A timed out: %v", mode, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: a hung backend held Refresh past its RefreshTimeout", mode)
		}
		if got := srv.Checkpoints(); len(got) != 1 || got[0].Title != animA.Title {
			t.Errorf("%s: checkpoints = %v, want A's animagine only (A's last list, B's new one)", mode, got)
		}
		if title, ok := srv.TitleOn(0, CheckpointKey(sd15A)); !ok || title != sd15A.Title {
			t.Errorf("%s: A's last list is gone: %q, %v", mode, title, ok)
		}
		if got := srv.Loaded(0); got != CheckpointKey(sd15A) {
			t.Errorf("%s: A's loaded checkpoint is forgotten: %q", mode, got)
		}
		if err := srv.RefreshOne(context.Background(), 0); err == nil {
			t.Errorf("%s: RefreshOne(A) should fail", mode)
		}
		b.set(func(f *fakeBackend) { f.models = []a1111.Model{animB, sd15B, onlyB} })
	}
	if err := srv.RefreshOne(bounded(t), 2); err == nil {
		t.Error("RefreshOne of a backend that does not exist should fail")
	}
}

func TestPlannedRequestRoundTripsThroughJSON(t *testing.T) {
	be := startBackend(t, sd15A.Title, animA, sd15A)
	clients := clientsOf(t, be)
	cat := lora.NewCatalog([]lora.Source{clients[0]}, lora.CatalogOptions{})
	if _, err := cat.Refresh(bounded(t)); err != nil {
		t.Fatal(err)
	}
	srv := NewServers(clients, nil)
	if err := srv.Refresh(bounded(t)); err != nil {
		t.Fatal(err)
	}
	presets := newMemPresets()
	if err := presets.SavePreset("u", gen.Preset{Name: "pix", Options: gen.Options{Prompt: "masterpiece", Steps: 30}}); err != nil {
		t.Fatal(err)
	}
	p := &Planner{Catalog: cat, Presets: presets, Servers: srv}
	seed := int64(42)
	r, err := p.Plan("u", gen.Options{Prompt: "a knight", Checkpoint: "animagine-xl-3.1", Sampler: "DPM++ 2M Karras", Seed: &seed,
		LoRAs: [gen.LoRASlots]gen.LoRAChoice{{Name: "PIXEL-ART-XL", Weight: w(0.7)}}}, "pix", Scope{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Request
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, r) {
		t.Errorf("the request changed through JSON:\n got %+v\nwant %+v", back, *r)
	}
	titleOn := func(k string) (string, bool) { return srv.TitleOn(0, k) }
	if !reflect.DeepEqual(back.Txt2ImgOn(titleOn), r.Txt2ImgOn(titleOn)) || back.CheckpointKey() != r.CheckpointKey() {
		t.Errorf("a stored request would send something else: %+v", back.Txt2ImgOn(titleOn))
	}
	if want := "pixel art, masterpiece, a knight <lora:pixel-art-xl:0.7>"; back.Prompt.Text != want {
		t.Errorf("prompt after JSON %q, want %q", back.Prompt.Text, want)
	}
}

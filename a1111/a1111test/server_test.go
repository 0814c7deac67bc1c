package a1111test_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"lorabot/a1111"
	"lorabot/a1111/a1111test"
)

func bounded(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// do sends one raw request and returns status and body.
func do(t *testing.T, method, url, body string, auth ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(bounded(t), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(auth) == 2 {
		req.SetBasicAuth(auth[0], auth[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

type answer struct {
	Images     []string       `json:"images"`
	Parameters map[string]any `json:"parameters"`
	Info       string         `json:"info"`
}

func txt2img(t *testing.T, srv *a1111test.Server, body string) (answer, map[string]any) {
	t.Helper()
	status, b := do(t, http.MethodPost, srv.URL()+"/sdapi/v1/txt2img", body)
	if status != 200 {
		t.Fatalf("txt2img: %d %s", status, b)
	}
	var a answer
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	if err := json.Unmarshal([]byte(a.Info), &info); err != nil {
		t.Fatalf("info is not a JSON string: %v", err)
	}
	return a, info
}

func TestTxt2ImgAnswer(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{ExtraImages: 1})
	a, info := txt2img(t, srv, `{"prompt":"cat <lora:ブルーアーカイブ_style:0.8> <lora:Cyberpunk Edgerunners (anime style) v2.1:1> <hypernet:x:1>",
		"seed": 7, "batch_size": 2, "width": 100, "height": 77, "steps": 2, "sampler_name": "No Such Sampler",
		"override_settings": {"sd_model_checkpoint": "unknown.ckpt"}, "unknown_field": true}`)
	if len(a.Images) != 3 {
		t.Fatalf("got %d images, want 2 requested + 1 extra", len(a.Images))
	}
	for i, s := range a.Images {
		p, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(p))
		if err != nil {
			t.Fatal(err)
		}
		// Sizes round down to a multiple of 8, as A1111's latents do.
		if b := img.Bounds(); b.Dx() != 96 || b.Dy() != 72 {
			t.Errorf("image %d is %v", i, b)
		}
		params, ok := a1111test.PNGParameters(p)
		if i < 2 && (!ok || !strings.Contains(params, fmt.Sprintf("Seed: %d,", 7+i)) || !strings.Contains(params, "ブルーアーカイブ_style: ")) {
			t.Errorf("image %d parameters %q", i, params)
		}
	}
	extra := info["extra_generation_params"].(map[string]any)
	if h := extra["Lora hashes"]; h != "ブルーアーカイブ_style: 5f1a2b3c4d5e, Cyberpunk Edgerunners (anime style) v2.1: 5f1a2b3c4d5e" {
		t.Errorf("Lora hashes = %q", h)
	}
	// Unknown sampler and checkpoint are dropped silently: A1111 1.10
	// falls back to its first sampler, DPM++ 2M.
	if info["sampler_name"] != "DPM++ 2M" || info["sd_model_name"] != "v1-5-pruned-emaonly" {
		t.Errorf("sampler %v model %v", info["sampler_name"], info["sd_model_name"])
	}
	if a.Parameters["unknown_field"] != true {
		t.Errorf("parameters echo = %v", a.Parameters)
	}
}

func TestTxt2ImgRescansForUnknownLoRA(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{})
	srv.SetLoRAs([]a1111.LoRA{{Name: "fresh", Meta: a1111.LoRAMeta{ModelHash: "0123456789abcdef"}}})
	_, info := txt2img(t, srv, `{"prompt":"<lora:fresh:1>","steps":1,"width":64,"height":64}`)
	if h := info["extra_generation_params"].(map[string]any)["Lora hashes"]; h != "fresh: 0123456789ab" {
		t.Errorf("Lora hashes = %v", h)
	}
	if srv.Refreshes() != 1 {
		t.Errorf("refreshes = %d, want the rescan A1111 does for an unknown name", srv.Refreshes())
	}
}

func TestOneGenerationAtATime(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{StepTime: 5 * time.Millisecond})
	const n = 3
	done := make(chan string, n)
	for i := range n {
		go func() {
			body := fmt.Sprintf(`{"prompt":"job %d","steps":4,"width":64,"height":64}`, i)
			req, _ := http.NewRequestWithContext(bounded(t), http.MethodPost, srv.URL()+"/sdapi/v1/txt2img", strings.NewReader(body))
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- fmt.Sprint(err)
		}()
		// Arrivals in a known order, to check the lock serves them in it.
		if err := srv.WaitRequests(bounded(t), i+1); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		if err := <-done; err != "<nil>" {
			t.Fatal(err)
		}
	}
	if m := srv.MaxConcurrent(); m != n {
		t.Errorf("MaxConcurrent = %d, want %d requests held at once", m, n)
	}
	jobs := srv.Jobs()
	for i, j := range jobs {
		if j.Request.Prompt != fmt.Sprintf("job %d", i) || j.StepsDone != 4 {
			t.Errorf("job %d = %q with %d steps: not first come, first served or cut short", i, j.Request.Prompt, j.StepsDone)
		}
	}
}

func TestProgressDuringAJob(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{StepTime: 20 * time.Millisecond})
	go func() {
		req, _ := http.NewRequestWithContext(bounded(t), http.MethodPost, srv.URL()+"/sdapi/v1/txt2img", strings.NewReader(`{"steps":1000,"n_iter":2}`))
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	if err := srv.WaitStep(bounded(t), 1); err != nil {
		t.Fatal(err)
	}
	_, b := do(t, http.MethodGet, srv.URL()+"/sdapi/v1/progress?skip_current_image=false", "")
	var p a1111.Progress
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.State.JobCount != 2 || p.State.SamplingSteps != 1000 || p.State.SamplingStep < 1 || p.Progress <= 0.01 || p.Progress > 0.5 || p.CurrentImage == "" {
		t.Errorf("progress mid-job = %+v", p)
	}
	_, b = do(t, http.MethodGet, srv.URL()+"/sdapi/v1/progress?skip_current_image=true", "")
	if strings.Contains(string(b), `"current_image":"`) {
		t.Error("skip_current_image=true still sent the preview")
	}
	do(t, http.MethodPost, srv.URL()+"/sdapi/v1/interrupt", "")
	if err := srv.WaitIdle(bounded(t)); err != nil {
		t.Fatal(err)
	}
	if j := srv.Jobs(); len(j) != 1 || !j[0].Interrupted || j[0].Images != 1 {
		t.Errorf("after interrupt: %+v, want one image from the cut batch and no second batch", j)
	}
}

func TestAuthAndFlavors(t *testing.T) {
	tests := []struct {
		flavor a1111test.Flavor
		want   string
	}{
		{a1111test.FlavorA1111, `{"body":"","detail":"Incorrect username or password","error":"HTTPException","errors":"401: Incorrect username or password"}`},
		{a1111test.FlavorForge, `{"detail":"Incorrect username or password"}`},
		{a1111test.FlavorSDNext, `{"body":"","code":401,"detail":"Unauthorized","error":"HTTPException","errors":"401: Unauthorized"}`},
	}
	for _, tt := range tests {
		srv := a1111test.Start(t, a1111test.Options{APIAuth: "a:b,c:d", Flavor: tt.flavor})
		if status, b := do(t, http.MethodGet, srv.URL()+"/sdapi/v1/sd-models", "", "a", "x"); status != 401 || string(b) != tt.want {
			t.Errorf("flavor %d: %d %s", tt.flavor, status, b)
		}
		if status, b := do(t, http.MethodGet, srv.URL()+"/sdapi/v1/options", ""); status != 401 || !strings.Contains(string(b), "Not authenticated") {
			t.Errorf("no credentials: %d %s", status, b)
		}
		if status, _ := do(t, http.MethodGet, srv.URL()+"/sdapi/v1/sd-models", "", "c", "d"); status != 200 {
			t.Errorf("second credential pair refused: %d", status)
		}
		// A1111's Lora extension registers on the app: no auth. SD.Next
		// registers /loras through its API: auth.
		want := 200
		if tt.flavor == a1111test.FlavorSDNext {
			want = 401
		}
		if status, _ := do(t, http.MethodPost, srv.URL()+"/sdapi/v1/refresh-loras", ""); status != want {
			t.Errorf("flavor %d: refresh-loras without credentials: %d, want %d", tt.flavor, status, want)
		}
	}
}

func TestModes(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{Flavor: a1111test.FlavorForge})
	url := srv.URL()

	srv.SetMode(a1111test.ModeNoAPI)
	if status, b := do(t, http.MethodGet, url+"/sdapi/v1/sd-models", ""); status != 404 || string(b) != `{"detail":"Not Found"}` {
		t.Errorf("no --api: %d %s", status, b)
	}
	if status, _ := do(t, http.MethodGet, url+"/sdapi/v1/loras", ""); status != 200 {
		t.Errorf("/loras without --api: %d", status)
	}

	// Forge has no error middleware: Starlette's plain text, no message.
	srv.SetMode(a1111test.Mode500)
	if status, b := do(t, http.MethodGet, url+"/sdapi/v1/progress", ""); status != 500 || string(b) != "Internal Server Error" {
		t.Errorf("500 (Forge): %d %s", status, b)
	}

	srv.SetMode(a1111test.ModeMalformed)
	if status, b := do(t, http.MethodGet, url+"/sdapi/v1/sd-models", ""); status != 200 || json.Valid(b) {
		t.Errorf("malformed: %d %s", status, b)
	}

	srv.SetMode(a1111test.ModeDown)
	_, err := net.DialTimeout("tcp", srv.Addr(), time.Second)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("down: dial error %v, want connection refused", err)
	}
	srv.SetMode(a1111test.ModeOK)
	if srv.URL() != url {
		t.Errorf("URL changed from %s to %s", url, srv.URL())
	}
	if status, _ := do(t, http.MethodGet, url+"/sdapi/v1/sd-models", ""); status != 200 {
		t.Errorf("back up: %d", status)
	}

	srv.SetRouteMode("/sdapi/v1/txt2img", a1111test.Mode422)
	if status, b := do(t, http.MethodPost, url+"/sdapi/v1/txt2img", "{}"); status != 422 || !strings.Contains(string(b), `"loc":["body","steps"]`) {
		t.Errorf("422: %d %s", status, b)
	}
	if status, _ := do(t, http.MethodGet, url+"/sdapi/v1/sd-models", ""); status != 200 {
		t.Errorf("a route mode leaked to another route: %d", status)
	}
	srv.SetRouteMode("/sdapi/v1/txt2img", a1111test.ModeOK)
	if status, b := do(t, http.MethodPost, url+"/sdapi/v1/txt2img", `{"steps": "many"}`); status != 422 || !strings.Contains(string(b), "steps") {
		t.Errorf("a body of the wrong type: %d %s", status, b)
	}
}

func TestCloseEndsHangingAndRunningRequests(t *testing.T) {
	srv := a1111test.NewServer(a1111test.Options{StepTime: 50 * time.Millisecond})
	errs := make(chan error, 2)
	send := func(path, body string) {
		req, _ := http.NewRequestWithContext(bounded(t), http.MethodPost, srv.URL()+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errs <- err
	}
	go send("/sdapi/v1/txt2img", `{"steps": 100000}`)
	if err := srv.WaitGenerating(bounded(t)); err != nil {
		t.Fatal(err)
	}
	srv.SetRouteMode("/sdapi/v1/skip", a1111test.ModeHang)
	go send("/sdapi/v1/skip", "")
	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }()
	for range 2 {
		select {
		case err := <-errs:
			if err == nil {
				t.Error("a request got an answer from a server that closed")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("requests still open after Close")
		}
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
}

func TestLoRAsJSON(t *testing.T) {
	raw := a1111test.LoRAsJSON(400)
	var list []struct {
		Name     string         `json:"name"`
		Metadata map[string]any `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 400 {
		t.Fatalf("%d entries", len(list))
	}
	var thumbs, empty, xl, nonASCII int
	names := map[string]bool{}
	for _, l := range list {
		names[l.Name] = true
		if _, ok := l.Metadata["modelspec.thumbnail"]; ok {
			thumbs++
		}
		if len(l.Metadata) == 0 {
			empty++
		}
		if l.Metadata["ss_base_model_version"] == "sdxl_base_v1-0" {
			xl++
		}
		if strings.ContainsFunc(l.Name, func(r rune) bool { return r > 127 }) {
			nonASCII++
		}
	}
	if len(names) != 400 || thumbs == 0 || empty == 0 || xl == 0 || nonASCII == 0 {
		t.Errorf("unique names %d, thumbnails %d, empty metadata %d, SDXL %d, non-ASCII names %d", len(names), thumbs, empty, xl, nonASCII)
	}
	decoded, err := a1111.DecodeLoRAs(bytes.NewReader(raw))
	if err != nil || len(decoded) != 400 {
		t.Errorf("DecodeLoRAs: %d, %v", len(decoded), err)
	}
	if !bytes.Equal(raw, a1111test.LoRAsJSON(400)) {
		t.Error("LoRAsJSON is not deterministic")
	}
}

func TestNoisyImagesAreLarge(t *testing.T) {
	p := a1111test.NoisyPNG(256, 256, 1)
	if bpp := float64(len(p)) / (256 * 256); bpp < 1 {
		t.Errorf("noisy PNG takes %.2f bytes per pixel, want photo-like (≥1)", bpp)
	}
}

func TestInternalPing(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{APIAuth: "a:b"})
	ping := srv.URL() + "/internal/ping"
	// The web UI's route: no --api-auth, and there without --api.
	if status, b := do(t, http.MethodGet, ping, ""); status != 200 || string(b) != "{}" {
		t.Errorf("ping without credentials: %d %s", status, b)
	}
	srv.SetMode(a1111test.ModeNoAPI)
	if status, _ := do(t, http.MethodGet, ping, ""); status != 200 {
		t.Errorf("ping without --api: %d", status)
	}
	srv.SetMode(a1111test.Mode500)
	if status, _ := do(t, http.MethodGet, ping, ""); status != 500 {
		t.Errorf("ping in Mode500: %d", status)
	}
	srv.SetMode(a1111test.ModeOK)
	srv.SetRouteMode("/internal/ping", a1111test.Mode502)
	if status, b := do(t, http.MethodGet, ping, ""); status != 502 || !strings.Contains(string(b), "502 Bad Gateway") {
		t.Errorf("ping behind a proxy whose A1111 is gone: %d %s", status, b)
	}
	if n := srv.Hits("/internal/ping"); n != 4 {
		t.Errorf("Hits = %d, want 4", n)
	}

	nowebui := a1111test.Start(t, a1111test.Options{NoWebUI: true})
	if status, b := do(t, http.MethodGet, nowebui.URL()+"/internal/ping", ""); status != 404 || string(b) != `{"detail":"Not Found"}` {
		t.Errorf("ping with --nowebui: %d %s", status, b)
	}
	if status, _ := do(t, http.MethodGet, nowebui.URL()+"/sdapi/v1/options", ""); status != 200 {
		t.Errorf("options with --nowebui: %d", status)
	}
}

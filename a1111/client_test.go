package a1111_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"lorabot/a1111"
	"lorabot/a1111/a1111test"
)

const (
	user   = "bot"
	secret = "hunter2-Secret"
)

// bounded is the context of a test step: every wait ends.
func bounded(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newClient(t *testing.T, url string, opts a1111.Options) *a1111.Client {
	t.Helper()
	c, err := a1111.New(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// asError checks that err is an *a1111.Error of kind, that neither its log
// text nor its user message shows the credentials, and returns it.
func asError(t *testing.T, err error, kind a1111.Kind) *a1111.Error {
	t.Helper()
	var e *a1111.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *a1111.Error", err, err)
	}
	if e.Kind != kind {
		t.Fatalf("kind = %v, want %v (error: %v)", e.Kind, kind, err)
	}
	for _, s := range []string{e.Error(), e.UserMessage()} {
		if strings.Contains(s, secret) || strings.Contains(s, user+":") {
			t.Errorf("error text shows the credentials: %q", s)
		}
	}
	return e
}

func TestNewParsesURL(t *testing.T) {
	good := []struct{ in, addr string }{
		{"http://127.0.0.1:7860", "127.0.0.1:7860"},
		{"http://127.0.0.1:7860/", "127.0.0.1:7860"},
		{" http://" + user + ":" + secret + "@gpu.local:7861/ ", "gpu.local:7861"},
		{"https://sd.example.com/webui/", "sd.example.com:443"},
		{"http://[::1]:7860", "[::1]:7860"},
	}
	for _, g := range good {
		c, err := a1111.New(g.in, a1111.Options{})
		if err != nil {
			t.Errorf("New(%q): %v", g.in, err)
			continue
		}
		if c.Addr() != g.addr {
			t.Errorf("New(%q).Addr() = %q, want %q", g.in, c.Addr(), g.addr)
		}
	}
	bad := []struct{ in, says string }{
		{"", "empty"},
		{"127.0.0.1:7860", "not a valid URL"},
		{"localhost:7860", "must start with http:// or https://"},
		{"ftp://" + user + ":" + secret + "@host", "must start with http://"},
		{"http://", "no host"},
		{"http://" + user + ":" + secret + "@host:notaport", "not a valid URL"},
		{"http://" + user + ":" + secret + "@ho st:7860", "not a valid URL"},
		{"http://host:7860/?x=1", "query"},
		// Passwords with characters a parser takes for the path, query or
		// fragment, or for the port: the password must not show.
		{"http://" + user + ":pa/" + secret + "@host:7860", "percent-encode"},
		{"http://" + user + ":1234/" + secret + "@host", "percent-encode"},
		{"http://" + user + ":" + secret + "?x@host:1", "percent-encode"},
		{"http://" + user + ":" + secret + "#x@host:1", "percent-encode"},
	}
	for _, b := range bad {
		_, err := a1111.New(b.in, a1111.Options{})
		if err == nil {
			t.Errorf("New(%q) accepted a malformed URL", b.in)
			continue
		}
		e := asError(t, err, a1111.KindConfig)
		if strings.Contains(e.Error(), secret) || strings.Contains(e.UserMessage(), secret) {
			t.Errorf("New(%q) error shows the password: %q", b.in, e.Error())
		}
		if !strings.Contains(e.Error(), b.says) || !strings.Contains(e.UserMessage(), b.says) {
			t.Errorf("New(%q) error %q / %q does not say %q", b.in, e.Error(), e.UserMessage(), b.says)
		}
	}
}

func TestTxt2ImgRoundTrip(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{APIAuth: user + ":" + secret})
	c := newClient(t, srv.URLWithAuth(user, secret), a1111.Options{})
	req := a1111.Txt2ImgRequest{
		Prompt:         "studio photo, <lora:add_detail:0.7> <lora:studio_ghibli_v2:1> <lora:not_there:1>",
		NegativePrompt: "blurry",
		Seed:           1234,
		SamplerName:    "DPM++ 2M",
		Scheduler:      "Karras",
		BatchSize:      2,
		NIter:          2,
		Steps:          3,
		Width:          320,
		Height:         192,
		OverrideSettings: map[string]any{
			"sd_model_checkpoint": a1111test.ModelSDXL,
		},
	}
	res, err := c.Txt2Img(bounded(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Images) != 4 {
		t.Fatalf("got %d images, want batch_size×n_iter = 4", len(res.Images))
	}
	for i, p := range res.Images {
		img, err := png.Decode(bytes.NewReader(p))
		if err != nil {
			t.Fatalf("image %d is not a PNG: %v", i, err)
		}
		if b := img.Bounds(); b.Dx() != 320 || b.Dy() != 192 {
			t.Errorf("image %d is %v, want 320×192", i, b)
		}
		params, ok := a1111test.PNGParameters(p)
		if !ok || !strings.HasPrefix(params, req.Prompt+"\nNegative prompt: blurry\n") || !strings.Contains(params, "Model: sd_xl_base_1.0") {
			t.Errorf("image %d parameters = %q", i, params)
		}
	}
	info := res.Info
	if info.Seed != 1234 || len(info.AllSeeds) != 4 || info.AllSeeds[3] != 1237 || info.Width != 320 || info.Height != 192 ||
		info.Steps != 3 || info.SamplerName != "DPM++ 2M" || info.SDModelName != "sd_xl_base_1.0" || len(info.Infotexts) != 4 {
		t.Errorf("info = %+v", info)
	}
	// Only the LoRAs that exist loaded; A1111 ignores unknown names silently.
	if len(info.LoraHashes) != 2 || info.LoraHashes["add_detail"] == "" || info.LoraHashes["studio_ghibli_v2"] != "5f1a2b3c4d5e" {
		t.Errorf("LoraHashes = %v", info.LoraHashes)
	}
	sent := srv.Requests()
	if len(sent) != 1 || sent[0].Prompt != req.Prompt || sent[0].OverrideSettings["sd_model_checkpoint"] != a1111test.ModelSDXL {
		t.Errorf("the fake received %+v", sent)
	}
	if jobs := srv.Jobs(); len(jobs) != 1 || strings.Join(jobs[0].Ignored, ",") != "not_there" {
		t.Errorf("jobs = %+v", jobs)
	}
	// The override held for the job only; its weights stay loaded.
	if srv.Checkpoint() != a1111test.ModelSD15 || srv.Loaded() != a1111test.ModelSDXL {
		t.Errorf("after the job: option %q, loaded %q; want the default restored and the override's weights kept", srv.Checkpoint(), srv.Loaded())
	}
}

func TestCatalogCalls(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{})
	c := newClient(t, srv.URL(), a1111.Options{})
	ctx := bounded(t)

	loras, err := c.LoRAs(ctx)
	if err != nil || len(loras) != 8 {
		t.Fatalf("LoRAs: %d, %v", len(loras), err)
	}
	models, err := c.Models(ctx)
	if err != nil {
		t.Fatal(err)
	}
	titles := map[string]bool{}
	for _, m := range models {
		titles[m.Title] = true
	}
	if !titles[a1111test.ModelSD15] || !titles[a1111test.ModelSDXL] {
		t.Errorf("models = %v", titles)
	}
	samplers, err := c.Samplers(ctx)
	if err != nil || len(samplers) == 0 {
		t.Fatalf("Samplers: %v, %v", samplers, err)
	}
	for _, s := range samplers {
		if s.Name == "DPM++ SDE" && (s.Options["second_order"] != "true" || s.Options["scheduler"] != "karras") {
			t.Errorf("DPM++ SDE options = %v, want booleans as text", s.Options)
		}
	}
	scheds, err := c.Schedulers(ctx)
	if err != nil || len(scheds) == 0 || scheds[0].Label != "Automatic" {
		t.Errorf("Schedulers: %v, %v", scheds, err)
	}
	ups, err := c.Upscalers(ctx)
	if err != nil || len(ups) == 0 || ups[0].Name != "None" {
		t.Errorf("Upscalers: %v, %v", ups, err)
	}

	if err := c.SetOptions(ctx, map[string]any{"sd_model_checkpoint": a1111test.ModelSDXL}); err != nil {
		t.Fatal(err)
	}
	opts, err := c.Options(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ckpt string
	if err := json.Unmarshal(opts["sd_model_checkpoint"], &ckpt); err != nil || ckpt != a1111test.ModelSDXL {
		t.Errorf("sd_model_checkpoint = %s, want %q", opts["sd_model_checkpoint"], a1111test.ModelSDXL)
	}
	err = c.SetOptions(ctx, map[string]any{"sd_model_checkpoint": "nope.safetensors"})
	if e := asError(t, err, a1111.KindServer); !strings.Contains(e.UserMessage(), "nope.safetensors") {
		t.Errorf("unknown checkpoint: %q", e.UserMessage())
	}
}

func TestRefreshLoRAs(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{})
	c := newClient(t, srv.URL(), a1111.Options{})
	ctx := bounded(t)
	srv.SetLoRAs([]a1111.LoRA{{Name: "new_one", Meta: a1111.LoRAMeta{BaseModelVersion: "sdxl_base_v1-0"}}})

	before, err := c.LoRAs(ctx)
	if err != nil || len(before) != 8 {
		t.Fatalf("before a refresh A1111 still lists its old scan: %d, %v", len(before), err)
	}
	if err := c.RefreshLoRAs(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := c.LoRAs(ctx)
	if err != nil || len(after) != 1 || after[0].Name != "new_one" || after[0].Meta.BaseModelVersion != "sdxl_base_v1-0" {
		t.Fatalf("after a refresh: %+v, %v", after, err)
	}
}

func TestSchedulersOnOldServer(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{OldServer: true})
	c := newClient(t, srv.URL(), a1111.Options{})
	scheds, err := c.Schedulers(bounded(t))
	if scheds != nil || !errors.Is(err, a1111.ErrNotSupported) {
		t.Fatalf("Schedulers on an old server = %v, %v; want nil and ErrNotSupported", scheds, err)
	}
	asError(t, err, a1111.KindNotSupported)
	samplers, err := c.Samplers(bounded(t))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range samplers {
		found = found || s.Name == "DPM++ 2M Karras"
	}
	if !found {
		t.Errorf("an old server's samplers carry the schedule in the name: %v", samplers)
	}
	srv.SetOldServer(false)
	if _, err := c.Schedulers(bounded(t)); err != nil {
		t.Errorf("after upgrade: %v", err)
	}
}

func TestErrorPaths(t *testing.T) {
	ctx := bounded(t)
	oom := "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 7.79 GiB total capacity)"
	for _, fl := range []struct {
		name   string
		flavor a1111test.Flavor
	}{{"A1111", a1111test.FlavorA1111}, {"Forge", a1111test.FlavorForge}, {"SDNext", a1111test.FlavorSDNext}} {
		t.Run("500 "+fl.name, func(t *testing.T) {
			srv := a1111test.Start(t, a1111test.Options{Flavor: fl.flavor, APIAuth: user + ":" + secret})
			c := newClient(t, srv.URLWithAuth(user, secret), a1111.Options{})
			srv.SetMode(a1111test.Mode500)
			_, err := c.Txt2Img(ctx, a1111.Txt2ImgRequest{Prompt: "x"})
			e := asError(t, err, a1111.KindServer)
			class, msg := "RuntimeError", "A1111 failed: "+oom+"."
			if fl.flavor == a1111test.FlavorForge {
				// Starlette's plain "Internal Server Error": Forge says
				// nothing more, and the message does not repeat it.
				class, msg = "", "A1111 at "+srv.Addr()+" failed."
			}
			if e.Status != 500 || e.Class != class || e.UserMessage() != msg {
				t.Errorf("status %d class %q message %q", e.Status, e.Class, e.UserMessage())
			}
			if !strings.Contains(e.Error(), "POST /sdapi/v1/txt2img") || !strings.Contains(e.Error(), "status 500") {
				t.Errorf("log text lacks route or status: %q", e.Error())
			}
		})
		t.Run("422 "+fl.name, func(t *testing.T) {
			srv := a1111test.Start(t, a1111test.Options{Flavor: fl.flavor})
			c := newClient(t, srv.URL(), a1111.Options{})
			srv.SetRouteMode("/sdapi/v1/txt2img", a1111test.Mode422)
			_, err := c.Txt2Img(ctx, a1111.Txt2ImgRequest{Prompt: "x"})
			e := asError(t, err, a1111.KindBadRequest)
			if e.Status != 422 || !strings.HasPrefix(e.UserMessage(), "A1111 rejected the request: steps: ") {
				t.Errorf("status %d message %q", e.Status, e.UserMessage())
			}
		})
		t.Run("401 "+fl.name, func(t *testing.T) {
			srv := a1111test.Start(t, a1111test.Options{Flavor: fl.flavor, APIAuth: user + ":" + secret})
			wrong := newClient(t, srv.URLWithAuth(user, "not-"+secret), a1111.Options{})
			_, err := wrong.Models(ctx)
			e := asError(t, err, a1111.KindAuth)
			want := "A1111 at " + srv.Addr() + " refused the login (check A1111_URL's user:pass)."
			detail := "Incorrect username or password"
			if fl.flavor == a1111test.FlavorSDNext {
				detail = "Unauthorized"
			}
			if e.Status != 401 || e.Detail != detail || e.UserMessage() != want {
				t.Errorf("status %d detail %q message %q", e.Status, e.Detail, e.UserMessage())
			}
			none := newClient(t, srv.URL(), a1111.Options{})
			_, err = none.Progress(ctx, false)
			if e := asError(t, err, a1111.KindAuth); e.Detail != "Not authenticated" {
				t.Errorf("without credentials: detail %q", e.Detail)
			}
			// /loras skips --api-auth on A1111 and Forge; SD.Next
			// registers it through its API, behind the login.
			l, err := none.LoRAs(ctx)
			if fl.flavor == a1111test.FlavorSDNext {
				asError(t, err, a1111.KindAuth)
			} else if err != nil || len(l) != 8 {
				t.Errorf("LoRAs without credentials: %d, %v", len(l), err)
			}
		})
	}

	t.Run("down and back up", func(t *testing.T) {
		srv := a1111test.Start(t, a1111test.Options{})
		c := newClient(t, "http://"+user+":"+secret+"@"+srv.Addr(), a1111.Options{})
		srv.SetMode(a1111test.ModeDown)
		_, err := c.Txt2Img(ctx, a1111.Txt2ImgRequest{Prompt: "x"})
		e := asError(t, err, a1111.KindUnreachable)
		if want := "The image server at " + srv.Addr() + " is not answering."; e.UserMessage() != want {
			t.Errorf("message %q, want %q", e.UserMessage(), want)
		}
		srv.SetMode(a1111test.ModeOK)
		if _, err := c.Models(ctx); err != nil {
			t.Errorf("after the server came back: %v", err)
		}
	})
	t.Run("nothing listens", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		c := newClient(t, "http://"+user+":"+secret+"@"+addr, a1111.Options{})
		_, err = c.LoRAs(ctx)
		asError(t, err, a1111.KindUnreachable)
	})
	t.Run("hang: caller deadline", func(t *testing.T) {
		srv := a1111test.Start(t, a1111test.Options{})
		c := newClient(t, srv.URL(), a1111.Options{})
		srv.SetMode(a1111test.ModeHang)
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, err := c.Models(short)
		e := asError(t, err, a1111.KindTimeout)
		if !errors.Is(err, context.DeadlineExceeded) || e.UserMessage() != "The image server at "+srv.Addr()+" did not answer in time." {
			t.Errorf("%v / %q", err, e.UserMessage())
		}
	})
	t.Run("hang: request timeout", func(t *testing.T) {
		srv := a1111test.Start(t, a1111test.Options{})
		c := newClient(t, srv.URL(), a1111.Options{RequestTimeout: 100 * time.Millisecond})
		srv.SetMode(a1111test.ModeHang)
		_, err := c.Progress(ctx, false)
		asError(t, err, a1111.KindTimeout)
	})
	t.Run("hang: generation limit", func(t *testing.T) {
		srv := a1111test.Start(t, a1111test.Options{})
		c := newClient(t, srv.URL(), a1111.Options{GenerateTimeout: 100 * time.Millisecond, InterruptGrace: 200 * time.Millisecond})
		srv.SetMode(a1111test.ModeHang) // /interrupt hangs too: the grace bounds it
		_, err := c.Txt2Img(ctx, a1111.Txt2ImgRequest{Prompt: "x"})
		e := asError(t, err, a1111.KindTimeout)
		if e.UserMessage() != "The image server took longer than 100ms and the job was stopped." {
			t.Errorf("message %q", e.UserMessage())
		}
	})
	t.Run("malformed", func(t *testing.T) {
		srv := a1111test.Start(t, a1111test.Options{})
		c := newClient(t, srv.URL(), a1111.Options{})
		srv.SetMode(a1111test.ModeMalformed)
		_, err := c.Txt2Img(ctx, a1111.Txt2ImgRequest{Prompt: "x"})
		asError(t, err, a1111.KindBadResponse)
		_, err = c.Models(ctx)
		asError(t, err, a1111.KindBadResponse)
		_, err = c.LoRAs(ctx)
		e := asError(t, err, a1111.KindBadResponse)
		if e.UserMessage() != "The image server at "+srv.Addr()+" sent an answer the bot cannot read." {
			t.Errorf("message %q", e.UserMessage())
		}
	})
	t.Run("started without --api", func(t *testing.T) {
		srv := a1111test.Start(t, a1111test.Options{})
		c := newClient(t, srv.URL(), a1111.Options{})
		srv.SetMode(a1111test.ModeNoAPI)
		_, err := c.Txt2Img(ctx, a1111.Txt2ImgRequest{Prompt: "x"})
		e := asError(t, err, a1111.KindNoAPI)
		if e.UserMessage() != "A1111 at "+srv.Addr()+" was started without --api." {
			t.Errorf("message %q", e.UserMessage())
		}
		// The Lora extension's routes exist without --api.
		if _, err := c.LoRAs(ctx); err != nil {
			t.Errorf("LoRAs without --api: %v", err)
		}
	})
	t.Run("Mode401", func(t *testing.T) {
		srv := a1111test.Start(t, a1111test.Options{})
		c := newClient(t, srv.URL(), a1111.Options{})
		srv.SetMode(a1111test.Mode401)
		_, err := c.Options(ctx)
		asError(t, err, a1111.KindAuth)
	})
	t.Run("proxy 502 page", func(t *testing.T) {
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>"))
		}))
		defer proxy.Close()
		c := newClient(t, strings.Replace(proxy.URL, "http://", "http://"+user+":"+secret+"@", 1), a1111.Options{})
		_, err := c.Models(ctx)
		if e := asError(t, err, a1111.KindUnreachable); e.Detail != "502 Bad Gateway" {
			t.Errorf("detail %q", e.Detail)
		}
	})
	t.Run("server echoing the password", func(t *testing.T) {
		echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, pass, _ := r.BasicAuth()
			w.WriteHeader(http.StatusInternalServerError)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "ValueError", "detail": "bad login " + pass})
		}))
		defer echo.Close()
		c := newClient(t, strings.Replace(echo.URL, "http://", "http://"+user+":"+secret+"@", 1), a1111.Options{})
		_, err := c.Models(ctx)
		asError(t, err, a1111.KindServer)
	})
}

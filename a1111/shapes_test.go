package a1111_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/color"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"lorabot/a1111"
	"lorabot/a1111/a1111test"
)

// What the servers really answer when something fails, as the client
// classifies it.
func TestErrorShapesOfTheForks(t *testing.T) {
	tests := []struct {
		name   string
		call   func(context.Context, *a1111.Client) error
		status int
		ctype  string
		body   string
		kind   a1111.Kind
		detail string
	}{
		{"Forge exception: plain text", txt2imgCall, 500, "text/plain; charset=utf-8", "Internal Server Error", a1111.KindServer, ""},
		{"Forge HTTP error", modelsCall, 401, "application/json", `{"detail":"Incorrect username or password"}`, a1111.KindAuth, "Incorrect username or password"},
		{"SD.Next unknown sampler", txt2imgCall, 404, "application/json", `{"error":"HTTPException","code":404,"detail":"Sampler not found","body":"","errors":"404: Sampler not found"}`, a1111.KindBadRequest, "Sampler not found"},
		{"SD.Next TypeError: a bare JSON string", txt2imgCall, 500, "application/json", `"unsupported operand type(s) for +: 'int' and 'str'"`, a1111.KindServer, "unsupported operand type(s) for +: 'int' and 'str'"},
		{"SD.Next missing route", modelsCall, 404, "application/json", `{"error":"HTTPException","code":404,"detail":"Not Found","body":"","errors":"404: Not Found"}`, a1111.KindNoAPI, "Not Found"},
		{"a proxy's JSON 404 on sd-models", modelsCall, 404, "application/json", `{"message":"no route for /sdapi/v1/sd-models"}`, a1111.KindNoAPI, "no route for /sdapi/v1/sd-models"},
		{"a proxy's JSON 404 on options", optionsCall, 404, "application/json", `{"error":"not_found"}`, a1111.KindNoAPI, ""},
		{"a 404 with a detail on txt2img is the request's fault", txt2imgCall, 404, "application/json", `{"error":"HTTPException","detail":"Sampler not found","body":"","errors":"404: Sampler not found"}`, a1111.KindBadRequest, "Sampler not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", tt.ctype)
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			t.Cleanup(ts.Close)
			c := newClient(t, ts.URL, a1111.Options{})
			e := asError(t, tt.call(bounded(t), c), tt.kind)
			if e.Status != tt.status || e.Detail != tt.detail {
				t.Errorf("status %d detail %q, want %d %q", e.Status, e.Detail, tt.status, tt.detail)
			}
			if e.Kind == a1111.KindServer && tt.detail == "" && e.UserMessage() != "A1111 at "+c.Addr()+" failed." {
				t.Errorf("a bare status line is not worth quoting: %q", e.UserMessage())
			}
		})
	}
}

func txt2imgCall(ctx context.Context, c *a1111.Client) error {
	_, err := c.Txt2Img(ctx, a1111.Txt2ImgRequest{Prompt: "x"})
	return err
}

func modelsCall(ctx context.Context, c *a1111.Client) error {
	_, err := c.Models(ctx)
	return err
}

func optionsCall(ctx context.Context, c *a1111.Client) error {
	_, err := c.Options(ctx)
	return err
}

func TestUnknownSamplerOnAnOldServer(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{OldServer: true})
	c := newClient(t, srv.URL(), a1111.Options{})
	_, err := c.Txt2Img(bounded(t), a1111.Txt2ImgRequest{Prompt: "x", SamplerName: "DPM++ 2M", Scheduler: "Karras"})
	if err != nil {
		t.Fatalf("a name the old server has: %v", err)
	}
	_, err = c.Txt2Img(bounded(t), a1111.Txt2ImgRequest{Prompt: "x", SamplerName: "Euler a Karras"})
	e := asError(t, err, a1111.KindBadRequest)
	if e.Status != 404 || e.UserMessage() != "A1111 rejected the request: Sampler not found." {
		t.Errorf("status %d message %q", e.Status, e.UserMessage())
	}
}

// The server closes idle keep-alive connections (uvicorn: 5 s under the
// web UI); the client must not stumble over one it had kept.
func TestServerClosesIdleConnections(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{IdleTimeout: 30 * time.Millisecond})
	c := newClient(t, srv.URL(), a1111.Options{})
	for i := range 3 {
		if _, err := c.Models(bounded(t)); err != nil {
			t.Fatal(err)
		}
		if err := srv.WaitConnsClosed(bounded(t), 3*i+1); err != nil {
			t.Fatalf("the server kept the idle connection: %v", err)
		}
		if err := c.Interrupt(bounded(t)); err != nil {
			t.Fatalf("POST after the server closed the idle connection: %v", err)
		}
		if err := srv.WaitConnsClosed(bounded(t), 3*i+2); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Txt2Img(bounded(t), a1111.Txt2ImgRequest{Prompt: "x", Steps: 1, Width: 64, Height: 64}); err != nil {
			t.Fatalf("txt2img after the server closed the idle connection: %v", err)
		}
		if err := srv.WaitConnsClosed(bounded(t), 3*i+3); err != nil {
			t.Fatal(err)
		}
	}
	// img2img goes the same way.
	if _, err := c.Img2Img(bounded(t), a1111.Img2ImgRequest{Txt2ImgRequest: a1111.Txt2ImgRequest{Prompt: "x", Steps: 1, Width: 64, Height: 64},
		InitImages: [][]byte{a1111test.NoisyPNG(16, 16, 1)}}); err != nil {
		t.Fatalf("img2img after the server closed the idle connection: %v", err)
	}
}

// A1111 sends WEBP when its samples_format says so: the bytes come through
// as sent, and image.Decode reads them in any program that imports a1111.
func TestWebPImages(t *testing.T) {
	want := a1111test.SolidWebP(24, 16, color.NRGBA{R: 200, G: 10, B: 30, A: 255})
	body := `{"images":["` + base64.StdEncoding.EncodeToString(want) + `"],"parameters":{},"info":"{\"seed\":1}"}`
	res, err := a1111.DecodeTxt2Img(bytes.NewReader([]byte(body)))
	if err != nil || len(res.Images) != 1 || !bytes.Equal(res.Images[0], want) {
		t.Fatalf("DecodeTxt2Img: %v, %d images", err, len(res.Images))
	}
	img, format, err := image.Decode(bytes.NewReader(res.Images[0]))
	if err != nil || format != "webp" || img.Bounds() != image.Rect(0, 0, 24, 16) {
		t.Fatalf("image.Decode: %q, %v", format, err)
	}
	if r, g, b, _ := img.At(3, 3).RGBA(); r>>8 != 200 || g>>8 != 10 || b>>8 != 30 {
		t.Errorf("colour %d %d %d", r>>8, g>>8, b>>8)
	}

	srv := a1111test.Start(t, a1111test.Options{})
	c := newClient(t, srv.URL(), a1111.Options{})
	if err := c.SetOptions(bounded(t), map[string]any{"samples_format": "webp"}); err != nil {
		t.Fatal(err)
	}
	r, err := c.Txt2Img(bounded(t), a1111.Txt2ImgRequest{Prompt: "x", Steps: 1, Width: 64, Height: 96})
	if err != nil {
		t.Fatal(err)
	}
	if _, format, err := image.Decode(bytes.NewReader(r.Images[0])); err != nil || format != "webp" {
		t.Errorf("the fake's WEBP answer: %q, %v", format, err)
	}
}

// Which LoRAs loaded, by each server's own record of the job.
func TestLoRAsThatLoaded(t *testing.T) {
	asked := []string{"add_detail", "no_such_lora"}
	prompt := "a cat <lora:add_detail:0.5> <lora:no_such_lora:1>"
	for _, tt := range []struct {
		flavor    a1111test.Flavor
		loaded    []string
		notLoaded []string
	}{
		// A1111 skips the unknown name and loads the other.
		{a1111test.FlavorA1111, []string{"add_detail"}, []string{"no_such_lora"}},
		// Forge loads none when one of them is unknown.
		{a1111test.FlavorForge, nil, asked},
	} {
		srv := a1111test.Start(t, a1111test.Options{Flavor: tt.flavor})
		c := newClient(t, srv.URL(), a1111.Options{})
		res, err := c.Txt2Img(bounded(t), a1111.Txt2ImgRequest{Prompt: prompt, Steps: 1, Width: 64, Height: 64})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Info.LoadedLoRAs(); !slices.Equal(got, tt.loaded) {
			t.Errorf("flavor %d: LoadedLoRAs = %q, want %q", tt.flavor, got, tt.loaded)
		}
		if got := res.Info.NotLoaded(asked); !slices.Equal(got, tt.notLoaded) {
			t.Errorf("flavor %d: NotLoaded = %q, want %q", tt.flavor, got, tt.notLoaded)
		}
	}

	sdnext := a1111test.Start(t, a1111test.Options{Flavor: a1111test.FlavorSDNext})
	c := newClient(t, sdnext.URL(), a1111.Options{})
	res, err := c.Txt2Img(bounded(t), a1111.Txt2ImgRequest{Prompt: "<lora:Cyberpunk Edgerunners (anime style) v2_1:1> <lora:add_detail:1>", Steps: 1, Width: 64, Height: 64})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Info.LoadedLoRAs(); !slices.Equal(got, []string{"Cyberpunk Edgerunners (anime style) v2_1", "add_detail"}) {
		t.Errorf("SD.Next: LoadedLoRAs = %q", got)
	}
	if got := res.Info.NotLoaded([]string{"add_detail", "Cyberpunk Edgerunners (anime style) v2.1"}); !slices.Equal(got, []string{"Cyberpunk Edgerunners (anime style) v2.1"}) {
		t.Errorf("SD.Next: NotLoaded = %q: a dotted name is not the listed one", got)
	}
}

func TestParseLoraHashNames(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"add_detail: 7c6bad76eb54", []string{"add_detail"}},
		// As an infotext quotes it; a name keeps its spaces, dots and brackets.
		{`"Cyberpunk Edgerunners (anime style) v2.1: abcdef012345, ブルーアーカイブ_style: 5f1a2b3c4d5e"`, []string{"Cyberpunk Edgerunners (anime style) v2.1", "ブルーアーカイブ_style"}},
		{"broken, x: 3,  ,: 4, x: 3", []string{"x"}},
	} {
		if got := a1111.ParseLoraHashNames(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("ParseLoraHashNames(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	info := a1111.ParseInfo(`{"extra_generation_params":{"Lora hashes":"a b: 1, c: 2"}}`)
	if got := info.NotLoaded([]string{"a b", "c:d", "e,f"}); !slices.Equal(got, []string{"c:d", "e,f"}) {
		t.Errorf("NotLoaded = %q", got)
	}
	// Names are written with ':' and ',' removed.
	info = a1111.ParseInfo(`{"extra_generation_params":{"Lora hashes":"cd: 1, ef: 2"}}`)
	if got := info.NotLoaded([]string{"c:d", "e,f"}); got != nil {
		t.Errorf("NotLoaded = %q, want none", got)
	}
}

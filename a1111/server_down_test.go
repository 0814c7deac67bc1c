package a1111_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"lorabot/a1111"
	"lorabot/a1111/a1111test"
)

// generate runs c.Generate in the background; the result comes on the channel.
func generate(t *testing.T, c *a1111.Client, req a1111.Txt2ImgRequest, every time.Duration) <-chan error {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		_, err := c.Generate(bounded(t), req, every, nil)
		errc <- err
	}()
	return errc
}

// within waits for Generate's error, failing the test after d.
func within(t *testing.T, errc <-chan error, d time.Duration) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(d):
		t.Fatalf("Generate did not return within %v", d)
		return nil
	}
}

var long = a1111.Txt2ImgRequest{Prompt: "x", Steps: 100000, Width: 64, Height: 64}

func TestServerDiesMidGeneration(t *testing.T) {
	for _, every := range []time.Duration{0, 20 * time.Millisecond} {
		srv := a1111test.Start(t, a1111test.Options{StepTime: 5 * time.Millisecond})
		c := newClient(t, srv.URL(), a1111.Options{})
		errc := generate(t, c, long, every)
		if err := srv.WaitStep(bounded(t), 1); err != nil {
			t.Fatal(err)
		}
		srv.SetMode(a1111test.ModeDown)
		e := asError(t, within(t, errc, 5*time.Second), a1111.KindUnreachable)
		if !e.ServerDown() || e.UserMessage() != "The image server at "+srv.Addr()+" is not answering." {
			t.Errorf("polling every %v: %v / %q", every, e, e.UserMessage())
		}
	}
}

// A connection that breaks in the middle of the answer is the server's
// failure, not a malformed answer.
func TestAnswerCutOffMidStream(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n" +
			`{"images": ["iVBORw0KGgoAAAANSUhEUgAAAAgAAAAI`)
		_ = buf.Flush()
		_ = conn.Close()
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	c := newClient(t, "http://"+ln.Addr().String(), a1111.Options{})
	_, err = c.Txt2Img(bounded(t), a1111.Txt2ImgRequest{Prompt: "x"})
	if e := asError(t, err, a1111.KindUnreachable); !e.ServerDown() {
		t.Errorf("%v", e)
	}
}

func TestHungServerStopsTheGeneration(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{StepTime: 5 * time.Millisecond})
	const stall = 300 * time.Millisecond
	c := newClient(t, srv.URL(), a1111.Options{StallTimeout: stall, InterruptGrace: 200 * time.Millisecond})
	start := time.Now()
	errc := generate(t, c, long, 20*time.Millisecond)
	if err := srv.WaitStep(bounded(t), 1); err != nil {
		t.Fatal(err)
	}
	srv.SetMode(a1111test.ModeHang) // /progress and /interrupt hang; the job runs on
	err := within(t, errc, 10*time.Second)
	e := asError(t, err, a1111.KindTimeout)
	if e.Limit != 0 || !strings.HasPrefix(e.Detail, "stopped answering") || !e.ServerDown() {
		t.Errorf("limit %v detail %q ServerDown %t", e.Limit, e.Detail, e.ServerDown())
	}
	if want := "The image server at " + srv.Addr() + " stopped answering and the job was stopped."; e.UserMessage() != want {
		t.Errorf("message %q, want %q", e.UserMessage(), want)
	}
	if d := time.Since(start); d < stall {
		t.Errorf("stopped after %v, before the %v stall limit", d, stall)
	}
	if srv.Hits("/sdapi/v1/interrupt") == 0 {
		t.Error("no /interrupt was tried")
	}
}

func TestHungServerFromTheStart(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{})
	srv.SetMode(a1111test.ModeHang)
	c := newClient(t, srv.URL(), a1111.Options{StallTimeout: 200 * time.Millisecond, RequestTimeout: 50 * time.Millisecond, InterruptGrace: 100 * time.Millisecond})
	e := asError(t, within(t, generate(t, c, long, 10*time.Millisecond), 10*time.Second), a1111.KindTimeout)
	if e.Limit != 0 || !e.ServerDown() {
		t.Errorf("%v", e)
	}
}

// A server whose port closed while the txt2img connection stays open (held
// by something in between): the polls are refused, and the job ends at
// once rather than after StallTimeout and InterruptGrace.
func TestRefusedPollsEndTheGeneration(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan net.Conn, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/sdapi/v1/txt2img" {
			_ = json.NewEncoder(w).Encode(map[string]any{"progress": 0, "state": map[string]any{"job_count": 0}})
			return
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			held <- conn
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	c := newClient(t, "http://"+ln.Addr().String(), a1111.Options{})
	errc := generate(t, c, long, 20*time.Millisecond)
	var conn net.Conn
	select {
	case conn = <-held:
	case <-bounded(t).Done():
		t.Fatal("txt2img never arrived")
	}
	defer conn.Close()
	_ = srv.Close() // the listener and idle connections; the hijacked one stays
	if e := asError(t, within(t, errc, 5*time.Second), a1111.KindUnreachable); !e.ServerDown() {
		t.Errorf("%v", e)
	}
}

func TestServerDown(t *testing.T) {
	ctx := bounded(t)
	srv := a1111test.Start(t, a1111test.Options{APIAuth: user + ":" + secret, StepTime: 5 * time.Millisecond})
	c := newClient(t, srv.URLWithAuth(user, secret), a1111.Options{RequestTimeout: 100 * time.Millisecond})
	models := func() error { _, err := c.Models(ctx); return err }
	cases := []struct {
		name string
		mode a1111test.Mode
		call func() error
		down bool
	}{
		{"401", a1111test.Mode401, models, false},
		{"404 no --api", a1111test.ModeNoAPI, models, false},
		{"422", a1111test.Mode422, models, false},
		{"500", a1111test.Mode500, models, false},
		{"malformed", a1111test.ModeMalformed, models, false},
		{"proxy 502", a1111test.Mode502, models, true},
		{"hang", a1111test.ModeHang, models, true},
		{"refused", a1111test.ModeDown, models, true},
		{"cancelled", a1111test.ModeOK, func() error {
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			_, err := c.Models(cctx)
			return err
		}, false},
		{"generation limit", a1111test.ModeOK, func() error {
			lc := newClient(t, srv.URLWithAuth(user, secret), a1111.Options{GenerateTimeout: 50 * time.Millisecond})
			_, err := lc.Txt2Img(ctx, long)
			return err
		}, false},
	}
	for _, tc := range cases {
		srv.SetMode(tc.mode)
		err := tc.call()
		var e *a1111.Error
		if !errors.As(err, &e) {
			t.Fatalf("%s: %v is not an *a1111.Error", tc.name, err)
		}
		if e.ServerDown() != tc.down {
			t.Errorf("%s: ServerDown() = %t for %v", tc.name, e.ServerDown(), e)
		}
	}
	var nilErr *a1111.Error
	if nilErr.ServerDown() {
		t.Error("a nil *Error is ServerDown")
	}
}

package a1111_test

import (
	"testing"
	"time"

	"lorabot/a1111"
	"lorabot/a1111/a1111test"
)

func TestPingUsesTheWebUIRoute(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{APIAuth: user + ":" + secret})
	// /internal/ping skips --api-auth: even a client without the
	// credentials sees that the server is up.
	c := newClient(t, srv.URL(), a1111.Options{})
	if err := c.Ping(bounded(t)); err != nil {
		t.Fatal(err)
	}
	if srv.Hits("/internal/ping") != 1 || srv.Hits("/sdapi/v1/options") != 0 {
		t.Errorf("hits: ping %d, options %d", srv.Hits("/internal/ping"), srv.Hits("/sdapi/v1/options"))
	}
	srv.SetMode(a1111test.Mode500)
	asError(t, c.Ping(bounded(t)), a1111.KindServer)
	srv.SetMode(a1111test.ModeDown)
	if e := asError(t, c.Ping(bounded(t)), a1111.KindUnreachable); !e.ServerDown() {
		t.Errorf("a closed port is not ServerDown: %v", e)
	}
}

func TestPingFallsBackToOptionsWithoutWebUI(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{NoWebUI: true, APIAuth: user + ":" + secret})
	c := newClient(t, srv.URLWithAuth(user, secret), a1111.Options{})
	for range 2 {
		if err := c.Ping(bounded(t)); err != nil {
			t.Fatal(err)
		}
	}
	if srv.Hits("/internal/ping") != 1 || srv.Hits("/sdapi/v1/options") != 2 {
		t.Errorf("hits: ping %d, options %d; want one 404 remembered, then options only", srv.Hits("/internal/ping"), srv.Hits("/sdapi/v1/options"))
	}
	// The fallback needs the credentials.
	wrong := newClient(t, srv.URLWithAuth(user, "not-"+secret), a1111.Options{})
	if e := asError(t, wrong.Ping(bounded(t)), a1111.KindAuth); e.ServerDown() {
		t.Errorf("refused credentials count as the server down: %v", e)
	}
}

func TestPingIsBoundedByRequestTimeout(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{})
	c := newClient(t, srv.URL(), a1111.Options{RequestTimeout: 100 * time.Millisecond})
	srv.SetMode(a1111test.ModeHang)
	start := time.Now()
	e := asError(t, c.Ping(bounded(t)), a1111.KindTimeout)
	if !e.ServerDown() || time.Since(start) > 5*time.Second {
		t.Errorf("hung server: %v after %v", e, time.Since(start))
	}
}

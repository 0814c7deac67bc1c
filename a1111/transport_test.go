package a1111

import "testing"

// The client must give up an idle connection before A1111 does (uvicorn
// closes them after 5 s under the web UI), or a txt2img, which the
// transport will not send twice, can go out on a socket being closed.
func TestIdleConnectionsAreDroppedBeforeTheServerDoes(t *testing.T) {
	if d := newTransport().IdleConnTimeout; d <= 0 || d >= 5e9 {
		t.Errorf("IdleConnTimeout = %v, want below A1111's 5 s keep-alive", d)
	}
	for route, want := range map[string]bool{"/sdapi/v1/txt2img": false, "/sdapi/v1/skip": false, "/sdapi/v1/interrupt": true, "/internal/progress": true} {
		if idempotentPOST[route] != want {
			t.Errorf("%s retryable = %t, want %t", route, idempotentPOST[route], want)
		}
	}
}

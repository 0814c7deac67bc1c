package a1111_test

import (
	"strings"
	"testing"
	"time"

	"lorabot/a1111"
)

// PublicMessage is read by a whole channel: it says what happened in words
// and nothing of where the server is or what it threw.
func TestPublicMessageHasNoDetail(t *testing.T) {
	for k := a1111.KindUnknown; k <= a1111.KindNotSupported; k++ {
		for _, limit := range []time.Duration{0, 10 * time.Minute} {
			e := &a1111.Error{Kind: k, Server: "127.0.0.1:7860", Route: "POST /sdapi/v1/txt2img", Status: 500,
				Class: "RuntimeError", Detail: "stopped answering: CUDA error on 10.1.2.3", Limit: limit}
			msg := e.PublicMessage()
			if msg == "" || !strings.HasSuffix(msg, ".") || strings.Count(msg, ".") > 1 && !strings.Contains(msg, "m0s") {
				t.Errorf("%v: %q is not one sentence", k, msg)
			}
			for _, leak := range []string{"127.0.0.1", "7860", "sdapi", "RuntimeError", "CUDA", "10.1.2.3", "500"} {
				if strings.Contains(msg, leak) {
					t.Errorf("%v: public message %q shows %q", k, msg, leak)
				}
			}
			if !strings.Contains(e.UserMessage(), "127.0.0.1") && (k == a1111.KindUnreachable || k == a1111.KindAuth) {
				t.Errorf("%v: UserMessage keeps the detail for admins, got %q", k, e.UserMessage())
			}
		}
	}
	oom := &a1111.Error{Kind: a1111.KindServer, Server: "127.0.0.1:7860", Class: "OutOfMemoryError", Detail: "CUDA out of memory. Tried to allocate 2.00 GiB"}
	if got := oom.PublicMessage(); !strings.Contains(got, "ran out of memory") || strings.Contains(got, "GiB") {
		t.Errorf("out of memory: %q", got)
	}
	down := &a1111.Error{Kind: a1111.KindUnreachable, Server: "127.0.0.1:1"}
	if got, want := down.PublicMessage(), "The image server is not answering; your job was not run."; got != want {
		t.Errorf("unreachable: %q, want %q", got, want)
	}
}

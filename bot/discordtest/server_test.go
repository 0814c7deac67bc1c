package discordtest

import (
	"net/http"
	"strings"
	"testing"
)

// Without ExpectViolations a violation fails the test that owns the fake.
func TestViolationFailsTheTest(t *testing.T) {
	rec := &recorder{TB: t}
	srv := New(rec, Options{})
	resp, err := http.Post(srv.APIURL()+"channels/1/typing", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown route answered %d", resp.StatusCode)
	}
	if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], "no such route") {
		t.Errorf("test errors = %q, want the unknown route reported", rec.errs)
	}
	if v := srv.Violations(); len(v) != 1 {
		t.Errorf("violations = %q", v)
	}
}

// Normal answers carry rate-limit headers with quota left, so discordgo
// never waits; other API versions are served too.
func TestRateLimitHeadersAndVersions(t *testing.T) {
	srv := New(t, Options{})
	for _, v := range []string{"v9", "v10"} {
		req, _ := http.NewRequest("GET", srv.URL()+"/api/"+v+"/users/@me", nil)
		req.Header.Set("Authorization", "Bot "+srv.Token())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", v, resp.StatusCode)
		}
		if resp.Header.Get("X-RateLimit-Remaining") != "49" || resp.Header.Get("X-RateLimit-Reset-After") == "" || resp.Header.Get("X-RateLimit-Global") != "" {
			t.Errorf("%s: rate-limit headers %v", v, resp.Header)
		}
	}
}

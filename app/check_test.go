package app_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"lorabot/a1111"
	"lorabot/a1111/a1111test"
	"lorabot/app"
	"lorabot/bot/discordtest"
	"lorabot/config"
)

const password = "hunter2-s3cret"

type checkEnv struct {
	dc  *discordtest.Server
	sd  *a1111test.Server
	cfg config.Config
}

// newCheckEnv starts both fakes, A1111 with --api-auth, and a config that
// reaches them.
func newCheckEnv(t *testing.T, dopts discordtest.Options) *checkEnv {
	t.Helper()
	e := &checkEnv{dc: discordtest.New(t, dopts), sd: a1111test.Start(t, a1111test.Options{APIAuth: "bot:" + password})}
	e.cfg = config.Config{
		DiscordToken:    e.dc.Token(),
		GuildID:         discordtest.DefaultGuildID,
		DiscordAPIURL:   e.dc.APIURL(),
		A1111URLs:       []string{e.sd.URLWithAuth("bot", password)},
		A1111Timeout:    time.Minute,
		DBPath:          t.TempDir() + "/bot.db",
		MaxQueuePerUser: 3,
	}
	return e
}

// run runs the check and makes sure no secret shows in what it printed.
func (e *checkEnv) run(t *testing.T) (string, error) {
	t.Helper()
	return e.runWith(t, app.CheckOptions{})
}

func (e *checkEnv) runWith(t *testing.T, opts app.CheckOptions) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	err := app.CheckWith(ctx, e.cfg, opts, &out)
	s := out.String()
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	for _, secret := range []string{e.cfg.DiscordToken, e.dc.Token(), password} {
		if strings.Contains(s, secret) || strings.Contains(msg, secret) {
			t.Errorf("a secret (%q) appears in the check's output:\n%s\nerror: %s", secret, s, msg)
		}
	}
	return s, err
}

func TestCheckAllGood(t *testing.T) {
	e := newCheckEnv(t, discordtest.Options{BotUserID: "400000000000000999"}) // an older app: bot user ≠ application
	out, err := e.run(t)
	if err != nil {
		t.Fatalf("check against healthy servers failed: %v\n%s", err, out)
	}
	c, err := a1111.New(e.sd.URLWithAuth("bot", password), a1111.Options{})
	if err != nil {
		t.Fatal(err)
	}
	samplers, err := c.Samplers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	counts := fmt.Sprintf("8 LoRAs, %d checkpoints, %d samplers", len(a1111test.Models), len(samplers))
	if !strings.Contains(out, counts) || !strings.Contains(out, e.sd.Addr()) {
		t.Errorf("check should report %q for %s:\n%s", counts, e.sd.Addr(), out)
	}
	link := regexp.MustCompile(`https://discord\.com/oauth2/authorize\?\S+`).FindString(out)
	if link == "" {
		t.Fatalf("check should print the invite URL:\n%s", out)
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("client_id") != e.dc.AppID() {
		t.Errorf("invite client_id %q, want the application %s", q.Get("client_id"), e.dc.AppID())
	}
	if scopes := strings.Fields(q.Get("scope")); len(scopes) != 2 || scopes[0] != "bot" || scopes[1] != "applications.commands" {
		t.Errorf("invite scope %q, want bot applications.commands", q.Get("scope"))
	}
	if q.Get("permissions") != fmt.Sprint(app.InvitePermissions) || app.InvitePermissions == 0 {
		t.Errorf("invite permissions %q, want %d", q.Get("permissions"), app.InvitePermissions)
	}
	if len(e.dc.Violations()) > 0 {
		t.Errorf("violations: %v", e.dc.Violations())
	}
}

func TestCheckSaysWhatIsWrong(t *testing.T) {
	cases := []struct {
		name  string
		spoil func(e *checkEnv)
		want  []string // each must appear in the output
	}{
		{"A1111 without --api", func(e *checkEnv) { e.sd.SetMode(a1111test.ModeNoAPI) }, []string{"--api", "COMMANDLINE_ARGS", "A1111_URL"}},
		{"A1111_URL at something else", func(e *checkEnv) {
			// Any 404 on /sdapi/v1/sd-models, plain text as Forge or another
			// web server sends it: the API is off or it is not A1111.
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "Not Found", http.StatusNotFound)
			}))
			t.Cleanup(other.Close)
			e.cfg.A1111URLs = []string{other.URL}
		}, []string{"without --api", "--api", "COMMANDLINE_ARGS", "A1111_URL"}},
		{"A1111 down", func(e *checkEnv) { e.sd.SetMode(a1111test.ModeDown) }, []string{"not answering", "A1111_URL"}},
		{"A1111 password wrong", func(e *checkEnv) {
			e.cfg.A1111URLs = []string{e.sd.URLWithAuth("bot", password+"x")}
		}, []string{"refused the login", "A1111_URL"}},
		{"bad token", func(e *checkEnv) { e.cfg.DiscordToken = e.dc.Token() + "x" }, []string{"Discord refused DISCORD_TOKEN", "Reset Token"}},
		{"Discord unreachable", func(e *checkEnv) { e.cfg.DiscordAPIURL = "http://127.0.0.1:1/api/v10/" }, []string{"not reachable", "DISCORD_API_URL"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newCheckEnv(t, discordtest.Options{})
			tc.spoil(e)
			out, err := e.run(t)
			if err == nil {
				t.Fatalf("check should fail:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output should mention %q:\n%s", w, out)
				}
			}
			if !strings.Contains(out, "✗") {
				t.Errorf("the failing part should be marked ✗:\n%s", out)
			}
			if strings.Contains(out, "All good") {
				t.Errorf("a failed check must not claim success:\n%s", out)
			}
		})
	}
}

// serverLines returns the line of the check's output about the server at
// addr, and the fix line under it if there is one.
func serverLines(out, addr string) (line, fix string) {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		mark := strings.HasPrefix(l, "✓") || strings.HasPrefix(l, "✗")
		if mark && (strings.Contains(l, addr+" ") || strings.Contains(l, addr+":")) {
			if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "  fix: ") {
				fix = lines[i+1]
			}
			return l, fix
		}
	}
	return "", ""
}

func TestCheckSeveralServers(t *testing.T) {
	e := newCheckEnv(t, discordtest.Options{})
	good := e.sd
	down := a1111test.Start(t, a1111test.Options{})
	down.SetMode(a1111test.ModeDown)
	noAPI := a1111test.Start(t, a1111test.Options{})
	noAPI.SetMode(a1111test.ModeNoAPI)
	var hung []*a1111test.Server
	for range 2 {
		sd := a1111test.Start(t, a1111test.Options{APIAuth: "bot:" + password})
		sd.SetMode(a1111test.ModeHang)
		hung = append(hung, sd)
	}
	e.cfg.A1111URLs = append(e.cfg.A1111URLs, down.URL(), hung[0].URLWithAuth("bot", password), noAPI.URL(), hung[1].URLWithAuth("bot", password))

	const limit = time.Second
	began := time.Now()
	out, err := e.runWith(t, app.CheckOptions{ServerTimeout: limit})
	took := time.Since(began)
	if err == nil {
		t.Fatalf("check with four of five servers failing should fail:\n%s", out)
	}
	// Each hung server has its own limit: one limit in all, not one each.
	if took < limit || took >= 2*limit {
		t.Errorf("check took %v with two hung servers and a limit of %v per server; want about one limit: the servers are checked at once", took.Round(time.Millisecond), limit)
	}
	for _, tc := range []struct {
		name      string
		sd        *a1111test.Server
		entry     int
		line, fix []string // each must appear in the server's line, its fix line
	}{
		{"good", good, 1, []string{"✓", "8 LoRAs"}, nil},
		{"down", down, 2, []string{"✗", "not answering", "connection refused"}, []string{"start A1111", "A1111_URL"}},
		{"hung", hung[0], 3, []string{"✗", "did not answer", "within the check's 1s"}, []string{"frozen", "restart"}},
		{"no --api", noAPI, 4, []string{"✗", "without --api"}, []string{"--api", "COMMANDLINE_ARGS"}},
		{"hung", hung[1], 5, []string{"✗", "did not answer"}, []string{"frozen"}},
	} {
		line, fix := serverLines(out, tc.sd.Addr())
		if line == "" {
			t.Errorf("no line names the %s server %s:\n%s", tc.name, tc.sd.Addr(), out)
			continue
		}
		for _, w := range append(tc.line, fmt.Sprintf("entry %d:", tc.entry)) {
			if !strings.Contains(line, w) {
				t.Errorf("the %s server's line should say %q: %q", tc.name, w, line)
			}
		}
		for _, w := range tc.fix {
			if !strings.Contains(fix, w) {
				t.Errorf("the %s server's fix should say %q: %q\n%s", tc.name, w, fix, out)
			}
		}
		if tc.name == "good" {
			if fix != "" || strings.Contains(err.Error(), tc.sd.Addr()) {
				t.Errorf("the good server is reported as failing:\n%s\nerror: %v", out, err)
			}
		} else if !strings.Contains(err.Error(), tc.sd.Addr()) {
			t.Errorf("the error should name the failing %s server %s: %v", tc.name, tc.sd.Addr(), err)
		}
	}
	// A1111_URL's order, whatever order the checks ended in.
	var order []string
	for l := range strings.SplitSeq(out, "\n") {
		if i := strings.Index(l, "entry "); i >= 0 {
			order = append(order, l[i:i+len("entry 1")])
		}
	}
	if got := strings.Join(order, ","); got != "entry 1,entry 2,entry 3,entry 4,entry 5" {
		t.Errorf("server lines out of A1111_URL's order (%s):\n%s", got, out)
	}
	if !strings.Contains(out, "✓ Discord") {
		t.Errorf("Discord should still be checked:\n%s", out)
	}
	if strings.Contains(out, "All good") {
		t.Errorf("a failed check must not claim success:\n%s", out)
	}
}

package app_test

import (
	"bytes"
	"context"
	"fmt"
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
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	err := app.Check(ctx, e.cfg, &out)
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
		{"A1111 without --api", func(e *checkEnv) { e.sd.SetMode(a1111test.ModeNoAPI) }, []string{"--api", "COMMANDLINE_ARGS"}},
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

package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(map[string]string{"DISCORD_TOKEN": "abc.def"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DiscordAPIURL != DefaultDiscordAPIURL || c.DBPath != "data/bot.db" || c.MaxQueuePerUser != 3 || c.A1111Timeout != 10*time.Minute {
		t.Fatalf("defaults not applied: %+v", c)
	}
	if len(c.A1111URLs) != 1 || c.A1111URLs[0] != DefaultA1111URL {
		t.Fatalf("A1111 default: %v", c.A1111URLs)
	}
	if !c.Civitai || c.CivitaiAPIURL != DefaultCivitaiAPIURL || c.CivitaiAPIKey != "" {
		t.Fatalf("Civitai lookups are on by default at %s: %+v", DefaultCivitaiAPIURL, c)
	}
}

func TestLoadCivitai(t *testing.T) {
	c, err := Load(env(map[string]string{"DISCORD_TOKEN": "x", "CIVITAI": "OFF", "CIVITAI_API_URL": "http://127.0.0.1:9/api/v1", "CIVITAI_API_KEY": "k"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Civitai || c.CivitaiAPIURL != "http://127.0.0.1:9/api/v1/" || c.CivitaiAPIKey != "k" {
		t.Errorf("CIVITAI=off and a test URL: %+v", c)
	}
}

func TestLoadSeveralBackendsAndAPIURL(t *testing.T) {
	c, err := Load(env(map[string]string{
		"DISCORD_TOKEN":   "Bot abc",
		"A1111_URL":       "http://a:1, http://u:p@b:2 ",
		"DISCORD_API_URL": "http://127.0.0.1:9/api/v10",
		"A1111_TIMEOUT":   "90s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DiscordToken != "abc" {
		t.Errorf("a pasted 'Bot ' prefix should be dropped, got %q", c.DiscordToken)
	}
	if len(c.A1111URLs) != 2 || c.A1111URLs[1] != "http://u:p@b:2" {
		t.Errorf("urls: %v", c.A1111URLs)
	}
	if c.DiscordAPIURL != "http://127.0.0.1:9/api/v10/" {
		t.Errorf("api url must end in /: %q", c.DiscordAPIURL)
	}
	if c.A1111Timeout != 90*time.Second {
		t.Errorf("timeout %v", c.A1111Timeout)
	}
}

func TestLoadNamesTheBadVariable(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		name string
	}{
		{map[string]string{}, "DISCORD_TOKEN"},
		{map[string]string{"DISCORD_TOKEN": "x", "A1111_TIMEOUT": "ten minutes"}, "A1111_TIMEOUT"},
		{map[string]string{"DISCORD_TOKEN": "x", "A1111_TIMEOUT": "-1s"}, "A1111_TIMEOUT"},
		{map[string]string{"DISCORD_TOKEN": "x", "A1111_URL": "127.0.0.1:7860"}, "A1111_URL"},
		{map[string]string{"DISCORD_TOKEN": "x", "A1111_URL": "ftp://u:secret@host"}, "A1111_URL"},
		{map[string]string{"DISCORD_TOKEN": "x", "DISCORD_API_URL": "discord"}, "DISCORD_API_URL"},
		{map[string]string{"DISCORD_TOKEN": "x", "MAX_QUEUE_PER_USER": "0"}, "MAX_QUEUE_PER_USER"},
		{map[string]string{"DISCORD_TOKEN": "x", "DISCORD_GUILD_ID": "my server"}, "DISCORD_GUILD_ID"},
		{map[string]string{"DISCORD_TOKEN": "x", "CIVITAI": "maybe"}, "CIVITAI"},
		{map[string]string{"DISCORD_TOKEN": "x", "CIVITAI_API_URL": "civitai.com"}, "CIVITAI_API_URL"},
		{map[string]string{"DISCORD_TOKEN": "x", "CIVITAI_API_KEY": "two words"}, "CIVITAI_API_KEY"},
		{map[string]string{"DISCORD_TOKEN": "x", "CIVITAI_API_URL": "http://civitai.example/api/v1/", "CIVITAI_API_KEY": "k"}, "CIVITAI_API_KEY"},
	} {
		_, err := Load(env(tc.env))
		if err == nil {
			t.Errorf("%v: want an error naming %s", tc.env, tc.name)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.name+": ") {
			t.Errorf("%v: error %q does not start with %s", tc.env, err, tc.name)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("error leaks a password: %q", err)
		}
		if strings.Count(err.Error(), "\n") > 0 {
			t.Errorf("error should be one line: %q", err)
		}
	}
}

func TestRedactHidesPasswords(t *testing.T) {
	for _, in := range []string{"http://bob:s3cret@127.0.0.1:7860/", "http://[bad:s3cret@x"} {
		if got := Redact(in); strings.Contains(got, "s3cret") {
			t.Errorf("Redact(%q) = %q", in, got)
		}
	}
}

func TestLoadChecksEveryA1111URLEntry(t *testing.T) {
	for _, tc := range []struct {
		list string
		want []string // all in the message
	}{
		{"http://a:1,,http://b:2", []string{"entry 2 is empty"}},
		{"http://a:1,http://b:2,", []string{"entry 3 is empty"}},
		{"http://a:1, ,http://b:2", []string{"entry 2 is empty"}},
		{",http://a:1", []string{"entry 1 is empty"}},
		{"http://a:1,http://a:1", []string{"entries 1 and 2", "same server"}},
		{"http://a:1,http://b:2,http://A:1/", []string{"entries 1 and 3", "same server", `"http://A:1/"`}},
		{"http://u:secret@a:1,http://b:2,http://v:secret2@a:1", []string{"entries 1 and 3", "same server"}},
		{"http://a,http://a:80", []string{"entries 1 and 2", "same server"}},
		{"https://a/sd/,https://a:443/sd", []string{"entries 1 and 2", "same server"}},
		{"http://a:1,127.0.0.1:7860", []string{"entry 2: ", `"127.0.0.1:7860" is not an http(s) URL`}},
		{"http://a:1,ftp://u:secret@host", []string{"entry 2: ", "is not an http(s) URL"}},
		{"http://a:1,http://u:secret@host:2/?x=1", []string{"entry 2: ", "query"}},
		{"127.0.0.1:7860", []string{`A1111_URL: "127.0.0.1:7860" is not an http(s) URL`}}, // one entry: no number
	} {
		_, err := Load(env(map[string]string{"DISCORD_TOKEN": "x", "A1111_URL": tc.list}))
		var ce *Error
		if !errors.As(err, &ce) || ce.Var != "A1111_URL" {
			t.Errorf("%q: want a *config.Error for A1111_URL, got %v", tc.list, err)
			continue
		}
		msg := err.Error()
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%q: message %q does not say %q", tc.list, msg, w)
			}
		}
		if strings.Contains(msg, "secret") || strings.Contains(msg, "cret@") {
			t.Errorf("%q: message leaks a password: %q", tc.list, msg)
		}
		if strings.Contains(msg, "\n") {
			t.Errorf("%q: message should be one line: %q", tc.list, msg)
		}
	}
}

func TestLoadAcceptsDistinctServers(t *testing.T) {
	// Same host, other port or path; same server through other credentials
	// is a duplicate, but these are not.
	list := "http://a:1, http://a:2, http://a:1/sd, https://a:1, http://b:1"
	c, err := Load(env(map[string]string{"DISCORD_TOKEN": "x", "A1111_URL": list}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.A1111URLs) != 5 || c.A1111URLs[2] != "http://a:1/sd" {
		t.Errorf("urls: %q", c.A1111URLs)
	}
}

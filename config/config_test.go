package config

import (
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
}

func TestLoadSeveralBackendsAndAPIURL(t *testing.T) {
	c, err := Load(env(map[string]string{
		"DISCORD_TOKEN":   "Bot abc",
		"A1111_URL":       "http://a:1, http://u:p@b:2 ,",
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

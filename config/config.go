// Package config reads the bot's settings from the environment. Names and
// defaults are the public interface (interface.md): keep them exactly.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"lorabot/a1111"
)

// Config is every setting, checked. A Config that Load returned without error
// is complete: nothing later needs to re-check it.
type Config struct {
	DiscordToken    string
	GuildID         string
	DiscordAPIURL   string   // ends with "/"
	A1111URLs       []string // at least one; may carry user:pass@
	A1111Timeout    time.Duration
	DBPath          string
	LoRADir         string
	MaxQueuePerUser int
}

// Defaults, as .env.example lists them.
const (
	DefaultDiscordAPIURL = "https://discord.com/api/v9/"
	DefaultA1111URL      = "http://127.0.0.1:7860"
	DefaultA1111Timeout  = 10 * time.Minute
	DefaultDBPath        = "data/bot.db"
	DefaultMaxQueue      = 3
)

// Error names the variable that is wrong and says how to fix it in one line.
// It never holds the token or a password.
type Error struct {
	Var string
	Msg string
}

func (e *Error) Error() string { return e.Var + ": " + e.Msg }

// Load reads the settings through getenv (os.Getenv in production).
func Load(getenv func(string) string) (Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		DiscordToken: strings.TrimSpace(getenv("DISCORD_TOKEN")),
		GuildID:      get("DISCORD_GUILD_ID", ""),
		DBPath:       get("DB_PATH", DefaultDBPath),
		LoRADir:      get("LORA_DIR", ""),
	}
	if c.DiscordToken == "" {
		return c, &Error{"DISCORD_TOKEN", "is not set; copy the bot token from the Discord developer portal (Bot → Reset Token) into .env"}
	}
	c.DiscordToken = strings.TrimPrefix(c.DiscordToken, "Bot ")
	if strings.ContainsAny(c.DiscordToken, " \t\r\n") {
		return c, &Error{"DISCORD_TOKEN", "contains spaces; paste the token alone"}
	}
	if c.GuildID != "" {
		if _, err := strconv.ParseUint(c.GuildID, 10, 64); err != nil {
			return c, &Error{"DISCORD_GUILD_ID", fmt.Sprintf("%q is not a server ID (a number; right-click the server with Developer Mode on → Copy Server ID)", c.GuildID)}
		}
	}

	api := get("DISCORD_API_URL", DefaultDiscordAPIURL)
	u, err := url.Parse(api)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, &Error{"DISCORD_API_URL", fmt.Sprintf("%q is not an http(s) URL like %s", Redact(api), DefaultDiscordAPIURL)}
	}
	if !strings.HasSuffix(api, "/") {
		api += "/"
	}
	c.DiscordAPIURL = api

	for _, raw := range strings.Split(get("A1111_URL", DefaultA1111URL), ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, &Error{"A1111_URL", fmt.Sprintf("%q is not an http(s) URL like %s", Redact(raw), DefaultA1111URL)}
		}
		// The client's own checks (an "@" outside user:pass, a query...),
		// so that nothing starts with a URL it would refuse.
		if _, err := a1111.New(raw, a1111.Options{}); err != nil {
			return c, &Error{"A1111_URL", userSentence(err)}
		}
		c.A1111URLs = append(c.A1111URLs, raw)
	}
	if len(c.A1111URLs) == 0 {
		return c, &Error{"A1111_URL", "holds no URL; set it to the address of A1111, e.g. " + DefaultA1111URL}
	}

	c.A1111Timeout = DefaultA1111Timeout
	if v := get("A1111_TIMEOUT", ""); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return c, &Error{"A1111_TIMEOUT", fmt.Sprintf("%q is not a positive duration like 10m or 90s", v)}
		}
		c.A1111Timeout = d
	}

	c.MaxQueuePerUser = DefaultMaxQueue
	if v := get("MAX_QUEUE_PER_USER", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return c, &Error{"MAX_QUEUE_PER_USER", fmt.Sprintf("%q is not a whole number from 1 to 100", v)}
		}
		c.MaxQueuePerUser = n
	}
	return c, nil
}

// Redact hides the user:pass of a URL for messages and logs: everything
// between "://" and the last "@", so a password holding "/", "?" or "#"
// stays hidden too.
func Redact(raw string) string {
	i := strings.LastIndex(raw, "@")
	if i < 0 {
		return raw
	}
	start := 0
	if j := strings.Index(raw, "://"); j >= 0 && j < i {
		start = j + 3
	}
	return raw[:start] + "***" + raw[i:]
}

func userSentence(err error) string {
	var ae *a1111.Error
	if errors.As(err, &ae) {
		return strings.TrimSuffix(ae.UserMessage(), ".")
	}
	return "is not a usable URL"
}

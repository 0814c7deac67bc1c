// Package config reads the bot's settings from the environment. Names and
// defaults are the public interface (interface.md): keep them exactly.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
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

	Civitai       bool   // CIVITAI: look LoRAs up on Civitai by hash
	CivitaiAPIURL string // ends with "/"
	CivitaiAPIKey string // optional; never logged

	MetricsAddr string     // METRICS_ADDR: host:port of /metrics, /healthz, /readyz; "" = off
	LogFormat   string     // LOG_FORMAT: "text" or "json"
	LogLevel    slog.Level // LOG_LEVEL
}

// Defaults, as .env.example lists them.
const (
	DefaultDiscordAPIURL = "https://discord.com/api/v9/"
	DefaultA1111URL      = "http://127.0.0.1:7860"
	DefaultA1111Timeout  = 10 * time.Minute
	DefaultDBPath        = "data/bot.db"
	DefaultMaxQueue      = 3
	DefaultCivitaiAPIURL = "https://civitai.com/api/v1/"
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

	urls, err := parseA1111URLs(get("A1111_URL", DefaultA1111URL))
	if err != nil {
		return c, err
	}
	c.A1111URLs = urls

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
	if err := loadCivitai(&c, get); err != nil {
		return c, err
	}
	return c, loadOps(get, &c)
}

// loadCivitai reads CIVITAI, CIVITAI_API_URL and CIVITAI_API_KEY.
func loadCivitai(c *Config, get func(name, def string) string) error {
	switch v := strings.ToLower(get("CIVITAI", "on")); v {
	case "on", "true", "1", "yes":
		c.Civitai = true
	case "off", "false", "0", "no":
	default:
		return &Error{"CIVITAI", fmt.Sprintf("%q is neither on nor off", v)}
	}
	api := get("CIVITAI_API_URL", DefaultCivitaiAPIURL)
	u, err := url.Parse(api)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return &Error{"CIVITAI_API_URL", fmt.Sprintf("%q is not an http(s) URL like %s", Redact(api), DefaultCivitaiAPIURL)}
	}
	if !strings.HasSuffix(api, "/") {
		api += "/"
	}
	c.CivitaiAPIURL = api
	c.CivitaiAPIKey = get("CIVITAI_API_KEY", "")
	if strings.ContainsAny(c.CivitaiAPIKey, " \t\r\n") {
		return &Error{"CIVITAI_API_KEY", "contains spaces; paste the key alone"}
	}
	if c.CivitaiAPIKey != "" && u.Scheme == "http" && !loopback(u.Hostname()) {
		return &Error{"CIVITAI_API_KEY", fmt.Sprintf("would be sent in clear text to %s; use an https CIVITAI_API_URL", u.Host)}
	}
	return nil
}

// loopback reports whether host is this machine (a test server), where a
// key sent over plain http goes nowhere.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parseA1111URLs checks A1111_URL's comma-separated list entry by entry. An
// empty entry is refused rather than skipped: "a,,b" or a trailing comma is
// most often a URL lost while editing, and a bot that silently runs on fewer
// servers than its operator listed is harder to notice than one that does
// not start. A server listed twice is refused too: the queue keeps one
// generation in flight per entry, so a duplicate would run two at once on
// one GPU and count one server twice in /status.
func parseA1111URLs(list string) ([]string, error) {
	entries := strings.Split(list, ",")
	// With one entry the message stays as it always was; with several it
	// says which one is wrong, counting from 1 as a person reads the list.
	where := func(n int) string {
		if len(entries) == 1 {
			return ""
		}
		return fmt.Sprintf("entry %d: ", n)
	}
	var urls []string
	seen := map[string]int{} // serverKey → entry number
	for i, raw := range entries {
		n := i + 1
		raw = strings.TrimSpace(raw)
		if raw == "" {
			return nil, &Error{"A1111_URL", fmt.Sprintf("entry %d is empty; remove the extra comma or put a URL like %s there", n, DefaultA1111URL)}
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, &Error{"A1111_URL", where(n) + fmt.Sprintf("%q is not an http(s) URL like %s", Redact(raw), DefaultA1111URL)}
		}
		// The client's own checks (an "@" outside user:pass, a query...),
		// so that nothing starts with a URL it would refuse.
		if _, err := a1111.New(raw, a1111.Options{}); err != nil {
			return nil, &Error{"A1111_URL", where(n) + userSentence(err)}
		}
		k := serverKey(u)
		if first, dup := seen[k]; dup {
			return nil, &Error{"A1111_URL", fmt.Sprintf("entries %d and %d are the same server (%q and %q); list each server once", first, n, Redact(strings.TrimSpace(entries[first-1])), Redact(raw))}
		}
		seen[k] = n
		urls = append(urls, raw)
	}
	return urls, nil
}

// serverKey is what makes two A1111_URL entries the same server: scheme,
// host in any case, port (the scheme's default when none is written) and
// path without a trailing slash. Credentials do not count: two logins to one
// server still share its one GPU.
func serverKey(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return u.Scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port) + strings.TrimRight(u.EscapedPath(), "/")
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

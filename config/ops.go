package config

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
)

// Defaults of the operator's settings.
const (
	DefaultLogFormat = "text"
	DefaultLogLevel  = slog.LevelInfo
)

// loadOps reads the settings of running the bot rather than of what it
// does: the metrics listener and the logs.
func loadOps(get func(name, def string) string, c *Config) error {
	c.MetricsAddr = get("METRICS_ADDR", "")
	if c.MetricsAddr != "" {
		if err := checkHostPort(c.MetricsAddr); err != nil {
			return &Error{"METRICS_ADDR", fmt.Sprintf("%q %s; write host:port like 127.0.0.1:9090 (or :9090 for every interface), or leave it empty for no metrics", c.MetricsAddr, err)}
		}
	}
	c.LogFormat = strings.ToLower(get("LOG_FORMAT", DefaultLogFormat))
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return &Error{"LOG_FORMAT", fmt.Sprintf("%q is not text or json", c.LogFormat)}
	}
	c.LogLevel = DefaultLogLevel
	if v := get("LOG_LEVEL", ""); v != "" {
		switch strings.ToLower(v) {
		case "debug":
			c.LogLevel = slog.LevelDebug
		case "info":
			c.LogLevel = slog.LevelInfo
		case "warn", "warning":
			c.LogLevel = slog.LevelWarn
		case "error":
			c.LogLevel = slog.LevelError
		default:
			return &Error{"LOG_LEVEL", fmt.Sprintf("%q is not debug, info, warn or error", v)}
		}
	}
	return nil
}

// checkHostPort says what is wrong with addr as a listening address, in
// words that follow the quoted value.
func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("is not host:port")
	}
	if strings.ContainsAny(host, "/@ ") {
		return fmt.Errorf("has %q for a host, which is not a host name or IP address", host)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("has %q for a port, which is not a number from 1 to 65535", port)
	}
	return nil
}

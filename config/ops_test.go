package config

import (
	"log/slog"
	"strings"
	"testing"
)

func TestOpsDefaults(t *testing.T) {
	c, err := Load(env(map[string]string{"DISCORD_TOKEN": "x"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.MetricsAddr != "" || c.LogFormat != "text" || c.LogLevel != slog.LevelInfo {
		t.Errorf("defaults: metrics %q, format %q, level %v; want off, text, info", c.MetricsAddr, c.LogFormat, c.LogLevel)
	}
}

func TestOpsRead(t *testing.T) {
	c, err := Load(env(map[string]string{"DISCORD_TOKEN": "x", "METRICS_ADDR": " 127.0.0.1:9090 ", "LOG_FORMAT": "JSON", "LOG_LEVEL": "debug"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.MetricsAddr != "127.0.0.1:9090" || c.LogFormat != "json" || c.LogLevel != slog.LevelDebug {
		t.Errorf("got metrics %q, format %q, level %v", c.MetricsAddr, c.LogFormat, c.LogLevel)
	}
	for v, want := range map[string]slog.Level{"info": slog.LevelInfo, "WARN": slog.LevelWarn, "error": slog.LevelError} {
		c, err := Load(env(map[string]string{"DISCORD_TOKEN": "x", "LOG_LEVEL": v}))
		if err != nil || c.LogLevel != want {
			t.Errorf("LOG_LEVEL=%s: level %v, err %v; want %v", v, c.LogLevel, err, want)
		}
	}
	for _, addr := range []string{":9090", "[::1]:9090", "metrics.local:80"} {
		if _, err := Load(env(map[string]string{"DISCORD_TOKEN": "x", "METRICS_ADDR": addr})); err != nil {
			t.Errorf("METRICS_ADDR=%s refused: %v", addr, err)
		}
	}
}

func TestOpsBadValuesNameTheVariable(t *testing.T) {
	for _, tc := range []struct{ name, value string }{
		{"METRICS_ADDR", "9090"},
		{"METRICS_ADDR", "http://127.0.0.1:9090"},
		{"METRICS_ADDR", "127.0.0.1:http"},
		{"METRICS_ADDR", "127.0.0.1:0"},
		{"METRICS_ADDR", "127.0.0.1:70000"},
		{"LOG_FORMAT", "yaml"},
		{"LOG_LEVEL", "verbose"},
		{"LOG_LEVEL", "5"},
	} {
		_, err := Load(env(map[string]string{"DISCORD_TOKEN": "x", tc.name: tc.value}))
		if err == nil {
			t.Errorf("%s=%s accepted", tc.name, tc.value)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, tc.name+": ") || !strings.Contains(msg, tc.value) || strings.Contains(msg, "\n") {
			t.Errorf("%s=%s: error %q should be one line naming the variable and quoting the value", tc.name, tc.value, msg)
		}
	}
}

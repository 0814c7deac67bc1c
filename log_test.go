package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"lorabot/config"
)

func TestLoggerFollowsFormatAndLevel(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(config.Config{LogFormat: "json", LogLevel: slog.LevelWarn}, &buf)
	log.Info("hidden below warn")
	log.Warn("shown", "job", "abc")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("LOG_LEVEL=warn: want the warning alone, got %q", buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("LOG_FORMAT=json wrote a line that is not JSON: %q (%v)", lines[0], err)
	}
	if rec["msg"] != "shown" || rec["job"] != "abc" || rec["level"] != "WARN" {
		t.Errorf("JSON line %v", rec)
	}

	buf.Reset()
	newLogger(config.Config{LogFormat: "text", LogLevel: slog.LevelDebug}, &buf).Debug("details", "job", "abc")
	if got := buf.String(); !strings.Contains(got, "level=DEBUG") || !strings.Contains(got, "job=abc") {
		t.Errorf("LOG_FORMAT=text LOG_LEVEL=debug wrote %q", got)
	}
}

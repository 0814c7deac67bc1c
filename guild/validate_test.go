package guild

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestValidateKeepsWhatAStoreMayHold(t *testing.T) {
	good := func() Settings {
		return Settings{GuildID: "1", Policy: Spoiler, Channels: []string{"200000000000000001"},
			Bounds:          Bounds{MaxSteps: 30, MaxWidth: 1024, MaxHeight: 768, MaxJobs: 1, Cooldown: MaxCooldown},
			DefaultNegative: strings.Repeat("n", MaxNegative),
			Banned:          []string{"dragon"},
			LoRAs:           map[string]LoRA{"x": {Triggers: []string{strings.Repeat("t", MaxTriggerLen)}}},
		}
	}
	if err := good().Validate(); err != nil {
		t.Fatalf("settings at the limits: %v", err)
	}
	if err := (Settings{}).Validate(); err != nil {
		t.Fatalf("empty settings: %v", err)
	}
	for name, spoil := range map[string]func(*Settings){
		"policy":         func(s *Settings) { s.Policy = "maybe" },
		"channel name":   func(s *Settings) { s.Channels = []string{"#general"} },
		"too many chans": func(s *Settings) { s.Channels = make([]string, MaxChannels+1) },
		"negative bound": func(s *Settings) { s.Bounds.MaxJobs = -1 },
		"half a size":    func(s *Settings) { s.Bounds.MaxHeight = 0 },
		"long cooldown":  func(s *Settings) { s.Bounds.Cooldown = MaxCooldown + time.Second },
		"long negative":  func(s *Settings) { s.DefaultNegative += "n" },
		"empty ban":      func(s *Settings) { s.Banned = append(s.Banned, "") },
		"long ban":       func(s *Settings) { s.Banned = []string{strings.Repeat("b", MaxBannedLen+1)} },
		"too many bans":  func(s *Settings) { s.Banned = make([]string, MaxBanned+1) },
		"long triggers":  func(s *Settings) { s.LoRAs["x"] = LoRA{Triggers: []string{strings.Repeat("t", MaxTriggerLen), "u"}} },
	} {
		s := good()
		spoil(&s)
		var e *Error
		if err := s.Validate(); !errors.As(err, &e) || e.UserMessage() == "" || strings.Contains(e.Msg, "\n") {
			t.Errorf("%s: Validate = %v, want one sentence in an *Error", name, err)
		}
	}
}

func TestIsSnowflake(t *testing.T) {
	for id, want := range map[string]bool{
		"1": true, "100000000000000001": true, strings.Repeat("9", 20): true,
		"": false, strings.Repeat("9", 21): false, "12a": false, "-1": false, " 1": false, "defaults": false,
	} {
		if got := IsSnowflake(id); got != want {
			t.Errorf("IsSnowflake(%q) = %v", id, got)
		}
	}
}

func TestBanNormalisesAndCounts(t *testing.T) {
	var s Settings
	if err := s.Ban("  Sea   DRAGON "); err != nil || s.Banned[0] != "sea dragon" {
		t.Fatalf("Ban: %v %q", err, s.Banned)
	}
	if err := s.Ban("sea dragon"); err == nil {
		t.Error("a word banned twice")
	}
	for i := len(s.Banned); i < MaxBanned; i++ {
		if err := s.Ban("w" + strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Ban("one more"); err == nil || !strings.Contains(err.Error(), strconv.Itoa(MaxBanned)) {
		t.Errorf("the %dth ban: %v", MaxBanned+1, err)
	}
	if !s.Unban("SEA dragon") || s.Unban("sea dragon") {
		t.Error("Unban should lift the ban once, ignoring case and spaces")
	}
}

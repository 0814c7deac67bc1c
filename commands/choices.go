package commands

import (
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"lorabot/bot"
	"lorabot/gen"
	"lorabot/imagine"
	"lorabot/lora"
)

func choice(name, value string) *discordgo.ApplicationCommandOptionChoice {
	return &discordgo.ApplicationCommandOptionChoice{Name: clip(name, bot.MaxChoiceLen), Value: clip(value, bot.MaxChoiceLen)}
}

// clip shortens s to n characters, ending in "…" when cut. Discord counts
// characters, not bytes.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// loraChoices are the LoRAs for what the user typed. prefer ranks a family
// first among equal matches; model, when known (the checkpoint picked, else
// the one loaded), puts its family's LoRAs first and marks the others
// (lora.ForModel).
func loraChoices(idx *lora.Index, typed string, prefer, model lora.Family) []*discordgo.ApplicationCommandOptionChoice {
	if model != lora.FamilyUnknown {
		prefer = model
	}
	found := idx.Search(typed, lora.SearchOptions{Limit: bot.MaxChoices, Prefer: prefer})
	familyOf := func(c lora.Choice) lora.Family {
		l, _ := idx.Lookup(c.Value)
		return l.Family
	}
	// A name typed in full stays first, whatever its family: the user
	// means it (and reads the warning).
	pinned := 0
	if len(found) > 0 {
		if l, ok := idx.Lookup(found[0].Value); ok && (strings.EqualFold(l.Name, strings.TrimSpace(typed)) || strings.EqualFold(l.Alias, strings.TrimSpace(typed))) {
			pinned = 1
		}
	}
	found = append(lora.ForModel(found[:pinned], model, familyOf), lora.ForModel(found[pinned:], model, familyOf)...)
	out := make([]*discordgo.ApplicationCommandOptionChoice, 0, len(found))
	for _, f := range found {
		// Search and ForModel keep both within 100 characters and the
		// value resolvable.
		out = append(out, &discordgo.ApplicationCommandOptionChoice{Name: f.Name, Value: f.Value})
	}
	return out
}

func presetChoices(store gen.PresetStore, user, typed string) []*discordgo.ApplicationCommandOptionChoice {
	all, err := store.Presets(user)
	if err != nil {
		slog.Error("preset autocomplete: could not read presets", "user", user, "err", err)
		return nil
	}
	var out []*discordgo.ApplicationCommandOptionChoice
	for _, p := range gen.MatchPresets(all, typed, bot.MaxChoices) {
		out = append(out, choice(p.Name, p.Name))
	}
	return out
}

func checkpointChoices(s *imagine.Servers, typed string) []*discordgo.ApplicationCommandOptionChoice {
	q := strings.ToLower(strings.TrimSpace(typed))
	var first, rest []*discordgo.ApplicationCommandOptionChoice
	for _, m := range s.Checkpoints() {
		t := strings.ToLower(m.Title)
		// A value cut short would not resolve: long titles (sub-folders,
		// hash) go by their model name, which ResolveCheckpoint also takes.
		value := m.Title
		if utf8.RuneCountInString(value) > bot.MaxChoiceLen {
			value = m.ModelName
		}
		c := choice(m.Title+" · "+gen.CheckpointFamily(m.Title).String(), value)
		switch {
		case q == "" || strings.HasPrefix(t, q) || strings.HasPrefix(strings.ToLower(m.ModelName), q):
			first = append(first, c)
		case strings.Contains(t, q):
			rest = append(rest, c)
		}
	}
	return limit(append(first, rest...))
}

func samplerChoices(s *imagine.Servers, typed string) []*discordgo.ApplicationCommandOptionChoice {
	q := strings.ToLower(strings.TrimSpace(typed))
	var first, rest []*discordgo.ApplicationCommandOptionChoice
	samplers := s.Samplers()
	for _, sm := range samplers {
		n := strings.ToLower(sm.Name)
		c := choice(sm.Name, sm.Name)
		switch {
		case q == "" || strings.HasPrefix(n, q):
			first = append(first, c)
		case strings.Contains(n, q):
			rest = append(rest, c)
		}
	}
	// With schedulers (A1111 1.9+), "DPM++ 2M Karras" is a sampler and a
	// scheduler; offer the popular pairs when the user types one.
	if q != "" {
		for _, sc := range s.Schedulers() {
			for _, sm := range samplers {
				full := sm.Name + " " + sc.Label
				if sc.Label != "" && strings.HasPrefix(strings.ToLower(full), q) && len(first) < bot.MaxChoices {
					first = append(first, choice(full, full))
				}
			}
		}
	}
	return limit(append(first, rest...))
}

func sizeChoices(f lora.Family, typed string) []*discordgo.ApplicationCommandOptionChoice {
	q := strings.ToLower(strings.TrimSpace(typed))
	var out []*discordgo.ApplicationCommandOptionChoice
	for i, sz := range gen.SizesFor(f) {
		v := sz.String()
		if q != "" && !strings.HasPrefix(v, q) {
			continue
		}
		name := v + " · " + orientation(sz)
		if i == 0 && f != lora.FamilyUnknown {
			name += " · native for " + f.String()
		}
		out = append(out, choice(name, v))
	}
	if len(out) == 0 {
		if sz, err := gen.ParseSize(typed); err == nil {
			out = append(out, choice(sz.String(), sz.String()))
		}
	}
	return out
}

func orientation(s gen.Size) string {
	switch {
	case s.Width > s.Height:
		return "landscape"
	case s.Width < s.Height:
		return "portrait"
	}
	return "square"
}

func limit(c []*discordgo.ApplicationCommandOptionChoice) []*discordgo.ApplicationCommandOptionChoice {
	if len(c) > bot.MaxChoices {
		return c[:bot.MaxChoices]
	}
	return c
}

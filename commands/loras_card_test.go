package commands

import "testing"

// Civitai's text shows as written: its markdown does nothing on the card.
func TestEscapeMarkdown(t *testing.T) {
	for in, want := range map[string]string{
		"[Free download](https://evil.example)": `\[Free download\]\(https://evil.example\)`,
		"||spoiler|| **bold** `code` # title":   `\|\|spoiler\|\| \*\*bold\*\* ` + "\\`code\\`" + ` \# title`,
		"plain words, 1.5":                      "plain words, 1.5",
	} {
		if got := escapeMarkdown(in); got != want {
			t.Errorf("escapeMarkdown(%q) = %q, want %q", in, got, want)
		}
	}
}

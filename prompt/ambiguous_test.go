package prompt

import (
	"strings"
	"testing"

	"lorabot/lora"
)

// Two LoRAs may share an alias (ss_output_name): both exist, so the user
// must be told to pick one, not that neither exists.
func TestSharedAliasAsksToPickOne(t *testing.T) {
	idx := lora.NewIndex([]lora.LoRA{
		{Name: "style_a_v1", Alias: "Style"},
		{Name: "style_b_v2", Alias: "Style"},
	})
	_, err := Build(idx, Input{Prompt: "a cat", LoRAs: []Choice{{Value: "Style"}}})
	if err == nil {
		t.Fatal("an alias shared by two LoRAs must not pick one silently")
	}
	msg := err.Error()
	if strings.Contains(msg, "No LoRA") || !strings.Contains(msg, "style_a_v1") || !strings.Contains(msg, "style_b_v2") || !strings.Contains(msg, "file name") {
		t.Errorf("want a sentence naming both and asking for the file name, got %q", msg)
	}
	r, err := Build(idx, Input{Prompt: "a cat", LoRAs: []Choice{{Value: "style_b_v2"}}})
	if err != nil || !strings.HasSuffix(r.Text, "<lora:style_b_v2:1>") {
		t.Errorf("the file name picks one: %q %v", r.Text, err)
	}
}

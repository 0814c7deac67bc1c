package commands

import (
	"strings"
	"testing"
)

func TestResultNotes(t *testing.T) {
	if got := resultNotes(nil, nil); got != "" {
		t.Errorf("nothing to say: %q", got)
	}
	got := resultNotes([]string{"The LoRA a is made for SD1, but the checkpoint is SDXL: it may do nothing or spoil the image."}, []string{"add_detail"})
	if !strings.Contains(got, "\n⚠️ The LoRA a is made for SD1") {
		t.Errorf("warning missing: %q", got)
	}
	if !strings.Contains(got, "did not apply the LoRA `add_detail`: ") || !strings.HasSuffix(got, "leaves it out.") {
		t.Errorf("not-loaded sentence: %q", got)
	}
	got = resultNotes(nil, []string{"a", "b", "c"})
	if !strings.Contains(got, "the LoRAs `a`, `b` and `c`: ") || !strings.HasSuffix(got, "leaves them out.") || strings.Count(got, "\n") != 1 {
		t.Errorf("several: %q", got)
	}
}

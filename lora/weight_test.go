package lora

import "testing"

func TestFormatWeightIsShort(t *testing.T) {
	for w, want := range map[float64]string{
		0.7: "0.7", 1: "1", 1.25: "1.25", 0.125: "0.125", -0.5: "-0.5", 2: "2",
		0.1 + 0.2: "0.3", -0.0001: "0", 1.23456: "1.235",
	} {
		if got := FormatWeight(w); got != want {
			t.Errorf("FormatWeight(%v) = %q, want %q", w, got, want)
		}
	}
}

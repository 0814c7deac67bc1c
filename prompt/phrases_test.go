package prompt

import "testing"

func TestJoinSkipsPhrasesAlreadyThere(t *testing.T) {
	tests := []struct{ text, extra, want string }{
		{"", "nsfw, nude", "nsfw, nude"},
		{"blurry", "", "blurry"},
		{"blurry, ", "nsfw, nude", "blurry, nsfw, nude"},
		{"NSFW, blurry", "nsfw, nude", "NSFW, blurry, nude"},
		{"nudes", "nude", "nudes, nude"}, // a whole phrase, not a part of a word
		{"lowres", "nsfw, nsfw, , lowres", "lowres, nsfw"},
	}
	for _, tt := range tests {
		if got := Join(tt.text, tt.extra); got != tt.want {
			t.Errorf("Join(%q, %q) = %q, want %q", tt.text, tt.extra, got, tt.want)
		}
	}
}

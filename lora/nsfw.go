package lora

import (
	"strings"
	"unicode"
)

// explicitWords mark a training caption as sexual or nude. A tag counts as
// explicit when one of its words is one of these ("completely_nude",
// "nsfw", "large nipples"), so the list stays short and still catches the
// usual booru and caption spellings. It is deliberately about nudity and
// sex only: violence or gore is for an admin's mark or a server's banned
// words.
var explicitWords = map[string]bool{
	"nsfw": true, "nude": true, "nudity": true, "naked": true, "explicit": true,
	"sex": true, "porn": true, "pornographic": true, "hentai": true, "uncensored": true,
	"nipples": true, "nipple": true, "areola": true, "areolae": true, "pussy": true,
	"vagina": true, "penis": true, "genitals": true, "topless": true, "bottomless": true,
	"cum": true, "erection": true, "masturbation": true,
}

// ExplicitShare is the share of a LoRA's training images with an explicit
// tag above which its metadata marks it NSFW.
const ExplicitShare = 0.2

// IsExplicitTag reports whether a training tag (or a modelspec.tags entry)
// is explicit: one of its words, ignoring case, '_' and '-', is on the
// explicit list.
func IsExplicitTag(tag string) bool {
	for _, w := range strings.FieldsFunc(strings.ToLower(tag), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	}) {
		if explicitWords[w] {
			return true
		}
	}
	return false
}

// metaNSFW is the metadata's verdict on a LoRA; an admin's mark (Override)
// wins over it. The rule, in order:
//
//   - modelspec.tags (comma-separated) lists an explicit tag: NSFW;
//   - else ss_tag_frequency: more than ExplicitShare of the training images
//     carry an explicit tag, or an explicit tag is the most frequent one
//     (see topTag). The counts are per image, so a dataset's images are
//     estimated by its most frequent tag (the trigger tag every caption
//     has), and its explicit images by its most frequent explicit tag (an
//     image with several explicit tags is one image). Shares of summed
//     counts would read a LoRA with half its images nude and twenty tags a
//     caption as 5 % explicit.
//
// A LoRA without metadata (a .pt file, a stripped safetensors) is not NSFW
// by this rule; only an admin can mark it.
func metaNSFW(specTags string, freq map[string]map[string]int) bool {
	for _, t := range SplitTriggers(specTags) {
		if IsExplicitTag(t) {
			return true
		}
	}
	if top := topTag(freq); top != "" && IsExplicitTag(top) {
		return true
	}
	images, explicit := 0, 0
	for _, tags := range freq {
		most, mostExplicit := 0, 0
		for t, n := range tags {
			if n <= 0 {
				continue
			}
			most = max(most, n)
			if IsExplicitTag(t) {
				mostExplicit = max(mostExplicit, n)
			}
		}
		images += most
		explicit += mostExplicit
	}
	return images > 0 && float64(explicit) > ExplicitShare*float64(images)
}

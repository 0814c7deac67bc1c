// Package lora is the bot's knowledge of the LoRA catalog: which LoRAs exist,
// their base-model family, trigger words, preferred weight and whether they
// make age-restricted images (NSFW, see metaNSFW), and how a person's typed
// text finds one. It knows nothing of Discord or HTTP.
//
// The catalog and its Index are shared by every Discord server; what one
// server's admins set for a LoRA (Override) is laid over them per request
// through an Overlay, the first source of trigger words and weight there.
package lora

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Family is the base-model family a LoRA was trained for. A LoRA only works
// well on a checkpoint of the same family.
type Family uint8

const (
	FamilyUnknown Family = iota
	FamilySD1
	FamilySD2
	FamilySDXL // SDXL and its derivatives: Pony, Illustrious, NoobAI
	FamilyFlux // Flux.1 (dev, schnell)
	FamilySD3  // Stable Diffusion 3 / 3.5

	familyCount // the number of families, FamilyUnknown included
)

func (f Family) String() string {
	switch f {
	case FamilySD1:
		return "SD1"
	case FamilySD2:
		return "SD2"
	case FamilySDXL:
		return "SDXL"
	case FamilyFlux:
		return "Flux"
	case FamilySD3:
		return "SD3"
	}
	return "unknown"
}

// LoRA is one catalog entry, reduced to what the bot needs.
type LoRA struct {
	Name   string // file stem; the NAME of <lora:NAME:WEIGHT>
	Alias  string // ss_output_name, or Name
	Family Family // base-model family
	// Triggers are the trigger words in interface.md's precedence, as far
	// as the catalog knows them: a server's own (Override) come first and
	// are laid over per request. Empty when none is known.
	Triggers        []string
	PreferredWeight float64 // 0 when unset: the bot then uses 1
	// NSFW: the LoRA makes age-restricted images, by its training metadata
	// (see metaNSFW) or a server admin's mark (Override), which wins.
	NSFW      bool
	Title     string // modelspec.title when present
	BaseModel string // ss_sd_model_name when present, e.g. "v1-5-pruned-emaonly.safetensors"
	// Servers has bit i set when backend i (the catalog's i-th source) lists
	// this LoRA. 0 means every backend: one backend, or more than 64.
	Servers uint64
	// Hash is the LoRA's hash as looked up on Civitai: sshs_model_hash,
	// else its file's SHA-256 once hashed; "" when neither is known.
	Hash string
	// Civitai is what Civitai says of the LoRA; zero until looked up.
	Civitai Remote
}

// OnServer reports whether backend i has the LoRA.
func (l LoRA) OnServer(i int) bool { return l.Servers == 0 || (i < 64 && l.Servers&(1<<i) != 0) }

// Weight is the weight to use when the user gave none.
func (l LoRA) Weight() float64 {
	if l.PreferredWeight != 0 {
		return l.PreferredWeight
	}
	return 1
}

// Tag is what a person would type in A1111 for this LoRA at weight w.
func (l LoRA) Tag(w float64) string {
	return fmt.Sprintf("<lora:%s:%s>", l.Name, FormatWeight(w))
}

// FormatWeight writes a weight short: 0.7, 1, 1.25, 0.125, -0.5. Three
// decimals are kept, finer than anyone tunes a LoRA.
func FormatWeight(w float64) string {
	s := strconv.FormatFloat(math.Round(w*1000)/1000, 'f', -1, 64)
	if s == "-0" {
		s = "0"
	}
	return s
}

// NotFoundError says that a typed LoRA name matched no single LoRA.
// Suggestions are the closest names, best first, for the user to pick from.
//
// When Ambiguous is set the text did match, but several LoRAs equally well
// (an alias shared by several files, or names differing only in case), and
// Suggestions lists exactly those candidates. Nothing should be generated
// then either: guessing would silently pick a LoRA the user did not mean.
type NotFoundError struct {
	Query       string
	Suggestions []string
	Ambiguous   bool
}

// UserMessage is the sentence to show the user: the whole message.
func (e *NotFoundError) UserMessage() string { return e.Error() }

func (e *NotFoundError) Error() string {
	if e.Ambiguous {
		return fmt.Sprintf("Several LoRAs match %q: %s. Pick one by its file name.", e.Query, strings.Join(e.Suggestions, ", "))
	}
	if len(e.Suggestions) == 0 {
		return fmt.Sprintf("No LoRA is called %q.", e.Query)
	}
	return fmt.Sprintf("No LoRA is called %q. Closest: %s.", e.Query, strings.Join(e.Suggestions, ", "))
}

// Resolver finds the one LoRA a user meant by a value: an autocomplete value,
// a file name, an alias, or any of those in another case. It returns a
// *NotFoundError with suggestions when nothing matches, and one with
// Ambiguous set when several LoRAs match equally well.
type Resolver interface {
	Resolve(value string) (LoRA, error)
}

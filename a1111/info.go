package a1111

import (
	"encoding/json"
	"slices"
	"strings"
)

// ParseInfo parses the "info" string of a txt2img answer. It never fails: an
// empty string, garbage or a field of an unexpected type leaves the affected
// fields zero (koboldcpp sends "", forks add and drop fields). LoraHashes is
// filled from extra_generation_params["Lora hashes"].
func ParseInfo(s string) Info {
	var info Info
	s = strings.TrimSpace(s)
	if s == "" || s[0] != '{' {
		return info
	}
	if err := json.Unmarshal([]byte(s), &info); err != nil {
		// A type mismatch leaves the other fields decoded; keep them. Only
		// a syntax error means nothing can be trusted.
		if _, ok := err.(*json.SyntaxError); ok {
			return Info{}
		}
	}
	if v, ok := info.ExtraGenerationParams["Lora hashes"].(string); ok {
		info.LoraHashes = ParseLoraHashes(v)
	}
	return info
}

// ParseLoraHashes reads A1111's "Lora hashes" value, "name: hash, name2:
// hash2" (possibly quoted, as in an infotext). A1111 strips ':' and ',' from
// the names it writes there, so both separators are unambiguous. Entries
// without a colon are skipped. It returns nil when nothing is found.
func ParseLoraHashes(s string) map[string]string {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, `"`), `"`)
	var out map[string]string
	for part := range strings.SplitSeq(s, ",") {
		name, hash, ok := strings.Cut(part, ":")
		name, hash = strings.TrimSpace(name), strings.TrimSpace(hash)
		if !ok || name == "" {
			continue
		}
		if out == nil {
			out = make(map[string]string)
		}
		out[name] = hash
	}
	return out
}

// ParseLoraHashNames reads the names out of A1111's "Lora hashes" value
// ("name: hash, name2: hash2", possibly quoted), in order, without
// duplicates. A1111 and Forge write there the name as the prompt typed it
// (file stem or alias) with ':' and ',' removed, so both separators are
// unambiguous; entries without a colon are skipped.
func ParseLoraHashNames(s string) []string {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, `"`), `"`)
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		name, _, ok := strings.Cut(part, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || slices.Contains(out, name) {
			continue
		}
		out = append(out, name)
	}
	return out
}

// LoadedLoRAs names the LoRAs the server says it applied to this
// generation, from extra_generation_params: A1111's and Forge's "Lora
// hashes" ("name: hash, …", names as typed in the prompt, ':' and ','
// removed), or SD.Next's "LoRA networks" ("name, …", its network names,
// whose "." are "_"; its "LoRA hashes" holds hashes alone). nil when the
// info names none.
//
// An absent name is a hint, not proof, that the LoRA did not load: A1111
// lists only LoRAs with a computed hash and nothing at all with
// lora_add_hashes_to_infotext off, and Forge, when one name of several is
// unknown, loads none of them (and lists none).
func (i Info) LoadedLoRAs() []string {
	if v, ok := i.ExtraGenerationParams["Lora hashes"].(string); ok {
		return ParseLoraHashNames(v)
	}
	v, ok := i.ExtraGenerationParams["LoRA networks"].(string)
	if !ok {
		return nil
	}
	var out []string
	for part := range strings.SplitSeq(v, ",") {
		if name := strings.TrimSpace(part); name != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// NotLoaded returns the names of asked (the <lora:NAME:…> names the prompt
// sent, as typed) that LoadedLoRAs does not list, in asked's order: the
// LoRAs that, by the server's own record, did not load. Names are compared
// as the server writes them (':' and ',' removed) and case-sensitively, as
// the servers match them. On SD.Next a name must be typed as it lists it
// ("." as "_"): it looks names up as typed, so "x.v2" does not load "x_v2".
// See LoadedLoRAs for why an entry here is a strong hint rather than proof.
func (i Info) NotLoaded(asked []string) []string {
	loaded := i.LoadedLoRAs()
	strip := strings.NewReplacer(":", "", ",", "")
	var out []string
	for _, name := range asked {
		if !slices.Contains(loaded, strings.TrimSpace(strip.Replace(name))) && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

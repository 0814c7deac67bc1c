package a1111

import (
	"encoding/json"
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

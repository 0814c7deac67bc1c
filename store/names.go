package store

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"lorabot/gen"
)

// maxUserLen bounds a user ID in bytes; Discord snowflakes have 20 digits at
// most, and bbolt keys must stay small.
const maxUserLen = 128

// maxSettingKeyLen bounds a setting key in bytes.
const maxSettingKeyLen = 512

// reservedName is the value of /preset default that clears the default, so
// no preset may carry it.
const reservedName = "none"

// cleanName returns the name as it will be stored (trimmed, the user's
// spelling) and its key (folded for case-insensitive uniqueness), or
// gen.ErrPresetName with the reason: empty, longer than
// gen.MaxPresetNameLen characters, "none" in any case, invalid UTF-8, or
// holding a control character.
func cleanName(name string) (clean string, key []byte, err error) {
	clean = strings.TrimSpace(name)
	switch n := utf8.RuneCountInString(clean); {
	case !utf8.ValidString(clean):
		return "", nil, fmt.Errorf("%w: not valid UTF-8", gen.ErrPresetName)
	case n == 0:
		return "", nil, fmt.Errorf("%w: empty", gen.ErrPresetName)
	case n > gen.MaxPresetNameLen:
		return "", nil, fmt.Errorf("%w: %d characters, at most %d", gen.ErrPresetName, n, gen.MaxPresetNameLen)
	case strings.EqualFold(clean, reservedName):
		return "", nil, fmt.Errorf("%w: %q is reserved to clear the default preset", gen.ErrPresetName, reservedName)
	case strings.IndexFunc(clean, isHiddenControl) >= 0:
		return "", nil, fmt.Errorf("%w: control characters", gen.ErrPresetName)
	}
	return clean, foldName(clean), nil
}

// isHiddenControl reports control characters and the bidirectional
// overrides that make a name display as something else. Other invisible
// format characters stay allowed: emoji sequences need the zero-width joiner.
func isHiddenControl(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}

// foldName is the key of a name: the same for every spelling that differs
// only in case or surrounding spaces.
func foldName(name string) []byte {
	return []byte(strings.ToLower(strings.TrimSpace(name)))
}

// lookupKey is the key to look a name up by, or nil when no preset can have
// that name (so the lookup is simply "not found").
func lookupKey(name string) []byte {
	_, key, err := cleanName(name)
	if err != nil {
		return nil
	}
	return key
}

func checkUser(user string) error {
	if user == "" || len(user) > maxUserLen {
		return fmt.Errorf("%w: %d bytes", ErrBadUser, len(user))
	}
	return nil
}

package gen

import "errors"

// Preset limits. Names are compared ignoring case; the user's spelling is kept.
const (
	MaxPresetsPerUser = 50
	MaxPresetNameLen  = 32 // characters
)

// Errors a PresetStore returns; callers test them with errors.Is and turn them
// into one sentence for the user.
var (
	ErrPresetNotFound = errors.New("preset not found")
	ErrPresetLimit    = errors.New("preset limit reached")
	ErrPresetName     = errors.New("invalid preset name")
	ErrShareNotFound  = errors.New("share code not found")
	ErrPresetExists   = errors.New("preset already exists")
	ErrResultNotFound = errors.New("result not found")
)

// ResultStore remembers the settings behind posted results, so that a
// result's "Save as preset" button still works after the bot restarted.
// Only recent results are kept.
type ResultStore interface {
	// SaveResult stores o (as a preset would keep it) under the job's ID.
	SaveResult(id string, o Options) error
	// Result returns what SaveResult stored, or ErrResultNotFound.
	Result(id string) (Options, error)
	// ForgetResult drops what SaveResult stored (the result was deleted);
	// a missing entry is no error.
	ForgetResult(id string) error
}

// PresetStore keeps each user's presets. Every method acts on the presets of
// the user it is given and no other: a user can neither read, use, replace
// nor delete another user's preset, whatever name they pass. user is the
// Discord user ID (a snowflake) but any non-empty string works.
type PresetStore interface {
	// SavePreset creates or replaces the user's preset of that name (ignoring
	// case; the new spelling is kept). The name is trimmed; it fails with
	// ErrPresetName for a name that is empty, longer than MaxPresetNameLen
	// characters, "none" in any case, or holds a control character, and with
	// ErrPresetLimit when creating one more than MaxPresetsPerUser (replacing
	// never does). The seed and the count are not saved.
	SavePreset(user string, p Preset) error
	// Presets lists the user's presets sorted by name, ignoring case.
	Presets(user string) ([]Preset, error)
	// Preset returns one of the user's presets, or ErrPresetNotFound.
	Preset(user, name string) (Preset, error)
	// DeletePreset removes one of the user's presets, or fails with
	// ErrPresetNotFound. A deleted default preset stops being the default.
	DeletePreset(user, name string) error
	// SetDefaultPreset makes name the preset /imagine applies when it names
	// none; "" or "none" clears it. The preset must exist (ErrPresetNotFound).
	SetDefaultPreset(user, name string) error
	// DefaultPreset returns the user's default preset; ok is false when none is set.
	DefaultPreset(user string) (p Preset, ok bool, err error)
	// SharePreset returns a short code that anyone can import. The code holds
	// a copy of the preset as it is now; the owner's preset stays theirs.
	SharePreset(user, name string) (code string, err error)
	// ImportPreset copies the shared preset into the user's presets under name
	// (the shared name when name is ""). It fails with ErrShareNotFound for an
	// unknown code and ErrPresetExists when the user already has that name,
	// and obeys SavePreset's rules.
	ImportPreset(user, code, name string) (Preset, error)
}

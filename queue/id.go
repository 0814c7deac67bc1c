package queue

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
)

// MaxIDLen is the longest job id: Submit generates ids this long at most
// and refuses a longer Job.ID, so an id fits in a Discord custom_id next to
// a verb.
const MaxIDLen = 20

// ValidID reports whether id has the form of a job id: 1 to MaxIDLen
// characters of [0-9a-z]. Submit generates such ids, and accepts a Job.ID
// only of this form, so a caller may keep an id it was given (say, to
// resume a job after a restart) and hand it back.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > MaxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < '0' || c > '9') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// newIDPrefix returns 6 random hex digits. Ids are prefix + a base-36
// counter: unique within a process by the counter, and unlikely to repeat
// across restarts by the prefix, so a Cancel button left over from a
// previous run does not hit a new job. At most 6+13 = 19 characters, all
// [0-9a-z], so an id fits in a Discord custom_id next to a verb.
func newIDPrefix() string {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand does not fail on supported platforms; a fixed prefix
		// only weakens the cross-restart guarantee.
		return "000000"
	}
	return hex.EncodeToString(b[:])
}

func formatID(prefix string, seq uint64) string {
	return prefix + strconv.FormatUint(seq, 36)
}

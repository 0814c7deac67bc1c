package queue

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
)

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

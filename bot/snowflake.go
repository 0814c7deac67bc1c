package bot

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// discordEpochMS is the first millisecond of 2015 (UTC), from which
// Discord's snowflakes count.
const discordEpochMS = 1420070400000

// SnowflakeTime is when Discord made the object an ID names: its top 42
// bits count milliseconds since 2015. ok is false for what is not a
// snowflake (a test's made-up ID).
func SnowflakeTime(id string) (t time.Time, ok bool) {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil || n>>22 == 0 {
		return time.Time{}, false
	}
	return time.UnixMilli(int64(n>>22) + discordEpochMS), true
}

// DiscordClock estimates how far Discord's clock is from this machine's,
// from the Date header of Discord's answers. An interaction's ID says when
// Discord made it, by Discord's clock; its 3-second and 15-minute deadlines
// run from then, so a machine whose clock is off by seconds would
// otherwise think every interaction too old to answer, or answer too late
// without knowing it.
//
// Date has one-second resolution, so each answer only bounds the offset:
// Discord stamped it at some moment between sending and receiving, and
// within the second it names. The bounds of all answers are intersected;
// an answer outside them means a clock was stepped, and starts afresh.
type DiscordClock struct {
	mu     sync.Mutex
	known  bool
	lo, hi time.Duration // Discord's clock minus ours lies in [lo, hi]
}

// Observe takes one answer's Date, stamped by Discord between sent and
// received (this machine's clock).
func (c *DiscordClock) Observe(date, sent, received time.Time) {
	if date.IsZero() || received.Before(sent) {
		return
	}
	lo := date.Sub(received)
	hi := date.Add(time.Second).Sub(sent)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.known || lo > c.hi || hi < c.lo {
		c.known, c.lo, c.hi = true, lo, hi
		return
	}
	c.lo, c.hi = max(c.lo, lo), min(c.hi, hi)
}

// observeHeader reads a response's Date header.
func (c *DiscordClock) observeHeader(h http.Header, sent, received time.Time) {
	if v := h.Get("Date"); v != "" {
		if d, err := http.ParseTime(v); err == nil {
			c.Observe(d, sent, received)
		}
	}
}

// Offset is Discord's clock minus this machine's (0 until an answer was
// seen), and the width of what the answers allow. Of what they allow, it
// is the offset nearest 0: clocks are usually kept in time, and a Date
// only proves otherwise when it could not have been stamped by an equal
// clock.
func (c *DiscordClock) Offset() (offset, uncertainty time.Duration) {
	if c == nil {
		return 0, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.known {
		return 0, 0
	}
	return min(max(0, c.lo), c.hi), c.hi - c.lo
}

// Local converts a time on Discord's clock (a snowflake's) to this
// machine's clock.
func (c *DiscordClock) Local(t time.Time) time.Time {
	off, _ := c.Offset()
	return t.Add(-off)
}

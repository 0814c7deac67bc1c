package queue

import (
	"slices"
	"sync"
	"time"
)

// Defaults for the Cooldowns fields left zero.
const (
	DefaultMaxCooldowns = 100_000
	DefaultCooldownAge  = time.Hour // guild.MaxCooldown
)

// Cooldowns keeps the least time between one key's jobs (a Discord server's
// cooldown, keyed by server and user): a job may be submitted only once the
// cooldown has passed since the key's previous one. The cooldown is the one
// in force when the next job comes, so an admin who shortens it frees
// everyone at once.
//
// It lives in memory only: a restart forgives the cooldowns running, which
// costs at most one early job per user. It forgets keys whose last job is
// older than MaxAge, and keeps at most Max keys, so it cannot grow with the
// number of users over time. Safe for concurrent use; the zero value is
// ready.
type Cooldowns struct {
	// Max bounds the keys kept; 0: DefaultMaxCooldowns. Beyond it, the keys
	// with the oldest jobs are forgotten first.
	Max int
	// MaxAge is the longest cooldown honoured: a key is forgotten once its
	// last job is this old. 0: DefaultCooldownAge.
	MaxAge time.Duration
	// Now is the clock; nil: time.Now. For tests.
	Now func() time.Time

	mu        sync.Mutex
	last      map[string]time.Time // when the key's last job was taken
	nextPrune int
}

// Take records a job of key's now when its cooldown d has passed since the
// key's last job; otherwise it records nothing and returns how long the key
// must still wait. undo takes the job back, for one refused after Take (by
// Submit): it restores what Take replaced, unless the key took another job
// since. d of 0 or less: no cooldown, nothing recorded.
func (c *Cooldowns) Take(key string, d time.Duration) (wait time.Duration, undo func()) {
	if d <= 0 {
		return 0, func() {}
	}
	d = min(d, c.maxAge())
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	prev, had := c.last[key]
	if had && now.Before(prev.Add(d)) {
		return prev.Add(d).Sub(now), func() {}
	}
	if c.last == nil {
		c.last = make(map[string]time.Time)
	}
	if len(c.last) >= min(max(c.nextPrune, 1024), c.limit()) {
		c.pruneLocked(now)
	}
	c.last[key] = now
	return 0, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if cur, ok := c.last[key]; !ok || !cur.Equal(now) {
			return
		}
		if had {
			c.last[key] = prev
		} else {
			delete(c.last, key)
		}
	}
}

// Len is how many keys are kept.
func (c *Cooldowns) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.last)
}

// pruneLocked forgets the keys older than MaxAge, then, beyond Max, those
// with the oldest jobs. The next prune waits until the map has doubled, so
// pruning costs O(1) per Take over time.
func (c *Cooldowns) pruneLocked(now time.Time) {
	age := c.maxAge()
	for k, t := range c.last {
		if now.Sub(t) >= age {
			delete(c.last, k)
		}
	}
	limit := c.limit()
	if len(c.last) >= limit {
		keys := make([]string, 0, len(c.last))
		for k := range c.last {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int { return c.last[a].Compare(c.last[b]) })
		for _, k := range keys[:len(keys)-limit*3/4] {
			delete(c.last, k)
		}
	}
	c.nextPrune = min(2*len(c.last), limit)
}

func (c *Cooldowns) limit() int {
	if c.Max > 0 {
		return c.Max
	}
	return DefaultMaxCooldowns
}

func (c *Cooldowns) maxAge() time.Duration {
	if c.MaxAge > 0 {
		return c.MaxAge
	}
	return DefaultCooldownAge
}

func (c *Cooldowns) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

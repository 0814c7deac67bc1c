package bot

import (
	"testing"
	"time"
)

// Discord's documentation's example: 175928847299117063 was made at
// 2016-04-30 11:18:25.796 UTC.
func TestSnowflakeTime(t *testing.T) {
	got, ok := SnowflakeTime("175928847299117063")
	if want := time.Date(2016, 4, 30, 11, 18, 25, 796e6, time.UTC); !ok || !got.Equal(want) {
		t.Errorf("SnowflakeTime = %v, %v; want %v", got, ok, want)
	}
	for _, id := range []string{"", "abc", "12", "-5"} {
		if _, ok := SnowflakeTime(id); ok {
			t.Errorf("%q read as a snowflake", id)
		}
	}
}

// The Date headers bound Discord's clock to within a second each; their
// intersection narrows the estimate, an equal clock reads 0, and a clock
// that was stepped starts the estimate afresh.
func TestDiscordClockFromDateHeaders(t *testing.T) {
	base := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var c DiscordClock
	if off, _ := c.Offset(); off != 0 {
		t.Errorf("offset %v before any answer, want 0", off)
	}
	// Discord 10 s ahead; answers 20 ms after the request, at several
	// moments within the second.
	const skew = 10 * time.Second
	for _, at := range []time.Duration{100, 350, 600, 990} {
		sent := base.Add(at * time.Millisecond)
		stamped := sent.Add(10 * time.Millisecond).Add(skew)
		c.Observe(stamped.Truncate(time.Second), sent, sent.Add(20*time.Millisecond))
	}
	off, within := c.Offset()
	if off < skew-100*time.Millisecond || off > skew+100*time.Millisecond || within > 500*time.Millisecond {
		t.Errorf("offset %v (±%v), want %v to within 100 ms", off, within, skew)
	}
	// The clocks agree: however wide the bounds, 0 lies in them.
	var same DiscordClock
	sent := base.Add(700 * time.Millisecond)
	same.Observe(sent.Truncate(time.Second), sent, sent.Add(5*time.Millisecond))
	if off, _ := same.Offset(); off != 0 {
		t.Errorf("equal clocks read %v apart", off)
	}
	// This machine's clock is stepped 5 s back: the old bounds no longer
	// hold, and the new answers rule.
	later := base.Add(time.Minute)
	c.Observe(later.Add(skew).Truncate(time.Second), later.Add(-5*time.Second), later.Add(-5*time.Second+20*time.Millisecond))
	if off, _ := c.Offset(); off < skew+4*time.Second || off > skew+6*time.Second {
		t.Errorf("after the step the offset reads %v, want about %v", off, skew+5*time.Second)
	}
}

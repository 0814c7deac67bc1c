package bot

import (
	"lorabot/internal/testkit"

	"context"
	"errors"
	"testing"
	"time"
)

// A 429 on one request of a route holds the next, whatever kind it is,
// for exactly its retry_after; a droppable one is not sent at all.
func TestLimiterHoldsTheRouteForRetryAfter(t *testing.T) {
	clk := testkit.NewClock()
	l := NewLimiter(clk)
	key := l.key("token", "a")
	expires := clk.Now().Add(TokenLifetime)
	r, err := l.acquire(context.Background(), key, expires, true)
	if err != nil {
		t.Fatal(err)
	}
	l.release(key, r, 1500*time.Millisecond) // the progress edit got a 429

	if _, err := l.acquire(context.Background(), key, expires, true); !errors.Is(err, ErrHeld) {
		t.Fatalf("a droppable request on a held route: %v, want ErrHeld", err)
	}
	got := make(chan error, 1)
	go func() {
		r, err := l.acquire(context.Background(), key, expires, false)
		if err == nil {
			l.release(key, r, 0)
		}
		got <- err
	}()
	if d := clk.WaitTimer(t); d != 1500*time.Millisecond {
		t.Errorf("the result waits %v, want the retry_after", d)
	}
	clk.Advance(1499 * time.Millisecond)
	select {
	case err := <-got:
		t.Fatalf("the result went before retry_after: %v", err)
	default:
	}
	clk.Advance(time.Millisecond)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if n := l.Len(); n != 0 {
		t.Errorf("%d entries once the hold passed and nothing is in flight, want 0", n)
	}
	// Another token is never held by this one's limit.
	other := l.key("token", "b")
	r, err = l.acquire(context.Background(), other, expires, true)
	if err != nil {
		t.Fatal(err)
	}
	l.release(other, r, 0)
}

// A wait that would outlast the request's context fails at once: at
// shutdown, a notice that cannot go in time goes to the channel instead.
func TestLimiterFailsFastPastTheDeadline(t *testing.T) {
	clk := testkit.NewClock()
	l := NewLimiter(clk)
	key := l.key("token", "a")
	r, _ := l.acquire(context.Background(), key, time.Time{}, false)
	l.release(key, r, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	began := time.Now()
	if _, err := l.acquire(ctx, key, time.Time{}, false); !errors.Is(err, ErrHeld) {
		t.Fatalf("got %v, want ErrHeld", err)
	}
	if took := time.Since(began); took > 500*time.Millisecond {
		t.Errorf("gave up after %v; it should not wait at all", took)
	}
}

// Requests of one route go one at a time, so a 429 on the first holds
// the second even when both were sent together.
func TestLimiterSendsOneRequestAtATimePerRoute(t *testing.T) {
	clk := testkit.NewClock()
	l := NewLimiter(clk)
	key := l.key("token", "a")
	first, _ := l.acquire(context.Background(), key, time.Time{}, false)
	got := make(chan error, 1)
	go func() {
		r, err := l.acquire(context.Background(), key, time.Time{}, false)
		if err == nil {
			l.release(key, r, 0)
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("a second request went while the first was in flight: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	l.release(key, first, 2*time.Second)
	if d := clk.WaitTimer(t); d != 2*time.Second {
		t.Errorf("the second waits %v, want the first's retry_after", d)
	}
	clk.Advance(2 * time.Second)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

// An entry held past its token's life is freed when the token expires:
// nothing can be sent on it then.
func TestLimiterForgetsEntriesWhenTheTokenExpires(t *testing.T) {
	clk := testkit.NewClock()
	l := NewLimiter(clk)
	for i := range 100 {
		key := l.key("token", string(rune('a'+i%26))+string(rune(i)))
		r, _ := l.acquire(context.Background(), key, clk.Now().Add(TokenLifetime), false)
		l.release(key, r, time.Hour)
	}
	if n := l.Len(); n != 100 {
		t.Fatalf("%d entries, want the 100 held ones", n)
	}
	clk.Advance(TokenLifetime - time.Second)
	if n := l.Len(); n != 100 {
		t.Fatalf("%d entries before the tokens expired, want 100", n)
	}
	clk.Advance(time.Second)
	if n := l.Len(); n != 0 {
		t.Errorf("%d entries after the tokens expired, want 0", n)
	}
}

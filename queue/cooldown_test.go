package queue

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestGroupLimitCountsOneUsersJobsInOneGroup(t *testing.T) {
	h := newHarness(t, Options{Backends: 1, MaxPerUser: 3})
	in := func(group, label string) (*probe, error) {
		return h.submitProbe(&probe{label: label, group: group, groupLimit: 1}, "a")
	}
	first, err := in("g1", "first")
	if err != nil {
		t.Fatal(err)
	}
	_, err = in("g1", "second")
	var le *LimitError
	if !errors.As(err, &le) || !errors.Is(err, ErrUserLimit) || le.Limit != 1 || le.Group != "g1" {
		t.Fatalf("a second job in g1: %v", err)
	}
	if le.Error() != "you already have 1 job queued or running here" {
		t.Errorf("message %q", le.Error())
	}
	// Another group, and another user in the same group, are not held back.
	other, err := in("g2", "other group")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := h.submitProbe(&probe{label: "bob", group: "g1", groupLimit: 1}, "b")
	if err != nil {
		t.Fatal(err)
	}
	// The bot-wide limit still applies on top.
	third, err := h.submitProbe(&probe{label: "third", group: "g3", groupLimit: 5}, "a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.submitProbe(&probe{label: "fourth", group: "g4", groupLimit: 5}, "a"); !errors.As(err, &le) || le.Group != "" || le.Limit != 3 {
		t.Fatalf("over MaxPerUser: %v", err)
	}
	// Once a's job in g1 ends, a may queue there again.
	recv(t, first.running, "first to run")
	first.release <- nil
	first.wantDone(t)
	again, err := in("g1", "again")
	if err != nil {
		t.Fatalf("after the first job ended: %v", err)
	}
	for p, user := range map[*probe]string{other: "a", bob: "b", third: "a", again: "a"} {
		if _, err := h.s.Cancel(p.id, user); err != nil {
			t.Fatal(err)
		}
		p.wantDone(t)
	}
}

func TestCooldowns(t *testing.T) {
	now := time.Unix(1000, 0)
	c := &Cooldowns{Now: func() time.Time { return now }}
	if wait, _ := c.Take("g/u", 10*time.Second); wait != 0 {
		t.Fatalf("first job waits %v", wait)
	}
	now = now.Add(3 * time.Second)
	if wait, _ := c.Take("g/u", 10*time.Second); wait != 7*time.Second {
		t.Fatalf("second job 3 s later waits %v, want 7s", wait)
	}
	if wait, _ := c.Take("g/v", 10*time.Second); wait != 0 {
		t.Fatalf("another user waits %v", wait)
	}
	if wait, _ := c.Take("g/u", 0); wait != 0 {
		t.Fatalf("no cooldown in another scope waits %v", wait)
	}
	now = now.Add(7 * time.Second)
	wait, undo := c.Take("g/u", 10*time.Second)
	if wait != 0 {
		t.Fatalf("after the cooldown: waits %v", wait)
	}
	// A job refused after Take gives its cooldown back.
	undo()
	if wait, _ := c.Take("g/u", 10*time.Second); wait != 0 {
		t.Fatalf("after undo: waits %v", wait)
	}
	// The cooldown in force when the next job comes counts.
	now = now.Add(2 * time.Second)
	if wait, _ := c.Take("g/u", time.Second); wait != 0 {
		t.Fatalf("a shortened cooldown that has passed: waits %v", wait)
	}
}

func TestCooldownsStayBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	c := &Cooldowns{Max: 100, Now: func() time.Time { return now }}
	// Every key's job is recent: only Max bounds them.
	for i := range 10_000 {
		now = now.Add(time.Millisecond)
		c.Take(fmt.Sprint("u", i), time.Hour)
		if c.Len() > 100 {
			t.Fatalf("%d keys kept, Max is 100", c.Len())
		}
	}
	// The newest cooldowns are the ones kept.
	if wait, _ := c.Take("u9999", time.Hour); wait == 0 {
		t.Error("the latest key lost its cooldown")
	}
	// Keys older than MaxAge are pruned as keys come.
	d := &Cooldowns{MaxAge: time.Minute, Now: func() time.Time { return now }}
	for i := range 5000 {
		now = now.Add(time.Second)
		d.Take(fmt.Sprint("u", i), time.Second)
	}
	if d.Len() > 1024 {
		t.Errorf("%d keys kept though all but the last minute's are past MaxAge", d.Len())
	}
}

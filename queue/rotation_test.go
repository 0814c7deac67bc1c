package queue

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// Positions come from simulating the line; they must match the order in
// which jobs actually leave it, whatever joined (at the back or the front)
// or left before.
func TestRotationPositionsMatchServingOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		r := newRotation()
		var live []*entry
		n := 0
		for range rng.IntN(40) {
			switch op := rng.IntN(10); {
			case op < 6:
				n++
				e := &entry{id: fmt.Sprint(n), job: Job{User: fmt.Sprint("u", rng.IntN(5))}}
				if op == 5 {
					r.pushFront(e) // a job back from a failed backend
				} else {
					r.push(e)
				}
				live = append(live, e)
			case op < 8 && len(live) > 0:
				i := rng.IntN(len(live))
				if !r.remove(live[i]) {
					t.Fatalf("trial %d: remove of a waiting job failed", trial)
				}
				live = slices.Delete(live, i, i+1)
			default:
				if e := r.pop(); e != nil {
					live = slices.DeleteFunc(live, func(x *entry) bool { return x == e })
				}
			}
		}
		var predicted []string
		r.each(func(e *entry, pos int) {
			if pos != len(predicted)+1 {
				t.Fatalf("trial %d: positions not consecutive", trial)
			}
			predicted = append(predicted, e.id)
		})
		if r.len() != len(live) || len(predicted) != len(live) {
			t.Fatalf("trial %d: len %d, each saw %d, %d live", trial, r.len(), len(predicted), len(live))
		}
		var served []string
		for e := r.pop(); e != nil; e = r.pop() {
			served = append(served, e.id)
		}
		if !slices.Equal(predicted, served) {
			t.Fatalf("trial %d: predicted %v, served %v", trial, predicted, served)
		}
	}
}

// A job pushed to the front is served next, before its user's other jobs,
// and a newcomer does not get ahead of it.
func TestRotationPushFront(t *testing.T) {
	r := newRotation()
	mk := func(id, user string) *entry { return &entry{id: id, job: Job{User: user}} }
	r.push(mk("a1", "a"))
	r.push(mk("a2", "a"))
	r.push(mk("b1", "b"))
	if e := r.pop(); e.id != "a1" {
		t.Fatalf("popped %s", e.id)
	}
	// Line: b1, a2 (a at the tail, served last). a1 comes back.
	r.pushFront(mk("a1", "a"))
	r.push(mk("c1", "c")) // a newcomer: after b, not before a
	var got []string
	for e := r.pop(); e != nil; e = r.pop() {
		got = append(got, e.id)
	}
	if want := []string{"a1", "b1", "c1", "a2"}; !slices.Equal(got, want) {
		t.Fatalf("served %v, want %v", got, want)
	}
}

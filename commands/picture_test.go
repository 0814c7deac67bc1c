package commands

import "testing"

// Queued jobs keep their pictures only within the budget; what is given
// back can be held again.
func TestHeldPicturesStayWithinTheBudget(t *testing.T) {
	before := heldPictures.Load()
	t.Cleanup(func() { heldPictures.Store(before) })
	heldPictures.Store(0)
	const tenMiB = 10 << 20
	n := 0
	for holdPicture(tenMiB) {
		n++
		if n > maxHeldPictures/tenMiB {
			t.Fatalf("held %d pictures of 10 MiB, beyond the %d MiB budget", n, maxHeldPictures>>20)
		}
	}
	if n != maxHeldPictures/tenMiB {
		t.Errorf("held %d pictures of 10 MiB, want %d", n, maxHeldPictures/tenMiB)
	}
	releasePicture(tenMiB)
	if !holdPicture(tenMiB) {
		t.Error("a released share could not be held again")
	}
}

package imagine

import (
	"context"
	"slices"
	"testing"
	"time"

	"lorabot/a1111"
	"lorabot/a1111/a1111test"
	"lorabot/gen"
)

func TestRequestNotLoadedAfterAJob(t *testing.T) {
	f := newFixture(t, a1111test.Options{})
	var o gen.Options
	o.Prompt = "a valley"
	o.Prompt = "a valley <lora:more_details:0.5>"
	o.LoRAs[0].Name = "revAnimated_v122"
	r, err := f.p.Plan("u", o, "", Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if names := r.LoRANames(); !slices.Equal(names, []string{"revAnimated_v122", "more_details"}) {
		t.Fatalf("names %q", names)
	}
	c := f.p.Servers.Clients()[0]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	gen := func() a1111.Info {
		t.Helper()
		res, err := c.Generate(ctx, r.Txt2Img(), 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		return res.Info
	}
	if missing := r.NotLoaded(gen()); missing != nil {
		t.Errorf("every LoRA loaded, yet %q reported missing", missing)
	}
	// The server loses revAnimated_v122: A1111 skips it silently.
	var keep []a1111.LoRA
	all, err := c.LoRAs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range all {
		if l.Name != "revAnimated_v122" {
			keep = append(keep, l)
		}
	}
	f.sd.SetLoRAs(keep)
	if err := c.RefreshLoRAs(ctx); err != nil {
		t.Fatal(err)
	}
	if missing := r.NotLoaded(gen()); !slices.Equal(missing, []string{"revAnimated_v122"}) {
		t.Errorf("missing %q, want revAnimated_v122", missing)
	}
	// No record at all proves nothing.
	if missing := r.NotLoaded(a1111.Info{}); missing != nil {
		t.Errorf("an info without extra_generation_params: %q", missing)
	}
}

func TestRescanLoRAsIsRateLimited(t *testing.T) {
	f := newFixture(t, a1111test.Options{})
	s := f.p.Servers
	now := time.Unix(1_000_000, 0)
	s.now = func() time.Time { return now }
	before := f.sd.Refreshes()
	started, done := s.RescanLoRAs(0)
	if !started {
		t.Fatal("the first rescan must start")
	}
	<-done
	if got := f.sd.Refreshes(); got != before+1 {
		t.Errorf("refreshes %d, want %d", got, before+1)
	}
	now = now.Add(30 * time.Second)
	if started, _ := s.RescanLoRAs(0); started {
		t.Error("a second rescan within a minute must not start")
	}
	now = now.Add(31 * time.Second)
	started, done = s.RescanLoRAs(0)
	if !started {
		t.Fatal("a rescan a minute later must start")
	}
	<-done
	if got := f.sd.Refreshes(); got != before+2 {
		t.Errorf("refreshes %d, want %d", got, before+2)
	}
	if started, _ := s.RescanLoRAs(5); started {
		t.Error("no backend 5")
	}
}

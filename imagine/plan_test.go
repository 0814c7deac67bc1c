package imagine

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"lorabot/a1111"
	"lorabot/a1111/a1111test"
	"lorabot/gen"
	"lorabot/lora"
)

type fixture struct {
	p  *Planner
	db *memPresets
	sd *a1111test.Server
}

// memPresets keeps presets in memory, for the planner's tests: the bbolt
// store imports the job records, which hold a Request, so it cannot be
// imported here. Only what Plan and these tests use is implemented.
type memPresets struct {
	gen.PresetStore // the rest: not used by Plan

	mu       sync.Mutex
	presets  map[string]gen.Preset // by user + "\x00" + lower-case name
	defaults map[string]string     // user → lower-case name
}

func newMemPresets() *memPresets {
	return &memPresets{presets: map[string]gen.Preset{}, defaults: map[string]string{}}
}

func presetKey(user, name string) string {
	return user + "\x00" + strings.ToLower(strings.TrimSpace(name))
}

func (m *memPresets) SavePreset(user string, p gen.Preset) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.presets[presetKey(user, p.Name)] = p
	return nil
}

func (m *memPresets) Preset(user, name string) (gen.Preset, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.presets[presetKey(user, name)]
	if !ok {
		return gen.Preset{}, gen.ErrPresetNotFound
	}
	return p, nil
}

func (m *memPresets) SetDefaultPreset(user, name string) error {
	if _, err := m.Preset(user, name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.defaults[user] = strings.ToLower(name)
	return nil
}

func (m *memPresets) DefaultPreset(user string) (gen.Preset, bool, error) {
	m.mu.Lock()
	name, ok := m.defaults[user]
	m.mu.Unlock()
	if !ok {
		return gen.Preset{}, false, nil
	}
	p, err := m.Preset(user, name)
	return p, err == nil, err
}

func newFixture(t *testing.T, opts a1111test.Options) *fixture {
	t.Helper()
	sd := a1111test.Start(t, opts)
	c, err := a1111.New(sd.URL(), a1111.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db := newMemPresets()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cat := lora.NewCatalog([]lora.Source{c}, lora.CatalogOptions{})
	if _, err := cat.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	srv := NewServers([]*a1111.Client{c}, nil)
	if err := srv.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	return &fixture{p: &Planner{Catalog: cat, Presets: db, Servers: srv}, db: db, sd: sd}
}

func w(v float64) *float64 { return &v }

func TestPlanLayersCommandOverPresetOverDefault(t *testing.T) {
	f := newFixture(t, a1111test.Options{})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.db.SavePreset("u", gen.Preset{Name: "ghibli", Options: gen.Options{
		Prompt: "masterpiece", Negative: "blurry", Steps: 30, Sampler: "Euler a",
		LoRAs: [gen.LoRASlots]gen.LoRAChoice{{Name: "studio_ghibli_v2", Weight: w(0.8)}},
	}}))
	must(f.db.SavePreset("u", gen.Preset{Name: "pixel", Options: gen.Options{
		LoRAs: [gen.LoRASlots]gen.LoRAChoice{{Name: "pixel-art-xl"}},
	}}))
	must(f.db.SetDefaultPreset("u", "pixel"))

	// Named preset, with the command re-weighting its LoRA and changing steps.
	r, err := f.p.Plan("u", gen.Options{Prompt: "a valley", Steps: 25, LoRAs: [gen.LoRASlots]gen.LoRAChoice{{Weight: w(0.6)}}}, "ghibli", Scope{})
	must(err)
	if want := "ghibli style, masterpiece, a valley <lora:ghibli_style_offset:0.6>"; r.Prompt.Text != want {
		t.Errorf("prompt:\n got %q\nwant %q", r.Prompt.Text, want)
	}
	req := r.Txt2Img()
	if req.Steps != 25 || req.NegativePrompt != "blurry" || req.SamplerName != "Euler a" || req.Seed != -1 || req.BatchSize != 1 {
		t.Errorf("merged request wrong: %+v", req)
	}
	if req.Width != 512 || req.Height != 512 {
		t.Errorf("an SD1 LoRA should give 512x512, got %dx%d", req.Width, req.Height)
	}
	if r.PresetName != "ghibli" {
		t.Errorf("preset name %q", r.PresetName)
	}

	// No preset named: the default applies, with its SDXL size.
	r, err = f.p.Plan("u", gen.Options{Prompt: "a knight"}, "", Scope{})
	must(err)
	if want := "pixel art, game sprite, a knight <lora:pixel-art-xl:1>"; r.Prompt.Text != want || r.Options.Width != 1024 {
		t.Errorf("default preset not applied: %q %dx%d", r.Prompt.Text, r.Options.Width, r.Options.Height)
	}

	// Another user has neither preset.
	if _, err := f.p.Plan("other", gen.Options{Prompt: "x"}, "ghibli", Scope{}); !isInput(err, "no preset") {
		t.Errorf("another user's preset must not load: %v", err)
	}
}

func TestPlanSaysWhichPresetLoRAIsGone(t *testing.T) {
	f := newFixture(t, a1111test.Options{})
	if err := f.db.SavePreset("u", gen.Preset{Name: "old", Options: gen.Options{
		LoRAs: [gen.LoRASlots]gen.LoRAChoice{{Name: "deleted_lora_v1"}},
	}}); err != nil {
		t.Fatal(err)
	}
	_, err := f.p.Plan("u", gen.Options{Prompt: "x"}, "old", Scope{})
	if !isInput(err, "deleted_lora_v1") || !isInput(err, "no longer") {
		t.Errorf("want a sentence naming the missing LoRA, got %v", err)
	}
}

func TestPlanChecksCheckpointAndSampler(t *testing.T) {
	f := newFixture(t, a1111test.Options{})
	r, err := f.p.Plan("u", gen.Options{Prompt: "x", Checkpoint: "SD_XL_BASE", Sampler: "DPM++ 2M Karras"}, "", Scope{})
	if err != nil {
		t.Fatal(err)
	}
	req := r.Txt2Img()
	if ck, _ := req.OverrideSettings["sd_model_checkpoint"].(string); !strings.HasPrefix(ck, "sd_xl_base_1.0") {
		t.Errorf("checkpoint should resolve to its title, got %v", req.OverrideSettings)
	}
	if req.SamplerName != "DPM++ 2M" || !strings.EqualFold(req.Scheduler, "karras") {
		t.Errorf("sampler split: %q + %q", req.SamplerName, req.Scheduler)
	}
	if req.Width != 1024 {
		t.Errorf("an SDXL checkpoint should default to 1024, got %d", req.Width)
	}
	for _, o := range []gen.Options{{Prompt: "x", Checkpoint: "nope-xl-9000"}, {Prompt: "x", Sampler: "Eulr a"}} {
		if _, err := f.p.Plan("u", o, "", Scope{}); err == nil {
			t.Errorf("%+v should be refused: A1111 would silently ignore it", o)
		}
	}
}

func TestPlanOnOldServerKeepsJoinedSamplerNames(t *testing.T) {
	f := newFixture(t, a1111test.Options{OldServer: true})
	samplers := f.p.Servers.Samplers()
	if len(samplers) == 0 {
		t.Fatal("no samplers listed")
	}
	name := samplers[len(samplers)-1].Name
	r, err := f.p.Plan("u", gen.Options{Prompt: "x", Sampler: strings.ToUpper(name)}, "", Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Sampler != name || r.Scheduler != "" {
		t.Errorf("old server: sampler %q scheduler %q, want %q and none", r.Sampler, r.Scheduler, name)
	}
}

func isInput(err error, substr string) bool {
	var in *gen.InputError
	return errors.As(err, &in) && strings.Contains(in.Msg, substr)
}

func TestSeveralServersOfferOnlyWhatAllHave(t *testing.T) {
	a := a1111test.Start(t, a1111test.Options{})
	b := a1111test.Start(t, a1111test.Options{OldServer: true}) // no schedulers
	var clients []*a1111.Client
	for _, sd := range []*a1111test.Server{a, b} {
		c, err := a1111.New(sd.URL(), a1111.Options{})
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	srv := NewServers(clients, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Schedulers()); n != 0 {
		t.Errorf("one server has no schedulers, so none may be picked; got %d", n)
	}
	if len(srv.Checkpoints()) == 0 || len(srv.Samplers()) == 0 {
		t.Errorf("what both servers have stays: %d checkpoints, %d samplers", len(srv.Checkpoints()), len(srv.Samplers()))
	}
}

func TestJobsGoOnlyToServersThatHaveTheirLoRAs(t *testing.T) {
	a := a1111test.Start(t, a1111test.Options{}) // the sample catalog
	onlyB := a1111.LoRA{Name: "only_on_b", Alias: "only_on_b", Path: "/sd/models/Lora/only_on_b.safetensors"}
	pixel := a1111.LoRA{Name: "pixel-art-xl", Alias: "pixel-art-xl", Path: "/sd/models/Lora/pixel-art-xl.safetensors"}
	b := a1111test.Start(t, a1111test.Options{LoRAsJSON: a1111test.MarshalLoRAs([]a1111.LoRA{onlyB, pixel})})
	var clients []*a1111.Client
	var sources []lora.Source
	for _, sd := range []*a1111test.Server{a, b} {
		c, err := a1111.New(sd.URL(), a1111.Options{})
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
		sources = append(sources, c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cat := lora.NewCatalog(sources, lora.CatalogOptions{})
	if _, err := cat.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	srv := NewServers(clients, nil)
	if err := srv.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	p := &Planner{Catalog: cat, Presets: newMemPresets(), Servers: srv}
	plan := func(names ...string) (*Request, error) {
		o := gen.Options{Prompt: "x"}
		for i, n := range names {
			o.LoRAs[i].Name = n
		}
		return p.Plan("u", o, "", Scope{})
	}
	for _, tc := range []struct {
		loras []string
		want  uint64
	}{
		{[]string{"only_on_b"}, 1 << 1},
		{[]string{"add_detail"}, 1 << 0},
		{[]string{"pixel-art-xl"}, 1<<0 | 1<<1},
		{[]string{"pixel-art-xl", "only_on_b"}, 1 << 1},
	} {
		r, err := plan(tc.loras...)
		if err != nil {
			t.Errorf("%v: %v", tc.loras, err)
			continue
		}
		if r.Backends != tc.want {
			t.Errorf("%v may run on %b, want %b", tc.loras, r.Backends, tc.want)
		}
	}
	if _, err := plan("add_detail", "only_on_b"); !isInput(err, "No single image server") {
		t.Errorf("LoRAs on different servers must be refused, got %v", err)
	}
}

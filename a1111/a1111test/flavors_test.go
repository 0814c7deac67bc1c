package a1111test_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"net/http"
	"strings"
	"testing"
	"time"

	_ "golang.org/x/image/webp"

	"lorabot/a1111/a1111test"
)

func getJSON(t *testing.T, url string, v any, auth ...string) {
	t.Helper()
	status, b := do(t, http.MethodGet, url, "", auth...)
	if status != 200 {
		t.Fatalf("GET %s: %d %s", url, status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v in %s", url, err, b)
	}
}

func TestSamplerAndSchedulerShapes(t *testing.T) {
	type sampler struct {
		Name    string         `json:"name"`
		Aliases []string       `json:"aliases"`
		Options map[string]any `json:"options"`
	}
	names := func(list []sampler) string {
		var n []string
		for _, s := range list {
			n = append(n, s.Name)
		}
		return strings.Join(n, ",")
	}
	for _, tt := range []struct {
		flavor a1111test.Flavor
		first  string
		has    []string
	}{
		{a1111test.FlavorA1111, "DPM++ 2M", []string{"Euler a", "DDIM CFG++", "LCM"}},
		{a1111test.FlavorForge, "DPM++ 2M", []string{"HeunPP2", "DEIS", "DDPM"}},
		{a1111test.FlavorSDNext, "Default", []string{"UniPC", "Euler a", "DPM++ 2M", "LMSD"}},
	} {
		srv := a1111test.Start(t, a1111test.Options{Flavor: tt.flavor})
		var list []sampler
		getJSON(t, srv.URL()+"/sdapi/v1/samplers", &list)
		if len(list) == 0 || list[0].Name != tt.first {
			t.Errorf("flavor %d: samplers %s, want %q first", tt.flavor, names(list), tt.first)
		}
		for _, h := range tt.has {
			if !strings.Contains(","+names(list)+",", ","+h+",") {
				t.Errorf("flavor %d: samplers lack %q: %s", tt.flavor, h, names(list))
			}
		}
		var raw []map[string]any
		getJSON(t, srv.URL()+"/sdapi/v1/schedulers", &raw)
		switch tt.flavor {
		case a1111test.FlavorSDNext:
			// Diffusers schedulers, named like the samplers, no label.
			if list[1].Options == nil || len(list[1].Options) != 0 || list[1].Aliases == nil {
				t.Errorf("SD.Next sampler %+v: want empty aliases and options", list[1])
			}
			if _, ok := raw[0]["label"]; ok || raw[0]["name"] != "UniPC" || raw[0]["cls"] != "UniPCMultistepScheduler" || raw[0]["options"] == nil {
				t.Errorf("SD.Next scheduler %v, want {name, cls, options}", raw[0])
			}
		default:
			if list[0].Options["scheduler"] != "karras" {
				t.Errorf("flavor %d: DPM++ 2M options %v, want its default scheduler", tt.flavor, list[0].Options)
			}
			k := raw[2]
			if k["name"] != "karras" || k["label"] != "Karras" || k["default_rho"] != 7.0 || k["need_inner_model"] != false {
				t.Errorf("flavor %d: karras = %v", tt.flavor, k)
			}
			if _, ok := k["aliases"]; !ok {
				t.Errorf("flavor %d: scheduler without aliases: %v", tt.flavor, k)
			}
			turbo := strings.Contains(fmt.Sprint(raw), "Turbo")
			if turbo != (tt.flavor == a1111test.FlavorForge) {
				t.Errorf("flavor %d: Turbo listed %t; only Forge has it", tt.flavor, turbo)
			}
		}
	}
}

func TestSamplerFallbacks(t *testing.T) {
	tests := []struct {
		name     string
		opts     a1111test.Options
		body     string
		status   int
		sampler  string
		schedule string
	}{
		{"1.10: none sent is Euler", a1111test.Options{}, `{}`, 200, "Euler", "Automatic"},
		{"1.10: unknown is DPM++ 2M", a1111test.Options{}, `{"sampler_name":"No Such"}`, 200, "DPM++ 2M", "Automatic"},
		{"1.10: an alias is not a name", a1111test.Options{}, `{"sampler_name":"k_euler"}`, 200, "DPM++ 2M", "Automatic"},
		{"1.10: schedule split off the name", a1111test.Options{}, `{"sampler_name":"Euler a Karras"}`, 200, "Euler a", "Karras"},
		{"1.10: the sampler's own default reads Automatic", a1111test.Options{}, `{"sampler_name":"DPM++ 2M Karras"}`, 200, "DPM++ 2M", "Automatic"},
		{"1.10: a scheduler's name becomes its label", a1111test.Options{}, `{"sampler_name":"Euler","scheduler":"karras"}`, 200, "Euler", "Karras"},
		{"1.10: unknown scheduler is Automatic", a1111test.Options{}, `{"sampler_name":"Euler","scheduler":"Zigzag"}`, 200, "Euler", "Automatic"},
		{"Forge: unknown is DPM++ 2M", a1111test.Options{Flavor: a1111test.FlavorForge}, `{"sampler_name":"No Such"}`, 200, "DPM++ 2M", "Automatic"},
		{"before 1.9: unknown is a 404", a1111test.Options{OldServer: true}, `{"sampler_name":"No Such"}`, 404, "", ""},
		{"before 1.9: the schedule is in the name", a1111test.Options{OldServer: true}, `{"sampler_name":"DPM++ 2M Karras"}`, 200, "DPM++ 2M Karras", ""},
		{"SD.Next: none sent is UniPC", a1111test.Options{Flavor: a1111test.FlavorSDNext}, `{}`, 200, "UniPC", ""},
		{"SD.Next: unknown is a 404", a1111test.Options{Flavor: a1111test.FlavorSDNext}, `{"sampler_name":"DPM++ 2M Karras"}`, 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := a1111test.Start(t, tt.opts)
			body := strings.TrimSuffix(tt.body, "}")
			if body != "{" {
				body += ","
			}
			body += `"steps":1,"width":64,"height":64}`
			status, b := do(t, http.MethodPost, srv.URL()+"/sdapi/v1/txt2img", body)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, b)
			}
			if status == 404 {
				if !strings.Contains(string(b), "Sampler not found") || len(srv.Jobs()) != 0 || srv.InFlight() != 0 {
					t.Errorf("404 %s; jobs %d: want the request refused before it is queued", b, len(srv.Jobs()))
				}
				return
			}
			j := srv.Jobs()[0]
			if j.Sampler != tt.sampler || j.Scheduler != tt.schedule {
				t.Errorf("ran %q with %q, want %q with %q", j.Sampler, j.Scheduler, tt.sampler, tt.schedule)
			}
		})
	}
}

func TestCheckpointTitles(t *testing.T) {
	sub := "sdxl/animagine-xl-3.1.safetensors"
	srv := a1111test.Start(t, a1111test.Options{Unhashed: []string{sub}})
	models := func() map[string]map[string]any {
		var list []map[string]any
		getJSON(t, srv.URL()+"/sdapi/v1/sd-models", &list)
		out := map[string]map[string]any{}
		for _, m := range list {
			out[fmt.Sprint(m["filename"])] = m
		}
		return out
	}
	file := a1111test.Models[3].Filename
	m := models()[file]
	if m["title"] != sub || m["model_name"] != "sdxl_animagine-xl-3.1" || m["hash"] != nil || m["sha256"] != nil {
		t.Errorf("unhashed file in a subfolder: %v", m)
	}
	if m := models()[a1111test.Models[2].Filename]; m["title"] != a1111test.ModelSDXL || m["hash"] != "31e35c80fc" {
		t.Errorf("hashed file: %v", m)
	}
	// The title another server shows for the same file is no alias here:
	// the override is dropped and the default model runs.
	job(t, srv, a1111test.ModelAnimX)
	if j := srv.Jobs()[0]; j.Checkpoint != a1111test.ModelSD15 || j.Loaded {
		t.Errorf("override by the hashed title on a server that has not hashed the file: ran on %q", j.Checkpoint)
	}
	// By its name it is found; loading hashes it.
	job(t, srv, sub)
	if j := srv.Jobs()[1]; j.Checkpoint != a1111test.ModelAnimX || !j.Loaded {
		t.Errorf("override by name: ran on %q, loaded %t; want the file, hashed by the load", j.Checkpoint, j.Loaded)
	}
	if m := models()[file]; m["title"] != a1111test.ModelAnimX || m["hash"] != "e3c47aedb0" {
		t.Errorf("after the load: %v", m)
	}

	sdnext := a1111test.Start(t, a1111test.Options{Flavor: a1111test.FlavorSDNext})
	var list []map[string]any
	getJSON(t, sdnext.URL()+"/sdapi/v1/sd-models", &list)
	if m := list[3]; m["title"] != "sdxl/animagine-xl-3.1 [e3c47aedb0]" || m["model_name"] != "sdxl/animagine-xl-3.1" || m["type"] != "safetensors" {
		t.Errorf("SD.Next lists %v", m)
	}
}

func TestLoRAsThatDidNotLoad(t *testing.T) {
	prompt := `{"prompt":"<lora:add_detail:0.5> <lora:no_such_lora:1>","steps":1,"width":64,"height":64}`
	a := a1111test.Start(t, a1111test.Options{})
	_, info := txt2img(t, a, prompt)
	if h := info["extra_generation_params"].(map[string]any)["Lora hashes"]; h == nil || !strings.HasPrefix(h.(string), "add_detail: ") || strings.Contains(h.(string), "no_such") {
		t.Errorf("A1111 skips the unknown one and loads the other: Lora hashes %v", h)
	}
	forge := a1111test.Start(t, a1111test.Options{Flavor: a1111test.FlavorForge})
	_, info = txt2img(t, forge, prompt)
	if h, ok := info["extra_generation_params"].(map[string]any)["Lora hashes"]; ok {
		t.Errorf("Forge loads none when one is unknown, so no Lora hashes; got %v", h)
	}
	if j := forge.Jobs()[0]; len(j.LoRAs) != 0 || len(j.Ignored) != 2 {
		t.Errorf("Forge job: loaded %v, ignored %v", j.LoRAs, j.Ignored)
	}
	_, info = txt2img(t, forge, `{"prompt":"<lora:add_detail:0.5>","steps":1,"width":64,"height":64}`)
	if h := info["extra_generation_params"].(map[string]any)["Lora hashes"]; h == nil {
		t.Error("Forge with only known names: no Lora hashes")
	}
}

func TestSDNextSurprises(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{Flavor: a1111test.FlavorSDNext, APIAuth: "a:b"})
	if status, b := do(t, http.MethodGet, srv.URL()+"/sdapi/v1/loras", "", "a", "wrong"); status != 401 || !strings.Contains(string(b), `"detail":"Unauthorized"`) {
		t.Errorf("/loras with a wrong password: %d %s", status, b)
	}
	var loras []map[string]any
	getJSON(t, srv.URL()+"/sdapi/v1/loras", &loras, "a", "b")
	var dotted bool
	for _, l := range loras {
		name := fmt.Sprint(l["name"])
		if strings.Contains(name, ".") {
			t.Errorf("SD.Next lists %q: its names have no dots", name)
		}
		dotted = dotted || name == "Cyberpunk Edgerunners (anime style) v2_1"
	}
	if !dotted {
		t.Errorf("no \"…v2_1\" for the file \"…v2.1\": %v", loras)
	}
	if status, b := do(t, http.MethodPost, srv.URL()+"/sdapi/v1/interrupt", "", "a", "b"); status != 204 || len(b) != 0 {
		t.Errorf("interrupt: %d %q, want 204 and no body", status, b)
	}
	status, b := do(t, http.MethodPost, srv.URL()+"/sdapi/v1/txt2img", `{"prompt":"<lora:Cyberpunk Edgerunners (anime style) v2_1:1>","steps":1,"width":64,"height":64}`, "a", "b")
	if status != 200 {
		t.Fatalf("txt2img: %d %s", status, b)
	}
	var a answer
	_ = json.Unmarshal(b, &a)
	var info map[string]any
	_ = json.Unmarshal([]byte(a.Info), &info)
	if _, ok := info["sd_model_name"]; ok {
		t.Errorf("SD.Next's info has no sd_model_name: %v", info)
	}
	extra := info["extra_generation_params"].(map[string]any)
	if extra["LoRA networks"] != "Cyberpunk Edgerunners (anime style) v2_1" || extra["LoRA hashes"] == nil || extra["Lora hashes"] != nil {
		t.Errorf("SD.Next LoRA record: %v", extra)
	}
}

// taskProgress posts /internal/progress for id.
func taskProgress(t *testing.T, srv *a1111test.Server, id string) map[string]any {
	t.Helper()
	status, b := do(t, http.MethodPost, srv.URL()+"/internal/progress", fmt.Sprintf(`{"id_task":%q,"id_live_preview":-1}`, id))
	if status != 200 {
		t.Fatalf("/internal/progress: %d %s", status, b)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTaskQueue(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{StepTime: 5 * time.Millisecond})
	theirs := srv.WebUIJob(bounded(t), 100000)
	if err := srv.WaitStep(bounded(t), 1); err != nil {
		t.Fatal(err)
	}
	webui := srv.CurrentTask()
	if !strings.HasPrefix(webui, "task(txt2img-") {
		t.Errorf("a request without force_task_id is filed under %q", webui)
	}
	ours := make(chan error, 1)
	go func() {
		status, b := do(t, http.MethodPost, srv.URL()+"/sdapi/v1/txt2img", `{"steps":2,"width":64,"height":64,"force_task_id":"task(ours)"}`)
		if status != 200 {
			ours <- fmt.Errorf("%d %s", status, b)
			return
		}
		ours <- nil
	}()
	if err := srv.WaitPending(bounded(t), 1); err != nil {
		t.Fatal(err)
	}
	p := taskProgress(t, srv, "task(ours)")
	if p["queued"] != true || p["active"] != false || p["completed"] != false || p["textinfo"] != "In queue: 1/1" || p["progress"] != nil {
		t.Errorf("ours, queued: %v", p)
	}
	var pending struct {
		Size  int      `json:"size"`
		Tasks []string `json:"tasks"`
	}
	getJSON(t, srv.URL()+"/internal/pending-tasks", &pending)
	if pending.Size != 1 || len(pending.Tasks) != 1 || pending.Tasks[0] != "task(ours)" {
		t.Errorf("pending-tasks = %+v", pending)
	}
	if p := taskProgress(t, srv, webui); p["active"] != true || p["progress"] == nil || p["eta"] == nil {
		t.Errorf("theirs, running: %v", p)
	}
	// /sdapi/v1/progress names no task: current_task is stuck at null.
	_, b := do(t, http.MethodGet, srv.URL()+"/sdapi/v1/progress", "")
	if !strings.Contains(string(b), `"current_task":null`) {
		t.Errorf("/sdapi/v1/progress: %s", b)
	}
	do(t, http.MethodPost, srv.URL()+"/sdapi/v1/interrupt", "")
	if err := <-theirs; err != nil {
		t.Fatal(err)
	}
	if err := <-ours; err != nil {
		t.Fatal(err)
	}
	if p := taskProgress(t, srv, "task(ours)"); p["completed"] != true || p["active"] != false || p["textinfo"] != "Waiting..." {
		t.Errorf("ours, done: %v", p)
	}
	if p := taskProgress(t, srv, "task(never-sent)"); p["completed"] != false || p["queued"] != false || p["textinfo"] != "Waiting..." {
		t.Errorf("an unknown task: %v", p)
	}
	if j := srv.Jobs(); len(j) != 2 || j[1].TaskID != "task(ours)" || j[1].Interrupted {
		t.Errorf("jobs %+v: want ours run in full after theirs (the interrupt was theirs)", j)
	}

	nowebui := a1111test.Start(t, a1111test.Options{NoWebUI: true})
	if status, _ := do(t, http.MethodPost, nowebui.URL()+"/internal/progress", `{"id_task":"x"}`); status != 404 {
		t.Errorf("/internal/progress with --nowebui: %d", status)
	}
	sdnext := a1111test.Start(t, a1111test.Options{Flavor: a1111test.FlavorSDNext})
	txt2img(t, sdnext, `{"steps":1,"width":64,"height":64,"force_task_id":"task(ours)"}`)
	if p := taskProgress(t, sdnext, "task(ours)"); p["completed"] != false || p["paused"] != false {
		t.Errorf("SD.Next files API jobs under no task: %v", p)
	}
}

func TestIdleConnectionsClose(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{IdleTimeout: 50 * time.Millisecond})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL() + "/sdapi/v1/options")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The client keeps the connection; the server closes it.
	if err := srv.WaitConnsClosed(bounded(t), 1); err != nil {
		t.Fatalf("the idle connection stayed open: %v", err)
	}
	if acc, gone := srv.Conns(); acc != 1 || gone != 1 {
		t.Errorf("connections accepted %d, closed %d", acc, gone)
	}
}

func TestWebPAnswers(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{})
	if status, b := do(t, http.MethodPost, srv.URL()+"/sdapi/v1/options", `{"samples_format":"webp"}`); status != 200 {
		t.Fatalf("%d %s", status, b)
	}
	a, _ := txt2img(t, srv, `{"steps":1,"width":72,"height":80}`)
	raw, err := base64.StdEncoding.DecodeString(a.Images[0])
	if err != nil {
		t.Fatal(err)
	}
	img, format, err := image.Decode(bytes.NewReader(raw))
	if err != nil || format != "webp" || img.Bounds() != image.Rect(0, 0, 72, 80) {
		t.Fatalf("decoded %q, %v", format, err)
	}
	// An override is restored before the images are encoded: only the
	// server's own setting counts.
	do(t, http.MethodPost, srv.URL()+"/sdapi/v1/options", `{"samples_format":"png"}`)
	a, _ = txt2img(t, srv, `{"steps":1,"width":64,"height":64,"override_settings":{"samples_format":"webp"}}`)
	raw, _ = base64.StdEncoding.DecodeString(a.Images[0])
	if _, format, _ := image.Decode(bytes.NewReader(raw)); format != "png" {
		t.Errorf("override_settings samples_format: got %q, want png", format)
	}
}

package a1111

import (
	"bytes"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func TestDecodeLoRAsFixture(t *testing.T) {
	f, err := os.Open("a1111test/testdata/loras.sample.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// A reader that hands out one byte at a time finds every buffer edge.
	got, err := DecodeLoRAs(iotest.OneByteReader(f))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 8 {
		t.Fatalf("got %d LoRAs, want 8", len(got))
	}
	byName := map[string]LoRA{}
	for _, l := range got {
		byName[l.Name] = l
	}
	px := byName["pixel-art-xl"]
	wantPx := LoRAMeta{
		BaseModelVersion: "sdxl_base_v1-0", V2: "False", Architecture: "stable-diffusion-xl-v1-base/lora",
		Title: "Pixel Art XL", TriggerPhrase: "pixel art, game sprite", SDModelName: "sd_xl_base_1.0.safetensors",
		OutputName: "pixel-art-xl", ModelHash: "5f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8",
		TagFrequency: map[string]map[string]int{"8_pixel art": {"pixel": 80, "pixel art": 78, "game sprite": 20}},
	}
	if !reflect.DeepEqual(px.Meta, wantPx) {
		t.Errorf("pixel-art-xl meta\n got %+v\nwant %+v", px.Meta, wantPx)
	}
	if px.Path != "/workspace/sd/stable-diffusion-webui/models/Lora/sdxl/pixel-art-xl.safetensors" {
		t.Errorf("path = %q", px.Path)
	}
	if l := byName["more_details"]; l.Alias != "add_detail" || !reflect.DeepEqual(l.Meta, LoRAMeta{}) {
		t.Errorf("more_details = %+v, want alias add_detail and no metadata", l)
	}
	cp := byName["Cyberpunk Edgerunners (anime style) v2.1"]
	if len(cp.Meta.TagFrequency) != 2 || cp.Meta.TagFrequency["5_lucy"]["lucy"] != 30 {
		t.Errorf("Cyberpunk tag frequency = %v", cp.Meta.TagFrequency)
	}
	if l, ok := byName["ブルーアーカイブ_style"]; !ok || l.Meta.BaseModelVersion != "sdxl_base_v1-0" {
		t.Errorf("Japanese-named LoRA = %+v, %v", l, ok)
	}
}

func TestDecodeLoRAsOddShapes(t *testing.T) {
	thumb := strings.Repeat("QUJD", 200_000) // 800 KB that must be skipped
	tests := []struct {
		name string
		in   string
		want []LoRA
	}{
		{"null catalog", `null`, nil},
		{"empty catalog", ` [ ] `, nil},
		{"metadata missing", `[{"name":"a","alias":"b","path":"/p"}]`, []LoRA{{Name: "a", Alias: "b", Path: "/p"}}},
		{"metadata null, alias missing", `[{"name":"a","metadata":null}]`, []LoRA{{Name: "a", Alias: "a"}}},
		{
			"non-string metadata values",
			`[{"name":"a","metadata":{"ss_v2":false,"ss_base_model_version":1,"modelspec.title":null,"ss_output_name":{"x":1},"ss_network_dim":32}}]`,
			[]LoRA{{Name: "a", Alias: "a", Meta: LoRAMeta{V2: "False", BaseModelVersion: "1"}}},
		},
		{
			"tag frequency as a JSON string",
			`[{"name":"a","metadata":{"ss_tag_frequency":"{\"10_x\": {\"tag one\": 3, \"t2\": 1.0}}"}}]`,
			[]LoRA{{Name: "a", Alias: "a", Meta: LoRAMeta{TagFrequency: map[string]map[string]int{"10_x": {"tag one": 3, "t2": 1}}}}},
		},
		{
			"tag frequency odd values are dropped, not fatal",
			`[{"name":"a","metadata":{"ss_tag_frequency":{"d":{"t":"7","u":"lots","v":[1]},"e":[1,2]}}},
			  {"name":"b","metadata":{"ss_tag_frequency":"not json"}}]`,
			[]LoRA{
				{Name: "a", Alias: "a", Meta: LoRAMeta{TagFrequency: map[string]map[string]int{"d": {"t": 7}}}},
				{Name: "b", Alias: "b"},
			},
		},
		{
			"odd entries are skipped",
			`["a string", null, 3, {"alias":"nameless"}, {"name":"ok","extra":[1,{"deep":[true,"]"]}]}]`,
			[]LoRA{{Name: "ok", Alias: "ok"}},
		},
		{
			"big cover image and escapes",
			`[{"name":"\u30d6\"q\\","metadata":{"modelspec.thumbnail":"data:image/png;base64,` + thumb + `","modelspec.trigger_phrase":"a \"b\"\n"}}]`,
			[]LoRA{{Name: "ブ\"q\\", Alias: "ブ\"q\\", Meta: LoRAMeta{TriggerPhrase: "a \"b\"\n"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeLoRAs(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeLoRAsMalformed(t *testing.T) {
	for _, in := range []string{
		``,
		`{"detail":"Not Found"}`,
		`[{"name":"a","metadata":{"ss_v2":"Fal`,
		`[{"name":"a"}`,
		`[{"name":"a",}]`,
		`[{"name" "a"}]`,
		`[{"name":"a"} {"name":"b"}]`,
		`<html><title>502</title></html>`,
		`[{"name":tru}]`,
	} {
		if _, err := DecodeLoRAs(strings.NewReader(in)); !errors.Is(err, errSyntax) {
			t.Errorf("DecodeLoRAs(%q) error = %v, want a syntax error", in, err)
		}
	}
}

func TestDecodeTxt2Img(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 3*blockSize+12345) // spans several blocks and scratch fills
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	small := []byte("\x89PNG small")
	b64 := base64.StdEncoding.EncodeToString
	escaped := strings.ReplaceAll(b64(big), "/", `\/`)
	unpadded := strings.TrimRight(b64(small), "=")
	in := `{"parameters": {"prompt": "a } \" [ tricky", "nested": [{"x": null}]},
	  "images": ["` + escaped + `", "data:image/png;base64,` + unpadded + `", null],
	  "info": "{\"seed\": 7, \"width\": 64, \"extra_generation_params\": {\"Lora hashes\": \"x: 1\"}}",
	  "extra": 1}`
	got, err := DecodeTxt2Img(iotest.HalfReader(strings.NewReader(in)))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Images) != 2 || !bytes.Equal(got.Images[0], big) || !bytes.Equal(got.Images[1], small) {
		t.Fatalf("images differ: got %d images", len(got.Images))
	}
	if got.Info.Seed != 7 || got.Info.Width != 64 || got.Info.LoraHashes["x"] != "1" {
		t.Errorf("info = %+v", got.Info)
	}

	// Forks: info as an object, or empty; images null.
	got, err = DecodeTxt2Img(strings.NewReader(`{"images": null, "info": {"seed": 9, "infotexts": ["}"]}}`))
	if err != nil || len(got.Images) != 0 || got.Info.Seed != 9 {
		t.Errorf("object info: %+v, %v", got, err)
	}
	got, err = DecodeTxt2Img(strings.NewReader(`{"images": [], "info": ""}`))
	if err != nil || !reflect.DeepEqual(got.Info, Info{}) {
		t.Errorf("empty info: %+v, %v", got, err)
	}
}

func TestDecodeTxt2ImgMalformed(t *testing.T) {
	for _, in := range []string{
		`{"images": ["iVBORw0KGgoAAAANSUhEUgAA`,
		`{"images": ["iVBORw0KGgo"]`,
		`{"images": ["not base64!!"]}`,
		`{"images": ["\u0041AAA"]}`,
		`["iVBORw0KGgo"]`,
		`<html>Internal Server Error</html>`,
		`{"images": [], "info": "{\"seed\": 1}`,
	} {
		if _, err := DecodeTxt2Img(strings.NewReader(in)); !errors.Is(err, errSyntax) {
			t.Errorf("DecodeTxt2Img(%q) error = %v, want a syntax error", in, err)
		}
	}
}

func TestParseErrorBody(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		class    string
		detail   string
		notFound bool
	}{
		{"A1111 exception", `{"error":"RuntimeError","detail":"","body":"","errors":"CUDA out of memory"}`, "RuntimeError", "CUDA out of memory", false},
		{"A1111 HTTPException", `{"error":"HTTPException","detail":"Incorrect username or password","body":"","errors":"401: Incorrect username or password"}`, "HTTPException", "Incorrect username or password", false},
		{"FastAPI 422", `{"detail":[{"loc":["body","steps"],"msg":"value is not a valid integer","type":"type_error.integer"},{"loc":["body"],"msg":"bad","type":"x"}]}`, "", "steps: value is not a valid integer; body: bad", false},
		{"Forge detail", `{"detail":"Sampler not found"}`, "", "Sampler not found", false},
		{"Forge exception", `{"error":"ValueError","detail":"","body":"","message":"bad size"}`, "ValueError", "bad size", false},
		{"SD.Next code", `{"error":"RuntimeError","code":500,"detail":"","body":"","errors":"boom"}`, "RuntimeError", "boom", false},
		{"route missing", `{"detail":"Not Found"}`, "", "Not Found", true},
		{"HTML", "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>", "", "502 Bad Gateway", false},
		{"text", "Internal Server Error\n\n  at line 3", "", "Internal Server Error at line 3", false},
		{"detail object", `{"detail":{"reason":"x"}}`, "", `{"reason":"x"}`, false},
		{"SD.Next TypeError", `"bad operand"`, "", "bad operand", false},
		{"SD.Next route missing", `{"error":"HTTPException","code":404,"detail":"Not Found","body":"","errors":"404: Not Found"}`, "HTTPException", "Not Found", true},
		{"Forge exception", "Internal Server Error", "", "Internal Server Error", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseErrorBody([]byte(tt.body))
			if got.Class != tt.class || got.Detail != tt.detail || got.NotFound != tt.notFound {
				t.Errorf("got %+v, want class %q detail %q notFound %v", got, tt.class, tt.detail, tt.notFound)
			}
		})
	}
	if eb := parseErrorBodyStatus([]byte("Internal Server Error"), 500); eb.Detail != "" {
		t.Errorf("a body that only repeats the status: detail %q, want none", eb.Detail)
	}
	if eb := parseErrorBodyStatus([]byte("Internal Server Error: disk full"), 500); eb.Detail == "" {
		t.Error("a body that says more than the status lost its detail")
	}
	long := parseErrorBody([]byte(strings.Repeat("traceback line\n", 500)))
	if n := len([]rune(long.Detail)); n > 200 {
		t.Errorf("a long text body gives a %d-rune detail, want it shortened", n)
	}
}

package a1111test_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"

	"lorabot/a1111/a1111test"
)

// The raw answers of the result-action routes, shape for shape.
func TestResultActionShapes(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{})
	img := base64.StdEncoding.EncodeToString(a1111test.NoisyPNG(40, 24, 3))

	status, b := do(t, http.MethodPost, srv.URL()+"/sdapi/v1/img2img",
		`{"prompt":"x","steps":2,"width":64,"height":64,"init_images":["data:image/png;base64,`+img+`"],"denoising_strength":0.3}`)
	var a answer
	if status != 200 || json.Unmarshal(b, &a) != nil || len(a.Images) != 1 {
		t.Fatalf("img2img: %d %.200s", status, b)
	}
	if v, ok := a.Parameters["init_images"]; !ok || v != nil {
		t.Errorf("img2img echoes init_images %v, want null (include_init_images false)", v)
	}
	var info map[string]any
	if err := json.Unmarshal([]byte(a.Info), &info); err != nil || info["denoising_strength"] != 0.3 {
		t.Errorf("img2img info %v (%v)", info["denoising_strength"], err)
	}

	status, b = do(t, http.MethodPost, srv.URL()+"/sdapi/v1/extra-single-image", `{"image":"`+img+`","upscaler_1":"Lanczos"}`)
	var ex map[string]any
	if status != 200 || json.Unmarshal(b, &ex) != nil || len(ex) != 2 || ex["html_info"] != "<p>Postprocess upscale by: 2, Postprocess upscaler: Lanczos</p>" {
		t.Errorf("extras: %d %.300s", status, b)
	}
	status, b = do(t, http.MethodPost, srv.URL()+"/sdapi/v1/extra-single-image", `{"image":"`+img+`","upscaler_1":"SuperScale 9000"}`)
	var fail map[string]any
	if status != 500 || json.Unmarshal(b, &fail) != nil || fail["error"] != "AssertionError" || fail["errors"] != "could not find upscaler named SuperScale 9000" {
		t.Errorf("unknown upscaler: %d %s", status, b)
	}
	status, b = do(t, http.MethodPost, srv.URL()+"/sdapi/v1/extra-single-image", `{"image":"`+img+`","resize_mode":3}`)
	if status != 422 {
		t.Errorf("resize_mode 3: %d %s", status, b)
	}

	status, b = do(t, http.MethodPost, srv.URL()+"/sdapi/v1/interrogate", `{"image":"`+img+`"}`)
	var caption map[string]any
	if status != 200 || json.Unmarshal(b, &caption) != nil || caption["caption"] == "" {
		t.Errorf("interrogate without a model (clip): %d %s", status, b)
	}
	for body, want := range map[string]int{
		`{"model":"clip"}`:                    404, // image null: "Image not found"
		`{"image":"","model":"clip"}`:         500, // "Invalid encoded image"
		`{"image":"` + img + `","model":"x"}`: 404, // "Model not found"
	} {
		if status, b := do(t, http.MethodPost, srv.URL()+"/sdapi/v1/interrogate", body); status != want {
			t.Errorf("interrogate %s: %d %s, want %d", body, status, b, want)
		}
	}
	if status, _ := do(t, http.MethodGet, srv.URL()+"/sdapi/v1/interrogate", ""); status != 405 {
		t.Errorf("GET /interrogate on A1111: %d, want 405 (only SD.Next lists models)", status)
	}
	if srv.Hits("/sdapi/v1/interrogate") != 5 || len(srv.Interrogations()) != 4 {
		t.Errorf("hits %d, recorded %d", srv.Hits("/sdapi/v1/interrogate"), len(srv.Interrogations()))
	}
}

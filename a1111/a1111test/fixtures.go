package a1111test

import (
	"strings"

	"lorabot/a1111"
)

// Checkpoint titles the fake knows, as A1111 writes them; the first is
// loaded at start.
const (
	ModelSD15  = "v1-5-pruned-emaonly.safetensors [6ce0161689]"
	ModelSD21  = "v2-1_768-ema-pruned.safetensors [ad2a33c361]"
	ModelSDXL  = "sd_xl_base_1.0.safetensors [31e35c80fc]"
	ModelAnimX = "animagine-xl-3.1.safetensors [e3c47aedb0]"
)

const modelDir = "/workspace/sd/stable-diffusion-webui/models/Stable-diffusion/"

// Models is what GET /sdapi/v1/sd-models answers.
var Models = []a1111.Model{
	{Title: ModelSD15, ModelName: "v1-5-pruned-emaonly", Hash: "6ce0161689", SHA256: "6ce0161689b3853acaa03779ec93eafe75a02f4ced659bee03f50797806fa2fa", Filename: modelDir + "v1-5-pruned-emaonly.safetensors"},
	{Title: ModelSD21, ModelName: "v2-1_768-ema-pruned", Hash: "ad2a33c361", SHA256: "ad2a33c361c1f593c4a1fb32ea81afce2b5bb7d1983c6b94793a26a3b54b08a0", Filename: modelDir + "v2-1_768-ema-pruned.safetensors"},
	{Title: ModelSDXL, ModelName: "sd_xl_base_1.0", Hash: "31e35c80fc", SHA256: "31e35c80fc4829d14f90153f4c74cd59c90b779f6afe05a74cd6120b893f7e5b", Filename: modelDir + "sd_xl_base_1.0.safetensors"},
	{Title: ModelAnimX, ModelName: "animagine-xl-3.1", Hash: "e3c47aedb0", SHA256: "e3c47aedb06418c6c331443cd89f2b3b3b34b7ed2102a3d4c4408a8d35aad6b0", Filename: modelDir + "sdxl/animagine-xl-3.1.safetensors"},
}

// findModel matches a checkpoint the way A1111's aliases do: title, model
// name, file name with or without extension, or short hash.
func findModel(s string) (a1111.Model, bool) {
	for _, m := range Models {
		file := m.Filename[strings.LastIndex(m.Filename, "/")+1:]
		if s == m.Title || s == m.ModelName || s == file || s == m.Hash || s == strings.TrimSuffix(file, ".safetensors") {
			return m, true
		}
	}
	return a1111.Model{}, false
}

type samplerJSON struct {
	Name    string         `json:"name"`
	Aliases []string       `json:"aliases"`
	Options map[string]any `json:"options"`
}

// Samplers of A1111 1.10 (scheduler split off), options as it sends them:
// some values are booleans.
var samplers = []samplerJSON{
	{"DPM++ 2M", []string{"k_dpmpp_2m"}, map[string]any{"scheduler": "karras"}},
	{"DPM++ SDE", []string{"k_dpmpp_sde"}, map[string]any{"scheduler": "karras", "second_order": true, "brownian_noise": true}},
	{"DPM++ 2M SDE", []string{"k_dpmpp_2m_sde"}, map[string]any{"scheduler": "exponential", "brownian_noise": true}},
	{"DPM++ 2S a", []string{"k_dpmpp_2s_a"}, map[string]any{"scheduler": "karras", "uses_ensd": true, "second_order": true}},
	{"DPM++ 3M SDE", []string{"k_dpmpp_3m_sde"}, map[string]any{"scheduler": "exponential", "discard_next_to_last_sigma": true, "brownian_noise": true}},
	{"Euler a", []string{"k_euler_a", "k_euler_ancestral"}, map[string]any{"uses_ensd": true}},
	{"Euler", []string{"k_euler"}, map[string]any{}},
	{"LMS", []string{"k_lms"}, map[string]any{}},
	{"Heun", []string{"k_heun"}, map[string]any{"second_order": true}},
	{"DPM2", []string{"k_dpm_2"}, map[string]any{"discard_next_to_last_sigma": true, "second_order": true}},
	{"DDIM", []string{"ddim"}, map[string]any{}},
	{"UniPC", []string{"unipc"}, map[string]any{}},
	{"LCM", []string{"k_lcm"}, map[string]any{}},
}

// oldSamplers are a pre-1.9 server's: the schedule is part of the name.
var oldSamplers = []samplerJSON{
	{"Euler a", []string{"k_euler_a"}, map[string]any{}},
	{"Euler", []string{"k_euler"}, map[string]any{}},
	{"DPM++ 2M", []string{"k_dpmpp_2m"}, map[string]any{}},
	{"DPM++ 2M Karras", []string{"k_dpmpp_2m_ka"}, map[string]any{"scheduler": "karras"}},
	{"DPM++ SDE Karras", []string{"k_dpmpp_sde_ka"}, map[string]any{"scheduler": "karras", "second_order": true, "brownian_noise": true}},
	{"DDIM", []string{"ddim"}, map[string]any{}},
}

var schedulers = []map[string]any{
	{"name": "automatic", "label": "Automatic", "aliases": nil, "default_rho": -1, "need_inner_model": false},
	{"name": "uniform", "label": "Uniform", "aliases": nil, "default_rho": -1, "need_inner_model": true},
	{"name": "karras", "label": "Karras", "aliases": nil, "default_rho": 7.0, "need_inner_model": false},
	{"name": "exponential", "label": "Exponential", "aliases": nil, "default_rho": -1, "need_inner_model": false},
	{"name": "polyexponential", "label": "Polyexponential", "aliases": nil, "default_rho": 1.0, "need_inner_model": false},
	{"name": "sgm_uniform", "label": "SGM Uniform", "aliases": []string{"SGMUniform"}, "default_rho": -1, "need_inner_model": true},
	{"name": "kl_optimal", "label": "KL Optimal", "aliases": nil, "default_rho": -1, "need_inner_model": false},
	{"name": "align_your_steps", "label": "Align Your Steps", "aliases": nil, "default_rho": -1, "need_inner_model": false},
	{"name": "simple", "label": "Simple", "aliases": nil, "default_rho": -1, "need_inner_model": true},
	{"name": "normal", "label": "Normal", "aliases": nil, "default_rho": -1, "need_inner_model": true},
	{"name": "beta", "label": "Beta", "aliases": nil, "default_rho": -1, "need_inner_model": false},
}

var upscalers = []map[string]any{
	{"name": "None", "model_name": nil, "model_path": nil, "model_url": nil, "scale": 4},
	{"name": "Lanczos", "model_name": nil, "model_path": nil, "model_url": nil, "scale": 4},
	{"name": "Nearest", "model_name": nil, "model_path": nil, "model_url": nil, "scale": 4},
	{"name": "ESRGAN_4x", "model_name": "ESRGAN_4x", "model_path": "https://github.com/cszn/KAIR/releases/download/v1.0/ESRGAN.pth", "model_url": nil, "scale": 4},
	{"name": "R-ESRGAN 4x+", "model_name": "R-ESRGAN 4x+", "model_path": "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.1.0/RealESRGAN_x4plus.pth", "model_url": nil, "scale": 4},
	{"name": "R-ESRGAN 4x+ Anime6B", "model_name": "R-ESRGAN 4x+ Anime6B", "model_path": "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.2.2.4/RealESRGAN_x4plus_anime_6B.pth", "model_url": nil, "scale": 4},
}

// samplerKnown says whether A1111 would use name as given; unknown names
// fall back to Euler silently.
func samplerKnown(list []samplerJSON, name string) bool {
	for _, s := range list {
		if s.Name == name {
			return true
		}
		for _, a := range s.Aliases {
			if a == name {
				return true
			}
		}
	}
	return false
}

func defaultOptions() map[string]any {
	return map[string]any{
		"sd_model_checkpoint":         ModelSD15,
		"sd_checkpoint_hash":          Models[0].SHA256,
		"samples_format":              "png",
		"CLIP_stop_at_last_layers":    1,
		"sd_vae":                      "Automatic",
		"live_previews_enable":        true,
		"show_progress_every_n_steps": 10,
		"eta_noise_seed_delta":        0,
		"sd_lora":                     "None",
		"lora_preferred_name":         "Alias from file",
		"lora_add_hashes_to_infotext": true,
		"enable_pnginfo":              true,
	}
}

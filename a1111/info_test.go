package a1111

import (
	"reflect"
	"testing"
)

func TestParseInfoLenient(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Info
	}{
		{"empty string (koboldcpp)", "", Info{}},
		{"garbage", "not json at all", Info{}},
		{"cut JSON", `{"seed": 12, "width": 5`, Info{}},
		{"JSON null", "null", Info{}},
		{"empty object", "{}", Info{}},
		{
			"full A1111 info",
			`{"seed": 42, "all_seeds": [42, 43], "width": 512, "height": 768, "sampler_name": "DPM++ 2M",
			  "cfg_scale": 7.5, "steps": 20, "sd_model_name": "v1-5-pruned-emaonly", "sd_model_hash": "6ce0161689",
			  "extra_generation_params": {"Schedule type": "Karras", "Lora hashes": "add_detail: 7c6bad76eb54, studio_ghibli_v2: 5f1a2b3c4d5e"},
			  "infotexts": ["a", "b"], "version": "v1.10.1", "job_timestamp": "20240101"}`,
			Info{
				Seed: 42, AllSeeds: []int64{42, 43}, Width: 512, Height: 768, SamplerName: "DPM++ 2M",
				CFGScale: 7.5, Steps: 20, SDModelName: "v1-5-pruned-emaonly", SDModelHash: "6ce0161689",
				ExtraGenerationParams: map[string]any{"Schedule type": "Karras", "Lora hashes": "add_detail: 7c6bad76eb54, studio_ghibli_v2: 5f1a2b3c4d5e"},
				Infotexts:             []string{"a", "b"}, Version: "v1.10.1",
				LoraHashes: map[string]string{"add_detail": "7c6bad76eb54", "studio_ghibli_v2": "5f1a2b3c4d5e"},
			},
		},
		{
			"a field of the wrong type keeps the others",
			`{"seed": "forty-two", "width": 640, "steps": 30}`,
			Info{Width: 640, Steps: 30},
		},
		{
			"Lora hashes quoted and not a string",
			`{"extra_generation_params": {"Lora hashes": 12}}`,
			Info{ExtraGenerationParams: map[string]any{"Lora hashes": 12.0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseInfo(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseInfo(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseLoraHashes(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]string
	}{
		{"", nil},
		{"add_detail: 7c6bad76eb54", map[string]string{"add_detail": "7c6bad76eb54"}},
		{`"a: 1, b c: 2"`, map[string]string{"a": "1", "b c": "2"}},
		{"broken, x: 3,  ,: 4", map[string]string{"x": "3"}},
		{"Cyberpunk Edgerunners (anime style) v2.1: abcdef012345", map[string]string{"Cyberpunk Edgerunners (anime style) v2.1": "abcdef012345"}},
	}
	for _, tt := range tests {
		if got := ParseLoraHashes(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseLoraHashes(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

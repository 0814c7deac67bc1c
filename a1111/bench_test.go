package a1111_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"runtime"
	"testing"

	"lorabot/a1111"
	"lorabot/a1111/a1111test"
)

// txt2imgAnswer4x1024 is a txt2img answer of four photo-like 1024×1024 PNGs
// (about 1.3 MB each), shaped as A1111 sends it.
func txt2imgAnswer4x1024(b *testing.B) []byte {
	b.Helper()
	images := make([]string, 4)
	for i := range images {
		images[i] = base64.StdEncoding.EncodeToString(a1111test.NoisyPNG(1024, 1024, int64(i)))
	}
	info, _ := json.Marshal(map[string]any{
		"seed": 1, "all_seeds": []int{1, 2, 3, 4}, "width": 1024, "height": 1024, "steps": 30,
		"sampler_name": "DPM++ 2M", "extra_generation_params": map[string]any{"Lora hashes": "a: 0123456789ab"},
		"infotexts": []string{"a", "b", "c", "d"},
	})
	out, err := json.Marshal(map[string]any{
		"images":     images,
		"parameters": map[string]any{"prompt": "a cat", "steps": 30, "width": 1024, "height": 1024, "batch_size": 4},
		"info":       string(info),
	})
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// reportAllocRatio reports bytes allocated per operation divided by the
// payload size: 1.0 means the decoder allocated as much as it read. The
// decoded PNGs alone are 0.75 of the base64 payload.
func reportAllocRatio(b *testing.B, payload int, run func()) {
	b.Helper()
	b.SetBytes(int64(payload))
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		run()
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	perOp := float64(after.TotalAlloc-before.TotalAlloc) / float64(b.N)
	b.ReportMetric(perOp/float64(payload), "allocB/payloadB")
	b.ReportMetric(float64(payload)/1e6, "payloadMB")
}

func BenchmarkDecodeTxt2Img4x1024(b *testing.B) {
	payload := txt2imgAnswer4x1024(b)
	reportAllocRatio(b, len(payload), func() {
		res, err := a1111.DecodeTxt2Img(bytes.NewReader(payload))
		if err != nil || len(res.Images) != 4 {
			b.Fatal(len(res.Images), err)
		}
	})
}

// BenchmarkDecodeTxt2Img4x1024Stdlib is the plain encoding/json way, for
// comparison: the whole body, then every base64 string, then the images.
func BenchmarkDecodeTxt2Img4x1024Stdlib(b *testing.B) {
	payload := txt2imgAnswer4x1024(b)
	reportAllocRatio(b, len(payload), func() {
		var raw struct {
			Images []string `json:"images"`
			Info   string   `json:"info"`
		}
		if err := json.NewDecoder(bytes.NewReader(payload)).Decode(&raw); err != nil {
			b.Fatal(err)
		}
		for _, s := range raw.Images {
			if _, err := base64.StdEncoding.DecodeString(s); err != nil {
				b.Fatal(err)
			}
		}
		_ = a1111.ParseInfo(raw.Info)
	})
}

func BenchmarkDecodeLoRAs2000(b *testing.B) {
	payload := a1111test.LoRAsJSON(2000)
	reportAllocRatio(b, len(payload), func() {
		l, err := a1111.DecodeLoRAs(bytes.NewReader(payload))
		if err != nil || len(l) != 2000 {
			b.Fatal(len(l), err)
		}
	})
}

// BenchmarkExtraSingleImage2x1024 upscales a photo-like 1024×1024 PNG 2×
// through the fake A1111 over 127.0.0.1: the client's encoding and
// streaming decode plus the fake's decode, nearest-neighbour scaling and
// PNG encoding (a real ESRGAN's seconds on a GPU are not in it). It reports
// the PNG sizes in and out, which bear on Discord's upload limit.
func BenchmarkExtraSingleImage2x1024(b *testing.B) {
	srv := a1111test.NewServer(a1111test.Options{})
	defer srv.Close()
	c, err := a1111.New(srv.URL(), a1111.Options{})
	if err != nil {
		b.Fatal(err)
	}
	src := a1111test.NoisyPNG(1024, 1024, 1)
	req := a1111.ExtrasRequest{Image: src, UpscalingResize: 2, Upscaler1: "R-ESRGAN 4x+"}
	var out int
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := c.ExtraSingleImage(b.Context(), req)
		if err != nil {
			b.Fatal(err)
		}
		out = len(res.Image)
	}
	b.ReportMetric(float64(len(src))/1e6, "inMB")
	b.ReportMetric(float64(out)/1e6, "outMB")
}

// BenchmarkDecodeExtras2048 is the client's share of the above: decoding
// an extra-single-image answer holding a photo-like 2048×2048 PNG.
func BenchmarkDecodeExtras2048(b *testing.B) {
	img := a1111test.NoisyPNG(2048, 2048, 1)
	payload, err := json.Marshal(map[string]any{"html_info": "<p>Postprocess upscale by: 2, Postprocess upscaler: R-ESRGAN 4x+</p>", "image": img})
	if err != nil {
		b.Fatal(err)
	}
	reportAllocRatio(b, len(payload), func() {
		res, err := a1111.DecodeExtras(bytes.NewReader(payload))
		if err != nil || len(res.Image) != len(img) {
			b.Fatalf("%v, %d bytes", err, len(res.Image))
		}
	})
}

package lora

import (
	"strings"
	"testing"
)

func TestParseSidecar(t *testing.T) {
	tests := []struct {
		in      string
		want    sidecar
		wantErr bool
	}{
		{`{"activation text": "a, b", "preferred weight": 0.7, "sd version": "SDXL"}`, sidecar{"a, b", 0.7, FamilySDXL}, false},
		{`{"preferred weight": "1.25"}`, sidecar{PreferredWeight: 1.25}, false},
		{`{"preferred weight": ""}`, sidecar{}, false},
		{`{"preferred weight": null, "sd version": "Unknown"}`, sidecar{}, false},
		{`{"description": "only notes", "notes": "x"}`, sidecar{}, false},
		{`{"preferred weight": "heavy"}`, sidecar{}, true},
		{`{"activation text": 3}`, sidecar{}, true},
		{`{broken`, sidecar{}, true},
		{`{"notes": "` + strings.Repeat("x", maxSidecarBytes) + `"}`, sidecar{}, true},
	}
	for _, tt := range tests {
		got, err := parseSidecar(strings.NewReader(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseSidecar(%.60s) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestSidecarFindPrefersThePath(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "sdxl/style.json", `{}`)
	writeFile(t, dir, "sd15/style.json", `{}`)
	writeFile(t, dir, "sd15/only.json", `{}`)
	s, err := scanSidecars(dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string // want: the sidecar's path below dir, "" for none
	}{
		{"style", "/a/models/Lora/sdxl/style.safetensors", "sdxl/style.json"},
		{"style", `C:\sd\models\Lora\sd15\style.safetensors`, "sd15/style.json"},
		{"style", "/elsewhere/style.safetensors", ""}, // two by stem: no guess
		{"only", "/elsewhere/only.safetensors", "sd15/only.json"},
		{"only", "", "sd15/only.json"},
		{"missing", "/a/models/Lora/missing.pt", ""},
	}
	for _, tt := range tests {
		f, ok := s.find(tt.name, tt.path)
		got := ""
		if ok {
			got = strings.TrimPrefix(strings.ReplaceAll(f.path, `\`, "/"), strings.ReplaceAll(dir, `\`, "/")+"/")
		}
		if got != tt.want {
			t.Errorf("find(%q, %q) = %q, want %q", tt.name, tt.path, got, tt.want)
		}
	}
}

package a1111_test

import (
	"testing"

	"lorabot/a1111"
	"lorabot/a1111/a1111test"
)

// /upscalers' real shape, nulls included, decodes.
func TestUpscalersShape(t *testing.T) {
	srv := a1111test.Start(t, a1111test.Options{Upscalers: []string{"None", "Lanczos", "ESRGAN_4x", "4x-UltraSharp"}})
	c := newClient(t, srv.URL(), a1111.Options{})
	list, err := c.Upscalers(bounded(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 4 {
		t.Fatalf("got %+v", list)
	}
	if l := list[1]; l.Name != "Lanczos" || l.ModelName != "" || l.ModelPath != "" || l.Scale != 4 {
		t.Errorf("built-in %+v", l)
	}
	if l := list[2]; l.ModelName != "ESRGAN_4x" || l.ModelPath == "" || l.ModelURL != "" {
		t.Errorf("model %+v", l)
	}
}

func TestPickUpscaler(t *testing.T) {
	list := func(names ...string) []a1111.Upscaler {
		var out []a1111.Upscaler
		for _, n := range names {
			out = append(out, a1111.Upscaler{Name: n, Scale: 4})
		}
		return out
	}
	cases := []struct {
		name   string
		listed []a1111.Upscaler
		prefer []string
		want   string
		ok     bool
	}{
		{"the usual install", list("None", "Lanczos", "Nearest", "ESRGAN_4x", "R-ESRGAN 4x+", "SwinIR 4x"), nil, "R-ESRGAN 4x+", true},
		{"UltraSharp before ESRGAN", list("None", "Lanczos", "ESRGAN_4x", "4x-UltraSharp"), nil, "4x-UltraSharp", true},
		{"built-ins only", list("None", "Lanczos", "Nearest"), nil, "Lanczos", true},
		{"the server's spelling", list("None", "r-esrgan 4X+"), nil, "r-esrgan 4X+", true},
		{"an operator's choice", list("None", "Lanczos", "R-ESRGAN 4x+", "4x_foolhardy_Remacri"), []string{"4x_foolhardy_Remacri"}, "4x_foolhardy_Remacri", true},
		{"a choice the server lacks", list("None", "Lanczos"), []string{"4x_foolhardy_Remacri"}, "Lanczos", true},
		{"an unknown model", list("None", "Nearest", "4x_NickelbackFS"), nil, "4x_NickelbackFS", true},
		{"nothing that enlarges", list("None", "Nearest"), nil, "", false},
		{"nothing", nil, nil, "", false},
	}
	for _, tc := range cases {
		got, ok := a1111.PickUpscaler(tc.listed, tc.prefer...)
		if ok != tc.ok || got.Name != tc.want {
			t.Errorf("%s: got %q, %t; want %q, %t", tc.name, got.Name, ok, tc.want, tc.ok)
		}
	}
}

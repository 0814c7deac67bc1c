package a1111test

import (
	"encoding/json"
	"fmt"
	"image"
	"io"
	"net/http"
	"slices"
)

// Interrogation is one request of POST /sdapi/v1/interrogate, as received.
type Interrogation struct {
	Model string // "clip" when the request had none
	Image []byte // the image file sent, decoded from base64
}

// sdnextInterrogators is SD.Next's GET /sdapi/v1/interrogate: the OpenCLIP
// models its POST takes (it has no "clip" or "deepdanbooru" there).
var sdnextInterrogators = []string{"ViT-L-14/openai", "ViT-H-14/laion2b_s32b_b79k"}

// interrogate is POST /sdapi/v1/interrogate {image, model} → {caption}.
// A1111 1.10 and Forge (modules/api/api.py interrogateapi): no image is
// 404 "Image not found", one that does not decode 500 "Invalid encoded
// image"; then, under the generation lock, "clip" gives a sentence,
// "deepdanbooru" booru tags, anything else 404 "Model not found".
// With Options.NoDeepDanbooru, deepdanbooru fails as the download of its
// missing weights does offline. SD.Next takes only its OpenCLIP models
// (sdnextInterrogators) and answers 404 "Model not found" for "clip" and
// "deepdanbooru". The caption is derived from the image's colours and shape
// only, so that the same image gets the same caption.
func (s *Server) interrogate(w http.ResponseWriter, r *http.Request, epoch <-chan struct{}) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	var req struct {
		Image *string `json:"image"`
		Model *string `json:"model"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		s.validationError(w, err)
		return
	}
	model := "clip"
	if req.Model != nil {
		model = *req.Model
	}
	rec := Interrogation{Model: model}
	if req.Image != nil {
		rec.Image, _ = decodeB64Image(*req.Image)
	}
	s.mu.Lock()
	s.interrogations = append(s.interrogations, rec)
	s.notifyLocked()
	s.mu.Unlock()
	sdnext := s.opts.Flavor == FlavorSDNext
	if req.Image == nil || sdnext && len(*req.Image) < 64 {
		s.httpError(w, http.StatusNotFound, "Image not found")
		return
	}
	img, err := decodeImage(*req.Image)
	if err != nil {
		s.httpError(w, http.StatusInternalServerError, "Invalid encoded image")
		return
	}
	release, ok := s.holdLock(epoch)
	if !ok {
		return
	}
	defer release()
	colour, shape := describe(img)
	switch {
	case sdnext && slices.Contains(sdnextInterrogators, model), !sdnext && model == "clip":
		writeJSON200(w, map[string]any{"caption": fmt.Sprintf("a %s picture of a colour gradient, %s dominant, soft lighting", shape, colour)})
	case !sdnext && model == "deepdanbooru" && s.opts.NoDeepDanbooru:
		s.exception(w, http.StatusInternalServerError, "URLError", "<urlopen error [Errno -3] Temporary failure in name resolution>")
	case !sdnext && model == "deepdanbooru":
		writeJSON200(w, map[string]any{"caption": fmt.Sprintf("no humans, %s theme, gradient, simple background, %s", colour, shape)})
	default:
		s.httpError(w, http.StatusNotFound, "Model not found")
	}
}

// describe names the image's dominant colour and its orientation.
func describe(img image.Image) (colour, shape string) {
	b := img.Bounds()
	var sum [3]float64
	n := 0
	// A grid of samples is plenty for a mean.
	stepX, stepY := max(b.Dx()/64, 1), max(b.Dy()/64, 1)
	for y := b.Min.Y; y < b.Max.Y; y += stepY {
		for x := b.Min.X; x < b.Max.X; x += stepX {
			r, g, bl, _ := img.At(x, y).RGBA()
			sum[0] += float64(r >> 8)
			sum[1] += float64(g >> 8)
			sum[2] += float64(bl >> 8)
			n++
		}
	}
	for i := range sum {
		sum[i] /= float64(max(n, 1))
	}
	hi, lo := slices.Max(sum[:]), slices.Min(sum[:])
	switch {
	case hi-lo < 24 && hi > 200:
		colour = "white"
	case hi-lo < 24 && hi < 56:
		colour = "black"
	case hi-lo < 24:
		colour = "grey"
	default:
		colour = [...]string{"red", "green", "blue"}[slices.Index(sum[:], hi)]
	}
	switch {
	case b.Dx() > b.Dy():
		shape = "landscape"
	case b.Dx() < b.Dy():
		shape = "portrait"
	default:
		shape = "square"
	}
	return colour, shape
}

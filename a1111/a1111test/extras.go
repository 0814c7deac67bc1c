package a1111test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"lorabot/a1111"
)

// extrasJSON is ExtrasSingleImageRequest as sent, with A1111's defaults
// told apart from values (pointers).
type extrasJSON struct {
	Image               *string  `json:"image"`
	ResizeMode          int      `json:"resize_mode"`
	UpscalingResize     *float64 `json:"upscaling_resize"`
	UpscalingResizeW    *int     `json:"upscaling_resize_w"`
	UpscalingResizeH    *int     `json:"upscaling_resize_h"`
	UpscalingCrop       *bool    `json:"upscaling_crop"`
	Upscaler1           *string  `json:"upscaler_1"`
	Upscaler2           *string  `json:"upscaler_2"`
	Upscaler2Visibility float64  `json:"extras_upscaler_2_visibility"`
	ShowExtrasResults   *bool    `json:"show_extras_results"`
}

// extraSingleImage is POST /sdapi/v1/extra-single-image as A1111 1.10 runs
// it: the image is decoded before the lock (500 "Invalid encoded image"),
// the upscale runs under the generation lock, and an upscaler it does not
// list fails scripts/postprocessing_upscale.py's assertion (500
// AssertionError "could not find upscaler named …"). "None" returns the
// image as it came. The size follows modules/upscaler.py: each side
// int(side × factor) rounded down to a multiple of 8, or the target size
// with resize_mode 1 and upscaling_crop. The answer is {html_info, image},
// the image in the samples_format option, a PNG keeping the source's
// infotext and adding a "postprocessing" one. The fake scales by nearest
// neighbour, whatever the upscaler.
func (s *Server) extraSingleImage(w http.ResponseWriter, r *http.Request, epoch <-chan struct{}) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	var req extrasJSON
	if err := json.Unmarshal(body, &req); err != nil {
		s.validationError(w, err)
		return
	}
	// Pydantic's field checks: resize_mode is Literal[0, 1],
	// upscaling_resize gt=0.
	if req.ResizeMode != 0 && req.ResizeMode != 1 {
		s.validationError(w, &json.UnmarshalTypeError{Value: "number", Type: reflect.TypeFor[int](), Field: "resize_mode"})
		return
	}
	factor := 2.0
	if req.UpscalingResize != nil {
		factor = *req.UpscalingResize
	}
	if factor <= 0 {
		s.validationError(w, &json.UnmarshalTypeError{Value: "number", Type: reflect.TypeFor[float64](), Field: "upscaling_resize"})
		return
	}
	up1, up2 := "None", "None"
	if req.Upscaler1 != nil {
		up1 = *req.Upscaler1
	}
	if req.Upscaler2 != nil {
		up2 = *req.Upscaler2
	}
	tw, th, crop := 512, 512, true
	if req.UpscalingResizeW != nil {
		tw = *req.UpscalingResizeW
	}
	if req.UpscalingResizeH != nil {
		th = *req.UpscalingResizeH
	}
	if req.UpscalingCrop != nil {
		crop = *req.UpscalingCrop
	}
	var raw []byte
	if req.Image != nil {
		raw, _ = decodeB64Image(*req.Image)
	}
	s.mu.Lock()
	s.extrasRequests = append(s.extrasRequests, a1111.ExtrasRequest{
		Image: raw, ResizeMode: req.ResizeMode, UpscalingResize: factor, UpscalingResizeW: tw, UpscalingResizeH: th,
		Upscaler1: up1, Upscaler2: up2, Upscaler2Visibility: req.Upscaler2Visibility,
	})
	format, _ := s.options["samples_format"].(string)
	s.notifyLocked()
	s.mu.Unlock()

	src, _, err := image.Decode(bytes.NewReader(raw))
	if err != nil {
		s.httpError(w, http.StatusInternalServerError, "Invalid encoded image")
		return
	}
	release, ok := s.holdLock(epoch)
	if !ok {
		return
	}
	listed := s.upscalerNames()
	for _, name := range []string{up1, up2} {
		if name != "None" && !slices.Contains(listed, name) {
			release()
			s.exception(w, http.StatusInternalServerError, "AssertionError", "could not find upscaler named "+name)
			return
		}
	}
	out := src
	var info []string
	if up1 != "None" {
		b := src.Bounds()
		var dw, dh int
		if req.ResizeMode == 1 {
			scale := max(float64(tw)/float64(b.Dx()), float64(th)/float64(b.Dy()))
			dw, dh = int(float64(b.Dx())*scale)/8*8, int(float64(b.Dy())*scale)/8*8
			info = append(info, fmt.Sprintf("Postprocess upscale to: %dx%d", tw, th))
		} else {
			dw, dh = int(float64(b.Dx())*factor)/8*8, int(float64(b.Dy())*factor)/8*8
			info = append(info, fmt.Sprintf("Postprocess upscale by: %g", factor))
		}
		scaled := scaleNearest(src, max(dw, 8), max(dh, 8))
		if req.ResizeMode == 1 && crop {
			// Pasted centred on a black canvas of the target size.
			canvas := image.NewRGBA(image.Rect(0, 0, tw, th))
			off := image.Pt(tw/2-scaled.Bounds().Dx()/2, th/2-scaled.Bounds().Dy()/2)
			for y := range th {
				for x := range tw {
					sx, sy := x-off.X, y-off.Y
					if sx >= 0 && sy >= 0 && sx < scaled.Bounds().Dx() && sy < scaled.Bounds().Dy() {
						canvas.Set(x, y, scaled.At(sx, sy))
					} else {
						canvas.Set(x, y, color.Black)
					}
				}
			}
			scaled = canvas
			info = append(info, fmt.Sprintf("Postprocess crop to: %dx%d", tw, th))
		}
		out = scaled
		info = append(info, "Postprocess upscaler: "+up1)
		if up2 != "None" && req.Upscaler2Visibility > 0 {
			info = append(info, "Postprocess upscaler 2: "+up2)
		}
	}
	release()
	infotext := strings.Join(info, ", ")
	var enc []byte
	switch strings.ToLower(format) {
	case "webp":
		c := color.NRGBAModel.Convert(out.At(out.Bounds().Min.X, out.Bounds().Min.Y)).(color.NRGBA)
		c.A = 0xff
		enc = SolidWebP(out.Bounds().Dx(), out.Bounds().Dy(), c)
	case "jpg", "jpeg":
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, out, nil); err != nil {
			panic(err) // writing to memory: cannot fail
		}
		enc = buf.Bytes()
	default:
		enc = encodePNG(out)
		if infotext != "" {
			enc = withText(enc, "postprocessing", infotext)
		}
		if params, ok := PNGParameters(raw); ok {
			enc = withText(enc, "parameters", params)
		}
	}
	html := "<p>" + infotext + "</p>"
	if infotext == "" {
		html = "<p></p>"
	}
	var img any // show_extras_results false: no image
	if req.ShowExtrasResults == nil || *req.ShowExtrasResults {
		img = base64.StdEncoding.EncodeToString(enc)
	}
	writeJSON200(w, map[string]any{"html_info": html, "image": img})
}

// upscalerNames are the upscalers this server lists.
func (s *Server) upscalerNames() []string {
	if s.opts.Upscalers != nil {
		return s.opts.Upscalers
	}
	return DefaultUpscalers
}

// holdLock waits for the generation lock, counting the request as held
// meanwhile; release gives both back. ok is false when the server went
// down first.
func (s *Server) holdLock(epoch <-chan struct{}) (release func(), ok bool) {
	s.mu.Lock()
	turn := s.lock.enqueue()
	s.inflight++
	s.maxInfl = max(s.maxInfl, s.inflight)
	s.notifyLocked()
	s.mu.Unlock()
	done := func() {
		s.mu.Lock()
		s.inflight--
		s.notifyLocked()
		s.mu.Unlock()
	}
	if !s.lock.wait(turn, epoch) {
		done()
		return nil, false
	}
	return func() { s.lock.unlock(); done() }, true
}

// decodeB64Image reads an image sent as base64, as A1111's
// decode_base64_to_image does: a "data:image/…;base64," prefix is skipped.
func decodeB64Image(s string) ([]byte, error) {
	if strings.HasPrefix(s, "data:image/") {
		if _, rest, ok := strings.Cut(s, ","); ok {
			s = rest
		}
	}
	return base64.StdEncoding.DecodeString(s)
}

// decodeImage decodes a base64 image file (PNG, JPEG, WEBP).
func decodeImage(s string) (image.Image, error) {
	raw, err := decodeB64Image(s)
	if err != nil {
		return nil, err
	}
	img, _, err := image.Decode(bytes.NewReader(raw))
	return img, err
}

// scaleNearest resizes src to w×h by nearest neighbour.
func scaleNearest(src image.Image, w, h int) *image.RGBA {
	b := src.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	rgba, fast := src.(*image.RGBA)
	for y := range h {
		sy := b.Min.Y + y*b.Dy()/h
		row := dst.Pix[y*dst.Stride : y*dst.Stride+w*4]
		for x := range w {
			sx := b.Min.X + x*b.Dx()/w
			p := row[x*4 : x*4+4 : x*4+4]
			if fast {
				i := rgba.PixOffset(sx, sy)
				copy(p, rgba.Pix[i:i+4])
				continue
			}
			c := color.RGBAModel.Convert(src.At(sx, sy)).(color.RGBA)
			p[0], p[1], p[2], p[3] = c.R, c.G, c.B, c.A
		}
	}
	return dst
}

func encodePNG(img image.Image) []byte {
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		panic(err) // writing to memory: cannot fail
	}
	return buf.Bytes()
}

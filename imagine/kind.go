package imagine

import (
	"bytes"
	"fmt"
	"image"
	_ "image/gif" // DecodeConfig of what users attach
	_ "image/jpeg"
	_ "image/png"
	"net/url"
	"strconv"
	"time"

	_ "golang.org/x/image/webp"

	"lorabot/gen"
)

// Kind is what a job asks of its server. The zero Kind is txt2img, so
// records written before kinds existed read as what they were.
type Kind string

const (
	Txt2Img  Kind = ""
	Img2Img  Kind = "img2img"  // from a picture: Request.Init, Request.Strength
	Upscale  Kind = "upscale"  // A1111's extras upscaler: Request.Init, Request.Upscaler, Request.Scale
	Describe Kind = "describe" // A1111's interrogator: Request.Init, Request.Interrogator
)

func (k Kind) String() string {
	if k == Txt2Img {
		return "txt2img"
	}
	return string(k)
}

// Picture is an image a job starts from: a user's attachment, or an
// image of an earlier result. Only where it is (URL) is kept in the job's
// record, never its bytes: a record stays small, and a job resumed after a
// restart fetches it again (Discord's attachment URLs last longer than a
// pending record).
type Picture struct {
	URL    string `json:"url"`
	Name   string `json:"name,omitempty"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Bytes  int64  `json:"bytes,omitempty"`
}

// Limits on a picture a user gives. The byte limit is Discord's own
// default upload limit; the pixel limit keeps a decompression bomb (a
// small PNG declaring 12,000 × 12,000) from being decoded at all.
const (
	MaxPictureBytes  = 10 << 20
	MaxPicturePixels = 4096 * 4096
	MaxPictureSide   = 8192
)

// CheckPicture reads only the header of data (its format and size) and
// refuses what is not an image this bot can send on, or is too large. name
// is the file's name, for the sentence.
func CheckPicture(name string, data []byte) (Picture, error) {
	if len(data) == 0 {
		return Picture{}, &gen.InputError{Msg: fmt.Sprintf("The file %q is empty; attach a PNG, JPEG or WEBP image.", name)}
	}
	if len(data) > MaxPictureBytes {
		return Picture{}, PictureTooLarge(name, int64(len(data)))
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return Picture{}, &gen.InputError{Msg: fmt.Sprintf("The file %q is not an image this bot can read; attach a PNG, JPEG or WEBP image.", name)}
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > MaxPictureSide || cfg.Height > MaxPictureSide || cfg.Width*cfg.Height > MaxPicturePixels {
		return Picture{}, &gen.InputError{Msg: fmt.Sprintf("The image %q is %d×%d pixels; this bot takes images of at most 16.8 million pixels (4096×4096) and %d pixels a side.", name, cfg.Width, cfg.Height, MaxPictureSide)}
	}
	return Picture{Name: name, Width: cfg.Width, Height: cfg.Height, Bytes: int64(len(data))}, nil
}

// PictureTooLarge is the refusal of a file over MaxPictureBytes; size is
// its size when known, else 0.
func PictureTooLarge(name string, size int64) error {
	if size > 0 {
		return &gen.InputError{Msg: fmt.Sprintf("The file %q is %.1f MiB; attach an image of at most %d MiB.", name, float64(size)/(1<<20), MaxPictureBytes>>20)}
	}
	return &gen.InputError{Msg: fmt.Sprintf("The file %q is larger than %d MiB; attach a smaller image.", name, MaxPictureBytes>>20)}
}

// Expired reports whether Discord's link to p has run out by now: its
// attachment URLs are signed, and "ex" is when the signature ends (hex
// Unix seconds). A link without one is taken to last.
func (p Picture) Expired(now time.Time) bool {
	u, err := url.Parse(p.URL)
	if err != nil {
		return false
	}
	ex, err := strconv.ParseInt(u.Query().Get("ex"), 16, 64)
	return err == nil && now.After(time.Unix(ex, 0))
}

// Strength bounds for img2img (interface.md: strength 0.05 to 1, default
// 0.6), and what the creative upscale uses: low, so it adds detail without
// changing what the picture shows.
const (
	MinStrength      = 0.05
	MaxStrength      = 1.0
	DefaultStrength  = 0.6
	CreativeStrength = 0.3
)

// SamplerSteps is how many steps the server's sampler runs for r, what its
// progress shows as sampling_steps: img2img denoises only part of the way,
// int(min(strength, 0.999) × steps) + 1 steps (A1111's
// setup_img2img_steps), so that the bot can tell its own job's progress
// from another's. A server whose img2img_fix_steps option is on runs the
// full steps instead; its progress then reads as "finishing another job"
// until the images come (the option is off by default).
func (r *Request) SamplerSteps() int {
	if r.Kind != Img2Img {
		return r.Options.Steps
	}
	return int(min(r.Strength, 0.999)*float64(r.Options.Steps)) + 1
}

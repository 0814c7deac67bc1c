package a1111

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ExtrasRequest is the body of POST /sdapi/v1/extra-single-image (A1111's
// ExtrasSingleImageRequest), reduced to upscaling: face restoration stays
// off (A1111's default visibility 0). Zero values are omitted, so that
// A1111's defaults apply (resize_mode 0, upscaling_resize 2, upscaler_2
// "None"); show_extras_results is never sent, as false would make A1111
// answer without the image.
type ExtrasRequest struct {
	// Image is the image file (PNG, JPEG, WEBP), sent base64-encoded.
	Image []byte `json:"image"`
	// ResizeMode 0 scales by UpscalingResize; 1 scales to
	// UpscalingResizeW×UpscalingResizeH (cropping to fit, A1111's default).
	ResizeMode int `json:"resize_mode"`
	// UpscalingResize is the factor for ResizeMode 0; 0 means A1111's 2.
	// A1111 rounds the result down to a multiple of 8 on each side
	// (modules/upscaler.py), so 2× of 1023×1023 is 2040×2040.
	UpscalingResize  float64 `json:"upscaling_resize,omitempty"`
	UpscalingResizeW int     `json:"upscaling_resize_w,omitempty"`
	UpscalingResizeH int     `json:"upscaling_resize_h,omitempty"`
	// Upscaler1 is an Upscaler's Name as /upscalers lists it (see
	// PickUpscaler). "None" or "" returns the image unscaled: A1111 skips
	// the upscale then, and says nothing.
	Upscaler1 string `json:"upscaler_1,omitempty"`
	// Upscaler2 is blended over Upscaler1's result with
	// Upscaler2Visibility (0..1); "" means A1111's "None".
	Upscaler2           string  `json:"upscaler_2,omitempty"`
	Upscaler2Visibility float64 `json:"extras_upscaler_2_visibility,omitempty"`
}

// ExtrasResult is extra-single-image's answer {image, html_info} with the
// image decoded: a file in the server's samples_format (PNG by default,
// WEBP or JPEG when so set), carrying the source's infotext when it is PNG.
type ExtrasResult struct {
	Image []byte
	// HTMLInfo is A1111's summary, e.g. "<p>Postprocess upscale by: 2,
	// Postprocess upscaler: R-ESRGAN 4x+</p>".
	HTMLInfo string
}

const extrasPath = "/sdapi/v1/extra-single-image"

// ErrUnknownUpscaler is wrapped by the *Error of an ExtraSingleImage whose
// upscaler the server does not list. A1111 (and SD.Next) fail an assertion
// for it, a 500 {"error": "AssertionError", "errors": "could not find
// upscaler named …"}; the client reports it as KindBadRequest, the
// request's fault, not the server's. Forge answers the same mistake with a
// bare "Internal Server Error" that cannot be told from other failures:
// check the name against Upscalers first (PickUpscaler).
var ErrUnknownUpscaler = errors.New("a1111: unknown upscaler")

// ExtraSingleImage upscales one image (POST /sdapi/v1/extra-single-image).
// A1111 runs it under its generation lock, so it waits behind a running
// job; it is bounded by RequestTimeout on top of ctx (an ESRGAN 2× of a
// 1024² image takes seconds on a GPU, minutes on a CPU: give ctx a longer
// deadline and a client with a larger RequestTimeout when needed). The image
// is decoded from base64 as it streams in.
func (c *Client) ExtraSingleImage(ctx context.Context, req ExtrasRequest) (*ExtrasResult, error) {
	var res *ExtrasResult
	err := c.call(ctx, http.MethodPost, extrasPath, req, func(r io.Reader) error {
		var err error
		res, err = DecodeExtras(r)
		return err
	})
	if err != nil {
		return nil, unknownUpscaler(err)
	}
	if len(res.Image) == 0 {
		return nil, &Error{Kind: KindBadResponse, Server: c.addr, Route: http.MethodPost + " " + extrasPath, Detail: "the answer has no image"}
	}
	return res, nil
}

// unknownUpscaler turns A1111's failed assertion on the upscaler's name into
// a KindBadRequest wrapping ErrUnknownUpscaler.
func unknownUpscaler(err error) error {
	var e *Error
	if errors.As(err, &e) && e.Kind == KindServer {
		if _, name, ok := strings.Cut(e.Detail, "could not find upscaler named "); ok {
			e.Kind = KindBadRequest
			e.Detail = fmt.Sprintf("the server has no upscaler named %q", strings.TrimSpace(name))
			e.Err = ErrUnknownUpscaler
		}
	}
	return err
}

// DecodeExtras reads an extra-single-image answer as it streams in, the
// image's base64 decoded straight into its bytes (a "data:…;base64,"
// prefix is accepted). A null image gives an empty Image.
func DecodeExtras(r io.Reader) (*ExtrasResult, error) {
	s := newScanner(r)
	res := &ExtrasResult{}
	var sink b64Sink
	err := s.object(func(key []byte) error {
		c, err := s.peek()
		if err != nil {
			return err
		}
		if c != '"' {
			return s.skipValue()
		}
		switch string(key) {
		case "image":
			_, _ = s.r.ReadByte()
			res.Image, err = s.streamBase64(&sink)
			return err
		case "html_info":
			res.HTMLInfo, err = s.readString()
			return err
		}
		return s.skipValue()
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

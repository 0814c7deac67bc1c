package a1111

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
)

// The interrogators of POST /sdapi/v1/interrogate on A1111 and Forge.
const (
	InterrogatorCLIP         = "clip"         // BLIP caption plus CLIP's best-matching artists and styles: a sentence
	InterrogatorDeepDanbooru = "deepdanbooru" // booru tags, comma-separated: suits anime models
)

const interrogatePath = "/sdapi/v1/interrogate"

// Interrogate describes image (a PNG, JPEG or WEBP file) with one of the
// server's interrogators (POST /sdapi/v1/interrogate {image, model} →
// {caption}). A1111 runs it under its generation lock: it waits behind a
// running job. It is bounded by RequestTimeout on top of ctx; the first
// call on a server loads the interrogator's weights, which can take a
// minute.
//
// When the server has no such interrogator, the error is an *Error of
// KindNotSupported wrapping ErrNotSupported (errors.Is(err,
// ErrNotSupported)), so that a caller can offer the other one or say it is
// not available, rather than report a failure:
//   - A1111 1.10 and Forge know exactly "clip" and "deepdanbooru" and answer
//     404 "Model not found" for any other name.
//   - A1111 downloads DeepDanbooru's (and CLIP's) weights on first use: on
//     an install that cannot reach the Internet and lacks them, the call
//     fails with the download's exception (a 500 URLError); that is taken
//     for "not available" too. Forge hides the exception behind a bare 500,
//     which stays KindServer.
//   - SD.Next answers 404 "Model not found" for both names: its
//     interrogate takes OpenCLIP model names, which GET
//     /sdapi/v1/interrogate lists (and it tags with DeepBooru on another
//     route). For "clip", Interrogate then asks that list and describes
//     with its first model; "deepdanbooru" stays not available there.
//   - A server without the route (a fork) answers 404 Not Found.
func (c *Client) Interrogate(ctx context.Context, image []byte, model string) (string, error) {
	if model == "" {
		model = InterrogatorCLIP
	}
	caption, err := c.interrogate(ctx, image, model)
	if err == nil || model != InterrogatorCLIP || !modelNotFound(err) {
		return caption, interrogatorMissing(err, model)
	}
	// SD.Next: describe with the first OpenCLIP model it lists.
	var names []string
	if lerr := c.call(ctx, http.MethodGet, interrogatePath, nil, decodeJSON(&names)); lerr == nil {
		names = slices.DeleteFunc(names, func(n string) bool { return n == InterrogatorCLIP || n == InterrogatorDeepDanbooru || n == "" })
		if len(names) > 0 {
			caption, err = c.interrogate(ctx, image, names[0])
		}
	}
	return caption, interrogatorMissing(err, model)
}

func (c *Client) interrogate(ctx context.Context, image []byte, model string) (string, error) {
	body := struct {
		Image []byte `json:"image"`
		Model string `json:"model"`
	}{image, model}
	var out struct {
		Caption *string `json:"caption"`
	}
	if err := c.call(ctx, http.MethodPost, interrogatePath, body, decodeJSON(&out)); err != nil {
		return "", err
	}
	if out.Caption == nil {
		return "", &Error{Kind: KindBadResponse, Server: c.addr, Route: http.MethodPost + " " + interrogatePath, Detail: "the answer has no caption"}
	}
	return strings.TrimSpace(*out.Caption), nil
}

// modelNotFound is the 404 HTTPException interrogate raises for a model it
// does not know.
func modelNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound && strings.EqualFold(e.Detail, "Model not found")
}

// downloadClasses are the exceptions of a failed weight download (urllib,
// requests, huggingface_hub), as A1111's error middleware names them.
var downloadClasses = []string{"URLError", "HTTPError", "ConnectionError", "MaxRetryError", "LocalEntryNotFoundError", "gaierror"}

// interrogatorMissing turns the answers that mean "this server has no such
// interrogator" (see Interrogate) into KindNotSupported.
func interrogatorMissing(err error, model string) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	missing := modelNotFound(err) || e.Kind == KindNoAPI ||
		e.Kind == KindServer && slices.Contains(downloadClasses, e.Class)
	if missing {
		e.Kind = KindNotSupported
		e.Detail = "this server has no " + model + " interrogator"
		e.Err = ErrNotSupported
	}
	return err
}

package a1111

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// LoRAs fetches the LoRA catalog (GET /sdapi/v1/loras), decoded with
// DecodeLoRAs. A1111 serves this route even without --api and without
// --api-auth. A server without it (the Lora extension disabled, SD.Next's
// original backend) gives an *Error wrapping ErrNotSupported.
func (c *Client) LoRAs(ctx context.Context) ([]LoRA, error) {
	var out []LoRA
	err := c.call(ctx, http.MethodGet, "/sdapi/v1/loras", nil, func(r io.Reader) error {
		var err error
		out, err = DecodeLoRAs(r)
		return err
	})
	return out, notSupported(err, "LoRA list")
}

// RefreshLoRAs makes A1111 rescan its LoRA folders (POST
// /sdapi/v1/refresh-loras); the next LoRAs call shows the result.
func (c *Client) RefreshLoRAs(ctx context.Context) error {
	return notSupported(c.call(ctx, http.MethodPost, "/sdapi/v1/refresh-loras", nil, nil), "LoRA list")
}

// Progress reads GET /sdapi/v1/progress. withImage asks for the live preview
// (current_image), which costs the server an encode; ask only to show one.
// Progress is global: it describes whatever the server runs now.
func (c *Client) Progress(ctx context.Context, withImage bool) (*Progress, error) {
	var p Progress
	route := fmt.Sprintf("/sdapi/v1/progress?skip_current_image=%t", !withImage)
	if err := c.call(ctx, http.MethodGet, route, nil, decodeJSON(&p)); err != nil {
		return nil, err
	}
	return &p, nil
}

// Interrupt stops whatever the server generates now (POST
// /sdapi/v1/interrupt); the txt2img call then answers with what it has.
func (c *Client) Interrupt(ctx context.Context) error {
	return c.call(ctx, http.MethodPost, "/sdapi/v1/interrupt", nil, nil)
}

// Skip ends the current batch of the running job and goes on with the next
// (POST /sdapi/v1/skip).
func (c *Client) Skip(ctx context.Context) error {
	return c.call(ctx, http.MethodPost, "/sdapi/v1/skip", nil, nil)
}

// Models lists the checkpoints (GET /sdapi/v1/sd-models). A Model's Title is
// what override_settings.sd_model_checkpoint takes.
func (c *Client) Models(ctx context.Context) ([]Model, error) {
	var out []Model
	return out, c.call(ctx, http.MethodGet, "/sdapi/v1/sd-models", nil, decodeJSON(&out))
}

// Samplers lists the samplers (GET /sdapi/v1/samplers). Option values that
// are not strings (A1111 sends booleans) are written as text.
func (c *Client) Samplers(ctx context.Context) ([]Sampler, error) {
	var raw []struct {
		Name    string         `json:"name"`
		Aliases []string       `json:"aliases"`
		Options map[string]any `json:"options"`
	}
	if err := c.call(ctx, http.MethodGet, "/sdapi/v1/samplers", nil, decodeJSON(&raw)); err != nil {
		return nil, err
	}
	out := make([]Sampler, 0, len(raw))
	for _, r := range raw {
		s := Sampler{Name: r.Name, Aliases: r.Aliases}
		if len(r.Options) > 0 {
			s.Options = make(map[string]string, len(r.Options))
			for k, v := range r.Options {
				if str, ok := v.(string); ok {
					s.Options[k] = str
				} else {
					s.Options[k] = fmt.Sprint(v)
				}
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// Schedulers lists the schedulers (GET /sdapi/v1/schedulers, A1111 1.9+).
// An older server answers 404: then the result is nil and the error wraps
// ErrNotSupported, and callers use sampler names alone ("DPM++ 2M Karras").
func (c *Client) Schedulers(ctx context.Context) ([]Scheduler, error) {
	var out []Scheduler
	err := c.call(ctx, http.MethodGet, "/sdapi/v1/schedulers", nil, decodeJSON(&out))
	if err = notSupported(err, "schedulers"); err != nil {
		return nil, err
	}
	return out, nil
}

// Upscalers lists the upscalers (GET /sdapi/v1/upscalers).
func (c *Client) Upscalers(ctx context.Context) ([]Upscaler, error) {
	var out []Upscaler
	return out, c.call(ctx, http.MethodGet, "/sdapi/v1/upscalers", nil, decodeJSON(&out))
}

// Options reads the server's settings (GET /sdapi/v1/options), e.g.
// "sd_model_checkpoint". It also serves as a health probe: it works with
// --nowebui and needs --api and the credentials.
func (c *Client) Options(ctx context.Context) (map[string]json.RawMessage, error) {
	var out map[string]json.RawMessage
	return out, c.call(ctx, http.MethodGet, "/sdapi/v1/options", nil, decodeJSON(&out))
}

// SetOptions changes server settings (POST /sdapi/v1/options). Setting
// "sd_model_checkpoint" loads that model, which can take a minute; A1111
// refuses an unknown checkpoint with a 500.
func (c *Client) SetOptions(ctx context.Context, opts map[string]any) error {
	if opts == nil {
		opts = map[string]any{}
	}
	return c.call(ctx, http.MethodPost, "/sdapi/v1/options", opts, nil)
}

// notSupported turns "this route does not exist" into ErrNotSupported. A
// server started without --api answers the same 404; callers of these
// routes fall back either way.
func notSupported(err error, what string) error {
	var e *Error
	if errors.As(err, &e) && e.Kind == KindNoAPI {
		e.Kind = KindNotSupported
		e.Detail = "this server has no " + what
		e.Err = ErrNotSupported
	}
	return err
}

// MaxThumbBytes bounds a preview image read from the server's thumbnail
// route.
const MaxThumbBytes = 8 << 20

// Thumb reads a preview image through the web UI's own route, GET
// /sd_extra_networks/thumb?filename=FILE, which its extra-networks page
// uses for card images. It serves files of the LoRA folders only, and
// only while the web UI runs (not with --nowebui): a 404 then means no
// such file (or no such route). An answer over MaxThumbBytes is an error.
func (c *Client) Thumb(ctx context.Context, filename string) ([]byte, error) {
	var out []byte
	err := c.call(ctx, http.MethodGet, "/sd_extra_networks/thumb?filename="+url.QueryEscape(filename), nil, func(r io.Reader) error {
		b, err := io.ReadAll(io.LimitReader(r, MaxThumbBytes+1))
		if err != nil {
			return err
		}
		if len(b) > MaxThumbBytes {
			return fmt.Errorf("preview larger than %d bytes", MaxThumbBytes)
		}
		out = b
		return nil
	})
	return out, err
}

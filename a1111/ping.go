package a1111

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
)

// Ping is the health probe: it says whether the server is up and answering.
//
// It asks GET /internal/ping first, which A1111 registers with its web UI
// (modules/ui.py: it answers {} at once). That route needs neither --api nor
// the --api-auth credentials and does not wait for a running generation, so
// it tells "up" from "down" and nothing more. SD.Next has it too
// (modules/ui_javascript.py). A server without it (started with --nowebui,
// a Forge build without it, a proxy passing only /sdapi) answers 404: Ping
// then asks GET /sdapi/v1/options, which does need
// --api and the credentials, and remembers, so that later probes of this
// client go straight there.
//
// The probe, fallback included, is bounded by RequestTimeout on top of ctx.
// Errors are *Error like every call's; see ServerDown.
func (c *Client) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeoutCause(ctx, c.opts.RequestTimeout, errCallTimeout)
	defer cancel()
	var out map[string]json.RawMessage
	if !c.noPing.Load() {
		err := c.send(ctx, http.MethodGet, "/internal/ping", nil, decodeJSON(&out))
		var e *Error
		if !errors.As(err, &e) || e.Status != http.StatusNotFound {
			return err
		}
		c.noPing.Store(true)
		c.logger.Debug("a1111: no /internal/ping, probing /sdapi/v1/options from now on", "server", c.addr)
	}
	return c.send(ctx, http.MethodGet, "/sdapi/v1/options", nil, decodeJSON(&out))
}

package bot

import (
	"net/http"
	"slices"
	"strings"
)

// Route classes: what a Discord REST request is for, without the IDs and
// the interaction token its URL carries, so that metrics can be labelled
// by it. The set is fixed; RouteClass returns nothing else.
const (
	RouteCallback       = "interaction_callback" // POST interactions/{id}/{token}/callback
	RouteEdit           = "interaction_edit"     // PATCH webhooks/{app}/{token}/messages/{id}
	RouteDelete         = "interaction_delete"   // DELETE webhooks/{app}/{token}/messages/{id}
	RouteFollowup       = "interaction_followup" // POST webhooks/{app}/{token}
	RouteWebhookOther   = "webhook_other"
	RouteChannelMessage = "channel_message" // POST channels/{id}/messages
	RouteChannelOther   = "channel_other"
	RouteCommands       = "application_commands" // registration
	RouteUsers          = "users"                // users/@me (is the token still good)
	RouteGateway        = "gateway"              // GET gateway, gateway/bot
	RouteOther          = "other"
)

// RouteClasses lists every class RouteClass can return.
var RouteClasses = []string{RouteCallback, RouteEdit, RouteDelete, RouteFollowup, RouteWebhookOther,
	RouteChannelMessage, RouteChannelOther, RouteCommands, RouteUsers, RouteGateway, RouteOther}

// RouteClass names the class of a request to Discord's API by its method
// and URL path (with or without the /api/vN prefix that DISCORD_API_URL
// gives it).
func RouteClass(method, path string) string {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	// Skip to the API's own path: a proxy may sit under a prefix of its own.
	for i, s := range seg {
		if s == "api" {
			seg = seg[i+1:]
			if len(seg) > 0 && len(seg[0]) > 1 && seg[0][0] == 'v' && isDigits(seg[0][1:]) {
				seg = seg[1:]
			}
			break
		}
	}
	if len(seg) == 0 {
		return RouteOther
	}
	switch seg[0] {
	case "interactions":
		if len(seg) == 4 && seg[3] == "callback" {
			return RouteCallback
		}
	case "webhooks":
		switch {
		case len(seg) == 3 && method == http.MethodPost:
			return RouteFollowup
		case len(seg) == 5 && seg[3] == "messages" && method == http.MethodPatch:
			return RouteEdit
		case len(seg) == 5 && seg[3] == "messages" && method == http.MethodDelete:
			return RouteDelete
		}
		return RouteWebhookOther
	case "channels":
		if len(seg) == 3 && seg[2] == "messages" {
			return RouteChannelMessage
		}
		return RouteChannelOther
	case "applications":
		if slices.Contains(seg, "commands") {
			return RouteCommands
		}
	case "users":
		return RouteUsers
	case "gateway":
		return RouteGateway
	}
	return RouteOther
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

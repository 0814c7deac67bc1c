package bot

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
)

func TestRouteClassNamesEachRequestWithoutIDs(t *testing.T) {
	const (
		token = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDEyMzQ1Njc4OTpzZWNyZXQ"
		id    = "1234567890123456789"
		app   = "9876543210987654321"
	)
	for _, tc := range []struct{ method, url, want string }{
		{http.MethodPost, "https://discord.com/api/v9/interactions/" + id + "/" + token + "/callback", RouteCallback},
		{http.MethodPatch, "http://127.0.0.1:4000/api/v10/webhooks/" + app + "/" + token + "/messages/@original", RouteEdit},
		{http.MethodDelete, "https://discord.com/api/v9/webhooks/" + app + "/" + token + "/messages/@original", RouteDelete},
		{http.MethodPost, "https://discord.com/api/v9/webhooks/" + app + "/" + token + "?wait=true", RouteFollowup},
		{http.MethodGet, "https://discord.com/api/v9/webhooks/" + app + "/" + token + "/messages/" + id, RouteWebhookOther},
		{http.MethodPost, "https://discord.com/api/v9/channels/" + id + "/messages", RouteChannelMessage},
		{http.MethodGet, "https://discord.com/api/v9/channels/" + id, RouteChannelOther},
		{http.MethodPut, "https://discord.com/api/v9/applications/" + app + "/guilds/" + id + "/commands", RouteCommands},
		{http.MethodGet, "https://discord.com/api/v9/applications/" + app + "/commands", RouteCommands},
		{http.MethodGet, "https://discord.com/api/v9/users/@me", RouteUsers},
		{http.MethodGet, "https://discord.com/api/v9/gateway/bot", RouteGateway},
		{http.MethodGet, "https://proxy.example/discord/api/v9/gateway", RouteGateway},
		{http.MethodGet, "https://discord.com/api/v9/guilds/" + id, RouteOther},
		{http.MethodGet, "https://discord.com/", RouteOther},
	} {
		req, err := http.NewRequest(tc.method, tc.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := RouteClass(req.Method, req.URL.Path)
		if got != tc.want {
			t.Errorf("%s %s: class %q, want %q", tc.method, tc.url, got, tc.want)
		}
		if !slices.Contains(RouteClasses, got) || strings.Contains(got, token) || strings.Contains(got, id) {
			t.Errorf("%s %s: class %q is not one of RouteClasses or carries an ID", tc.method, tc.url, got)
		}
	}
	// The URLs discordgo builds for the bot's own requests.
	if got := RouteClass(http.MethodPost, urlPath(t, discordgo.EndpointInteractionResponse(id, token))); got != RouteCallback {
		t.Errorf("discordgo's callback URL: class %q", got)
	}
	if got := RouteClass(http.MethodPatch, urlPath(t, discordgo.EndpointWebhookMessage(app, token, "@original"))); got != RouteEdit {
		t.Errorf("discordgo's edit URL: class %q", got)
	}
}

func urlPath(t *testing.T, raw string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req.URL.Path
}

package bot

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/bwmarrin/discordgo"
)

// RedirectEndpoints points discordgo at apiURL (e.g. "http://127.0.0.1:8080/api/v9/").
// discordgo computes its string endpoints once at init from EndpointAPI, so
// each derived variable is reassigned here; the function-valued ones read
// these at call time. It changes package state: call it before any session
// is opened, not while one runs.
func RedirectEndpoints(apiURL string) error {
	u, err := url.Parse(apiURL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("redirect discord endpoints: %q is not a URL", apiURL)
	}
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/"
	}
	if discordgo.EndpointAPI == apiURL {
		return nil
	}
	api := apiURL
	discordgo.EndpointDiscord = u.Scheme + "://" + u.Host + "/"
	discordgo.EndpointAPI = api
	discordgo.EndpointGuilds = api + "guilds/"
	discordgo.EndpointChannels = api + "channels/"
	discordgo.EndpointUsers = api + "users/"
	discordgo.EndpointGateway = api + "gateway"
	discordgo.EndpointGatewayBot = discordgo.EndpointGateway + "/bot"
	discordgo.EndpointWebhooks = api + "webhooks/"
	discordgo.EndpointStickers = api + "stickers/"
	discordgo.EndpointStageInstances = api + "stage-instances"
	discordgo.EndpointSKUs = api + "skus"
	discordgo.EndpointVoice = api + "/voice/"
	discordgo.EndpointVoiceRegions = discordgo.EndpointVoice + "regions"
	discordgo.EndpointNitroStickersPacks = api + "/sticker-packs"
	discordgo.EndpointGuildCreate = api + "guilds"
	discordgo.EndpointApplications = api + "applications"
	discordgo.EndpointOAuth2 = api + "oauth2/"
	discordgo.EndpointOAuth2Applications = discordgo.EndpointOAuth2 + "applications"
	discordgo.EndpointOauth2 = discordgo.EndpointOAuth2
	discordgo.EndpointOauth2Applications = discordgo.EndpointOAuth2Applications
	return nil
}

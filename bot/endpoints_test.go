package bot_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"lorabot/bot"
)

// stringEndpoints and funcEndpoints are every Endpoint* variable of
// discordgo v0.29.0. TestRedirectEndpointsCoversDiscordgo parses discordgo's
// endpoints.go and fails when it declares one that is not listed here, so a
// discordgo upgrade cannot add an endpoint that silently keeps pointing at
// discord.com.
var stringEndpoints = map[string]*string{
	"EndpointStatus":             &discordgo.EndpointStatus,
	"EndpointSm":                 &discordgo.EndpointSm,
	"EndpointSmActive":           &discordgo.EndpointSmActive,
	"EndpointSmUpcoming":         &discordgo.EndpointSmUpcoming,
	"EndpointDiscord":            &discordgo.EndpointDiscord,
	"EndpointAPI":                &discordgo.EndpointAPI,
	"EndpointGuilds":             &discordgo.EndpointGuilds,
	"EndpointChannels":           &discordgo.EndpointChannels,
	"EndpointUsers":              &discordgo.EndpointUsers,
	"EndpointGateway":            &discordgo.EndpointGateway,
	"EndpointGatewayBot":         &discordgo.EndpointGatewayBot,
	"EndpointWebhooks":           &discordgo.EndpointWebhooks,
	"EndpointStickers":           &discordgo.EndpointStickers,
	"EndpointStageInstances":     &discordgo.EndpointStageInstances,
	"EndpointSKUs":               &discordgo.EndpointSKUs,
	"EndpointCDN":                &discordgo.EndpointCDN,
	"EndpointCDNAttachments":     &discordgo.EndpointCDNAttachments,
	"EndpointCDNAvatars":         &discordgo.EndpointCDNAvatars,
	"EndpointCDNIcons":           &discordgo.EndpointCDNIcons,
	"EndpointCDNSplashes":        &discordgo.EndpointCDNSplashes,
	"EndpointCDNChannelIcons":    &discordgo.EndpointCDNChannelIcons,
	"EndpointCDNBanners":         &discordgo.EndpointCDNBanners,
	"EndpointCDNGuilds":          &discordgo.EndpointCDNGuilds,
	"EndpointCDNRoleIcons":       &discordgo.EndpointCDNRoleIcons,
	"EndpointVoice":              &discordgo.EndpointVoice,
	"EndpointVoiceRegions":       &discordgo.EndpointVoiceRegions,
	"EndpointNitroStickersPacks": &discordgo.EndpointNitroStickersPacks,
	"EndpointGuildCreate":        &discordgo.EndpointGuildCreate,
	"EndpointApplications":       &discordgo.EndpointApplications,
	"EndpointOAuth2":             &discordgo.EndpointOAuth2,
	"EndpointOAuth2Applications": &discordgo.EndpointOAuth2Applications,
	"EndpointOauth2":             &discordgo.EndpointOauth2,
	"EndpointOauth2Applications": &discordgo.EndpointOauth2Applications,
}

var funcEndpoints = map[string]any{
	"EndpointUser":                                discordgo.EndpointUser,
	"EndpointUserAvatar":                          discordgo.EndpointUserAvatar,
	"EndpointUserAvatarAnimated":                  discordgo.EndpointUserAvatarAnimated,
	"EndpointDefaultUserAvatar":                   discordgo.EndpointDefaultUserAvatar,
	"EndpointUserBanner":                          discordgo.EndpointUserBanner,
	"EndpointUserBannerAnimated":                  discordgo.EndpointUserBannerAnimated,
	"EndpointUserGuilds":                          discordgo.EndpointUserGuilds,
	"EndpointUserGuild":                           discordgo.EndpointUserGuild,
	"EndpointUserGuildMember":                     discordgo.EndpointUserGuildMember,
	"EndpointUserChannels":                        discordgo.EndpointUserChannels,
	"EndpointUserApplicationRoleConnection":       discordgo.EndpointUserApplicationRoleConnection,
	"EndpointUserConnections":                     discordgo.EndpointUserConnections,
	"EndpointGuild":                               discordgo.EndpointGuild,
	"EndpointGuildAutoModeration":                 discordgo.EndpointGuildAutoModeration,
	"EndpointGuildAutoModerationRules":            discordgo.EndpointGuildAutoModerationRules,
	"EndpointGuildAutoModerationRule":             discordgo.EndpointGuildAutoModerationRule,
	"EndpointGuildThreads":                        discordgo.EndpointGuildThreads,
	"EndpointGuildActiveThreads":                  discordgo.EndpointGuildActiveThreads,
	"EndpointGuildPreview":                        discordgo.EndpointGuildPreview,
	"EndpointGuildChannels":                       discordgo.EndpointGuildChannels,
	"EndpointGuildMembers":                        discordgo.EndpointGuildMembers,
	"EndpointGuildMembersSearch":                  discordgo.EndpointGuildMembersSearch,
	"EndpointGuildMember":                         discordgo.EndpointGuildMember,
	"EndpointGuildMemberRole":                     discordgo.EndpointGuildMemberRole,
	"EndpointGuildBans":                           discordgo.EndpointGuildBans,
	"EndpointGuildBan":                            discordgo.EndpointGuildBan,
	"EndpointGuildIntegrations":                   discordgo.EndpointGuildIntegrations,
	"EndpointGuildIntegration":                    discordgo.EndpointGuildIntegration,
	"EndpointGuildRoles":                          discordgo.EndpointGuildRoles,
	"EndpointGuildRole":                           discordgo.EndpointGuildRole,
	"EndpointGuildInvites":                        discordgo.EndpointGuildInvites,
	"EndpointGuildWidget":                         discordgo.EndpointGuildWidget,
	"EndpointGuildEmbed":                          discordgo.EndpointGuildEmbed,
	"EndpointGuildPrune":                          discordgo.EndpointGuildPrune,
	"EndpointGuildIcon":                           discordgo.EndpointGuildIcon,
	"EndpointGuildIconAnimated":                   discordgo.EndpointGuildIconAnimated,
	"EndpointGuildSplash":                         discordgo.EndpointGuildSplash,
	"EndpointGuildWebhooks":                       discordgo.EndpointGuildWebhooks,
	"EndpointGuildAuditLogs":                      discordgo.EndpointGuildAuditLogs,
	"EndpointGuildEmojis":                         discordgo.EndpointGuildEmojis,
	"EndpointGuildEmoji":                          discordgo.EndpointGuildEmoji,
	"EndpointGuildBanner":                         discordgo.EndpointGuildBanner,
	"EndpointGuildBannerAnimated":                 discordgo.EndpointGuildBannerAnimated,
	"EndpointGuildStickers":                       discordgo.EndpointGuildStickers,
	"EndpointGuildSticker":                        discordgo.EndpointGuildSticker,
	"EndpointStageInstance":                       discordgo.EndpointStageInstance,
	"EndpointGuildScheduledEvents":                discordgo.EndpointGuildScheduledEvents,
	"EndpointGuildScheduledEvent":                 discordgo.EndpointGuildScheduledEvent,
	"EndpointGuildScheduledEventUsers":            discordgo.EndpointGuildScheduledEventUsers,
	"EndpointGuildOnboarding":                     discordgo.EndpointGuildOnboarding,
	"EndpointGuildTemplate":                       discordgo.EndpointGuildTemplate,
	"EndpointGuildTemplates":                      discordgo.EndpointGuildTemplates,
	"EndpointGuildTemplateSync":                   discordgo.EndpointGuildTemplateSync,
	"EndpointGuildMemberAvatar":                   discordgo.EndpointGuildMemberAvatar,
	"EndpointGuildMemberAvatarAnimated":           discordgo.EndpointGuildMemberAvatarAnimated,
	"EndpointGuildMemberBanner":                   discordgo.EndpointGuildMemberBanner,
	"EndpointGuildMemberBannerAnimated":           discordgo.EndpointGuildMemberBannerAnimated,
	"EndpointRoleIcon":                            discordgo.EndpointRoleIcon,
	"EndpointChannel":                             discordgo.EndpointChannel,
	"EndpointChannelThreads":                      discordgo.EndpointChannelThreads,
	"EndpointChannelActiveThreads":                discordgo.EndpointChannelActiveThreads,
	"EndpointChannelPublicArchivedThreads":        discordgo.EndpointChannelPublicArchivedThreads,
	"EndpointChannelPrivateArchivedThreads":       discordgo.EndpointChannelPrivateArchivedThreads,
	"EndpointChannelJoinedPrivateArchivedThreads": discordgo.EndpointChannelJoinedPrivateArchivedThreads,
	"EndpointChannelPermissions":                  discordgo.EndpointChannelPermissions,
	"EndpointChannelPermission":                   discordgo.EndpointChannelPermission,
	"EndpointChannelInvites":                      discordgo.EndpointChannelInvites,
	"EndpointChannelTyping":                       discordgo.EndpointChannelTyping,
	"EndpointChannelMessages":                     discordgo.EndpointChannelMessages,
	"EndpointChannelMessage":                      discordgo.EndpointChannelMessage,
	"EndpointChannelMessageThread":                discordgo.EndpointChannelMessageThread,
	"EndpointChannelMessagesBulkDelete":           discordgo.EndpointChannelMessagesBulkDelete,
	"EndpointChannelMessagesPins":                 discordgo.EndpointChannelMessagesPins,
	"EndpointChannelMessagePin":                   discordgo.EndpointChannelMessagePin,
	"EndpointChannelMessageCrosspost":             discordgo.EndpointChannelMessageCrosspost,
	"EndpointChannelFollow":                       discordgo.EndpointChannelFollow,
	"EndpointThreadMembers":                       discordgo.EndpointThreadMembers,
	"EndpointThreadMember":                        discordgo.EndpointThreadMember,
	"EndpointGroupIcon":                           discordgo.EndpointGroupIcon,
	"EndpointSticker":                             discordgo.EndpointSticker,
	"EndpointChannelWebhooks":                     discordgo.EndpointChannelWebhooks,
	"EndpointWebhook":                             discordgo.EndpointWebhook,
	"EndpointWebhookToken":                        discordgo.EndpointWebhookToken,
	"EndpointWebhookMessage":                      discordgo.EndpointWebhookMessage,
	"EndpointMessageReactionsAll":                 discordgo.EndpointMessageReactionsAll,
	"EndpointMessageReactions":                    discordgo.EndpointMessageReactions,
	"EndpointMessageReaction":                     discordgo.EndpointMessageReaction,
	"EndpointPoll":                                discordgo.EndpointPoll,
	"EndpointPollAnswerVoters":                    discordgo.EndpointPollAnswerVoters,
	"EndpointPollExpire":                          discordgo.EndpointPollExpire,
	"EndpointApplicationSKUs":                     discordgo.EndpointApplicationSKUs,
	"EndpointEntitlements":                        discordgo.EndpointEntitlements,
	"EndpointEntitlement":                         discordgo.EndpointEntitlement,
	"EndpointEntitlementConsume":                  discordgo.EndpointEntitlementConsume,
	"EndpointSubscriptions":                       discordgo.EndpointSubscriptions,
	"EndpointSubscription":                        discordgo.EndpointSubscription,
	"EndpointApplicationGlobalCommands":           discordgo.EndpointApplicationGlobalCommands,
	"EndpointApplicationGlobalCommand":            discordgo.EndpointApplicationGlobalCommand,
	"EndpointApplicationGuildCommands":            discordgo.EndpointApplicationGuildCommands,
	"EndpointApplicationGuildCommand":             discordgo.EndpointApplicationGuildCommand,
	"EndpointApplicationCommandPermissions":       discordgo.EndpointApplicationCommandPermissions,
	"EndpointApplicationCommandsGuildPermissions": discordgo.EndpointApplicationCommandsGuildPermissions,
	"EndpointInteraction":                         discordgo.EndpointInteraction,
	"EndpointInteractionResponse":                 discordgo.EndpointInteractionResponse,
	"EndpointInteractionResponseActions":          discordgo.EndpointInteractionResponseActions,
	"EndpointFollowupMessage":                     discordgo.EndpointFollowupMessage,
	"EndpointFollowupMessageActions":              discordgo.EndpointFollowupMessageActions,
	"EndpointInvite":                              discordgo.EndpointInvite,
	"EndpointEmoji":                               discordgo.EndpointEmoji,
	"EndpointEmojiAnimated":                       discordgo.EndpointEmojiAnimated,
	"EndpointApplication":                         discordgo.EndpointApplication,
	"EndpointApplicationRoleConnectionMetadata":   discordgo.EndpointApplicationRoleConnectionMetadata,
	"EndpointApplicationEmojis":                   discordgo.EndpointApplicationEmojis,
	"EndpointApplicationEmoji":                    discordgo.EndpointApplicationEmoji,
	"EndpointOAuth2Application":                   discordgo.EndpointOAuth2Application,
	"EndpointOAuth2ApplicationsBot":               discordgo.EndpointOAuth2ApplicationsBot,
	"EndpointOAuth2ApplicationAssets":             discordgo.EndpointOAuth2ApplicationAssets,
	"EndpointOauth2Application":                   discordgo.EndpointOauth2Application,
	"EndpointOauth2ApplicationsBot":               discordgo.EndpointOauth2ApplicationsBot,
	"EndpointOauth2ApplicationAssets":             discordgo.EndpointOauth2ApplicationAssets,
}

// Discord's own addresses, as discordgo computes them at init.
var (
	discordAPI = "https://discord.com/api/v" + discordgo.APIVersion + "/"
	cdnBase    = "https://cdn.discordapp.com/"
	statusBase = "https://status.discord.com/"
)

// endpointDefaults is every endpoint's value before any redirect, taken
// at init, before any test changed discordgo's globals. Functions are
// called with endpointArgs.
var endpointDefaults = snapshotEndpoints()

func snapshotEndpoints() map[string]string {
	out := map[string]string{}
	for name, p := range stringEndpoints {
		out[name] = *p
	}
	for name, f := range funcEndpoints {
		out[name] = callEndpoint(f)
	}
	return out
}

// callEndpoint calls an endpoint function with made-up ids.
func callEndpoint(f any) string {
	v := reflect.ValueOf(f)
	var args []reflect.Value
	for i := range v.Type().NumIn() {
		switch v.Type().In(i).Kind() {
		case reflect.String:
			args = append(args, reflect.ValueOf("id"+string(rune('a'+i))))
		case reflect.Int:
			args = append(args, reflect.ValueOf(3))
		default:
			panic("endpoint function with an argument of type " + v.Type().In(i).String())
		}
	}
	return v.Call(args)[0].String()
}

// restoreEndpoints puts discordgo back as it was at init once the test ends.
func restoreEndpoints(t *testing.T) {
	t.Cleanup(func() {
		for name, p := range stringEndpoints {
			*p = endpointDefaults[name]
		}
	})
}

// discordgoEndpointNames parses endpoints.go of the discordgo module this
// build uses and returns the names of its Endpoint* variables.
func discordgoEndpointNames(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/bwmarrin/discordgo").Output()
	if err != nil {
		t.Fatalf("locating discordgo's source with go list: %v", err)
	}
	path := filepath.Join(strings.TrimSpace(string(out)), "endpoints.go")
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
	var names []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			continue
		}
		for _, sp := range g.Specs {
			for _, n := range sp.(*ast.ValueSpec).Names {
				if strings.HasPrefix(n.Name, "Endpoint") {
					names = append(names, n.Name)
				}
			}
		}
	}
	if len(names) < 100 {
		t.Fatalf("found only %d Endpoint variables in %s; is this discordgo's endpoints.go?", len(names), path)
	}
	return names
}

// moved is what an endpoint's default value must become after a redirect
// to api: everything under Discord's API moves, the CDN and the status page
// stay.
func moved(def, api string) string {
	if rest, ok := strings.CutPrefix(def, discordAPI); ok {
		return api + rest
	}
	return def
}

// checkRedirected compares every endpoint with what it must be once
// discordgo is pointed at api (whose root is root).
func checkRedirected(t *testing.T, api, root string) {
	t.Helper()
	for name, p := range stringEndpoints {
		got, def := *p, endpointDefaults[name]
		want := moved(def, api)
		if name == "EndpointDiscord" {
			want = root
		}
		if got != want {
			t.Errorf("discordgo.%s = %q, want %q (default %q)", name, got, want, def)
		}
	}
	for name, f := range funcEndpoints {
		got, def := callEndpoint(f), endpointDefaults[name]
		if want := moved(def, api); got != want {
			t.Errorf("discordgo.%s(...) = %q, want %q (default %q)", name, got, want, def)
		}
	}
	// Whatever the rules above say, nothing may still reach discord.com
	// itself: only the CDN and the status page are not redirected.
	for name, p := range stringEndpoints {
		if v := *p; !strings.HasPrefix(v, api) && !strings.HasPrefix(v, cdnBase) && !strings.HasPrefix(v, statusBase) && name != "EndpointDiscord" {
			t.Errorf("discordgo.%s = %q is neither under %s nor the CDN or status page", name, v, api)
		}
	}
	for name, f := range funcEndpoints {
		if v := callEndpoint(f); !strings.HasPrefix(v, api) && !strings.HasPrefix(v, cdnBase) {
			t.Errorf("discordgo.%s(...) = %q is neither under %s nor the CDN", name, v, api)
		}
	}
}

func TestRedirectEndpointsCoversDiscordgo(t *testing.T) {
	names := discordgoEndpointNames(t)
	declared := map[string]bool{}
	for _, n := range names {
		declared[n] = true
		_, s := stringEndpoints[n]
		_, f := funcEndpoints[n]
		if !s && !f {
			t.Errorf("discordgo declares %s, which neither RedirectEndpoints' test nor (perhaps) RedirectEndpoints knows: "+
				"if it is derived from EndpointAPI, redirect it, and list it in endpoints_test.go", n)
		}
	}
	for n := range stringEndpoints {
		if !declared[n] {
			t.Errorf("endpoints_test.go lists %s, which discordgo no longer declares", n)
		}
	}
	for n := range funcEndpoints {
		if !declared[n] {
			t.Errorf("endpoints_test.go lists %s, which discordgo no longer declares", n)
		}
	}
	// The defaults must be Discord's; otherwise the checks below prove nothing.
	if endpointDefaults["EndpointChannels"] != discordAPI+"channels/" {
		t.Fatalf("EndpointChannels was %q at init, not Discord's", endpointDefaults["EndpointChannels"])
	}
}

func TestRedirectEndpointsMovesEveryEndpoint(t *testing.T) {
	restoreEndpoints(t)
	const api = "http://discord-proxy.test:8080/api/v9/"
	if err := bot.RedirectEndpoints(api); err != nil {
		t.Fatal(err)
	}
	checkRedirected(t, api, "http://discord-proxy.test:8080/")

	// A second redirect (another fake, another test) starts from scratch:
	// nothing is left derived from the first base.
	const api2 = "http://127.0.0.1:9/api/v10/"
	if err := bot.RedirectEndpoints(api2); err != nil {
		t.Fatal(err)
	}
	checkRedirected(t, api2, "http://127.0.0.1:9/")

	// The routes the bot really calls, spelled out.
	for got, want := range map[string]string{
		discordgo.EndpointGateway:                                 api2 + "gateway",
		discordgo.EndpointGatewayBot:                              api2 + "gateway/bot",
		discordgo.EndpointUser("@me"):                             api2 + "users/@me",
		discordgo.EndpointApplicationGuildCommands("app", "g"):    api2 + "applications/app/guilds/g/commands",
		discordgo.EndpointApplicationGlobalCommands("app"):        api2 + "applications/app/commands",
		discordgo.EndpointInteractionResponse("i", "tok"):         api2 + "interactions/i/tok/callback",
		discordgo.EndpointInteractionResponseActions("app", "tk"): api2 + "webhooks/app/tk/messages/@original",
		discordgo.EndpointFollowupMessage("app", "tk"):            api2 + "webhooks/app/tk",
		discordgo.EndpointChannelMessages("c"):                    api2 + "channels/c/messages",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestRedirectEndpointsAddsTheTrailingSlash(t *testing.T) {
	restoreEndpoints(t)
	if err := bot.RedirectEndpoints("http://127.0.0.1:9/api/v9"); err != nil {
		t.Fatal(err)
	}
	checkRedirected(t, "http://127.0.0.1:9/api/v9/", "http://127.0.0.1:9/")
}

func TestRedirectEndpointsRefusesWhatIsNoURL(t *testing.T) {
	restoreEndpoints(t)
	before := discordgo.EndpointAPI
	for _, bad := range []string{"", "discord.com/api/v9/", "127.0.0.1:8080/api/v9/", "http://"} {
		if err := bot.RedirectEndpoints(bad); err == nil {
			t.Errorf("RedirectEndpoints(%q) accepted it", bad)
		}
	}
	if discordgo.EndpointAPI != before {
		t.Errorf("a refused URL still changed EndpointAPI from %q to %q", before, discordgo.EndpointAPI)
	}
}

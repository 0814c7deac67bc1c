package discordtest

import (
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
)

func row(cs ...discordgo.MessageComponent) discordgo.ActionsRow {
	return discordgo.ActionsRow{Components: cs}
}

func button(id string) discordgo.Button {
	return discordgo.Button{Label: "b", CustomID: id, Style: discordgo.SecondaryButton}
}

func textInput(id string) discordgo.ActionsRow {
	return row(discordgo.TextInput{CustomID: id, Label: "l", Style: discordgo.TextInputShort})
}

// Each response breaks one documented limit; the fake must refuse it the
// way Discord does and record one violation naming the problem.
func TestResponsesBreakingLimitsAreRefused(t *testing.T) {
	msg := func(d discordgo.InteractionResponseData) *discordgo.InteractionResponse {
		return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource, Data: &d}
	}
	modal := func(title string, rows ...discordgo.MessageComponent) *discordgo.InteractionResponse {
		return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseModal, Data: &discordgo.InteractionResponseData{
			CustomID: "m", Title: title, Components: rows,
		}}
	}
	embeds := func(n int, e discordgo.MessageEmbed) []*discordgo.MessageEmbed {
		var out []*discordgo.MessageEmbed
		for range n {
			c := e
			out = append(out, &c)
		}
		return out
	}
	var fields []*discordgo.MessageEmbedField
	for range 26 {
		fields = append(fields, &discordgo.MessageEmbedField{Name: "n", Value: "v"})
	}
	var files []*discordgo.File
	for range 11 {
		files = append(files, file("f.png", 10))
	}
	cases := []struct {
		name   string
		resp   *discordgo.InteractionResponse
		status int
		want   string // substring of the violation
	}{
		{"content over 2000", msg(discordgo.InteractionResponseData{Content: strings.Repeat("a", 2001)}), 400, "data.content"},
		{"11 embeds", msg(discordgo.InteractionResponseData{Embeds: embeds(11, discordgo.MessageEmbed{Title: "t"})}), 400, "data.embeds: Must be 10"},
		{"embed title 257", msg(discordgo.InteractionResponseData{Embeds: embeds(1, discordgo.MessageEmbed{Title: strings.Repeat("t", 257)})}), 400, "data.embeds.0.title"},
		{"embed description 4097", msg(discordgo.InteractionResponseData{Embeds: embeds(1, discordgo.MessageEmbed{Description: strings.Repeat("d", 4097)})}), 400, "data.embeds.0.description"},
		{"26 fields", msg(discordgo.InteractionResponseData{Embeds: embeds(1, discordgo.MessageEmbed{Fields: fields})}), 400, "data.embeds.0.fields"},
		{"field value 1025", msg(discordgo.InteractionResponseData{Embeds: embeds(1, discordgo.MessageEmbed{Fields: []*discordgo.MessageEmbedField{{Name: "n", Value: strings.Repeat("v", 1025)}}})}), 400, "fields.0.value"},
		{"footer 2049", msg(discordgo.InteractionResponseData{Embeds: embeds(1, discordgo.MessageEmbed{Footer: &discordgo.MessageEmbedFooter{Text: strings.Repeat("f", 2049)}})}), 400, "footer.text"},
		{"embeds over 6000 in total", msg(discordgo.InteractionResponseData{Embeds: embeds(2, discordgo.MessageEmbed{Description: strings.Repeat("d", 3001)})}), 400, "6000"},
		{"11 files", msg(discordgo.InteractionResponseData{Content: "x", Files: files}), 400, "data.attachments"},
		{"file over the size limit", msg(discordgo.InteractionResponseData{Content: "x", Files: []*discordgo.File{file("big.png", 2048)}}), 413, "attachment limit"},
		{"custom_id 101", msg(discordgo.InteractionResponseData{Content: "x", Components: []discordgo.MessageComponent{row(button(strings.Repeat("c", 101)))}}), 400, "custom_id"},
		{"duplicate custom_id", msg(discordgo.InteractionResponseData{Content: "x", Components: []discordgo.MessageComponent{row(button("a"), button("a"))}}), 400, "duplicated"},
		{"6 rows", msg(discordgo.InteractionResponseData{Content: "x", Components: []discordgo.MessageComponent{
			row(button("1")), row(button("2")), row(button("3")), row(button("4")), row(button("5")), row(button("6"))}}), 400, "data.components: Must be 5"},
		{"6 buttons in a row", msg(discordgo.InteractionResponseData{Content: "x", Components: []discordgo.MessageComponent{
			row(button("1"), button("2"), button("3"), button("4"), button("5"), button("6"))}}), 400, "data.components.0.components"},
		{"label 81", msg(discordgo.InteractionResponseData{Content: "x", Components: []discordgo.MessageComponent{
			row(discordgo.Button{Label: strings.Repeat("l", 81), CustomID: "a", Style: discordgo.PrimaryButton})}}), 400, "label"},
		{"empty message", msg(discordgo.InteractionResponseData{}), 400, "empty"},
		{"modal title 46", modal(strings.Repeat("t", 46), textInput("a")), 400, "data.title"},
		{"modal with 6 inputs", modal("t", textInput("a"), textInput("b"), textInput("c"), textInput("d"), textInput("e"), textInput("f")), 400, "data.components"},
		{"modal with none", modal("t"), 400, "data.components"},
		{"deferral with suppress-embeds", &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral | discordgo.MessageFlagsSuppressEmbeds}}, 400, "data.flags"},
		{"update on a slash command", &discordgo.InteractionResponse{Type: discordgo.InteractionResponseUpdateMessage,
			Data: &discordgo.InteractionResponseData{Content: "x"}}, 400, "not valid"},
	}

	errs := make(chan error, 1)
	byName := map[string]*discordgo.InteractionResponse{}
	for _, c := range cases {
		byName[c.name] = c.resp
	}
	h := start(t, Options{AttachmentSizeLimit: 1024, ExpectViolations: true}, func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		errs <- s.InteractionRespond(i.Interaction, byName[i.ApplicationCommandData().Options[0].StringValue()])
	})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(h.srv.Violations())
			it := h.srv.SendCommand(CommandSpec{Name: "limits", Options: []Option{String("case", c.name)}})
			err := <-errs
			re := restError(t, err)
			if re.Response.StatusCode != c.status {
				t.Errorf("status %d, want %d: %s", re.Response.StatusCode, c.status, re.ResponseBody)
			}
			v := h.srv.Violations()[before:]
			if len(v) != 1 || !strings.Contains(v[0], c.want) {
				t.Errorf("violations %q, want one mentioning %q", v, c.want)
			}
			if _, ok := it.Response(); ok {
				t.Error("a refused callback counts as the response")
			}
		})
	}
}

// A whole request over the cap (25 MiB on Discord) is refused even when
// each file is allowed.
func TestRequestOverCapRefused(t *testing.T) {
	errs := make(chan error, 1)
	h := start(t, Options{AttachmentSizeLimit: 4096, RequestSizeLimit: 5000, ExpectViolations: true}, func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		errs <- s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Content: "x", Files: []*discordgo.File{file("a", 3000), file("b", 3000)}},
		})
	})
	h.srv.SendCommand(CommandSpec{Name: "big"})
	wantAPIError(t, <-errs, 413, codeTooLarge)
	if v := h.srv.Violations(); len(v) != 1 || !strings.Contains(v[0], "over Discord's 5000-byte cap") {
		t.Errorf("violations = %q", v)
	}
}

func TestErrorBodyNestsPaths(t *testing.T) {
	var es fieldErrors
	es.add("data.embeds.0.title", "BASE_TYPE_MAX_LENGTH", "too long")
	es.add("data.embeds.0.title", "X", "again")
	es.add("data.content", "BASE_TYPE_MAX_LENGTH", "too long")
	body := es.body()
	title := body["errors"].(map[string]any)["data"].(map[string]any)["embeds"].(map[string]any)["0"].(map[string]any)["title"].(map[string]any)
	if list := title["_errors"].([]any); len(list) != 2 {
		t.Errorf("title errors = %v", list)
	}
	if body["code"] != codeInvalidFormBody || body["message"] != "Invalid Form Body" {
		t.Errorf("body = %v", body)
	}
}

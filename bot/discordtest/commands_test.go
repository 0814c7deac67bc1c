package discordtest

import (
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
)

func validCommands() []*discordgo.ApplicationCommand {
	return []*discordgo.ApplicationCommand{
		{
			Name: "imagine", Description: "Generate an image",
			Options: []*discordgo.ApplicationCommandOption{
				{Type: discordgo.ApplicationCommandOptionString, Name: "prompt", Description: "what to draw", Required: true, MaxLength: 1000},
				{Type: discordgo.ApplicationCommandOptionString, Name: "lora", Description: "a LoRA", Autocomplete: true},
				{Type: discordgo.ApplicationCommandOptionInteger, Name: "count", Description: "how many", MinValue: ptr(1.0), MaxValue: 4},
			},
		},
		{
			Name: "preset", Description: "Your presets",
			Options: []*discordgo.ApplicationCommandOption{
				{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "list", Description: "list them"},
				{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "show", Description: "show one", Options: []*discordgo.ApplicationCommandOption{
					{Type: discordgo.ApplicationCommandOptionString, Name: "name", Description: "preset", Required: true, Autocomplete: true},
				}},
			},
		},
	}
}

func TestRegistrationAcceptedAndServed(t *testing.T) {
	h := startREST(t, Options{})
	got, err := h.dg.ApplicationCommandBulkOverwrite(h.srv.AppID(), DefaultGuildID, validCommands())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID == "" || got[0].Name != "imagine" || got[0].GuildID != DefaultGuildID {
		t.Fatalf("bulk overwrite answered %+v", got)
	}
	cmds, err := h.srv.WaitCommands(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != 2 || h.srv.CommandScope() != DefaultGuildID {
		t.Errorf("registered %d commands in scope %q", len(cmds), h.srv.CommandScope())
	}
	// Overwriting keeps ids stable, as Discord does.
	again, err := h.dg.ApplicationCommandBulkOverwrite(h.srv.AppID(), DefaultGuildID, validCommands())
	if err != nil || again[0].ID != got[0].ID {
		t.Errorf("second overwrite: %v, id %s then %s", err, got[0].ID, again[0].ID)
	}
	listed, err := h.dg.ApplicationCommands(h.srv.AppID(), DefaultGuildID)
	if err != nil || len(listed) != 2 {
		t.Errorf("GET guild commands = %d commands, %v", len(listed), err)
	}
	if global, err := h.dg.ApplicationCommands(h.srv.AppID(), ""); err != nil || len(global) != 0 {
		t.Errorf("GET global commands = %d commands, %v; want none", len(global), err)
	}
}

func TestInvalidRegistrationRefused(t *testing.T) {
	h := startREST(t, Options{ExpectViolations: true})
	cmds := validCommands()
	cmds[0].Name = "Imagine"
	_, err := h.dg.ApplicationCommandBulkOverwrite(h.srv.AppID(), "", cmds)
	wantAPIError(t, err, 400, codeInvalidFormBody)
	re := restError(t, err)
	if !strings.Contains(string(re.ResponseBody), `"0":{"name":{"_errors"`) {
		t.Errorf("errors are not nested by path: %s", re.ResponseBody)
	}
	if h.srv.Registrations() != 0 || h.srv.Commands() != nil {
		t.Error("a refused set was stored")
	}
	if v := h.srv.Violations(); len(v) != 1 || !strings.Contains(v[0], "lowercase") {
		t.Errorf("violations = %q", v)
	}
}

func TestValidateCommands(t *testing.T) {
	opt := func(mod func(o *discordgo.ApplicationCommandOption)) []*discordgo.ApplicationCommand {
		cmds := validCommands()
		mod(cmds[0].Options[1])
		return cmds
	}
	long := strings.Repeat("a", 101)
	cases := []struct {
		name string
		cmds []*discordgo.ApplicationCommand
		want string // substring of the error
	}{
		{"bad name", func() []*discordgo.ApplicationCommand { c := validCommands(); c[0].Name = "two words"; return c }(), "0.name"},
		{"long name", func() []*discordgo.ApplicationCommand {
			c := validCommands()
			c[0].Name = strings.Repeat("a", 33)
			return c
		}(), "0.name"},
		{"empty description", func() []*discordgo.ApplicationCommand { c := validCommands(); c[0].Description = ""; return c }(), "0.description"},
		{"long description", func() []*discordgo.ApplicationCommand { c := validCommands(); c[0].Description = long; return c }(), "0.description"},
		{"duplicate command", append(validCommands(), validCommands()[0]), "2.name"},
		{"option name uppercase", opt(func(o *discordgo.ApplicationCommandOption) { o.Name = "LoRA" }), "0.options.1.name"},
		{"required after optional", func() []*discordgo.ApplicationCommand {
			c := validCommands()
			c[0].Options = append(c[0].Options[1:], c[0].Options[0])
			return c
		}(), "0.options.2.required"},
		{"autocomplete with choices", opt(func(o *discordgo.ApplicationCommandOption) {
			o.Choices = []*discordgo.ApplicationCommandOptionChoice{{Name: "a", Value: "a"}}
		}), "0.options.1.autocomplete"},
		{"max_length over 6000", opt(func(o *discordgo.ApplicationCommandOption) { o.MaxLength = 6001 }), "0.options.1.max_length"},
		{"26 choices", opt(func(o *discordgo.ApplicationCommandOption) {
			o.Autocomplete = false
			for i := range 26 {
				o.Choices = append(o.Choices, &discordgo.ApplicationCommandOptionChoice{Name: "c" + string(rune('a'+i)), Value: "v"})
			}
		}), "0.options.1.choices"},
		{"choice value over 100", opt(func(o *discordgo.ApplicationCommandOption) {
			o.Autocomplete = false
			o.Choices = []*discordgo.ApplicationCommandOptionChoice{{Name: "a", Value: long}}
		}), "0.options.1.choices.0.value"},
		{"26 options", func() []*discordgo.ApplicationCommand {
			c := validCommands()
			for i := range 23 {
				c[0].Options = append(c[0].Options, &discordgo.ApplicationCommandOption{
					Type: discordgo.ApplicationCommandOptionString, Name: "o" + strings.Repeat("x", i), Description: "d"})
			}
			return c
		}(), "0.options:"},
		{"subcommand mixed with options", func() []*discordgo.ApplicationCommand {
			c := validCommands()
			c[1].Options = append(c[1].Options, &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "x", Description: "d"})
			return c
		}(), "1.options:"},
		{"subcommand in subcommand", func() []*discordgo.ApplicationCommand {
			c := validCommands()
			c[1].Options[1].Options = append(c[1].Options[1].Options, &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "deep", Description: "d"})
			return c
		}(), "1.options.1.options.1.type"},
		{"over 8000 characters", func() []*discordgo.ApplicationCommand {
			c := validCommands()
			for i := range 20 {
				c[1].Options = append(c[1].Options, &discordgo.ApplicationCommandOption{
					Type: discordgo.ApplicationCommandOptionSubCommand, Name: "s" + strings.Repeat("y", i), Description: strings.Repeat("d", 100),
					Options: []*discordgo.ApplicationCommandOption{
						{Type: discordgo.ApplicationCommandOptionString, Name: "a", Description: strings.Repeat("d", 100), Choices: choices(25, 100)},
					},
				})
			}
			return c
		}(), "APPLICATION_COMMAND_TOO_LARGE"},
	}
	if es := validateCommands(validCommands()); len(es) != 0 {
		t.Fatalf("the valid set was refused: %s", es)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			es := validateCommands(c.cmds)
			if len(es) == 0 {
				t.Fatal("accepted")
			}
			text := es.String()
			for _, e := range es {
				text += " " + e.code
			}
			if !strings.Contains(text, c.want) {
				t.Errorf("errors %q do not mention %q", text, c.want)
			}
		})
	}
}

func choices(n, size int) []*discordgo.ApplicationCommandOptionChoice {
	var out []*discordgo.ApplicationCommandOptionChoice
	for i := range n {
		out = append(out, &discordgo.ApplicationCommandOptionChoice{Name: strings.Repeat("n", size-3) + string(rune('a'+i)), Value: strings.Repeat("v", size)})
	}
	return out
}

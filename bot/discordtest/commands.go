package discordtest

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"
)

// Discord's limits on application commands.
const (
	maxCommands        = 100
	maxOptions         = 25
	maxDescription     = 100
	maxStringMaxLength = 6000
	maxCommandText     = 8000
)

var commandName = regexp.MustCompile(`^[-_\p{L}\p{N}]{1,32}$`)

// commandState holds registered commands per scope: a guild id, or "" for
// global commands.
type commandState struct {
	sets      map[string][]*discordgo.ApplicationCommand
	ids       map[string]string // scope + "\x00" + name → id, stable across overwrites as on Discord
	lastScope string
	puts      int
}

func (c *commandState) init() {
	c.sets = map[string][]*discordgo.ApplicationCommand{}
	c.ids = map[string]string{}
}

func (s *Server) handleGetCommands(r *http.Request) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.PathValue("app") != s.opts.AppID {
		s.violateLocked("%s %s: application id %q is not this bot's (%s)", r.Method, r.URL.Path, r.PathValue("app"), s.opts.AppID)
		return http.StatusForbidden, discordError(codeMissingAccess, "Missing Access")
	}
	set := s.commands.sets[r.PathValue("guild")]
	if set == nil {
		set = []*discordgo.ApplicationCommand{}
	}
	return http.StatusOK, set
}

// handlePutCommands is the bulk overwrite: the body replaces the scope's
// whole set once every command passes Discord's validation.
func (s *Server) handlePutCommands(r *http.Request) (int, any) {
	up, err := readUpload(r, s.opts.RequestSizeLimit)
	s.mu.Lock()
	defer s.mu.Unlock()
	where := r.Method + " " + r.URL.Path
	if r.PathValue("app") != s.opts.AppID {
		s.violateLocked("%s: application id %q is not this bot's (%s)", where, r.PathValue("app"), s.opts.AppID)
		return http.StatusForbidden, discordError(codeMissingAccess, "Missing Access")
	}
	if st, b, ok := s.checkUploadLocked(where, up); !ok {
		return st, b
	}
	var cmds []*discordgo.ApplicationCommand
	if err == nil {
		err = json.Unmarshal(up.json, &cmds)
	}
	if err != nil {
		return s.rejectLocked(where, fieldErrors{{code: "MODEL_TYPE_CONVERT", message: "Invalid JSON: " + err.Error()}})
	}
	if es := validateCommands(cmds); len(es) > 0 {
		return s.rejectLocked(where, es)
	}
	scope := r.PathValue("guild")
	for _, c := range cmds {
		if c.Type == 0 {
			c.Type = discordgo.ChatApplicationCommand
		}
		key := scope + "\x00" + strconv.Itoa(int(c.Type)) + c.Name
		id, ok := s.commands.ids[key]
		if !ok {
			id = s.nextID()
			s.commands.ids[key] = id
		}
		c.ID, c.ApplicationID, c.GuildID, c.Version = id, s.opts.AppID, scope, s.nextID()
		if c.Options == nil {
			c.Options = []*discordgo.ApplicationCommandOption{}
		}
	}
	s.commands.sets[scope] = cmds
	s.commands.lastScope = scope
	s.commands.puts++
	s.broadcastLocked()
	return http.StatusOK, cmds
}

// validateCommands applies Discord's rules for a bulk overwrite body.
func validateCommands(cmds []*discordgo.ApplicationCommand) fieldErrors {
	var es fieldErrors
	if len(cmds) > maxCommands {
		es.add("", "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length (got %d).", maxCommands, len(cmds))
	}
	seen := map[string]bool{}
	for i, c := range cmds {
		p := strconv.Itoa(i)
		if c == nil {
			es.add(p, "BASE_TYPE_REQUIRED", "This field is required")
			continue
		}
		t := c.Type
		if t == 0 {
			t = discordgo.ChatApplicationCommand
		}
		key := strconv.Itoa(int(t)) + c.Name
		if seen[key] {
			es.add(p+".name", "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique (%q).", c.Name)
		}
		seen[key] = true
		if t == discordgo.ChatApplicationCommand {
			checkName(&es, p+".name", c.Name)
			lenBetween(&es, p+".description", c.Description, 1, maxDescription)
			checkOptions(&es, p+".options", c.Options, 0)
		} else {
			lenBetween(&es, p+".name", c.Name, 1, 32)
			if c.Description != "" {
				es.add(p+".description", "APPLICATION_COMMAND_INVALID_DESCRIPTION", "Context menu commands cannot have a description.")
			}
			if len(c.Options) > 0 {
				es.add(p+".options", "APPLICATION_COMMAND_INVALID_OPTIONS", "Context menu commands cannot have options.")
			}
		}
		if c.Contexts != nil {
			for j, ctx := range *c.Contexts {
				if ctx > discordgo.InteractionContextPrivateChannel {
					es.add(p+".contexts."+strconv.Itoa(j), "BASE_TYPE_CHOICES", "Value must be one of {0, 1, 2} (got %d).", ctx)
				}
			}
		}
		if c.IntegrationTypes != nil {
			for j, it := range *c.IntegrationTypes {
				if it > discordgo.ApplicationIntegrationUserInstall {
					es.add(p+".integration_types."+strconv.Itoa(j), "BASE_TYPE_CHOICES", "Value must be one of {0, 1} (got %d).", it)
				}
			}
		}
		if n := commandText(c); n > maxCommandText {
			es.add(p, "APPLICATION_COMMAND_TOO_LARGE", "Command exceeds maximum size (%d characters, max %d).", n, maxCommandText)
		}
	}
	return es
}

func checkName(es *fieldErrors, path, name string) {
	if !commandName.MatchString(name) {
		es.add(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name %q does not match ^[-_\\p{L}\\p{N}]{1,32}$.", name)
	} else if strings.ToLower(name) != name {
		es.add(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name %q must be lowercase.", name)
	}
}

func isValueType(t discordgo.ApplicationCommandOptionType) bool {
	return t >= discordgo.ApplicationCommandOptionString && t <= discordgo.ApplicationCommandOptionAttachment
}

func isNumeric(t discordgo.ApplicationCommandOptionType) bool {
	return t == discordgo.ApplicationCommandOptionInteger || t == discordgo.ApplicationCommandOptionNumber
}

// checkOptions checks one level of options; parent is 0 for a command's
// own options, else the type of the subcommand or group holding them.
func checkOptions(es *fieldErrors, path string, opts []*discordgo.ApplicationCommandOption, parent discordgo.ApplicationCommandOptionType) {
	if len(opts) > maxOptions {
		es.add(path, "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length (got %d).", maxOptions, len(opts))
	}
	subs, values := 0, 0
	seen := map[string]bool{}
	optionalSeen := false
	for i, o := range opts {
		p := path + "." + strconv.Itoa(i)
		if o == nil {
			es.add(p, "BASE_TYPE_REQUIRED", "This field is required")
			continue
		}
		checkName(es, p+".name", o.Name)
		lenBetween(es, p+".description", o.Description, 1, maxDescription)
		if seen[o.Name] {
			es.add(p+".name", "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option name %q is already used.", o.Name)
		}
		seen[o.Name] = true

		switch o.Type {
		case discordgo.ApplicationCommandOptionSubCommand:
			subs++
			if parent == discordgo.ApplicationCommandOptionSubCommand {
				es.add(p+".type", "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "A subcommand cannot hold a subcommand.")
			}
			checkOptions(es, p+".options", o.Options, o.Type)
			continue
		case discordgo.ApplicationCommandOptionSubCommandGroup:
			subs++
			if parent != 0 {
				es.add(p+".type", "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "A subcommand group must be at the top level.")
			}
			for j, sub := range o.Options {
				if sub != nil && sub.Type != discordgo.ApplicationCommandOptionSubCommand {
					es.add(p+".options."+strconv.Itoa(j)+".type", "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "A subcommand group may only hold subcommands.")
				}
			}
			checkOptions(es, p+".options", o.Options, o.Type)
			continue
		}
		if !isValueType(o.Type) {
			es.add(p+".type", "BASE_TYPE_CHOICES", "Unknown option type %d.", o.Type)
			continue
		}
		values++
		if parent == discordgo.ApplicationCommandOptionSubCommandGroup {
			es.add(p+".type", "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "A subcommand group may only hold subcommands.")
		}
		if o.Required && optionalSeen {
			es.add(p+".required", "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID", "Required options must be placed before non-required options (%q).", o.Name)
		}
		if !o.Required {
			optionalSeen = true
		}
		if len(o.ChannelTypes) > 0 && o.Type != discordgo.ApplicationCommandOptionChannel {
			es.add(p+".channel_types", "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "Only channel options take channel_types (%q).", o.Name)
		}
		if o.Autocomplete && len(o.Choices) > 0 {
			es.add(p+".autocomplete", "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID", "Autocomplete cannot be set with choices (%q).", o.Name)
		}
		if o.Autocomplete && o.Type != discordgo.ApplicationCommandOptionString && !isNumeric(o.Type) {
			es.add(p+".autocomplete", "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID", "Autocomplete needs a string, integer or number option (%q).", o.Name)
		}
		if len(o.Choices) > 0 && o.Type != discordgo.ApplicationCommandOptionString && !isNumeric(o.Type) {
			es.add(p+".choices", "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "Choices need a string, integer or number option (%q).", o.Name)
		}
		if len(o.Choices) > maxChoices {
			es.add(p+".choices", "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length (got %d).", maxChoices, len(o.Choices))
		}
		for j, c := range o.Choices {
			cp := p + ".choices." + strconv.Itoa(j)
			if c == nil {
				continue
			}
			lenBetween(es, cp+".name", c.Name, 1, maxChoiceName)
			if v, ok := c.Value.(string); ok {
				if o.Type != discordgo.ApplicationCommandOptionString {
					es.add(cp+".value", "NUMBER_TYPE_COERCE", "Value %q is not a number.", v)
				}
				maxLen(es, cp+".value", v, maxChoiceValue)
			} else if o.Type == discordgo.ApplicationCommandOptionString {
				es.add(cp+".value", "STRING_TYPE_CONVERT", "Value %v is not a string.", c.Value)
			}
		}
		if o.Type == discordgo.ApplicationCommandOptionString {
			if o.MaxLength < 0 || o.MaxLength > maxStringMaxLength {
				es.add(p+".max_length", "NUMBER_TYPE_MAX", "Must be between 1 and %d (got %d).", maxStringMaxLength, o.MaxLength)
			}
			if o.MinLength != nil && (*o.MinLength < 0 || *o.MinLength > maxStringMaxLength) {
				es.add(p+".min_length", "NUMBER_TYPE_MAX", "Must be between 0 and %d (got %d).", maxStringMaxLength, *o.MinLength)
			}
			if o.MinLength != nil && o.MaxLength > 0 && *o.MinLength > o.MaxLength {
				es.add(p+".min_length", "NUMBER_TYPE_MAX", "min_length %d is over max_length %d.", *o.MinLength, o.MaxLength)
			}
		} else if o.MaxLength != 0 || o.MinLength != nil {
			es.add(p+".max_length", "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "Only string options take min_length/max_length (%q).", o.Name)
		}
		if !isNumeric(o.Type) && (o.MinValue != nil || o.MaxValue != 0) {
			es.add(p+".min_value", "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "Only integer and number options take min_value/max_value (%q).", o.Name)
		}
		if o.MinValue != nil && o.MaxValue != 0 && *o.MinValue > o.MaxValue {
			es.add(p+".min_value", "NUMBER_TYPE_MAX", "min_value %v is over max_value %v.", *o.MinValue, o.MaxValue)
		}
	}
	if subs > 0 && values > 0 {
		es.add(path, "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID", "Subcommands and subcommand groups cannot be mixed with other options.")
	}
}

// commandText counts what Discord caps at 8000 characters: every name,
// description and choice name and value in the command.
func commandText(c *discordgo.ApplicationCommand) int {
	n := runes(c.Name) + runes(c.Description)
	var opts func([]*discordgo.ApplicationCommandOption)
	opts = func(os []*discordgo.ApplicationCommandOption) {
		for _, o := range os {
			if o == nil {
				continue
			}
			n += runes(o.Name) + runes(o.Description)
			for _, ch := range o.Choices {
				if ch == nil {
					continue
				}
				n += runes(ch.Name)
				if v, ok := ch.Value.(string); ok {
					n += runes(v)
				} else {
					n += len(strconv.FormatFloat(toFloat(ch.Value), 'f', -1, 64))
				}
			}
			opts(o.Options)
		}
	}
	opts(c.Options)
	return n
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int:
		return float64(x)
	case int64:
		return float64(x)
	}
	return 0
}

// Commands returns a copy of the last registered set (guild or global;
// CommandScope says which), nil before any registration.
func (s *Server) Commands() []*discordgo.ApplicationCommand {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.commands.puts == 0 {
		return nil
	}
	return cloneCommands(s.commands.sets[s.commands.lastScope])
}

// CommandScope returns the guild id of the last registration, "" when it
// was global.
func (s *Server) CommandScope() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commands.lastScope
}

// CommandsIn returns a copy of the set registered for a guild ("" for
// global).
func (s *Server) CommandsIn(guildID string) []*discordgo.ApplicationCommand {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneCommands(s.commands.sets[guildID])
}

// Registrations counts accepted bulk overwrites.
func (s *Server) Registrations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commands.puts
}

// WaitCommands waits for the first accepted registration and returns the
// registered set.
func (s *Server) WaitCommands(ctx context.Context) ([]*discordgo.ApplicationCommand, error) {
	if err := s.waitFor(ctx, "command registration", func() bool { return s.commands.puts > 0 }); err != nil {
		return nil, err
	}
	return s.Commands(), nil
}

// cloneCommands deep-copies through JSON so tests cannot change the
// fake's state.
func cloneCommands(in []*discordgo.ApplicationCommand) []*discordgo.ApplicationCommand {
	if in == nil {
		return nil
	}
	b, _ := json.Marshal(in)
	var out []*discordgo.ApplicationCommand
	json.Unmarshal(b, &out)
	return out
}

// findCommandLocked finds the command a user in guildID would invoke by
// name: the guild's set first, then the global one.
func (s *Server) findCommandLocked(guildID, name string) *discordgo.ApplicationCommand {
	for _, scope := range []string{guildID, ""} {
		for _, c := range s.commands.sets[scope] {
			if c.Name == name && c.Type == discordgo.ChatApplicationCommand {
				return c
			}
		}
		if scope == "" {
			break
		}
	}
	return nil
}

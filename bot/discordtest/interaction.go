package discordtest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
)

// User is a Discord user acting through the fake.
type User struct {
	ID   string // default DefaultUserID
	Name string // default "tester"
	// Permissions is the member's permission bitfield as Discord sends it
	// (a decimal string); "" means DefaultPermissions.
	Permissions string
}

func (u User) orDefault() User {
	if u.ID == "" {
		u.ID = DefaultUserID
	}
	if u.Name == "" {
		u.Name = "tester"
	}
	return u
}

// Channel is a text channel the bot may post in. Channels named by an
// interaction are known automatically; AddChannel declares others.
type Channel struct {
	ID      string
	GuildID string // "" for a DM channel
	Name    string
	NSFW    bool // age-restricted
	// NoAccess makes POST /channels/{id}/messages answer 403 Missing
	// Access, as for a channel the bot cannot see (not a violation).
	NoAccess bool
	// Type is Discord's channel type. The zero value is a server's text
	// channel (GuildText), or a DM when GuildID is "".
	Type discordgo.ChannelType

	declared bool // by AddChannel: its guild is the test's word
}

// wireType is the channel's type as Discord sends it.
func (c Channel) wireType() discordgo.ChannelType {
	if c.GuildID == "" && c.Type == discordgo.ChannelTypeGuildText {
		return discordgo.ChannelTypeDM
	}
	return c.Type
}

// AddChannel declares a channel, or replaces what is known of it. An
// interaction from another guild than the declared channel's fails the
// test: on Discord a channel belongs to one server.
func (s *Server) AddChannel(c Channel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cc := c
	cc.declared = true
	s.channels[c.ID] = &cc
}

// Option is one option of a slash command as a user fills it in. Build
// them with String, Int, Number, Bool, Subcommand and SubcommandGroup.
type Option struct {
	Name    string
	Type    discordgo.ApplicationCommandOptionType
	Value   any
	Focused bool // the option being typed, for autocomplete
	Options []Option

	channel *Channel    // a channel option's pick, sent in data.resolved
	upload  *Attachment // an attachment option's file (AttachmentOption)
}

// ChannelOption is a channel option: Discord sends the picked channel's ID
// as the value and what it knows of the channel (type, guild_id, name,
// nsfw) in the interaction's data.resolved.channels. A test may pick a
// channel of another guild or a voice channel, as a crafted request could.
func ChannelOption(name string, ch Channel) Option {
	return Option{Name: name, Type: discordgo.ApplicationCommandOptionChannel, Value: ch.ID, channel: &ch}
}

// resolvedChannels gathers the channel options' picks, as
// data.resolved.channels.
func resolvedChannels(opts []Option, into map[string]any) {
	for _, o := range opts {
		if c := o.channel; c != nil {
			w := map[string]any{"id": c.ID, "type": c.wireType(), "name": c.Name, "nsfw": c.NSFW}
			if c.GuildID != "" {
				w["guild_id"] = c.GuildID
			}
			into[c.ID] = w
		}
		resolvedChannels(o.Options, into)
	}
}

// String is a string option.
func String(name, value string) Option {
	return Option{Name: name, Type: discordgo.ApplicationCommandOptionString, Value: value}
}

// Int is an integer option.
func Int(name string, value int64) Option {
	return Option{Name: name, Type: discordgo.ApplicationCommandOptionInteger, Value: value}
}

// Number is a number (float) option.
func Number(name string, value float64) Option {
	return Option{Name: name, Type: discordgo.ApplicationCommandOptionNumber, Value: value}
}

// Bool is a boolean option.
func Bool(name string, value bool) Option {
	return Option{Name: name, Type: discordgo.ApplicationCommandOptionBoolean, Value: value}
}

// Subcommand is a subcommand holding its options.
func Subcommand(name string, opts ...Option) Option {
	return Option{Name: name, Type: discordgo.ApplicationCommandOptionSubCommand, Options: opts}
}

// SubcommandGroup is a group holding subcommands.
func SubcommandGroup(name string, subs ...Option) Option {
	return Option{Name: name, Type: discordgo.ApplicationCommandOptionSubCommandGroup, Options: subs}
}

// Focus marks the option as the one the user is typing (autocomplete).
func (o Option) Focus() Option {
	o.Focused = true
	return o
}

func wireOptions(opts []Option) []map[string]any {
	out := make([]map[string]any, 0, len(opts))
	for _, o := range opts {
		w := map[string]any{"name": o.Name, "type": o.Type}
		if o.Type == discordgo.ApplicationCommandOptionSubCommand || o.Type == discordgo.ApplicationCommandOptionSubCommandGroup {
			w["options"] = wireOptions(o.Options)
		} else {
			w["value"] = o.Value
		}
		if o.Focused {
			w["focused"] = true
		}
		out = append(out, w)
	}
	return out
}

// CommandSpec is a user invoking a slash command (or typing in one of
// its options, for autocomplete).
type CommandSpec struct {
	User    User
	GuildID string // default DefaultGuildID; ignored when DM or UserInstall
	DM      bool   // invoked in a DM with the bot: no guild, no member
	// UserInstall is a command of the bot installed to the user's own
	// account, used in a DM or group DM with other people (context 2,
	// "private channel"): no guild_id, no member, only user, and
	// authorizing_integration_owners {"1": the user's ID}. The bot is not
	// in that channel, so posting there is refused (403). Its default
	// channel is "pc-" + the user's ID.
	UserInstall bool
	// NoChannel leaves channel_id and channel out of the interaction, as
	// Discord's documentation allows.
	NoChannel bool
	ChannelID string // default DefaultChannelID
	NSFW      bool   // mark the channel age-restricted (AddChannel can too)
	// Permissions overrides User.Permissions (decimal bitfield string).
	Permissions string
	// AppPermissions is what the bot may do in the channel; "" means
	// DefaultAppPermissions.
	AppPermissions string
	Locale         string // default "en-US"

	Name    string
	Options []Option
	// Type is InteractionApplicationCommand (the default) or
	// InteractionApplicationCommandAutocomplete.
	Type discordgo.InteractionType
	// Age backdates the interaction: the user acted this long ago and the
	// gateway is only now delivering it (lag, a replay). Its ID carries
	// the earlier time, and Discord's deadlines run from then.
	Age time.Duration
}

// where is the context an interaction happens in.
type where struct {
	user      User
	guildID   string
	channelID string // "" for none
	context   discordgo.InteractionContextType
	nsfw      bool
	perms     string
	appPerms  string
	locale    string
}

// whereGuild is the place of an interaction in a guild (or, with guildID
// "", in a DM with the bot), as for buttons and modals on a message.
func whereGuild(user User, guildID, channelID string) where {
	w := where{user: user, guildID: guildID, channelID: channelID, context: discordgo.InteractionContextGuild}
	if guildID == "" {
		w.context = discordgo.InteractionContextBotDM
		if strings.HasPrefix(channelID, privatePrefix) {
			w.context = discordgo.InteractionContextPrivateChannel
		}
	}
	return w
}

// privatePrefix starts the default channel of a UserInstall interaction.
const privatePrefix = "pc-"

func (spec CommandSpec) where() where {
	w := where{
		user:      spec.User.orDefault(),
		guildID:   spec.GuildID,
		channelID: spec.ChannelID,
		nsfw:      spec.NSFW,
		perms:     spec.Permissions,
		appPerms:  spec.AppPermissions,
		locale:    spec.Locale,
		context:   discordgo.InteractionContextGuild,
	}
	switch {
	case spec.UserInstall:
		w.guildID, w.context = "", discordgo.InteractionContextPrivateChannel
	case spec.DM:
		w.guildID, w.context = "", discordgo.InteractionContextBotDM
	case w.guildID == "":
		w.guildID = DefaultGuildID
	}
	if w.channelID == "" {
		switch w.context {
		case discordgo.InteractionContextPrivateChannel:
			w.channelID = privatePrefix + w.user.ID
		case discordgo.InteractionContextBotDM:
			w.channelID = "dm-" + w.user.ID
		default:
			w.channelID = DefaultChannelID
		}
	}
	if spec.NoChannel {
		w.channelID = ""
	}
	return w
}

// Callback is an interaction's first response as the bot sent it.
type Callback struct {
	Type discordgo.InteractionResponseType
	At   time.Time
	// Latency is from the interaction's creation (the time in its ID,
	// from which Discord's 3 seconds run) to the callback's arrival.
	Latency time.Duration

	Content    string
	Flags      discordgo.MessageFlags
	Embeds     []*discordgo.MessageEmbed
	Components []Component // message components, or the modal's rows
	Files      []File
	Choices    []*discordgo.ApplicationCommandOptionChoice // type 8
	CustomID   string                                      // type 9
	Title      string                                      // type 9
}

// Ephemeral reports whether the response asked for an ephemeral message.
func (c Callback) Ephemeral() bool { return c.Flags&discordgo.MessageFlagsEphemeral != 0 }

// Interaction is one interaction the fake dispatched, with what the bot
// did about it.
type Interaction struct {
	ID        string
	Token     string
	Type      discordgo.InteractionType
	Name      string // the command name, or the component's or modal's custom_id
	GuildID   string
	ChannelID string
	User      User

	s *Server
	// Guarded by s.mu.
	focusedType discordgo.ApplicationCommandOptionType
	sourceMsg   string // message whose component started it, if any
	modalOf     *Interaction
	created     time.Time // this machine's clock, to the millisecond of the ID
	dispatched  time.Time
	late        bool
	arrivedLate bool // first written to the bot past its response deadline
	callback    *Callback
	originalID  string
	followups   []string
	edits       []time.Time
}

func (it *Interaction) String() string {
	switch it.Type {
	case discordgo.InteractionApplicationCommand:
		return fmt.Sprintf("interaction %s (/%s)", it.ID, it.Name)
	case discordgo.InteractionApplicationCommandAutocomplete:
		return fmt.Sprintf("interaction %s (autocomplete /%s)", it.ID, it.Name)
	case discordgo.InteractionMessageComponent:
		return fmt.Sprintf("interaction %s (component %q)", it.ID, it.Name)
	case discordgo.InteractionModalSubmit:
		return fmt.Sprintf("interaction %s (modal %q)", it.ID, it.Name)
	}
	return "interaction " + it.ID
}

// SendCommand dispatches a slash command (or, with Type autocomplete, an
// autocomplete request) to the bot. When commands are registered, the
// command and its options are checked against the definition, since a
// real client cannot send anything else; a mismatch fails the test.
func (s *Server) SendCommand(spec CommandSpec) *Interaction {
	s.tb.Helper()
	if spec.Type == 0 {
		spec.Type = discordgo.InteractionApplicationCommand
	}
	w := spec.where()
	s.mu.Lock()
	var problems []string
	cmd := s.findCommandLocked(w.guildID, spec.Name)
	if cmd == nil && s.commands.puts > 0 {
		problems = append(problems, fmt.Sprintf("no command /%s is registered for guild %q or globally", spec.Name, w.guildID))
	}
	if cmd != nil {
		problems = append(problems, checkAgainst(cmd.Options, spec.Options, "/"+spec.Name)...)
		problems = append(problems, checkAvailable(cmd, w)...)
	}
	focused, nFocused := focusedOption(spec.Options)
	if spec.Type == discordgo.InteractionApplicationCommandAutocomplete && nFocused != 1 {
		problems = append(problems, fmt.Sprintf("autocomplete of /%s needs exactly one focused option, got %d", spec.Name, nFocused))
	}
	if spec.Type == discordgo.InteractionApplicationCommand && nFocused != 0 {
		problems = append(problems, fmt.Sprintf("/%s: a focused option only makes sense for autocomplete", spec.Name))
	}
	cmdID := s.nextID()
	if cmd != nil {
		cmdID = cmd.ID
	}
	files := map[string]any{}
	s.storeUploadsLocked(spec.Options, files)
	data := map[string]any{"id": cmdID, "name": spec.Name, "type": discordgo.ChatApplicationCommand, "options": wireOptions(spec.Options)}
	if cmd != nil && cmd.GuildID != "" {
		data["guild_id"] = cmd.GuildID
	}
	chans := map[string]any{}
	resolvedChannels(spec.Options, chans)
	resolved := map[string]any{}
	if len(chans) > 0 {
		resolved["channels"] = chans
	}
	if len(files) > 0 {
		resolved["attachments"] = files
	}
	if len(resolved) > 0 {
		data["resolved"] = resolved
	}
	it := s.newInteractionLocked(spec.Type, spec.Name, w, data, nil, spec.Age)
	it.focusedType = focused.Type
	s.mu.Unlock()
	for _, p := range problems {
		s.errorf("SendCommand: %s", p)
	}
	return it
}

// SendAutocomplete dispatches an autocomplete request: mark the option
// being typed with Focus.
func (s *Server) SendAutocomplete(spec CommandSpec) *Interaction {
	s.tb.Helper()
	spec.Type = discordgo.InteractionApplicationCommandAutocomplete
	return s.SendCommand(spec)
}

func focusedOption(opts []Option) (Option, int) {
	var found Option
	n := 0
	for _, o := range opts {
		if o.Focused {
			found = o
			n++
		}
		if f, m := focusedOption(o.Options); m > 0 {
			found = f
			n += m
		}
	}
	return found, n
}

// checkAvailable refuses what no Discord client would send: a global
// command used in a context its contexts leave out, or as a user install
// its integration_types leave out. Discord ignores both on guild commands.
func checkAvailable(cmd *discordgo.ApplicationCommand, w where) []string {
	if cmd.GuildID != "" {
		return nil
	}
	var problems []string
	if cmd.Contexts != nil && !slices.Contains(*cmd.Contexts, w.context) {
		problems = append(problems, fmt.Sprintf("/%s cannot be used in context %d: its contexts are %v", cmd.Name, w.context, *cmd.Contexts))
	}
	install := discordgo.ApplicationIntegrationGuildInstall
	if w.context == discordgo.InteractionContextPrivateChannel {
		install = discordgo.ApplicationIntegrationUserInstall
	}
	if cmd.IntegrationTypes != nil && w.context != discordgo.InteractionContextBotDM && !slices.Contains(*cmd.IntegrationTypes, install) {
		problems = append(problems, fmt.Sprintf("/%s is not available to integration type %d: its integration_types are %v", cmd.Name, install, *cmd.IntegrationTypes))
	}
	return problems
}

// checkAgainst compares the options a test sends with the registered
// definition.
func checkAgainst(defs []*discordgo.ApplicationCommandOption, opts []Option, path string) []string {
	var problems []string
	given := map[string]bool{}
	for _, o := range opts {
		given[o.Name] = true
		var def *discordgo.ApplicationCommandOption
		for _, d := range defs {
			if d.Name == o.Name {
				def = d
			}
		}
		if def == nil {
			problems = append(problems, fmt.Sprintf("%s has no option %q", path, o.Name))
			continue
		}
		if def.Type != o.Type {
			problems = append(problems, fmt.Sprintf("%s option %q is type %s, the test sent %s", path, o.Name, def.Type, o.Type))
			continue
		}
		problems = append(problems, checkAgainst(def.Options, o.Options, path+" "+o.Name)...)
	}
	return problems
}

// newInteractionLocked builds and queues an INTERACTION_CREATE; callers
// hold s.mu.
func (s *Server) newInteractionLocked(typ discordgo.InteractionType, name string, w where, data map[string]any, msg *Message, age time.Duration) *Interaction {
	it := &Interaction{
		ID: s.idAt(time.Now().Add(-age)), Type: typ, Name: name,
		GuildID: w.guildID, ChannelID: w.channelID, User: w.user, s: s,
	}
	it.created = s.snowflakeTime(it.ID)
	it.Token = "itoken." + it.ID + "." + strconv.FormatInt(time.Now().UnixNano(), 36)
	s.interactions[it.ID] = it
	s.byToken[it.Token] = it

	var ch *Channel
	if w.channelID != "" {
		ch = s.channels[w.channelID]
		if ch == nil {
			ch = &Channel{ID: w.channelID, GuildID: w.guildID}
			// A user-installed command runs where the bot is not.
			ch.NoAccess = w.context == discordgo.InteractionContextPrivateChannel
			s.channels[w.channelID] = ch
		} else if ch.declared && ch.GuildID != w.guildID {
			s.errorf("%s: channel %s belongs to guild %q, not %q; give each guild its own channels", it, ch.ID, ch.GuildID, w.guildID)
		}
		if w.nsfw {
			ch.NSFW = true
		}
	}
	perms, appPerms, locale := w.perms, w.appPerms, w.locale
	if perms == "" {
		perms = w.user.Permissions
	}
	if perms == "" {
		perms = strconv.FormatInt(DefaultPermissions, 10)
	}
	if appPerms == "" {
		appPerms = strconv.FormatInt(DefaultAppPermissions, 10)
	}
	if locale == "" {
		locale = "en-US"
	}
	user := map[string]any{"id": w.user.ID, "username": w.user.Name, "global_name": w.user.Name, "discriminator": "0", "avatar": nil}
	channel := map[string]any{}
	p := map[string]any{
		"id":                    it.ID,
		"application_id":        s.opts.AppID,
		"type":                  typ,
		"token":                 it.Token,
		"version":               1,
		"app_permissions":       appPerms,
		"locale":                locale,
		"entitlements":          []any{},
		"attachment_size_limit": s.opts.AttachmentSizeLimit,
		"data":                  data,
		"context":               w.context,
	}
	if ch != nil {
		channel = map[string]any{"id": ch.ID, "type": ch.wireType(), "nsfw": ch.NSFW}
		if ch.Name != "" {
			channel["name"] = ch.Name
		}
		p["channel_id"], p["channel"] = ch.ID, channel
	}
	if w.guildID != "" {
		channel["guild_id"] = w.guildID
		p["guild_id"] = w.guildID
		p["guild_locale"] = "en-US"
		p["authorizing_integration_owners"] = map[string]string{"0": w.guildID}
		p["member"] = map[string]any{
			"user": user, "roles": []string{}, "joined_at": "2024-01-01T00:00:00+00:00",
			"permissions": perms, "nick": nil, "deaf": false, "mute": false, "flags": 0, "pending": false,
		}
	} else {
		p["user"] = user
		if w.context == discordgo.InteractionContextPrivateChannel {
			p["authorizing_integration_owners"] = map[string]string{"1": w.user.ID}
		}
	}
	if msg != nil {
		p["message"] = s.wire(msg)
		it.sourceMsg = msg.ID
	}
	s.dispatchLocked("INTERACTION_CREATE", p, func(at time.Time) {
		if !it.dispatched.IsZero() {
			return // replayed after a resume: its clock runs from its creation
		}
		it.dispatched = at
		it.arrivedLate = at.Sub(it.created) > s.opts.ResponseDeadline
	})
	// Discord's clock runs from the interaction's creation, whenever the
	// bot gets it. Missing a deadline the interaction arrived too late to
	// meet is not the bot's fault; answering it anyway is.
	s.timers = append(s.timers, time.AfterFunc(time.Until(it.created.Add(s.opts.ResponseDeadline)), func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if it.callback == nil && !it.late {
			it.late = true
			if !it.dispatched.IsZero() && !it.arrivedLate {
				s.violateLocked("%s: no response within %v of its creation", it, s.opts.ResponseDeadline)
			}
		}
	}))
	return it
}

// Created is when the interaction was made (the time in its ID), on this
// machine's clock.
func (it *Interaction) Created() time.Time { return it.created }

// ClickButton has user click the button with customID on msg (the
// message's current state is used). A missing or disabled button fails
// the test at once: no user could click it. Call it from the test's
// goroutine.
func (s *Server) ClickButton(msg Message, customID string, user User) *Interaction {
	s.tb.Helper()
	return s.useComponent(msg, customID, nil, user)
}

// SelectValues has user pick values in the select menu with customID on
// msg.
func (s *Server) SelectValues(msg Message, customID string, values []string, user User) *Interaction {
	s.tb.Helper()
	if values == nil {
		values = []string{}
	}
	return s.useComponent(msg, customID, values, user)
}

func (s *Server) useComponent(msg Message, customID string, values []string, user User) *Interaction {
	s.tb.Helper()
	s.mu.Lock()
	stored := s.messages[msg.ID]
	var c Component
	ok := false
	if stored != nil && !stored.Deleted {
		c, ok = stored.Find(customID)
	}
	problem := ""
	switch {
	case !ok:
		problem = fmt.Sprintf("message %s has no component with custom_id %q", msg.ID, customID)
	case c.Disabled:
		problem = fmt.Sprintf("component %q on message %s is disabled", customID, msg.ID)
	case values == nil && c.Type != discordgo.ButtonComponent:
		problem = fmt.Sprintf("component %q on message %s is not a button", customID, msg.ID)
	case values != nil && !isSelect(c.Type):
		problem = fmt.Sprintf("component %q on message %s is not a select menu", customID, msg.ID)
	}
	if problem != "" {
		s.mu.Unlock()
		s.tb.Fatalf("discordtest: %s", problem)
		return nil
	}
	w := whereGuild(user.orDefault(), stored.GuildID, stored.ChannelID)
	data := map[string]any{"custom_id": customID, "component_type": c.Type}
	if values != nil {
		data["values"] = values
	}
	it := s.newInteractionLocked(discordgo.InteractionMessageComponent, customID, w, data, stored, 0)
	s.mu.Unlock()
	return it
}

// ForgeComponent sends a component interaction with customID from msg,
// whether or not msg has such a component: what a modified client, or a
// message from an older version of the bot, could bring. Discord forwards
// only custom_ids of components on the message, so tests of the bot's
// robustness use this; tests of what users do use ClickButton.
func (s *Server) ForgeComponent(msg Message, customID string, user User) *Interaction {
	s.tb.Helper()
	return s.forge(msg, customID, nil, user)
}

// ForgeSelect is ForgeComponent for a select menu picking values.
func (s *Server) ForgeSelect(msg Message, customID string, values []string, user User) *Interaction {
	s.tb.Helper()
	return s.forge(msg, customID, values, user)
}

func (s *Server) forge(msg Message, customID string, values []string, user User) *Interaction {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	stored := s.messages[msg.ID]
	if stored == nil {
		s.tb.Fatalf("discordtest: ForgeComponent on unknown message %s", msg.ID)
		return nil
	}
	w := whereGuild(user.orDefault(), stored.GuildID, stored.ChannelID)
	data := map[string]any{"custom_id": customID, "component_type": discordgo.ButtonComponent}
	if values != nil {
		data["component_type"], data["values"] = discordgo.SelectMenuComponent, values
	}
	return s.newInteractionLocked(discordgo.InteractionMessageComponent, customID, w, data, stored, 0)
}

// SubmitModal has user submit the modal that modal (an interaction) was
// answered with, filling text inputs by custom_id. An input the modal lacks,
// or a required one left out, fails the test. A zero user is the one the
// modal was shown to.
func (s *Server) SubmitModal(modal *Interaction, values map[string]string, user User) *Interaction {
	s.tb.Helper()
	s.mu.Lock()
	cb := modal.callback
	if cb == nil || cb.Type != discordgo.InteractionResponseModal {
		s.mu.Unlock()
		s.tb.Fatalf("discordtest: %s was not answered with a modal", modal)
		return nil
	}
	var problems []string
	known := map[string]bool{}
	var rows []map[string]any
	walkComponents(cb.Components, func(c Component) {
		if c.Type != discordgo.TextInputComponent {
			return
		}
		known[c.CustomID] = true
		v, given := values[c.CustomID]
		if !given && (c.Required == nil || *c.Required) {
			problems = append(problems, fmt.Sprintf("modal %q: required input %q left empty", cb.CustomID, c.CustomID))
		}
		rows = append(rows, map[string]any{"type": discordgo.ActionsRowComponent, "components": []map[string]any{
			{"type": discordgo.TextInputComponent, "custom_id": c.CustomID, "value": v},
		}})
	})
	for k := range values {
		if !known[k] {
			problems = append(problems, fmt.Sprintf("modal %q has no input %q", cb.CustomID, k))
		}
	}
	if user.ID == "" {
		user = modal.User
	}
	w := whereGuild(user.orDefault(), modal.GuildID, modal.ChannelID)
	var src *Message
	if modal.sourceMsg != "" {
		src = s.messages[modal.sourceMsg]
	}
	it := s.newInteractionLocked(discordgo.InteractionModalSubmit, cb.CustomID, w,
		map[string]any{"custom_id": cb.CustomID, "components": rows}, src, 0)
	it.modalOf = modal
	s.mu.Unlock()
	for _, p := range problems {
		s.errorf("SubmitModal: %s", p)
	}
	return it
}

// SubmitModalCustomID submits a modal the fake did not see opened, in the
// context spec describes (its Name and Options are ignored).
func (s *Server) SubmitModalCustomID(customID string, values map[string]string, spec CommandSpec) *Interaction {
	s.tb.Helper()
	var rows []map[string]any
	for k, v := range values {
		rows = append(rows, map[string]any{"type": discordgo.ActionsRowComponent, "components": []map[string]any{
			{"type": discordgo.TextInputComponent, "custom_id": k, "value": v},
		}})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newInteractionLocked(discordgo.InteractionModalSubmit, customID, spec.where(),
		map[string]any{"custom_id": customID, "components": rows}, nil, spec.Age)
}

// WaitResponse waits for the interaction's first callback.
func (it *Interaction) WaitResponse(ctx context.Context) (Callback, error) {
	var cb Callback
	err := it.s.waitFor(ctx, it.String()+" response", func() bool {
		if it.callback == nil {
			return false
		}
		cb = *it.callback
		return true
	})
	return cb, err
}

// Response returns the first callback, if one arrived.
func (it *Interaction) Response() (Callback, bool) {
	it.s.mu.Lock()
	defer it.s.mu.Unlock()
	if it.callback == nil {
		return Callback{}, false
	}
	return *it.callback, true
}

// Original returns the current state of the interaction's @original
// message (zero before there is one).
func (it *Interaction) Original() Message {
	it.s.mu.Lock()
	defer it.s.mu.Unlock()
	if m := it.s.messages[it.originalID]; m != nil {
		return m.clone()
	}
	return Message{}
}

// WaitOriginal waits until @original exists and satisfies cond, which is
// called on each change.
func (it *Interaction) WaitOriginal(ctx context.Context, cond func(Message) bool) (Message, error) {
	var got Message
	err := it.s.waitFor(ctx, it.String()+" original message", func() bool {
		m := it.s.messages[it.originalID]
		if m == nil {
			return false
		}
		got = m.clone()
		return cond == nil || cond(got)
	})
	return got, err
}

// Followups returns the interaction's follow-up messages, oldest first.
func (it *Interaction) Followups() []Message {
	it.s.mu.Lock()
	defer it.s.mu.Unlock()
	out := make([]Message, 0, len(it.followups))
	for _, id := range it.followups {
		out = append(out, it.s.messages[id].clone())
	}
	return out
}

// WaitFollowup waits for a follow-up that satisfies cond.
func (it *Interaction) WaitFollowup(ctx context.Context, cond func(Message) bool) (Message, error) {
	var got Message
	err := it.s.waitFor(ctx, it.String()+" follow-up", func() bool {
		for _, id := range it.followups {
			m := it.s.messages[id].clone()
			if cond == nil || cond(m) {
				got = m
				return true
			}
		}
		return false
	})
	return got, err
}

// Edits counts the accepted PATCHes of @original.
func (it *Interaction) Edits() int {
	it.s.mu.Lock()
	defer it.s.mu.Unlock()
	return len(it.edits)
}

// EditTimes returns when each accepted PATCH of @original arrived.
func (it *Interaction) EditTimes() []time.Time {
	it.s.mu.Lock()
	defer it.s.mu.Unlock()
	return append([]time.Time(nil), it.edits...)
}

// Dispatched returns when the event reached the bot's socket (zero if it
// has not yet).
func (it *Interaction) Dispatched() time.Time {
	it.s.mu.Lock()
	defer it.s.mu.Unlock()
	return it.dispatched
}

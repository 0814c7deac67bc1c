package commands

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bwmarrin/discordgo"

	"lorabot/bot"
	"lorabot/gen"
	"lorabot/imagine"
	"lorabot/lora"
	"lorabot/prompt"
)

// presetCmd serves /preset: every subcommand acts on the caller's own
// presets only; the store enforces that too.
type presetCmd struct {
	deps *Deps
	// generation completes the options /preset save shares with /imagine.
	generation func(c *bot.Ctx) error
}

func (p *presetCmd) command() bot.Command {
	name := func(desc string) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "name", Description: desc, Required: true, Autocomplete: true, MaxLength: gen.MaxPresetNameLen}
	}
	save := append([]*discordgo.ApplicationCommandOption{{
		Type: discordgo.ApplicationCommandOptionString, Name: "name", Description: "Name for the preset (a new name creates, an existing one replaces)",
		Required: true, MinLength: ptr(1), MaxLength: gen.MaxPresetNameLen,
	}}, generationOptions(false)...)
	save[1].Description = "Text put before your prompt whenever this preset is used"
	sub := discordgo.ApplicationCommandOptionSubCommand
	return bot.Command{
		Def: &discordgo.ApplicationCommand{
			Name:        "preset",
			Description: "Your saved combinations of LoRAs and settings",
			Options: []*discordgo.ApplicationCommandOption{
				{Type: sub, Name: "save", Description: "Save settings as a preset (creates or replaces)", Options: save},
				{Type: sub, Name: "list", Description: "List your presets"},
				{Type: sub, Name: "show", Description: "Show one of your presets in full", Options: []*discordgo.ApplicationCommandOption{name("The preset")}},
				{Type: sub, Name: "delete", Description: "Delete one of your presets", Options: []*discordgo.ApplicationCommandOption{name("The preset to delete")}},
				{Type: sub, Name: "default", Description: "Use a preset whenever /imagine names none", Options: []*discordgo.ApplicationCommandOption{name("The preset, or none to clear")}},
				{Type: sub, Name: "share", Description: "Get a code others can import your preset with", Options: []*discordgo.ApplicationCommandOption{name("The preset to share")}},
				{Type: sub, Name: "import", Description: "Copy a shared preset into yours", Options: []*discordgo.ApplicationCommandOption{
					{Type: discordgo.ApplicationCommandOptionString, Name: "code", Description: "The share code", Required: true, MaxLength: 32},
					{Type: discordgo.ApplicationCommandOptionString, Name: "name", Description: "Name for your copy (default: the shared name)", MaxLength: gen.MaxPresetNameLen},
				}},
			},
		},
		Handle:       p.handle,
		Autocomplete: p.autocomplete,
	}
}

func (p *presetCmd) handle(c *bot.Ctx) error {
	a := c.Args()
	user := c.UserID()
	name, _ := a.String("name")
	name = strings.TrimSpace(name)
	switch a.Sub {
	case "save":
		o, err := readGeneration(a)
		if err != nil {
			return err
		}
		pr, err := p.save(user, name, o)
		if err != nil {
			return err
		}
		return c.Reply(bot.Message{Content: fmt.Sprintf("Saved preset **%s**. Use it with `/imagine preset:%s`.", pr.Name, pr.Name), Embeds: []*discordgo.MessageEmbed{presetEmbed(pr, false)}, Ephemeral: true})
	case "list":
		return p.list(c, user)
	case "show":
		pr, err := p.deps.Presets.Preset(user, name)
		if err != nil {
			return presetRefusal(err, name)
		}
		_, def, _ := p.defaultName(user)
		return c.Reply(bot.Message{Embeds: []*discordgo.MessageEmbed{presetEmbed(pr, strings.EqualFold(def, pr.Name))}, Ephemeral: true})
	case "delete":
		// The reply names the preset as it was saved, not as it was typed.
		pr, err := p.deps.Presets.Preset(user, name)
		if err != nil {
			return presetRefusal(err, name)
		}
		if err := p.deps.Presets.DeletePreset(user, name); err != nil {
			return presetRefusal(err, name)
		}
		return c.Reply(bot.Message{Content: fmt.Sprintf("Deleted preset **%s**.", pr.Name), Ephemeral: true})
	case "default":
		if strings.EqualFold(name, "none") {
			if err := p.deps.Presets.SetDefaultPreset(user, ""); err != nil {
				return err
			}
			return c.Reply(bot.Message{Content: "No default preset any more: /imagine uses the bot's defaults unless you name a preset.", Ephemeral: true})
		}
		if err := p.deps.Presets.SetDefaultPreset(user, name); err != nil {
			return presetRefusal(err, name)
		}
		if _, def, err := p.defaultName(user); err == nil && def != "" {
			name = def
		}
		return c.Reply(bot.Message{Content: fmt.Sprintf("**%s** is now your default preset: /imagine applies it whenever you name none.", name), Ephemeral: true})
	case "share":
		pr, err := p.deps.Presets.Preset(user, name)
		if err != nil {
			return presetRefusal(err, name)
		}
		code, err := p.deps.Presets.SharePreset(user, name)
		if err != nil {
			return presetRefusal(err, name)
		}
		return c.Reply(bot.Message{
			Content: fmt.Sprintf("<@%s> shared the preset **%s**. Copy it into yours with `/preset import code:%s`.", user, pr.Name, code),
			Embeds:  []*discordgo.MessageEmbed{presetEmbed(pr, false)},
		})
	case "import":
		code, _ := a.String("code")
		pr, err := p.deps.Presets.ImportPreset(user, strings.TrimSpace(code), name)
		if err != nil {
			return presetRefusal(err, name)
		}
		return c.Reply(bot.Message{Content: fmt.Sprintf("Imported as your preset **%s**; it is your own copy.", pr.Name), Embeds: []*discordgo.MessageEmbed{presetEmbed(pr, false)}, Ephemeral: true})
	}
	return bot.Failf("Unknown /preset subcommand.")
}

// save checks the settings like /imagine would, stores the LoRAs under their
// file names (so a renamed alias does not break the preset), and saves.
func (p *presetCmd) save(user, name string, o gen.Options) (gen.Preset, error) {
	if err := o.CheckSlots(); err != nil {
		return gen.Preset{}, err
	}
	idx := p.deps.Catalog.Index()
	for i, c := range o.LoRAs {
		if c.Name == "" {
			continue
		}
		l, err := idx.Resolve(c.Name)
		if err != nil {
			return gen.Preset{}, err
		}
		if c.Weight != nil && !(*c.Weight >= prompt.MinWeight && *c.Weight <= prompt.MaxWeight) {
			return gen.Preset{}, bot.Failf("The weight of %s must be from %g to %g; you gave %g.", l.Name, prompt.MinWeight, prompt.MaxWeight, *c.Weight)
		}
		o.LoRAs[i].Name = l.Name
	}
	if o.Checkpoint != "" {
		m, err := p.deps.Servers.ResolveCheckpoint(o.Checkpoint)
		if err != nil {
			return gen.Preset{}, err
		}
		o.Checkpoint = m.Title
	}
	if o.Sampler != "" {
		sm, sc, err := p.deps.Servers.ResolveSampler(o.Sampler)
		if err != nil {
			return gen.Preset{}, err
		}
		o.Sampler = samplerSpelling(p.deps.Servers, sm, sc)
	}
	// The prompt prefix is checked the way /imagine will read it (tags,
	// LoRA names, weights, length), so a preset cannot be saved that every
	// later /imagine would refuse.
	if err := checkPresetPrompt(idx, o); err != nil {
		return gen.Preset{}, err
	}
	pr := gen.Preset{Name: name, Options: o.ForPreset()}
	if err := p.deps.Presets.SavePreset(user, pr); err != nil {
		return gen.Preset{}, presetRefusal(err, name)
	}
	saved, err := p.deps.Presets.Preset(user, name)
	if err != nil {
		return gen.Preset{}, fmt.Errorf("read back preset %q: %w", name, err)
	}
	return saved, nil
}

// samplerSpelling is the sampler as the servers spell it, with the
// scheduler's label when ResolveSampler split one off ("DPM++ 2M Karras"),
// so a preset shows what will be used and resolves the same way later.
func samplerSpelling(s *imagine.Servers, sampler, scheduler string) string {
	if scheduler == "" {
		return sampler
	}
	label := scheduler
	for _, sc := range s.Schedulers() {
		if sc.Name == scheduler && sc.Label != "" {
			label = sc.Label
			break
		}
	}
	return sampler + " " + label
}

// checkPresetPrompt builds the prompt a preset alone would give.
func checkPresetPrompt(idx *lora.Index, o gen.Options) error {
	in := prompt.Input{PresetPrompt: o.Prompt}
	for _, c := range o.LoRAs {
		if c.Name != "" {
			in.LoRAs = append(in.LoRAs, prompt.Choice{Value: c.Name, Weight: c.Weight})
		}
	}
	if strings.TrimSpace(in.PresetPrompt) == "" && len(in.LoRAs) == 0 {
		return nil // nothing to check; Build would call it an empty prompt
	}
	_, err := prompt.Build(idx, in)
	return err
}

func (p *presetCmd) defaultName(user string) (gen.Preset, string, error) {
	d, ok, err := p.deps.Presets.DefaultPreset(user)
	if err != nil || !ok {
		return gen.Preset{}, "", err
	}
	return d, d.Name, nil
}

func (p *presetCmd) list(c *bot.Ctx, user string) error {
	all, err := p.deps.Presets.Presets(user)
	if err != nil {
		return err
	}
	if len(all) == 0 {
		return c.Reply(bot.Message{Content: "You have no presets yet. Save one with `/preset save name:…` and the settings you like.", Ephemeral: true})
	}
	_, def, _ := p.defaultName(user)
	var b strings.Builder
	fmt.Fprintf(&b, "**Your presets** (%d of %d):\n", len(all), gen.MaxPresetsPerUser)
	for _, pr := range all {
		line := "• **" + pr.Name + "**"
		if strings.EqualFold(pr.Name, def) {
			line += " (default)"
		}
		if s := presetSummary(pr.Options); s != "" {
			line += " — " + s
		}
		if b.Len()+len(line)+1 > bot.MaxContentLen-20 {
			b.WriteString("…")
			break
		}
		b.WriteString(line + "\n")
	}
	return c.Reply(bot.Message{Content: b.String(), Ephemeral: true})
}

func (p *presetCmd) autocomplete(c *bot.Ctx) error {
	a := c.Args()
	focused, typed := a.Focused()
	if focused != "name" && focused != "" {
		return p.generation(c) // lora, checkpoint, sampler, size of /preset save
	}
	choices := presetChoices(p.deps.Presets, c.UserID(), typed)
	if a.Sub == "default" && len(choices) < bot.MaxChoices && strings.HasPrefix("none", strings.ToLower(strings.TrimSpace(typed))) {
		choices = append(choices, choice("none (clear the default)", "none"))
	}
	return c.Choices(choices)
}

// presetRefusal words the store's errors for the user.
func presetRefusal(err error, name string) error {
	switch {
	case errors.Is(err, gen.ErrPresetNotFound):
		return bot.Failf("You have no preset called %q; /preset list shows yours.", name)
	case errors.Is(err, gen.ErrPresetLimit):
		return bot.Failf("You already have %d presets, the most one person may keep; delete one first.", gen.MaxPresetsPerUser)
	case errors.Is(err, gen.ErrPresetName):
		return bot.Failf("A preset name needs 1 to %d characters, no control characters, and cannot be \"none\".", gen.MaxPresetNameLen)
	case errors.Is(err, gen.ErrShareNotFound):
		return bot.Failf("No shared preset has that code; check it with the person who shared it.")
	case errors.Is(err, gen.ErrPresetExists):
		return bot.Failf("You already have a preset with that name; give your copy another name with the name option.")
	}
	return err
}

func presetSummary(o gen.Options) string {
	var parts []string
	for _, l := range o.LoRAs {
		if l.Name == "" {
			continue
		}
		s := l.Name
		if l.Weight != nil {
			s += ":" + lora.FormatWeight(*l.Weight)
		}
		parts = append(parts, s)
	}
	if o.Checkpoint != "" {
		parts = append(parts, o.Checkpoint)
	}
	if o.Prompt != "" {
		parts = append(parts, fmt.Sprintf("%q", clip(o.Prompt, 40)))
	}
	return strings.Join(parts, ", ")
}

func presetEmbed(p gen.Preset, isDefault bool) *discordgo.MessageEmbed {
	o := p.Options
	title := "Preset: " + p.Name
	if isDefault {
		title += " (your default)"
	}
	e := &discordgo.MessageEmbed{Title: clip(title, bot.MaxEmbedTitleLen), Color: 0x57F287}
	field := func(name, value string, inline bool) {
		if value != "" {
			e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: name, Value: clip(value, bot.MaxEmbedFieldLen), Inline: inline})
		}
	}
	field("Prompt prefix", o.Prompt, false)
	field("Negative", o.Negative, false)
	var loras []string
	for _, l := range o.LoRAs {
		if l.Name == "" {
			continue
		}
		w := "preferred weight"
		if l.Weight != nil {
			w = lora.FormatWeight(*l.Weight)
		}
		loras = append(loras, fmt.Sprintf("`%s` %s", l.Name, w))
	}
	field("LoRAs", strings.Join(loras, "\n"), false)
	field("Checkpoint", o.Checkpoint, true)
	field("Sampler", o.Sampler, true)
	if o.Steps != 0 {
		field("Steps", fmt.Sprint(o.Steps), true)
	}
	if o.CFG != 0 {
		field("CFG", lora.FormatWeight(o.CFG), true)
	}
	if o.Width != 0 {
		field("Size", fmt.Sprintf("%dx%d", o.Width, o.Height), true)
	}
	if len(e.Fields) == 0 {
		e.Description = "No settings: the bot's defaults."
	}
	return e
}

package commands

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"lorabot/a1111"
	"lorabot/bot"
	"lorabot/gen"
	"lorabot/imagine"
	"lorabot/lora"
	"lorabot/prompt"
	"lorabot/queue"
)

type imagineCmd struct {
	deps    *Deps
	planner *imagine.Planner
	// cooldowns keeps each server's cooldown per user (guild.Bounds.Cooldown),
	// keyed by cooldownKey; the zero value is ready.
	cooldowns queue.Cooldowns
}

// scopeOf is where c's request is made, as the planner takes it: the
// settings in force (settingsOf), the channel's age-restricted flag, and
// whether it is a direct message.
func scopeOf(c *bot.Ctx) imagine.Scope {
	return imagine.Scope{Settings: settingsOf(c), AgeRestricted: c.ChannelNSFW, DM: c.GuildID() == ""}
}

func ptr[T any](v T) *T { return &v }

// generationOptions are the options /imagine and /preset save share.
func generationOptions(promptRequired bool) []*discordgo.ApplicationCommandOption {
	str := discordgo.ApplicationCommandOptionString
	num := discordgo.ApplicationCommandOptionNumber
	integer := discordgo.ApplicationCommandOptionInteger
	weight := func(name, lora string) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{Type: num, Name: name, Description: "Weight of " + lora + " (-2 to 2; default: its preferred weight, else 1)", MinValue: ptr(-2.0), MaxValue: 2}
	}
	return []*discordgo.ApplicationCommandOption{
		{Type: str, Name: "prompt", Description: "What to draw", Required: promptRequired, MaxLength: prompt.MaxPromptRunes},
		{Type: str, Name: "negative", Description: "What to keep out of the image", MaxLength: prompt.MaxPromptRunes},
		{Type: str, Name: "lora", Description: "A LoRA (start typing to search)", Autocomplete: true, MaxLength: bot.MaxChoiceLen},
		weight("weight", "lora"),
		{Type: str, Name: "lora2", Description: "A second LoRA", Autocomplete: true, MaxLength: bot.MaxChoiceLen},
		weight("weight2", "lora2"),
		{Type: str, Name: "lora3", Description: "A third LoRA", Autocomplete: true, MaxLength: bot.MaxChoiceLen},
		weight("weight3", "lora3"),
		{Type: str, Name: "checkpoint", Description: "The base model (default: the server's current one)", Autocomplete: true, MaxLength: bot.MaxChoiceLen},
		{Type: str, Name: "sampler", Description: "Sampler, e.g. DPM++ 2M Karras", Autocomplete: true, MaxLength: bot.MaxChoiceLen},
		{Type: integer, Name: "steps", Description: fmt.Sprintf("Sampling steps (%d to %d, default %d)", gen.MinSteps, gen.MaxSteps, gen.DefaultSteps), MinValue: ptr(float64(gen.MinSteps)), MaxValue: gen.MaxSteps},
		{Type: num, Name: "cfg", Description: fmt.Sprintf("How closely to follow the prompt (%g to %g, default %g)", gen.MinCFG, gen.MaxCFG, gen.DefaultCFG), MinValue: ptr(gen.MinCFG), MaxValue: gen.MaxCFG},
		{Type: str, Name: "size", Description: "WIDTHxHEIGHT (default: the model's native size)", Autocomplete: true, MaxLength: 16},
	}
}

func (im *imagineCmd) command() bot.Command {
	opts := generationOptions(true)
	// preset, seed and count are /imagine's own; insert them where
	// interface.md lists them (preset after the LoRAs, seed after cfg).
	var out []*discordgo.ApplicationCommandOption
	for _, o := range opts {
		if o.Name == "checkpoint" {
			out = append(out, &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "preset", Description: "One of your presets (default: your default preset)", Autocomplete: true})
		}
		if o.Name == "size" {
			out = append(out, &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionInteger, Name: "seed", Description: "Seed for a repeatable image (default: random)", MinValue: ptr(-1.0), MaxValue: math.MaxUint32})
		}
		out = append(out, o)
	}
	out = append(out, &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionInteger, Name: "count", Description: fmt.Sprintf("How many images (1 to %d, default 1)", gen.MaxCount), MinValue: ptr(1.0), MaxValue: gen.MaxCount},
		&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionAttachment, Name: "image", Description: "Start from this picture (img2img; PNG, JPEG or WEBP, at most 10 MiB)"},
		&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionNumber, Name: "strength", Description: fmt.Sprintf("With image: how far the result may move from it (%g to %g, default %g)", imagine.MinStrength, imagine.MaxStrength, imagine.DefaultStrength), MinValue: ptr(imagine.MinStrength), MaxValue: imagine.MaxStrength})
	return bot.Command{
		Def: &discordgo.ApplicationCommand{
			Name:        "imagine",
			Description: "Generate images with Stable Diffusion and LoRAs",
			Options:     out,
		},
		Handle:       im.handle,
		Autocomplete: im.autocomplete,
	}
}

// readGeneration turns the shared generation options into gen.Options.
// Discord enforces types and bounds in its client, but requests can come
// from elsewhere; gen.Options.Validate checks again.
func readGeneration(a bot.Args) (gen.Options, error) {
	var o gen.Options
	o.Prompt, _ = a.String("prompt")
	o.Negative, _ = a.String("negative")
	for i := range gen.LoRASlots {
		suffix := ""
		if i > 0 {
			suffix = fmt.Sprint(i + 1)
		}
		o.LoRAs[i].Name, _ = a.String("lora" + suffix)
		o.LoRAs[i].Name = strings.TrimSpace(o.LoRAs[i].Name)
		if w, ok := a.Float("weight" + suffix); ok {
			if math.IsNaN(w) || math.IsInf(w, 0) {
				return o, bot.Failf("weight%s is not a number.", suffix)
			}
			o.LoRAs[i].Weight = ptr(w)
		}
	}
	o.Checkpoint, _ = a.String("checkpoint")
	o.Sampler, _ = a.String("sampler")
	// A zero would read as "unset" once in gen.Options, so bounds are
	// checked here, on what the user gave.
	if n, ok := a.Int("steps"); ok {
		if n < gen.MinSteps || n > gen.MaxSteps {
			return o, bot.Failf("Steps must be from %d to %d; you asked for %d.", gen.MinSteps, gen.MaxSteps, n)
		}
		o.Steps = int(n)
	}
	if f, ok := a.Float("cfg"); ok {
		if !(f >= gen.MinCFG && f <= gen.MaxCFG) {
			return o, bot.Failf("CFG must be from %g to %g; you asked for %g.", gen.MinCFG, gen.MaxCFG, f)
		}
		o.CFG = f
	}
	if s, ok := a.String("size"); ok && strings.TrimSpace(s) != "" {
		sz, err := gen.ParseSize(s)
		if err != nil {
			return o, err
		}
		o.Width, o.Height = sz.Width, sz.Height
	}
	return o, nil
}

func (im *imagineCmd) handle(c *bot.Ctx) error {
	a := c.Args()
	o, err := readGeneration(a)
	if err != nil {
		return err
	}
	if strings.TrimSpace(o.Prompt) == "" {
		return bot.Failf("Write a prompt: what should the image show?")
	}
	if n, ok := a.Int("seed"); ok {
		o.Seed = ptr(n)
	}
	if n, ok := a.Int("count"); ok {
		if n < 1 || n > gen.MaxCount {
			return bot.Failf("Count must be from 1 to %d; you asked for %d.", gen.MaxCount, n)
		}
		o.Count = int(n)
	}
	l := imagine.Layers{Cmd: o}
	l.PresetName, _ = a.String("preset")
	strength, hasStrength := a.Float("strength")
	pic, data, err := attachedPicture(c, a, "image")
	if err != nil {
		return err
	}
	switch {
	case pic != nil:
		l.Init = pic
		if hasStrength {
			if !(strength >= imagine.MinStrength && strength <= imagine.MaxStrength) {
				return bot.Failf("Strength must be from %g to %g; you asked for %g.", imagine.MinStrength, imagine.MaxStrength, strength)
			}
			l.Strength = strength
		}
	case hasStrength:
		return bot.Failf("Strength says how far to move from a picture: attach one with the image option, or leave strength out.")
	}
	scope := scopeOf(c)
	req, err := im.planner.PlanLayers(c.UserID(), l, scope)
	if err != nil {
		return publicError(c, err)
	}
	return im.enqueueWith(c, req, scope.Settings.Bounds, data)
}

// publicError words an image server's failure that a handler returns for
// the router to show: in public words (a1111.Error.PublicMessage) unless
// the member manages the server, who gets the detail to act on.
func publicError(c *bot.Ctx, err error) error {
	var ae *a1111.Error
	if err == nil || !errors.As(err, &ae) || c.HasPermission(discordgo.PermissionManageGuild) {
		return err
	}
	c.Log.Warn("image server error shown in public words", "err", err)
	return bot.Failf("%s", ae.PublicMessage())
}

// autocomplete answers lora*, preset, checkpoint, sampler and size. It reads
// only in-memory snapshots, so it stays far inside Discord's 3 seconds.
func (im *imagineCmd) autocomplete(c *bot.Ctx) error {
	a := c.Args()
	name, typed := a.Focused()
	switch name {
	case "lora", "lora2", "lora3":
		return c.Choices(loraChoices(im.deps.Catalog.Index(), typed, im.familyHint(a), im.modelFamily(a)))
	case "preset":
		return c.Choices(presetChoices(im.deps.Presets, c.UserID(), typed))
	case "checkpoint":
		return c.Choices(checkpointChoices(im.deps.Servers, typed))
	case "sampler":
		return c.Choices(samplerChoices(im.deps.Servers, typed))
	case "size":
		return c.Choices(sizeChoices(im.familyHint(a), typed))
	}
	return c.Choices(nil)
}

// familyHint is the family of the checkpoint picked so far, else of the
// first LoRA picked, so that suggestions fit what the user is building.
func (im *imagineCmd) familyHint(a bot.Args) lora.Family {
	if v, ok := a.String("checkpoint"); ok && v != "" {
		// The family shows in the name itself; resolving it would build a
		// "did you mean" list on every keystroke.
		return gen.CheckpointFamily(v)
	}
	idx := im.deps.Catalog.Index()
	focused, _ := a.Focused()
	for _, n := range []string{"lora", "lora2", "lora3"} {
		if v, ok := a.String(n); ok && v != "" && n != focused {
			if l, ok := idx.Lookup(v); ok && l.Family != lora.FamilyUnknown {
				return l.Family
			}
		}
	}
	return im.deps.Servers.CurrentFamily()
}

// modelFamily is the family of the checkpoint the job will use: the one
// picked so far, else the one loaded on the servers; unknown when neither
// says.
func (im *imagineCmd) modelFamily(a bot.Args) lora.Family {
	if v, ok := a.String("checkpoint"); ok && v != "" {
		return gen.CheckpointFamily(v)
	}
	return im.deps.Servers.CurrentFamily()
}

// cooldownKey keeps one user's cooldown apart per server ("" in DMs).
func cooldownKey(guildID, user string) string { return guildID + "/" + user }

// cooldownRefusal tells how long to wait, in whole seconds rounded up so
// that trying again when told never fails.
func cooldownRefusal(wait time.Duration) error {
	secs := int(math.Ceil(wait.Seconds()))
	in := fmt.Sprintf("%d s", secs)
	if secs >= 60 {
		in = fmt.Sprintf("%d min", secs/60)
		if secs%60 != 0 {
			in += fmt.Sprintf(" %d s", secs%60)
		}
	}
	return bot.Failf("You can start another job in %s (this server's cooldown).", in)
}

// queueRefusal words the scheduler's refusals for the user.
func queueRefusal(err error, max int) error {
	var le *queue.LimitError
	switch {
	case errors.As(err, &le) && le.Group != "":
		return bot.Failf("You already have %d %s queued or running in this server (its limit); wait for one to finish or cancel one.", le.Limit, plural(le.Limit, "job", "jobs"))
	case errors.Is(err, queue.ErrUserLimit):
		return bot.Failf("You already have %d jobs queued or running (the limit); wait for one to finish or cancel one.", max)
	case errors.Is(err, queue.ErrClosed):
		return bot.Failf("The bot is shutting down and takes no new jobs; try again in a minute.")
	}
	return err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

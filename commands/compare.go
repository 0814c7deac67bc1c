package commands

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/bwmarrin/discordgo"

	"lorabot/bot"
	"lorabot/compare"
	"lorabot/imagine"
	"lorabot/prompt"
)

// compareCmd is /compare: one prompt and seed at several weights of a
// LoRA, as one job of several cells whose result is one grid. It plans
// with /imagine's planner and runs on /imagine's job machinery.
type compareCmd struct {
	im *imagineCmd
}

func (cc *compareCmd) command() bot.Command {
	str := discordgo.ApplicationCommandOptionString
	// prompt, size and checkpoint are /imagine's own options.
	shared := map[string]*discordgo.ApplicationCommandOption{}
	for _, o := range generationOptions(true) {
		shared[o.Name] = o
	}
	return bot.Command{
		Def: &discordgo.ApplicationCommand{
			Name:        "compare",
			Description: "One prompt and seed at several weights of a LoRA, in one labelled grid",
			Options: []*discordgo.ApplicationCommandOption{
				shared["prompt"],
				{Type: str, Name: "lora", Description: "The LoRA whose weight to find (start typing to search)", Required: true, Autocomplete: true, MaxLength: bot.MaxChoiceLen},
				{Type: str, Name: "weights", Description: fmt.Sprintf("e.g. 0, 0.4, 0.7, 1 (default: %d up to its preferred weight; at most %d cells)", compare.DefaultSweep, compare.MaxCells), MaxLength: 200},
				{Type: str, Name: "lora2", Description: "A second LoRA as the rows, at the same weights", Autocomplete: true, MaxLength: bot.MaxChoiceLen},
				{Type: discordgo.ApplicationCommandOptionInteger, Name: "seed", Description: "The seed of every cell (default: one the bot picks)", MinValue: ptr(-1.0), MaxValue: math.MaxUint32},
				shared["size"],
				shared["checkpoint"],
				{Type: str, Name: "preset", Description: "One of your presets (default: your default preset)", Autocomplete: true},
			},
		},
		Handle:       cc.handle,
		Autocomplete: cc.im.autocomplete,
	}
}

// handle plans the compare as one /imagine request whose cells differ only
// by the compared LoRAs' weights, and queues it as one job. Every refusal
// (weights, the number of cells, an unknown LoRA, the server's bounds)
// comes before anything is queued.
func (cc *compareCmd) handle(c *bot.Ctx) error {
	a := c.Args()
	o, err := readGeneration(a)
	if err != nil {
		return err
	}
	if strings.TrimSpace(o.Prompt) == "" {
		return bot.Failf("Write a prompt: what should the images show?")
	}
	if o.LoRAs[0].Name == "" {
		return bot.Failf("Pick the LoRA whose weights to compare.")
	}
	two := o.LoRAs[1].Name != ""
	var weights []float64
	if s, ok := a.String("weights"); ok && strings.TrimSpace(s) != "" {
		if weights, err = compare.ParseWeights(s); err != nil {
			return err
		}
		// Checked before planning: the count needs no catalog.
		second := ""
		if two {
			second = "lora2"
		}
		if _, err := compare.NewPlan("lora", second, weights); err != nil {
			return err
		}
		// Planned at one of the weights; each cell gets its own
		// (compare.Plan.CellPrompt).
		o.LoRAs[0].Weight = ptr(weights[len(weights)-1])
		if two {
			o.LoRAs[1].Weight = ptr(weights[len(weights)-1])
		}
	}
	if n, ok := a.Int("seed"); ok {
		o.Seed = ptr(n)
	}
	o.Count = 1 // one image a cell
	presetName, _ := a.String("preset")
	scope := scopeOf(c)
	req, err := cc.im.planner.Plan(c.UserID(), o, presetName, scope)
	if err != nil {
		return publicError(c, err)
	}
	plan, err := cc.plan(req, o.LoRAs[0].Name, o.LoRAs[1].Name, weights, scope)
	if err != nil {
		return err
	}
	seed := compare.Seed(o.Seed)
	req.Options.Seed = &seed
	req.Compare = plan
	if _, err := req.CompareCells(); err != nil {
		return fmt.Errorf("plan the compare's cells: %w", err)
	}
	return cc.im.enqueue(c, req, scope.Settings.Bounds)
}

// plan finds the compared LoRAs in the planned request (by what the user
// picked, resolved as the planner did) and the weights: the user's, else
// the default sweep around the LoRA's preferred weight as this server sets
// it.
func (cc *compareCmd) plan(req *imagine.Request, name1, name2 string, weights []float64, scope imagine.Scope) (*compare.Plan, error) {
	res := imagine.ResolverFor(cc.im.deps.Catalog.Index(), scope.Settings)
	applied := func(name string) (prompt.Applied, error) {
		l, err := res.Resolve(name)
		if err != nil {
			return prompt.Applied{}, err
		}
		i := slices.IndexFunc(req.Prompt.LoRAs, func(a prompt.Applied) bool { return a.LoRA.Name == l.Name })
		if i < 0 {
			return prompt.Applied{}, fmt.Errorf("compare: %s is not in the planned prompt", l.Name)
		}
		return req.Prompt.LoRAs[i], nil
	}
	first, err := applied(name1)
	if err != nil {
		return nil, err
	}
	second := ""
	if name2 != "" {
		a2, err := applied(name2)
		if err != nil {
			return nil, err
		}
		second = a2.LoRA.Name
	}
	if weights == nil {
		n := compare.DefaultSweep
		if second != "" {
			n = compare.DefaultSweep2
		}
		weights = compare.DefaultWeights(first.Weight, n)
	}
	return compare.NewPlan(first.LoRA.Name, second, weights)
}

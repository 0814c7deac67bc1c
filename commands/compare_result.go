package commands

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"

	"lorabot/bot"
	"lorabot/compare"
	"lorabot/grid"
	"lorabot/imagine"
	"lorabot/jobs"
	"lorabot/lora"
)

// The menus under a compare's grid. Their custom_id carries the job's
// record ID ("cmpcell:ID", ≤ 28 characters; the save form's "cmpsave:ID:K"),
// and they read the job's record, so they work after a restart for as long
// as the record is kept (jobs are pruned after a week or beyond 2000).
const (
	compareCellPrefix = "cmpcell"
	compareSavePrefix = "cmpsave"
)

// postCompare replaces the job's message with the grid, within the
// interaction's upload limit (cells scaled down when needed, and said so),
// its settings, and the menus to post one cell at full size or save one
// cell's weights as a preset.
func (im *imagineCmd) postCompare(x *job) {
	x.mu.Lock()
	cr, took, backend := x.compare, x.took, x.backend
	x.mu.Unlock()
	e := requestEmbed(x.req, nil, took)
	if cr == nil {
		im.deliver(x, bot.Message{Content: "⚠️ The compare ended without its cells.", Embeds: []*discordgo.MessageEmbed{e}})
		return
	}
	e = requestEmbed(x.req, &cr.info, took)
	err := cr.finishPut()
	var res grid.Result
	if err == nil {
		res, err = cr.canvas.Encode(fileBudget(x.c.AttachmentLimit, 1))
	}
	if err != nil {
		x.c.Log.Error("could not make the compare's grid", "job", x.id, "err", err)
		im.deliver(x, bot.Message{Content: "⚠️ The grid could not be made small enough to upload; try a smaller size or fewer weights.", Embeds: []*discordgo.MessageEmbed{e}})
		return
	}
	file := &discordgo.File{Name: fmt.Sprintf("lorabot_%s_compare.jpg", x.id), ContentType: "image/jpeg", Reader: bytes.NewReader(res.JPEG)}
	files := []*discordgo.File{file}
	showImages(e, files, x.req.Spoiler)
	p := x.req.Compare
	content := fmt.Sprintf("✅ <@%s>'s compare of `%s` at %s", x.req.User, p.LoRA, p.WeightsText())
	if p.LoRA2 != "" {
		content += fmt.Sprintf(", against `%s` at the same weights", p.LoRA2)
	}
	content += fmt.Sprintf(" (seed %d)", *x.req.Options.Seed)
	if res.Scale < 1 {
		content += fmt.Sprintf("\nThe cells are shown at %d %% of their size to fit Discord's upload limit; pick one below to get it at full size.", int(res.Scale*100+0.5))
	}
	if x.req.Spoiler {
		content += "\n(As a spoiler: this server's policy outside age-restricted channels.)"
	}
	if len(cr.notLoaded) > 0 {
		x.c.Log.Warn("LoRAs sent did not load", "job", x.id, "backend", backend, "loras", cr.notLoaded)
		if backend >= 0 {
			im.deps.Servers.RescanLoRAs(backend)
		}
	}
	content += resultNotes(x.req.Warnings, cr.notLoaded)
	im.deliver(x, bot.Message{Content: clip(content, bot.MaxContentLen), Embeds: []*discordgo.MessageEmbed{e}, Files: files,
		Components: compareMenus(x.id, p)})
}

// compareMenus are the two menus under a grid: post one cell at full size,
// save one cell's weights as a preset. Each lists every cell by its
// weights.
func compareMenus(jobID string, p *compare.Plan) []discordgo.MessageComponent {
	var opts []discordgo.SelectMenuOption
	for _, c := range p.Cells() {
		opts = append(opts, discordgo.SelectMenuOption{Label: clip(p.Label(c), 100), Value: strconv.Itoa(c.Index)})
	}
	menu := func(prefix, placeholder string) discordgo.ActionsRow {
		return discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.SelectMenu{
			MenuType: discordgo.StringSelectMenu, CustomID: prefix + ":" + jobID, Placeholder: placeholder, Options: opts,
		}}}
	}
	return []discordgo.MessageComponent{
		menu(compareCellPrefix, "🔍 Post one cell at full size"),
		menu(compareSavePrefix, "💾 Save one cell's weights as a preset"),
	}
}

// compareEmbed shows a compare's request: the prompt with each compared
// LoRA's weights swept, and the LoRAs with theirs, since no single weight
// is the job's.
func compareEmbed(e *discordgo.MessageEmbed, r *imagine.Request) {
	p := r.Compare
	e.Description = clip(p.SweepText(r.Prompt), bot.MaxEmbedDescLen)
	var loras []string
	for _, a := range r.Prompt.LoRAs {
		switch a.LoRA.Name {
		case p.LoRA:
			loras = append(loras, fmt.Sprintf("`%s` %s (columns)", a.LoRA.Name, p.WeightsText()))
		case p.LoRA2:
			loras = append(loras, fmt.Sprintf("`%s` %s (rows)", a.LoRA.Name, p.WeightsText()))
		default:
			loras = append(loras, fmt.Sprintf("`%s` %s", a.LoRA.Name, lora.FormatWeight(a.Weight)))
		}
	}
	for _, f := range e.Fields {
		if f.Name == "LoRAs" {
			f.Value = clip(strings.Join(loras, "\n"), bot.MaxEmbedFieldLen)
		}
	}
}

// cellOf reads the compare job jobID's record, as a result's buttons do
// (recordOf: the pressed message must name the job, which must be this
// channel's), and returns cell k's request, an ordinary one.
func (cc *compareCmd) cellOf(c *bot.Ctx, jobID, k string) (imagine.Request, compare.Cell, error) {
	rec, err := cc.im.recordOf(jobID, c)
	if err != nil {
		return imagine.Request{}, compare.Cell{}, err
	}
	if rec.State != jobs.Done || rec.Request.Compare == nil {
		return imagine.Request{}, compare.Cell{}, bot.Failf("This is not a finished /compare, so it has no cells to use.")
	}
	p := rec.Request.Compare
	i, err := strconv.Atoi(k)
	cell, ok := compare.Cell{}, false
	if err == nil && p != nil {
		cell, ok = p.Cell(i)
	}
	if !ok {
		return imagine.Request{}, compare.Cell{}, bot.Failf("That cell is not in this compare.")
	}
	cells, err := rec.Request.CompareCells()
	if err != nil {
		return imagine.Request{}, compare.Cell{}, fmt.Errorf("cells of compare %s: %w", jobID, err)
	}
	return cells[i], cell, nil
}

// picked is the one value chosen in a select menu.
func picked(c *bot.Ctx) string {
	data, _ := c.I.Data.(discordgo.MessageComponentInteractionData)
	if len(data.Values) == 1 {
		return data.Values[0]
	}
	return ""
}

// postCell serves the "post one cell at full size" menu: the cell is run
// again as an ordinary /imagine job, with the compare's seed and settings,
// and posted as a new message. Running it again, rather than keeping nine
// full-size images per compare, costs one generation and no storage, and
// gives the same image: A1111 is deterministic for one seed and settings
// on one server (a server with other hardware may differ in fine detail).
// The job is the presser's: it is planned again under the server's rules
// of today (its bounds, bans and policy, their limits), as a reroll is,
// and then sent with the cell's own prompt, so that a weight-0 cell keeps
// the trigger words it was drawn with.
func (cc *compareCmd) postCell(c *bot.Ctx, jobID string) error {
	cell, _, err := cc.cellOf(c, jobID, picked(c))
	if err != nil {
		return err
	}
	l := imagine.Layers{From: &cell}
	l.Cmd.Seed = cell.Options.Seed
	l.Lineage.Job = jobID
	l.Lineage.Message, l.Lineage.Channel, l.Lineage.Guild = pressedMessage(c)
	if err := c.DeferMessage(); err != nil {
		return err
	}
	scope := scopeOf(c)
	req, err := cc.im.planner.PlanLayers(c.UserID(), l, scope)
	if err != nil {
		return publicError(c, err)
	}
	req.Prompt = cell.Prompt
	return cc.im.enqueue(c, req, scope.Settings.Bounds)
}

// askPresetName serves the "save one cell's weights" menu: the name form,
// whose submission names the cell.
func (cc *compareCmd) askPresetName(c *bot.Ctx, jobID string) error {
	k := picked(c)
	if _, _, err := cc.cellOf(c, jobID, k); err != nil {
		return err
	}
	return presetNameForm(c, compareSavePrefix+":"+jobID+":"+k)
}

// savePreset saves the cell's settings (its LoRA weights; a weight of 0
// leaves that LoRA out) as the caller's preset, as "Save as preset" does
// for an /imagine result.
func (cc *compareCmd) savePreset(c *bot.Ctx, arg string) error {
	jobID, k, _ := strings.Cut(arg, ":")
	req, _, err := cc.cellOf(c, jobID, k)
	if err != nil {
		return err
	}
	return cc.im.saveAsPreset(c, presetOptions(&req, cc.im.deps.Servers))
}

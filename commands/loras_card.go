package commands

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/jpeg"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"lorabot/bot"
	"lorabot/imagine"
	"lorabot/lora"
)

// thumbSide is the longest side of a preview as the bot posts it: a card's
// thumbnail shows at 80 px, a list's at less; 256 keeps it sharp on
// high-density screens and a file of a few dozen kilobytes.
const thumbSide = 256

// serverThumbBudget bounds asking the image servers for a preview, so that
// /loras info still answers inside Discord's 3 seconds.
const serverThumbBudget = 1500 * time.Millisecond

// preview is a LoRA's preview as a card shows it: a file to attach, or an
// https URL (Civitai's) Discord fetches itself; neither when none is known.
type preview struct {
	file *discordgo.File
	url  string
	nsfw bool // the image itself is age-restricted (Civitai's rating)
}

// previewOf finds a LoRA's preview: its file in LORA_DIR, else the image
// server's own thumbnail route (when askServers), else Civitai's preview
// URL. Files are scaled to a thumbnail; one that is unusable is skipped
// with a log line.
func (l *lorasCmd) previewOf(ctx context.Context, lr lora.LoRA, base string, askServers bool) preview {
	data, skipped, err := l.deps.Catalog.Preview(lr.Name)
	if len(skipped) > 0 {
		l.deps.Log.Warn("skipped unusable preview files", "lora", lr.Name, "why", strings.Join(skipped, "; "))
	}
	if err != nil && askServers {
		data = l.serverThumb(ctx, lr)
	}
	if data != nil {
		f, err := thumbnailFile(data, base)
		if err == nil {
			return preview{file: f}
		}
		l.deps.Log.Warn("preview could not be scaled", "lora", lr.Name, "err", err)
	}
	return preview{url: lr.Civitai.PreviewURL, nsfw: lr.Civitai.PreviewNSFW}
}

// serverThumb asks the first server that has the LoRA for the preview
// next to its file, as its extra-networks page would find it.
func (l *lorasCmd) serverThumb(ctx context.Context, lr lora.LoRA) []byte {
	p := l.deps.Catalog.ServerPath(lr.Name)
	if p == "" || l.deps.Servers == nil {
		return nil
	}
	if dot := strings.LastIndexByte(p, '.'); dot > strings.LastIndexAny(p, `/\`) {
		p = p[:dot]
	}
	ctx, cancel := context.WithTimeout(ctx, serverThumbBudget)
	defer cancel()
	for i, cl := range l.deps.Servers.Clients() {
		if !lr.OnServer(i) {
			continue
		}
		for _, ext := range lora.PreviewExts {
			for _, f := range []string{p + "." + ext, p + ".preview." + ext} {
				data, err := cl.Thumb(ctx, f)
				if err == nil && lora.CheckImage(data) == "" {
					return data
				}
				if ctx.Err() != nil {
					return nil
				}
			}
		}
		return nil // one server's folder is enough to ask
	}
	return nil
}

// thumbnailFile scales an image to at most thumbSide (by the shared box
// filter, downscale) and names it base plus its extension. A small image
// is kept as it is.
func thumbnailFile(data []byte, base string) (*discordgo.File, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("read preview header: %w", err)
	}
	if max(cfg.Width, cfg.Height) <= thumbSide && len(data) <= 512<<10 {
		ext, ct := imageKind(data)
		return &discordgo.File{Name: base + ext, ContentType: ct, Reader: bytes.NewReader(data)}, nil
	}
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decode preview: %w", err)
	}
	k := (max(cfg.Width, cfg.Height) + thumbSide - 1) / thumbSide
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, downscale(src, max(k, 1)), &jpeg.Options{Quality: 85}); err != nil {
		return nil, fmt.Errorf("encode thumbnail: %w", err)
	}
	return &discordgo.File{Name: base + ".jpg", ContentType: "image/jpeg", Reader: bytes.NewReader(buf.Bytes())}, nil
}

// showPreview puts p in e as its thumbnail and returns the files to send.
// A LoRA marked NSFW shows its preview only in an age-restricted channel;
// elsewhere a file goes as a spoiler (Discord blurs it) and no embed image
// (which Discord would show unblurred), and a URL not at all.
func showPreview(e *discordgo.MessageEmbed, p preview, nsfw, ageRestricted bool) []*discordgo.File {
	hide := (nsfw || p.nsfw) && !ageRestricted
	switch {
	case p.file != nil && hide:
		p.file.Name = spoilerPrefix + p.file.Name
		return []*discordgo.File{p.file}
	case p.file != nil:
		e.Thumbnail = &discordgo.MessageEmbedThumbnail{URL: "attachment://" + p.file.Name}
		return []*discordgo.File{p.file}
	case p.url != "" && !hide:
		e.Thumbnail = &discordgo.MessageEmbedThumbnail{URL: p.url}
	}
	return nil
}

// card is /loras info's answer: the LoRA as this server sees it, its
// preview, what Civitai says, and a Try it button.
func (l *lorasCmd) card(c *bot.Ctx, lr lora.LoRA) bot.Message {
	s := settingsOf(c)
	own, set := s.LoRAs[lr.Name]
	e := loraEmbed(lr, own, set)
	addCivitai(e, lr)
	p := l.previewOf(context.Background(), lr, "preview", true)
	shown := lr
	if set {
		shown = imagine.OverrideOf(own).Apply(lr)
	}
	files := showPreview(e, p, shown.NSFW, c.ChannelNSFW)
	row := discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.Button{Label: "Try it", Style: discordgo.PrimaryButton, CustomID: loraTryPrefix + ":" + loraKey(lr.Name), Emoji: &discordgo.ComponentEmoji{Name: "🎨"}},
	}}
	if u := lr.Civitai.PageURL; u != "" {
		row.Components = append(row.Components, discordgo.Button{Label: "Civitai page", Style: discordgo.LinkButton, URL: u})
	}
	return bot.Message{Embeds: []*discordgo.MessageEmbed{e}, Files: files, Components: []discordgo.MessageComponent{row}, Ephemeral: true}
}

// addCivitai adds what Civitai says of the LoRA to its card.
func addCivitai(e *discordgo.MessageEmbed, lr lora.LoRA) {
	r := lr.Civitai
	if !r.Known() {
		return
	}
	what := strings.NewReplacer("[", "(", "]", ")").Replace(escapeMarkdown(r.ModelName))
	if what == "" {
		what = "model page"
	}
	v := what
	if r.PageURL != "" {
		v = "[" + what + "](" + r.PageURL + ")"
	}
	if r.BaseModel != "" {
		v += " · " + escapeMarkdown(r.BaseModel)
	}
	if len(r.TrainedWords) > 0 {
		v += "\nTrained words: " + escapeMarkdown(strings.Join(r.TrainedWords, ", "))
	}
	e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: "Civitai", Value: clip(v, bot.MaxEmbedFieldLen)})
	if r.Description != "" {
		e.Description = clip(escapeMarkdown(r.Description), 300)
	}
	if r.PageURL != "" {
		e.URL = r.PageURL
	}
}

// loraKey is a LoRA's name as a custom_id carries it: the name when it
// fits after a prefix, else "#" and a hash of it (resolveKey finds it).
func loraKey(name string) string {
	if len(name) <= maxKeyLen && !strings.HasPrefix(name, "#") {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return "#" + hex.EncodeToString(sum[:8])
}

// maxKeyLen keeps "prefix:KEY" within custom_id's 100 characters.
const maxKeyLen = 80

// resolveKey finds the LoRA a loraKey names in the current catalog.
func resolveKey(idx *lora.Index, key string) (lora.LoRA, error) {
	if !strings.HasPrefix(key, "#") {
		if lr, ok := idx.Get(key); ok {
			return lr, nil
		}
	} else {
		for _, lr := range idx.All() {
			if loraKey(lr.Name) == key {
				return lr, nil
			}
		}
	}
	return lora.LoRA{}, bot.Failf("That LoRA is no longer in the catalog; run /loras list again.")
}

// markdownSpecial are the characters Discord's markdown gives a meaning.
var markdownSpecial = strings.NewReplacer(
	`\`, `\\`, "*", `\*`, "_", `\_`, "~", `\~`, "`", "\\`", "|", `\|`,
	"[", `\[`, "]", `\]`, "(", `\(`, ")", `\)`, "#", `\#`, ">", `\>`, "-", `\-`,
)

// escapeMarkdown makes text from outside (Civitai's) show as written: no
// masked links, spoilers, headers or code of someone else's making on the
// bot's card.
func escapeMarkdown(s string) string { return markdownSpecial.Replace(s) }

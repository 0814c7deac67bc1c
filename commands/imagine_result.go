package commands

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	_ "image/png" // image.Decode of A1111's PNGs
	"net/http"
	"strings"

	"github.com/bwmarrin/discordgo"

	"lorabot/bot"
	"lorabot/imagine"
)

// maxRequestBytes is Discord's limit on one upload request, all files
// together; a little is kept back for the JSON payload.
const maxRequestBytes = 25<<20 - 256<<10

// postResult replaces the job's message with its images and their settings.
func (im *imagineCmd) postResult(x *job) {
	if x.req.Compare != nil {
		im.postCompare(x) // compare_result.go: one grid
		return
	}
	switch x.req.Kind {
	case imagine.Upscale:
		im.postUpscale(x)
		return
	case imagine.Describe:
		im.postDescription(x)
		return
	}
	x.mu.Lock()
	res, took, backend := x.result, x.took, x.backend
	x.mu.Unlock()
	// Kept before the button appears, so that it works at once and after a
	// restart; without it the button says the result is too old.
	if err := im.deps.Results.SaveResult(x.id, presetOptions(x.req, im.deps.Servers)); err != nil {
		x.c.Log.Error("could not keep the result's settings", "job", x.id, "err", err)
	}
	images := res.Images
	if want := x.req.Options.Count; want > 0 && len(images) > want {
		images = images[:want] // Forge may append extra images (grids, masks)
	}
	perFile := fileBudget(x.c.AttachmentLimit, len(images))
	var files []*discordgo.File
	var notes []string
	for i, img := range images {
		f, note, err := fitImage(img, perFile, fmt.Sprintf("lorabot_%s_%d", x.id, i+1))
		if err != nil {
			x.c.Log.Error("image does not fit Discord's limit", "job", x.id, "image", i+1, "bytes", len(img), "err", err)
			notes = append(notes, fmt.Sprintf("image %d could not be made small enough to upload", i+1))
			continue
		}
		if note != "" {
			notes = append(notes, fmt.Sprintf("image %d %s", i+1, note))
		}
		files = append(files, f)
	}
	e := requestEmbed(x.req, &res.Info, took)
	showImages(e, files, x.req.Spoiler)
	content := fmt.Sprintf("✅ <@%s>'s images", x.req.User) + lineageNote(x.req.From)
	if x.req.Spoiler {
		content += " (as spoilers: this server's policy outside age-restricted channels)"
	}
	if len(files) == 0 {
		content = "⚠️ The image server answered without images."
	}
	if len(notes) > 0 {
		content += " (" + strings.Join(notes, "; ") + ")"
	}
	if len(files) > 0 {
		missing := x.req.NotLoaded(res.Info)
		if len(missing) > 0 {
			x.c.Log.Warn("LoRAs sent did not load", "job", x.id, "backend", backend, "loras", missing)
			if backend >= 0 {
				im.deps.Servers.RescanLoRAs(backend)
			}
		}
		content += resultNotes(x.req.Warnings, missing)
	}
	im.deliver(x, bot.Message{Content: content, Embeds: []*discordgo.MessageEmbed{e}, Files: files,
		Components: resultComponents(x.id, len(images))})
}

// resultNotes are the lines the result's content adds after its first:
// the plan's warnings (a LoRA of another family than the checkpoint's),
// then, when the server did not apply some LoRAs sent, one sentence naming
// them. "" when there is nothing to say.
func resultNotes(warnings, notLoaded []string) string {
	var b strings.Builder
	for _, w := range warnings {
		b.WriteString("\n⚠️ " + w)
	}
	if len(notLoaded) > 0 {
		list := make([]string, len(notLoaded))
		for i, n := range notLoaded {
			list[i] = "`" + strings.ReplaceAll(n, "`", "'") + "`"
		}
		what, them := "the LoRA "+list[0], "it"
		if len(list) > 1 {
			what, them = "the LoRAs "+strings.Join(list[:len(list)-1], ", ")+" and "+list[len(list)-1], "them"
		}
		b.WriteString("\n⚠️ The image server did not apply " + what + ": its record of the LoRAs it loaded for these images leaves " + them + " out.")
	}
	return b.String()
}

// showImages puts the result's files in the message. Normally the first
// image is also the embed's, by its attachment:// name. As spoilers, every
// file is named SPOILER_… (Discord's only spoiler mark for attachments) and
// the embed gets no image: Discord shows an embed's image unblurred whatever
// its file is called, so an embed image would undo the spoiler.
func showImages(e *discordgo.MessageEmbed, files []*discordgo.File, spoiler bool) {
	if spoiler {
		for _, f := range files {
			if !strings.HasPrefix(f.Name, spoilerPrefix) {
				f.Name = spoilerPrefix + f.Name
			}
		}
		e.Image = nil
		return
	}
	if len(files) > 0 {
		e.Image = &discordgo.MessageEmbedImage{URL: "attachment://" + files[0].Name}
	}
}

// spoilerPrefix marks an attachment as a spoiler.
const spoilerPrefix = "SPOILER_"

// fileBudget is the most one of n images may weigh: the interaction's
// per-file limit, and a share of Discord's 25 MiB per request.
func fileBudget(attachmentLimit int64, n int) int64 {
	if n == 0 {
		return attachmentLimit
	}
	return min(attachmentLimit, int64(maxRequestBytes/n))
}

// fitImage returns img as a file no larger than limit. A PNG that is too big
// is re-encoded as JPEG at falling quality, then scaled down, so that nothing
// is silently dropped; note says what was done.
func fitImage(img []byte, limit int64, base string) (*discordgo.File, string, error) {
	if int64(len(img)) <= limit {
		ext, ctype := imageKind(img)
		return &discordgo.File{Name: base + ext, ContentType: ctype, Reader: bytes.NewReader(img)}, "", nil
	}
	src, _, err := image.Decode(bytes.NewReader(img))
	if err != nil {
		return nil, "", fmt.Errorf("decode %d-byte image to shrink it: %w", len(img), err)
	}
	for _, scale := range []int{1, 2, 4} {
		m := src
		if scale > 1 {
			m = downscale(src, scale)
		}
		for _, q := range []int{92, 80, 65} {
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: q}); err != nil {
				return nil, "", fmt.Errorf("encode jpeg: %w", err)
			}
			if int64(buf.Len()) <= limit {
				note := "was converted to JPEG to fit Discord's upload limit"
				if scale > 1 {
					note = fmt.Sprintf("was converted to JPEG at 1/%d size to fit Discord's upload limit", scale)
				}
				return &discordgo.File{Name: base + ".jpg", ContentType: "image/jpeg", Reader: bytes.NewReader(buf.Bytes())}, note, nil
			}
		}
	}
	return nil, "", fmt.Errorf("image of %d bytes stays over %d bytes even at 1/4 size", len(img), limit)
}

// imageKind names a file after what its bytes are: A1111's API encodes
// images in its samples_format setting (png, jpg or webp), not always PNG.
func imageKind(img []byte) (ext, contentType string) {
	switch ct := http.DetectContentType(img); ct {
	case "image/jpeg":
		return ".jpg", ct
	case "image/webp":
		return ".webp", ct
	}
	return ".png", "image/png"
}

// downscale averages k×k blocks: good enough for a preview-sized fallback.
func downscale(src image.Image, k int) image.Image {
	b := src.Bounds()
	w, h := b.Dx()/k, b.Dy()/k
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var r, g, bl, a uint32
			for dy := 0; dy < k; dy++ {
				for dx := 0; dx < k; dx++ {
					cr, cg, cb, ca := src.At(b.Min.X+x*k+dx, b.Min.Y+y*k+dy).RGBA()
					r, g, bl, a = r+cr, g+cg, bl+cb, a+ca
				}
			}
			n := uint32(k * k)
			i := dst.PixOffset(x, y)
			dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2], dst.Pix[i+3] = uint8(r/n>>8), uint8(g/n>>8), uint8(bl/n>>8), uint8(a/n>>8)
		}
	}
	return dst
}

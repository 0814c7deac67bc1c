package lora

import (
	"context"
	"slices"
	"strings"
)

// Remote is what a catalog outside the image servers (Civitai) knows of a
// LoRA, found by its hash. It ranks after the sidecar and before the
// training metadata for trigger words; its family fills in only when the
// metadata has none; its NSFW mark adds to the metadata's.
type Remote struct {
	Hash         string
	TrainedWords []string
	Family       Family
	BaseModel    string // as the remote names it, e.g. "SDXL 1.0", "Pony"
	NSFW         bool
	ModelName    string
	PageURL      string // https
	PreviewURL   string // https, an image
	PreviewNSFW  bool   // the preview itself is age-restricted (or unrated)
	Description  string // plain text, bounded
}

// Known reports whether anything was found.
func (r Remote) Known() bool { return r.PageURL != "" || r.ModelName != "" || len(r.TrainedWords) > 0 }

func (r Remote) same(o Remote) bool {
	return r.Hash == o.Hash && r.Family == o.Family && r.BaseModel == o.BaseModel && r.NSFW == o.NSFW &&
		r.ModelName == o.ModelName && r.PageURL == o.PageURL && r.PreviewURL == o.PreviewURL && r.PreviewNSFW == o.PreviewNSFW &&
		r.Description == o.Description && slices.Equal(r.TrainedWords, o.TrainedWords)
}

// SetRemote replaces what is known remotely of the LoRAs, by name, and
// rebuilds the index. A LoRA it leaves out keeps only its own knowledge.
func (c *Catalog) SetRemote(byName map[string]Remote) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.remote = byName
	c.swap(c.build())
}

// RemoteFamily reads a base model as Civitai names it ("SD 1.5", "SDXL
// 1.0", "Pony", "Illustrious", "NoobAI", "Flux.1 D", "SD 3.5 Large", ...).
func RemoteFamily(base string) Family {
	b := strings.ToLower(strings.TrimSpace(base))
	switch {
	case strings.HasPrefix(b, "sd 1"), strings.HasPrefix(b, "sd1"):
		return FamilySD1
	case strings.HasPrefix(b, "sd 2"), strings.HasPrefix(b, "sd2"):
		return FamilySD2
	case strings.HasPrefix(b, "sdxl"), strings.HasPrefix(b, "pony"), strings.HasPrefix(b, "illustrious"), strings.HasPrefix(b, "noobai"):
		return FamilySDXL
	case strings.HasPrefix(b, "flux.1"), strings.HasPrefix(b, "flux 1"), b == "flux":
		return FamilyFlux
	case strings.HasPrefix(b, "sd 3"), strings.HasPrefix(b, "sd3"):
		return FamilySD3
	}
	return FamilyUnknown
}

// Want is a LoRA to look up remotely: by its metadata's hash, else by its
// file on this machine (to be hashed), when LORA_DIR holds it.
type Want struct {
	Name string
	Hash string // sshs_model_hash; "" when the metadata has none
	File string // the LoRA's file under LORA_DIR, only when Hash is ""
}

// Wants lists every LoRA of the catalog to look up. It reads LORA_DIR (to
// find the files of LoRAs without a hash), so call it off any hot path.
func (c *Catalog) Wants(ctx context.Context) []Want {
	c.mu.Lock()
	items := c.merged
	c.mu.Unlock()
	out := make([]Want, 0, len(items))
	for _, it := range items {
		if ctx.Err() != nil {
			break
		}
		w := Want{Name: it.Name, Hash: it.hash}
		if w.Hash == "" && c.dir != "" {
			w.File, _ = c.localFile(it)
		}
		if w.Hash != "" || w.File != "" {
			out = append(out, w)
		}
	}
	return out
}

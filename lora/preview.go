package lora

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // preview headers
	_ "image/jpeg"
	_ "image/png"
	"io"
	"os"
	"path/filepath"
	"strings"

	_ "golang.org/x/image/webp"
)

// MaxPreviewBytes bounds a preview file read from LORA_DIR; larger ones are
// skipped (a real card image is well under a megabyte).
const MaxPreviewBytes = 8 << 20

// maxPreviewPixels bounds a preview's decoded size, so that a small file
// claiming a huge picture is not decoded into memory.
const maxPreviewPixels = 16 << 20

// PreviewExts are the preview extensions A1111's extra-networks page looks
// for, in its order (modules/ui_extra_networks.py find_preview: for each
// extension, NAME.EXT then NAME.preview.EXT).
var PreviewExts = []string{"png", "jpg", "jpeg", "webp", "gif"}

// ErrNoPreview: the LoRA has no usable preview file.
var ErrNoPreview = errors.New("no preview image")

// loraExts are the LoRA files A1111 lists.
var loraExts = []string{".safetensors", ".pt", ".ckpt"}

// item finds the merged entry of the LoRA called name.
func (c *Catalog) item(name string) (item, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, it := range c.merged {
		if it.Name == name {
			return it, true
		}
	}
	return item{}, false
}

// ServerPath is the LoRA's file as its first server named it (A1111's
// path on that machine), for the server's own thumbnail route; "" when
// unknown.
func (c *Catalog) ServerPath(name string) string {
	it, _ := c.item(name)
	return it.path
}

// stems are where the LoRA's file may sit under LORA_DIR, without its
// extension: each tail of A1111's path (so ".../models/Lora/sdxl/x.safetensors"
// finds "sdxl/x" whatever A1111's folder is called), longest first, then
// the name at the top.
func (c *Catalog) stems(it item) []string {
	var out []string
	if it.path != "" {
		p := strings.ReplaceAll(it.path, `\`, "/")
		if dot := strings.LastIndexByte(p, '.'); dot > strings.LastIndexByte(p, '/') {
			p = p[:dot]
		}
		for p != "" {
			if rel := filepath.FromSlash(p); filepath.IsLocal(rel) {
				out = append(out, filepath.Join(c.dir, rel))
			}
			slash := strings.IndexByte(p, '/')
			if slash < 0 {
				break
			}
			p = p[slash+1:]
		}
	}
	if filepath.IsLocal(it.Name) {
		out = append(out, filepath.Join(c.dir, it.Name))
	}
	return out
}

// localFile is the LoRA's own file under LORA_DIR.
func (c *Catalog) localFile(it item) (string, bool) {
	for _, stem := range c.stems(it) {
		for _, ext := range loraExts {
			if p, err := c.inside(stem + ext); err == nil {
				if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
					return p, true
				}
			}
		}
	}
	return "", false
}

// inside resolves p's links and checks that it stays within LORA_DIR.
func (c *Catalog) inside(p string) (string, error) {
	root, err := filepath.EvalSymlinks(c.dir)
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(root, real)
	if err != nil || !filepath.IsLocal(rel) {
		return "", fmt.Errorf("%s leads out of LORA_DIR", p)
	}
	return real, nil
}

// Preview reads the preview image of the LoRA called name from LORA_DIR,
// found as A1111 finds it (PreviewExts) next to the LoRA's file. A
// candidate is skipped when it is larger than MaxPreviewBytes, is not an
// image (its header does not decode as PNG, JPEG, WEBP or GIF), claims
// more than 40 megapixels, or is a link that resolves outside LORA_DIR; the
// next one is tried. skipped tells why candidates were passed over, for a
// log line. ErrNoPreview when none is usable.
func (c *Catalog) Preview(name string) (data []byte, skipped []string, err error) {
	if c.dir == "" {
		return nil, nil, ErrNoPreview
	}
	it, ok := c.item(name)
	if !ok {
		return nil, nil, ErrNoPreview
	}
	for _, stem := range c.stems(it) {
		for _, ext := range PreviewExts {
			for _, p := range []string{stem + "." + ext, stem + ".preview." + ext} {
				data, why := readPreview(c, p)
				if data != nil {
					return data, skipped, nil
				}
				if why != "" {
					skipped = append(skipped, why)
				}
			}
		}
	}
	return nil, skipped, ErrNoPreview
}

// readPreview reads one candidate, or says why it is not one ("" when it
// does not exist).
func readPreview(c *Catalog, p string) ([]byte, string) {
	if _, err := os.Lstat(p); err != nil {
		return nil, ""
	}
	real, err := c.inside(p)
	if err != nil {
		return nil, err.Error()
	}
	st, err := os.Stat(real)
	switch {
	case err != nil:
		return nil, fmt.Sprintf("%s: %v", p, err)
	case !st.Mode().IsRegular():
		return nil, p + " is not a file"
	case st.Size() > MaxPreviewBytes:
		return nil, fmt.Sprintf("%s is %d bytes, over %d", p, st.Size(), MaxPreviewBytes)
	}
	f, err := os.Open(real)
	if err != nil {
		return nil, fmt.Sprintf("%s: %v", p, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxPreviewBytes+1))
	if err != nil || len(data) > MaxPreviewBytes {
		return nil, fmt.Sprintf("%s could not be read within %d bytes", p, MaxPreviewBytes)
	}
	if why := CheckImage(data); why != "" {
		return nil, p + ": " + why
	}
	return data, ""
}

// CheckImage says why data is not an image the bot may show ("" when it
// is): not a PNG, JPEG, WEBP or GIF by its header, or over 40 megapixels.
func CheckImage(data []byte) string {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	switch {
	case err != nil:
		return "not an image"
	case cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxPreviewPixels:
		return fmt.Sprintf("a %d×%d image is too large to show", cfg.Width, cfg.Height)
	}
	return ""
}

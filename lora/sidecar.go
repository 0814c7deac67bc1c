package lora

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// sidecar is what the bot uses of A1111's user-metadata file, the
// "<lora file without extension>.json" that A1111's UI writes next to a LoRA.
type sidecar struct {
	ActivationText  string
	PreferredWeight float64 // 0: unset
	Family          Family  // from "sd version"; unknown when unset
}

// maxSidecarBytes bounds one sidecar read: a real one is a few hundred
// bytes; anything far larger is not one.
const maxSidecarBytes = 1 << 20

// parseSidecar reads a sidecar leniently: unknown keys are ignored and the
// preferred weight may be a number or a numeric string.
func parseSidecar(r io.Reader) (sidecar, error) {
	var raw struct {
		ActivationText  *string         `json:"activation text"`
		PreferredWeight json.RawMessage `json:"preferred weight"`
		SDVersion       *string         `json:"sd version"`
	}
	data, err := io.ReadAll(io.LimitReader(r, maxSidecarBytes+1))
	if err != nil {
		return sidecar{}, err
	}
	if len(data) > maxSidecarBytes {
		return sidecar{}, fmt.Errorf("larger than %d bytes", maxSidecarBytes)
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return sidecar{}, err
	}
	var sc sidecar
	if raw.ActivationText != nil {
		sc.ActivationText = *raw.ActivationText
	}
	if raw.SDVersion != nil {
		sc.Family = ParseFamily(*raw.SDVersion)
	}
	if w := strings.TrimSpace(string(raw.PreferredWeight)); w != "" && w != "null" {
		if uq, err := strconv.Unquote(w); err == nil {
			w = strings.TrimSpace(uq)
		}
		if w != "" {
			f, err := strconv.ParseFloat(w, 64)
			if err != nil {
				return sidecar{}, fmt.Errorf("preferred weight %s is not a number", raw.PreferredWeight)
			}
			sc.PreferredWeight = f
		}
	}
	return sc, nil
}

// sidecarFile is one .json file found under LORA_DIR.
type sidecarFile struct {
	path    string // absolute
	modTime time.Time
	size    int64
}

// sidecarScan is one walk of LORA_DIR: its .json files by relative path
// without extension (slash-separated) and by stem.
type sidecarScan struct {
	byRel  map[string]sidecarFile
	byStem map[string][]sidecarFile
}

// scanSidecars walks dir once. An unreadable subfolder is skipped; an
// unreadable dir is an error.
func scanSidecars(dir string) (sidecarScan, error) {
	s := sidecarScan{byRel: map[string]sidecarFile{}, byStem: map[string][]sidecarFile{}}
	if _, err := os.Stat(dir); err != nil {
		return s, err
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || !strings.EqualFold(filepath.Ext(p), ".json") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // vanished while walking
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return nil
		}
		rel = filepath.ToSlash(rel)
		rel = rel[:len(rel)-len(".json")]
		f := sidecarFile{path: p, modTime: info.ModTime(), size: info.Size()}
		s.byRel[rel] = f
		stem := path.Base(rel)
		s.byStem[stem] = append(s.byStem[stem], f)
		return nil
	})
	return s, err
}

// find is the sidecar of the LoRA called name at A1111's path loraPath:
// the file whose path below LORA_DIR is the longest tail of loraPath (so
// "…/models/Lora/sdxl/x.safetensors" finds "sdxl/x.json" whatever A1111's
// folder is called on its machine), else the only sidecar named after the
// stem. ok is false when none or several match.
func (s *sidecarScan) find(name, loraPath string) (sidecarFile, bool) {
	if loraPath != "" {
		p := strings.ReplaceAll(loraPath, `\`, "/")
		if dot := strings.LastIndexByte(p, '.'); dot > strings.LastIndexByte(p, '/') {
			p = p[:dot]
		}
		for {
			if f, ok := s.byRel[p]; ok {
				return f, true
			}
			slash := strings.IndexByte(p, '/')
			if slash < 0 {
				break
			}
			p = p[slash+1:]
		}
	}
	if cands := s.byStem[name]; len(cands) == 1 {
		return cands[0], true
	}
	return sidecarFile{}, false
}

// cachedSidecar is a parsed sidecar with the file facts it was read from,
// so that an unchanged file is not read again on the next refresh and a
// broken one is reported once, not on every refresh.
type cachedSidecar struct {
	sidecarFile
	sc  sidecar
	err error
}

// loadSidecar returns f parsed, from prev when the file is unchanged.
func loadSidecar(f sidecarFile, prev map[string]cachedSidecar) (c cachedSidecar, fresh bool) {
	if c, ok := prev[f.path]; ok && c.modTime.Equal(f.modTime) && c.size == f.size {
		return c, false
	}
	c = cachedSidecar{sidecarFile: f}
	file, err := os.Open(f.path)
	if err != nil {
		c.err = err
		return c, true
	}
	defer file.Close()
	if c.sc, err = parseSidecar(file); err != nil {
		c.err = fmt.Errorf("sidecar %s: %w", f.path, err)
	}
	return c, true
}

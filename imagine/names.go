package imagine

import (
	"fmt"
	"path"
	"strings"

	"lorabot/a1111"
	"lorabot/gen"
	"lorabot/lora"
)

// ResolveCheckpoint finds the checkpoint a user meant: a title as
// autocomplete offers it, its file (sdxl/x.safetensors), a model name, a
// file name without folder, with or without extension, when only one
// checkpoint has it, in any case, or a unique prefix. Unknown names are
// refused with the closest ones, because A1111 silently keeps the current
// model for a title it does not know.
func (s *Servers) ResolveCheckpoint(v string) (a1111.Model, error) {
	models := s.Checkpoints()
	q := normKey(v)
	if q == "" {
		return a1111.Model{}, &gen.InputError{Msg: "The checkpoint name is empty; pick one, or leave the option out to use the server's current model."}
	}
	for _, m := range models {
		switch q {
		case normKey(m.Title), CheckpointKey(m), normKey(m.ModelName):
			return m, nil
		}
	}
	// A file name without its folder: "x.safetensors" or "x" for
	// sdxl/x.safetensors. Two folders may hold a file of that name.
	var byFile []a1111.Model
	for _, m := range models {
		k := CheckpointKey(m)
		if q == path.Base(k) || q == stem(k) || q == normKey(baseName(m.Filename)) {
			byFile = append(byFile, m)
		}
	}
	switch len(byFile) {
	case 1:
		return byFile[0], nil
	case 0:
	default:
		files := make([]string, len(byFile))
		for i, m := range byFile {
			files[i] = fileOfTitle(m.Title)
		}
		return a1111.Model{}, &gen.InputError{Msg: fmt.Sprintf("Several checkpoints are called %q: %s. Pick one with its folder.", v, strings.Join(files, ", "))}
	}
	var prefix []a1111.Model
	for _, m := range models {
		if strings.HasPrefix(normKey(m.Title), q) || strings.HasPrefix(normKey(m.ModelName), q) {
			prefix = append(prefix, m)
		}
	}
	if len(prefix) == 1 {
		return prefix[0], nil
	}
	names := make([]string, len(models))
	for i, m := range models {
		names[i] = m.ModelName
	}
	if len(models) == 0 {
		return a1111.Model{}, &gen.InputError{Msg: fmt.Sprintf("Checkpoint %q cannot be checked: the image server has not listed its checkpoints yet.", v)}
	}
	return a1111.Model{}, &gen.InputError{Msg: notFound("checkpoint", v, lora.Closest(v, names, 5))}
}

// CheckpointKey names a checkpoint by its file, the same on every server
// that has it: the path A1111 shows relative to its models folder, in lower
// case with forward slashes (sdxl/x.safetensors). A title will not do: its
// " [hash]" appears only once the server hashed the file, so two servers
// title one file differently; and Filename is an absolute path that differs
// per machine. The key comes from the title without its hash, else from the
// base of Filename.
func CheckpointKey(m a1111.Model) string {
	name := fileOfTitle(m.Title)
	if name == "" {
		name = baseName(m.Filename)
	}
	return normKey(name)
}

// fileOfTitle is a checkpoint title without its trailing " [hash]", case
// kept: A1111 titles are "relative/path.ext [hash]", or the path alone
// before hashing. A1111 also accepts this as sd_model_checkpoint, hashed
// or not.
func fileOfTitle(title string) string {
	t := strings.TrimSpace(title)
	if !strings.HasSuffix(t, "]") {
		return t
	}
	i := strings.LastIndex(t, " [")
	if i < 0 {
		return t
	}
	hash := t[i+2 : len(t)-1]
	if hash == "" || strings.IndexFunc(hash, func(r rune) bool {
		return !('0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z')
	}) >= 0 {
		return t // brackets that are part of the file name
	}
	return strings.TrimSpace(t[:i])
}

// normKey is text compared as a checkpoint file: lower case, forward
// slashes (a Windows server writes sdxl\x.safetensors), no leading slash.
func normKey(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), `\`, "/")
	return strings.ToLower(strings.TrimLeft(s, "/"))
}

// stem is the file name of a key without folder and extension.
func stem(key string) string {
	b := path.Base(key)
	return strings.TrimSuffix(b, path.Ext(b))
}

// ResolveSampler finds the sampler (and scheduler) a user meant. On A1111
// 1.9+ "DPM++ 2M Karras" is sampler "DPM++ 2M" with scheduler "Karras"; older
// servers know the joined name. The scheduler is returned as its label
// ("Karras"), what A1111's txt2img expects (its name, "karras", is corrected
// with a console warning), or its name where the server gives no label
// (SD.Next). Unknown names are refused, because A1111 silently falls back
// to Euler.
func (s *Servers) ResolveSampler(v string) (sampler, scheduler string, err error) {
	samplers := s.Samplers()
	q := strings.ToLower(strings.TrimSpace(v))
	for _, sm := range samplers {
		if strings.ToLower(sm.Name) == q {
			return sm.Name, "", nil
		}
		for _, a := range sm.Aliases {
			if strings.ToLower(a) == q {
				return sm.Name, "", nil
			}
		}
	}
	for _, sc := range s.Schedulers() {
		for _, label := range []string{sc.Label, sc.Name} {
			if label == "" {
				continue
			}
			suffix := " " + strings.ToLower(label)
			if !strings.HasSuffix(q, suffix) {
				continue
			}
			head := strings.TrimSuffix(q, suffix)
			for _, sm := range samplers {
				if strings.ToLower(sm.Name) == head {
					return sm.Name, schedulerLabel(sc), nil
				}
			}
		}
	}
	if len(samplers) == 0 {
		return "", "", &gen.InputError{Msg: fmt.Sprintf("Sampler %q cannot be checked: the image server has not listed its samplers yet.", v)}
	}
	names := make([]string, len(samplers))
	for i, sm := range samplers {
		names[i] = sm.Name
	}
	return "", "", &gen.InputError{Msg: notFound("sampler", v, lora.Closest(v, names, 5))}
}

// schedulerLabel is what a txt2img's scheduler field takes for sc.
func schedulerLabel(sc a1111.Scheduler) string {
	if sc.Label != "" {
		return sc.Label
	}
	return sc.Name
}

// DefaultSampler is the sampler and scheduler a job of family f runs with
// when no layer names one: the family's (gen.DefaultsFor: DPM++ 2M with
// Karras for SD1/SDXL, Euler with Simple for Flux) when every server lists
// it, on a server without schedulers (before A1111 1.9) as the joined name
// ("DPM++ 2M Karras"); else the first sampler listed. The scheduler is a
// label, "" when the servers list none of the family's (the server then
// picks its own, "Automatic"). Both are "" while the servers' lists are not
// loaded: the job then runs on the server's default, Euler on A1111.
func (s *Servers) DefaultSampler(f lora.Family) (sampler, scheduler string) {
	samplers := s.Samplers()
	if len(samplers) == 0 {
		return "", ""
	}
	d := gen.DefaultsFor(f)
	find := func(name string) (string, bool) {
		for _, sm := range samplers {
			if strings.EqualFold(sm.Name, name) {
				return sm.Name, true
			}
		}
		return "", false
	}
	schedulers := s.Schedulers()
	if len(schedulers) == 0 {
		if name, ok := find(d.Sampler + " " + d.Scheduler); ok {
			return name, ""
		}
	}
	name, ok := find(d.Sampler)
	if !ok {
		return samplers[0].Name, ""
	}
	for _, sc := range schedulers {
		if strings.EqualFold(sc.Label, d.Scheduler) || strings.EqualFold(sc.Name, d.Scheduler) {
			return name, schedulerLabel(sc)
		}
	}
	return name, ""
}

func notFound(what, v string, closest []string) string {
	if len(closest) == 0 {
		return fmt.Sprintf("The image server has no %s called %q.", what, v)
	}
	return fmt.Sprintf("The image server has no %s called %q. Closest: %s.", what, v, strings.Join(closest, ", "))
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		p = p[i+1:]
	}
	return p
}

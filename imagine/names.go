package imagine

import (
	"fmt"
	"strings"

	"lorabot/a1111"
	"lorabot/gen"
	"lorabot/lora"
)

// ResolveCheckpoint finds the checkpoint a user meant: a title as
// autocomplete offers it, a model name or file name, in any case, or a
// unique prefix. Unknown names are refused with the closest ones, because
// A1111 silently keeps the current model for a title it does not know.
func (s *Servers) ResolveCheckpoint(v string) (a1111.Model, error) {
	models := s.Checkpoints()
	q := strings.ToLower(strings.TrimSpace(v))
	var prefix []a1111.Model
	for _, m := range models {
		switch q {
		case strings.ToLower(m.Title), strings.ToLower(m.ModelName), strings.ToLower(baseName(m.Filename)):
			return m, nil
		}
		if strings.HasPrefix(strings.ToLower(m.Title), q) || strings.HasPrefix(strings.ToLower(m.ModelName), q) {
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

// ResolveSampler finds the sampler (and scheduler) a user meant. On A1111
// 1.9+ "DPM++ 2M Karras" is sampler "DPM++ 2M" with scheduler "Karras"; older
// servers know the joined name. Unknown names are refused, because A1111
// silently falls back to Euler.
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
					return sm.Name, sc.Name, nil
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

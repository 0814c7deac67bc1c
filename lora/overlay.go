package lora

import "slices"

// Override is what one Discord server's admins set for a LoRA (/loras set).
// It is the first source of the LoRA's trigger words and preferred weight in
// that server, ahead of the sidecar, Civitai and the metadata (interface.md's
// precedence), and its NSFW mark wins over the metadata's (see metaNSFW).
// Each server has its own, so it is laid over the shared Index per request
// rather than built into it.
type Override struct {
	Triggers []string // replace the LoRA's own when not empty
	Weight   float64  // the preferred weight; 0: the LoRA's own
	NSFW     *bool    // nil: the metadata decides
}

// Apply returns l with o laid over it. l's slices are not modified.
func (o Override) Apply(l LoRA) LoRA {
	if len(o.Triggers) > 0 {
		l.Triggers = slices.Clone(o.Triggers)
	}
	if o.Weight != 0 {
		l.PreferredWeight = o.Weight
	}
	if o.NSFW != nil {
		l.NSFW = *o.NSFW
	}
	return l
}

// Overlay resolves through Base and lays the override of the LoRA found, by
// its file name, over it: a server's view of the shared catalog, for
// prompt.Build and for showing a LoRA.
type Overlay struct {
	Base      Resolver
	Overrides map[string]Override // by LoRA file name
}

// WithOverrides is r seen with overrides; r itself when there are none.
func WithOverrides(r Resolver, overrides map[string]Override) Resolver {
	if len(overrides) == 0 {
		return r
	}
	return Overlay{Base: r, Overrides: overrides}
}

// Resolve finds the LoRA as Base does, then applies its override.
func (o Overlay) Resolve(value string) (LoRA, error) {
	l, err := o.Base.Resolve(value)
	if err != nil {
		return l, err
	}
	if ov, ok := o.Overrides[l.Name]; ok {
		l = ov.Apply(l)
	}
	return l, nil
}

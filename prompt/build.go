package prompt

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"lorabot/lora"
)

// Bounds of a request.
const (
	// MinWeight and MaxWeight bound every LoRA weight (TE and UNET). Beyond
	// them a LoRA burns the image; A1111 accepts anything, so the bot guards.
	MinWeight = -2.0
	MaxWeight = 2.0
	// MaxLoRAs is how many distinct LoRAs one prompt may use: each one
	// slows every step and past a handful they fight each other.
	MaxLoRAs = 5
	// MaxPromptRunes bounds the built prompt, counted in runes. A1111 has no
	// hard limit, but CLIP reads 75 tokens at a time and every further chunk
	// costs each step of the job (and of the jobs queued behind it); 3000
	// runes are some 600-1000 tokens, far past what still steers an image,
	// and still fit in an embed description (4096) for showing it back.
	MaxPromptRunes = 3000
)

// Choice is one LoRA option as the user gave it.
type Choice struct {
	Value  string   // what the user picked or typed; resolved by the Resolver
	Weight *float64 // nil: the LoRA's preferred weight, else 1
}

// Input is what a user asked for.
type Input struct {
	Prompt       string   // the user's prompt
	PresetPrompt string   // the preset's prompt, put before the user's
	LoRAs        []Choice // the LoRA options, in slot order
}

// Applied is one LoRA as it ends up in the prompt.
type Applied struct {
	LoRA   lora.LoRA
	Weight float64 // the TE weight, as written in Tag
	Tag    string  // the canonical tag emitted, e.g. <lora:revAnimated_v122:1.2>
}

// Result is a built prompt.
type Result struct {
	Text     string    // the prompt to send to A1111
	LoRAs    []Applied // in the order of their tags
	Triggers []string  // the trigger phrases Build added
}

// Where a LoRA was named; a lower value wins the weight (see the package doc).
type source uint8

const (
	fromOption source = iota
	fromPrompt
	fromPreset
)

// entry is one distinct LoRA and the mention that decides its weights.
type entry struct {
	lora     lora.LoRA
	src      source
	explicit bool
	te, unet *float64
	dyn      int
}

// Build turns a request into the prompt to send. It returns an *Error for
// anything the user should change (see the package doc) and a plain wrapped
// error only when the resolver fails for another reason than an unknown name.
func Build(r lora.Resolver, in Input) (Result, error) {
	b := builder{r: r}
	for _, c := range in.LoRAs {
		v := strings.TrimSpace(c.Value)
		if v == "" {
			continue
		}
		l, err := r.Resolve(v)
		if err != nil {
			return Result{}, notFound(v, "", err)
		}
		if c.Weight != nil {
			if err := checkWeight(l, *c.Weight); err != nil {
				return Result{}, err
			}
		}
		if err := b.add(entry{lora: l, src: fromOption, explicit: c.Weight != nil, te: c.Weight}); err != nil {
			return Result{}, err
		}
	}
	preset, err := b.extract(in.PresetPrompt, fromPreset)
	if err != nil {
		return Result{}, err
	}
	user, err := b.extract(in.Prompt, fromPrompt)
	if err != nil {
		return Result{}, err
	}
	if preset == "" && user == "" && len(b.entries) == 0 {
		return Result{}, errorf("The prompt is empty; write a prompt or pick a LoRA.")
	}

	var res Result
	res.Triggers = triggers(b.entries, preset, user)
	parts := make([]string, 0, len(res.Triggers)+2)
	parts = append(parts, res.Triggers...)
	for _, p := range [...]string{preset, user} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	var text strings.Builder
	for i, p := range parts {
		if i > 0 {
			text.WriteString(", ")
		}
		text.WriteString(p)
	}
	for _, e := range b.entries {
		a, err := applied(e)
		if err != nil {
			return Result{}, err
		}
		if text.Len() > 0 {
			text.WriteByte(' ')
		}
		text.WriteString(a.Tag)
		res.LoRAs = append(res.LoRAs, a)
	}
	res.Text = text.String()
	if n := utf8.RuneCountInString(res.Text); n > MaxPromptRunes {
		return Result{}, errorf("The prompt is %d characters long with its trigger words and LoRA tags; the limit is %d.", n, MaxPromptRunes)
	}
	return res, nil
}

type builder struct {
	r       lora.Resolver
	entries []entry
}

// add records one mention of a LoRA: a new LoRA is appended, a known one
// takes the mention's weights if they win (see the package doc).
func (b *builder) add(m entry) error {
	for i := range b.entries {
		e := &b.entries[i]
		if e.lora.Name != m.lora.Name {
			continue
		}
		if m.explicit && (!e.explicit || m.src < e.src) {
			e.src, e.explicit, e.te, e.unet, e.dyn = m.src, true, m.te, m.unet, m.dyn
		}
		return nil
	}
	if len(b.entries) == MaxLoRAs {
		return errorf("At most %d LoRAs can be used in one prompt, counting options and typed tags.", MaxLoRAs)
	}
	if strings.ContainsAny(m.lora.Name, ":<>=") || strings.TrimSpace(m.lora.Name) == "" {
		return errorf("The LoRA file %q cannot be written in a prompt tag; an admin must rename it.", quote(m.lora.Name))
	}
	b.entries = append(b.entries, m)
	return nil
}

// extract reads one text given by the user: it checks and removes its tags,
// recording their LoRAs, and returns the trimmed, neutralised rest.
func (b *builder) extract(s string, src source) (string, error) {
	s = strings.ToValidUTF8(s, "\uFFFD")
	t, ok := nextTag(s, 0)
	if !ok {
		return neutralise(trimPart(s)), nil
	}
	out := make([]byte, 0, len(s))
	i := 0
	for ok {
		full := t.text(s)
		kind := strings.ToLower(t.kind)
		if kind != "lora" && kind != "lyco" {
			return "", errorf("The tag %s is not supported; only <lora:NAME:WEIGHT> tags can be typed in a prompt.", quote(full))
		}
		a, err := parseLoRATag(full, t.args)
		if err != nil {
			return "", err
		}
		l, err := b.r.Resolve(a.name)
		if err != nil {
			return "", notFound(a.name, "in the tag "+quote(full), err)
		}
		for _, w := range [...]*float64{a.te, a.unet} {
			if w != nil {
				if err := checkWeight(l, *w); err != nil {
					return "", err
				}
			}
		}
		if err := b.add(entry{lora: l, src: src, explicit: a.hasWeights, te: a.te, unet: a.unet, dyn: a.dyn}); err != nil {
			return "", err
		}
		out = append(out, s[i:t.start]...)
		out, i = cutTag(out, s, t)
		t, ok = nextTag(s, i)
	}
	out = append(out, s[i:]...)
	return neutralise(trimPart(string(out))), nil
}

// checkWeight refuses a weight outside the bounds, naming the LoRA.
func checkWeight(l lora.LoRA, w float64) error {
	if math.IsNaN(w) || math.IsInf(w, 0) {
		return errorf("The weight of %s must be a number from %s to %s.", l.Name, lora.FormatWeight(MinWeight), lora.FormatWeight(MaxWeight))
	}
	if w < MinWeight || w > MaxWeight {
		return errorf("The weight of %s must be from %s to %s, not %s.", l.Name, lora.FormatWeight(MinWeight), lora.FormatWeight(MaxWeight), strconv.FormatFloat(w, 'g', -1, 64))
	}
	return nil
}

// applied writes the canonical tag of one LoRA.
func applied(e entry) (Applied, error) {
	te := e.lora.Weight()
	if e.te != nil {
		te = *e.te
	} else if te < MinWeight || te > MaxWeight || math.IsNaN(te) || math.IsInf(te, 0) {
		return Applied{}, errorf("The preferred weight of %s is outside %s to %s; give it a weight.", e.lora.Name, lora.FormatWeight(MinWeight), lora.FormatWeight(MaxWeight))
	}
	tag := "<lora:" + e.lora.Name + ":" + lora.FormatWeight(te)
	if e.unet != nil || e.dyn != 0 {
		unet := te
		if e.unet != nil {
			unet = *e.unet
		}
		tag += ":" + lora.FormatWeight(unet)
		if e.dyn != 0 {
			tag += ":" + strconv.Itoa(e.dyn)
		}
	}
	tag += ">"
	return Applied{LoRA: e.lora, Weight: te, Tag: tag}, nil
}

// BuildNegative checks a negative prompt and returns the text to send.
// A1111 and Forge parse <lora:…> tags (extra networks) in the prompt only:
// one in the negative prompt is not applied but read as words. So every
// tag is refused, with a sentence that says so (a <lora:…> or <lyco:…> tag
// after its name was checked against the catalog, so that a typo is named
// as such), and stray tag syntax is neutralised, as in the prompt: nothing
// reaches the server as a tag unchecked.
func BuildNegative(r lora.Resolver, negative string) (string, error) {
	s := strings.ToValidUTF8(negative, "\uFFFD")
	t, ok := nextTag(s, 0)
	if !ok {
		text := neutralise(trimPart(s))
		if n := utf8.RuneCountInString(text); n > MaxPromptRunes {
			return "", errorf("The negative prompt is %d characters long; the limit is %d.", n, MaxPromptRunes)
		}
		return text, nil
	}
	full := t.text(s)
	kind := strings.ToLower(t.kind)
	if kind != "lora" && kind != "lyco" {
		return "", errorf("The tag %s in the negative prompt is not supported; tags cannot be typed there (and <lora:NAME:WEIGHT> tags only in the prompt).", quote(full))
	}
	a, err := parseLoRATag(full, t.args)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Msg = "In the negative prompt: " + e.Msg
		}
		return "", err
	}
	l, err := r.Resolve(a.name)
	if err != nil {
		return "", notFound(a.name, "in the tag "+quote(full)+" of the negative prompt", err)
	}
	return "", errorf("The LoRA tag %s cannot go in the negative prompt: the image server applies LoRAs only in the prompt and would read it as words. Remove it, or put %s in the prompt.", quote(full), l.Name)
}

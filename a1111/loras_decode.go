package a1111

import (
	"io"
	"math"
	"strconv"
	"strings"
)

// DecodeLoRAs reads a GET /sdapi/v1/loras answer as it streams in and keeps
// only the metadata keys LoRAMeta names; everything else (cover images,
// training settings) is skipped without being held.
//
// It is lenient where servers differ: metadata may be missing or {}; a
// metadata value may be a number or boolean instead of a string;
// ss_tag_frequency may be an object or a JSON string holding one (some
// servers send the raw safetensors text); a top-level null is an empty
// catalog. An entry that is not an object or has no name is dropped rather
// than failing the catalog. Malformed or truncated JSON is an error.
func DecodeLoRAs(r io.Reader) ([]LoRA, error) {
	s := newScanner(r)
	c, err := s.peek()
	if err != nil {
		return nil, err
	}
	if c == 'n' {
		return nil, s.skipValue()
	}
	var out []LoRA
	err = s.array(func() error {
		c, err := s.peek()
		if err != nil {
			return err
		}
		if c != '{' {
			return s.skipValue()
		}
		l, err := s.lora()
		if err != nil {
			return err
		}
		if l.Name != "" {
			if l.Alias == "" {
				l.Alias = l.Name
			}
			out = append(out, l)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *scanner) lora() (LoRA, error) {
	var l LoRA
	err := s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "name":
			l.Name, err = s.scalarString()
		case "alias":
			l.Alias, err = s.scalarString()
		case "path":
			l.Path, err = s.scalarString()
		case "metadata":
			c, perr := s.peek()
			if perr != nil {
				return perr
			}
			if c != '{' {
				return s.skipValue()
			}
			err = s.object(func(key []byte) error { return s.metaValue(key, &l.Meta) })
		default:
			err = s.skipValue()
		}
		return err
	})
	return l, err
}

func (s *scanner) metaValue(key []byte, m *LoRAMeta) error {
	var dst *string
	switch string(key) {
	case "ss_base_model_version":
		dst = &m.BaseModelVersion
	case "ss_v2":
		dst = &m.V2
	case "modelspec.architecture":
		dst = &m.Architecture
	case "modelspec.title":
		dst = &m.Title
	case "modelspec.trigger_phrase":
		dst = &m.TriggerPhrase
	case "ss_sd_model_name":
		dst = &m.SDModelName
	case "ss_output_name":
		dst = &m.OutputName
	case "sshs_model_hash":
		dst = &m.ModelHash
	case "ss_tag_frequency":
		freq, err := s.tagFrequency()
		if err != nil {
			return err
		}
		m.TagFrequency = freq
		return nil
	default:
		return s.skipValue()
	}
	v, err := s.scalarString()
	*dst = v
	return err
}

// tagFrequency reads {"dataset": {"tag": count}}, or the same object inside
// a string. A dataset or count of another shape is skipped; a string that
// does not hold such an object gives nil.
func (s *scanner) tagFrequency() (map[string]map[string]int, error) {
	c, err := s.peek()
	if err != nil {
		return nil, err
	}
	switch c {
	case '{':
		return s.tagFrequencyObject()
	case '"':
		str, err := s.readString()
		if err != nil {
			return nil, err
		}
		inner := newScanner(strings.NewReader(str))
		freq, ierr := inner.tagFrequencyObject()
		if ierr != nil {
			return nil, nil
		}
		return freq, nil
	default:
		return nil, s.skipValue()
	}
}

func (s *scanner) tagFrequencyObject() (map[string]map[string]int, error) {
	var out map[string]map[string]int
	err := s.object(func(key []byte) error {
		dataset := string(key)
		c, err := s.peek()
		if err != nil {
			return err
		}
		if c != '{' {
			return s.skipValue()
		}
		tags := make(map[string]int)
		err = s.object(func(key []byte) error {
			tag := string(key)
			v, err := s.scalarString()
			if err != nil {
				return err
			}
			f, perr := strconv.ParseFloat(v, 64)
			if perr != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return nil
			}
			tags[tag] += int(f)
			return nil
		})
		if err != nil {
			return err
		}
		if out == nil {
			out = make(map[string]map[string]int)
		}
		out[dataset] = tags
		return nil
	})
	return out, err
}

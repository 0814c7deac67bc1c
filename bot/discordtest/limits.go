package discordtest

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
)

// Discord's documented limits (see the project's ../shared/spec/discord.md).
const (
	maxContent        = 2000
	maxEmbeds         = 10
	maxEmbedTitle     = 256
	maxEmbedDesc      = 4096
	maxEmbedFields    = 25
	maxFieldName      = 256
	maxFieldValue     = 1024
	maxFooter         = 2048
	maxAuthorName     = 256
	maxEmbedTotal     = 6000
	maxFiles          = 10
	maxCustomID       = 100
	maxRows           = 5
	maxButtonsPerRow  = 5
	maxButtonLabel    = 80
	maxSelectOptions  = 25
	maxModalTitle     = 45
	maxModalRows      = 5
	maxTextInputLabel = 45
	maxTextInput      = 4000
	maxChoices        = 25
	maxChoiceName     = 100
	maxChoiceValue    = 100
)

func runes(s string) int { return utf8.RuneCountInString(s) }

func maxLen(es *fieldErrors, path, s string, limit int) {
	if n := runes(s); n > limit {
		es.add(path, "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length (got %d).", limit, n)
	}
}

func lenBetween(es *fieldErrors, path, s string, lo, hi int) {
	if n := runes(s); n < lo || n > hi {
		es.add(path, "BASE_TYPE_BAD_LENGTH", "Must be between %d and %d in length (got %d).", lo, hi, n)
	}
}

// checkMessageData checks the message fields present in md; prefix is ""
// or "data." for callbacks.
func checkMessageData(es *fieldErrors, prefix string, md messageData) {
	if md.Content != nil {
		maxLen(es, prefix+"content", *md.Content, maxContent)
	}
	if md.Embeds != nil {
		checkEmbeds(es, prefix+"embeds", *md.Embeds)
	}
	if md.Components != nil {
		v2 := md.Flags != nil && *md.Flags&discordgo.MessageFlagsIsComponentsV2 != 0
		checkComponents(es, prefix+"components", *md.Components, v2)
	}
}

func checkEmbeds(es *fieldErrors, path string, embeds []*discordgo.MessageEmbed) {
	if len(embeds) > maxEmbeds {
		es.add(path, "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length (got %d).", maxEmbeds, len(embeds))
	}
	total := 0
	for i, e := range embeds {
		if e == nil {
			continue
		}
		p := path + "." + strconv.Itoa(i)
		maxLen(es, p+".title", e.Title, maxEmbedTitle)
		maxLen(es, p+".description", e.Description, maxEmbedDesc)
		total += runes(e.Title) + runes(e.Description)
		if len(e.Fields) > maxEmbedFields {
			es.add(p+".fields", "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length (got %d).", maxEmbedFields, len(e.Fields))
		}
		for j, f := range e.Fields {
			if f == nil {
				continue
			}
			fp := p + ".fields." + strconv.Itoa(j)
			lenBetween(es, fp+".name", f.Name, 1, maxFieldName)
			lenBetween(es, fp+".value", f.Value, 1, maxFieldValue)
			total += runes(f.Name) + runes(f.Value)
		}
		if e.Footer != nil {
			maxLen(es, p+".footer.text", e.Footer.Text, maxFooter)
			total += runes(e.Footer.Text)
		}
		if e.Author != nil {
			maxLen(es, p+".author.name", e.Author.Name, maxAuthorName)
			total += runes(e.Author.Name)
		}
	}
	if total > maxEmbedTotal {
		es.add(path, "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of %d (got %d).", maxEmbedTotal, total)
	}
}

const buttonStyleLink, buttonStylePremium = 5, 6

func isSelect(t discordgo.ComponentType) bool {
	switch t {
	case discordgo.SelectMenuComponent, discordgo.UserSelectMenuComponent, discordgo.RoleSelectMenuComponent,
		discordgo.MentionableSelectMenuComponent, discordgo.ChannelSelectMenuComponent:
		return true
	}
	return false
}

// checkComponents checks message components. Components v2 layouts are
// only checked for their custom_ids.
func checkComponents(es *fieldErrors, path string, rows []Component, v2 bool) {
	seen := map[string]bool{}
	var leaf func(p string, c Component)
	leaf = func(p string, c Component) {
		switch {
		case c.Type == discordgo.ButtonComponent:
			maxLen(es, p+".label", c.Label, maxButtonLabel)
			switch c.Style {
			case buttonStyleLink:
				if c.URL == "" {
					es.add(p+".url", "BASE_TYPE_REQUIRED", "A link button needs a url.")
				}
				if c.CustomID != "" {
					es.add(p+".custom_id", "BUTTON_LINK_CUSTOM_ID", "A link button cannot have a custom_id.")
				}
				return
			case buttonStylePremium:
				return
			}
		case isSelect(c.Type):
			maxLen(es, p+".placeholder", c.Placeholder, 150)
			if c.Type == discordgo.SelectMenuComponent {
				if n := len(c.Options); n < 1 || n > maxSelectOptions {
					es.add(p+".options", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and %d in length (got %d).", maxSelectOptions, n)
				}
				for i, o := range c.Options {
					op := p + ".options." + strconv.Itoa(i)
					lenBetween(es, op+".label", o.Label, 1, 100)
					lenBetween(es, op+".value", o.Value, 1, 100)
					maxLen(es, op+".description", o.Description, 100)
				}
			}
		default:
			if c.CustomID == "" {
				return // layout or display components carry none
			}
		}
		lenBetween(es, p+".custom_id", c.CustomID, 1, maxCustomID)
		if c.CustomID != "" {
			if seen[c.CustomID] {
				es.add(p+".custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated (%q).", c.CustomID)
			}
			seen[c.CustomID] = true
		}
	}
	if v2 {
		var walk func(p string, cs []Component)
		walk = func(p string, cs []Component) {
			for i, c := range cs {
				cp := p + "." + strconv.Itoa(i)
				leaf(cp, c)
				walk(cp+".components", c.Components)
			}
		}
		walk(path, rows)
		return
	}
	if len(rows) > maxRows {
		es.add(path, "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length (got %d).", maxRows, len(rows))
	}
	for i, row := range rows {
		rp := path + "." + strconv.Itoa(i)
		if row.Type != discordgo.ActionsRowComponent {
			es.add(rp+".type", "UNION_TYPE_CHOICES", "Top-level components must be action rows (got type %d).", row.Type)
			continue
		}
		n := len(row.Components)
		if n < 1 || n > maxButtonsPerRow {
			es.add(rp+".components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and %d in length (got %d).", maxButtonsPerRow, n)
		}
		for j, c := range row.Components {
			cp := rp + ".components." + strconv.Itoa(j)
			if isSelect(c.Type) && n > 1 {
				es.add(cp, "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "A select menu must be alone in its row.")
			}
			if c.Type == discordgo.ActionsRowComponent || c.Type == discordgo.TextInputComponent {
				es.add(cp+".type", "UNION_TYPE_CHOICES", "Component type %d is not allowed in a message row.", c.Type)
			}
			leaf(cp, c)
		}
	}
}

// checkModal checks a type 9 callback's data.
func checkModal(es *fieldErrors, md messageData) {
	lenBetween(es, "data.title", md.Title, 1, maxModalTitle)
	lenBetween(es, "data.custom_id", md.CustomID, 1, maxCustomID)
	var rows []Component
	if md.Components != nil {
		rows = *md.Components
	}
	if n := len(rows); n < 1 || n > maxModalRows {
		es.add("data.components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and %d in length (got %d).", maxModalRows, n)
	}
	seen := map[string]bool{}
	for i, row := range rows {
		rp := "data.components." + strconv.Itoa(i)
		if row.Type != discordgo.ActionsRowComponent || len(row.Components) != 1 || row.Components[0].Type != discordgo.TextInputComponent {
			es.add(rp, "UNION_TYPE_CHOICES", "Each modal row must be an action row holding one text input.")
			continue
		}
		c := row.Components[0]
		cp := rp + ".components.0"
		lenBetween(es, cp+".custom_id", c.CustomID, 1, maxCustomID)
		if seen[c.CustomID] {
			es.add(cp+".custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated (%q).", c.CustomID)
		}
		seen[c.CustomID] = true
		lenBetween(es, cp+".label", c.Label, 1, maxTextInputLabel)
		if c.Style != int(discordgo.TextInputShort) && c.Style != int(discordgo.TextInputParagraph) {
			es.add(cp+".style", "BASE_TYPE_CHOICES", "Value must be one of (1, 2) (got %d).", c.Style)
		}
		if c.MinLength != nil && (*c.MinLength < 0 || *c.MinLength > maxTextInput) {
			es.add(cp+".min_length", "BASE_TYPE_BAD_INT", "Must be between 0 and %d.", maxTextInput)
		}
		if c.MaxLength < 0 || c.MaxLength > maxTextInput {
			es.add(cp+".max_length", "BASE_TYPE_BAD_INT", "Must be between 1 and %d.", maxTextInput)
		}
		maxLen(es, cp+".value", c.Value, maxTextInput)
		if c.MaxLength > 0 {
			maxLen(es, cp+".value", c.Value, c.MaxLength) // Discord refuses a prefill its own input could not hold
		}
		maxLen(es, cp+".placeholder", c.Placeholder, 100)
	}
}

// checkChoices checks a type 8 callback's choices against the focused
// option's type.
func checkChoices(es *fieldErrors, choices []*discordgo.ApplicationCommandOptionChoice, focused discordgo.ApplicationCommandOptionType) {
	if len(choices) > maxChoices {
		es.add("data.choices", "BASE_TYPE_MAX_LENGTH", "Must be %d or fewer in length (got %d).", maxChoices, len(choices))
	}
	for i, c := range choices {
		if c == nil {
			continue
		}
		p := "data.choices." + strconv.Itoa(i)
		lenBetween(es, p+".name", c.Name, 1, maxChoiceName)
		switch focused {
		case discordgo.ApplicationCommandOptionInteger, discordgo.ApplicationCommandOptionNumber:
			f, ok := c.Value.(float64)
			if !ok {
				es.add(p+".value", "NUMBER_TYPE_COERCE", "Value %v is not a number.", c.Value)
			} else if focused == discordgo.ApplicationCommandOptionInteger && f != math.Trunc(f) {
				es.add(p+".value", "NUMBER_TYPE_COERCE", "Value %v is not an integer.", c.Value)
			}
		default:
			v, ok := c.Value.(string)
			if !ok {
				es.add(p+".value", "STRING_TYPE_CONVERT", "Value %s is not a string.", fmt.Sprint(c.Value))
				continue
			}
			maxLen(es, p+".value", v, maxChoiceValue)
		}
	}
}

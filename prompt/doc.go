// Package prompt builds the positive prompt the bot sends to A1111 from what
// a user asked for: their prompt, the preset's prompt and the LoRAs picked in
// the options or typed as tags. It knows nothing of Discord or HTTP; LoRAs
// are found through a lora.Resolver.
//
// The result has the form fixed by the public interface:
//
//	TRIGGER_WORDS, PRESET_PROMPT, PROMPT <lora:NAME:WEIGHT> <lora:NAME2:WEIGHT2>
//
// # Parts
//
// Trigger words of every LoRA come first, in LoRA order, then the preset's
// prompt, then the user's prompt; the parts are joined with ", " and empty
// parts are skipped. Each part is trimmed of leading and trailing white space
// and commas first, so a prompt of only spaces counts as empty and joins stay
// clean. Then comes one tag per LoRA, separated by single spaces. NAME is the
// LoRA's file name (never the alias: A1111 matches aliases only when they are
// unambiguous) and WEIGHT is written short by lora.FormatWeight.
//
// # Trigger words
//
// The trigger words are the resolved LoRA's Triggers: the Resolver decides
// their precedence, so a server's own (lora.Overlay over the catalog's
// Index) come out first. Each entry of LoRA.Triggers is split on commas
// into phrases. A phrase is
// added unless it is already present, ignoring case and as a whole phrase, in
// the preset's prompt, the user's prompt or a phrase added before it: "pixel
// art" is present in "Pixel Art of a cat", "art" is not present in "artist".
// Result.Triggers lists the phrases added.
//
// # LoRAs
//
// LoRAs come from Input.LoRAs (a blank Value is skipped: reporting a weight
// given without a LoRA is the caller's business, it knows the option names)
// and from tags typed in the preset's prompt or the user's prompt. A tag is
// what A1111 finds with <(\w+):([^>]+)>, \w meaning a Unicode letter, digit
// or underscore as in Python. Tags of kind lora or lyco (in any case) take
// A1111's arguments: <lora:NAME[:TE[:UNET[:DYN]]]> with te=, unet= and dyn=
// as named alternatives. NAME is trimmed and resolved like an option; an
// omitted TE is the LoRA's preferred weight, else 1. The tag is removed from
// the text and written again in canonical form at the end, as
// <lora:NAME:TE>, or <lora:NAME:TE:UNET[:DYN]> when UNET or DYN was given.
// A removed tag takes the separators around it along: when white space or
// commas stand on both sides, they become one ", " if there was a comma,
// else one space. Any other tag kind (<hypernet:x:1>, <foo:bar>) is refused.
//
// The same LoRA named more than once (in the options, as tags, or both) gets
// one tag, placed where it was first named: options in slot order, then the
// tags of the preset's prompt, then those of the user's prompt. Its weights
// come from the first mention that gives any (an option's Weight, or a tag's
// TE, UNET or DYN), looked for in this order: the options, the user's
// prompt, the preset's prompt, so that what the user asked for now beats the
// preset. With no such mention the LoRA's preferred weight applies.
//
// # Stray angle brackets
//
// A1111 has no escape for "<", so user text could otherwise form a tag with
// the tags the bot appends: "a cat <lora:x" followed by " <lora:NAME:1>"
// would read as one tag. Every "<" left in the text (user text and trigger
// words) that is followed by word characters and a colon therefore gets a
// space inserted after it: "<lora:x" becomes "< lora:x". CLIP's tokenizer
// splits "<" from a following word anyway, so the image does not change. A
// "<" not followed so (as in ">_<" or "<3") and every ">" cannot start a tag
// and are left alone. Afterwards every match of A1111's tag pattern in
// Result.Text is one of the tags the bot emitted. "Word characters" here are
// taken broadly (every non-space rune beyond ASCII) so that a difference of
// Unicode tables between Go and A1111's Python cannot open a gap.
//
// All other user text (emphasis, escapes, BREAK, AND, [a:b:0.5], [a|b],
// any script, newlines) passes through as written. Invalid UTF-8 is replaced
// by U+FFFD, as JSON encoding would do anyway.
//
// # Limits
//
// Build refuses, with an *Error holding one sentence for the user: a weight
// outside [MinWeight, MaxWeight] or not a finite number; more than MaxLoRAs
// distinct LoRAs; a result longer than MaxPromptRunes; an empty result (no
// prompt, no preset prompt and no LoRA); a tag it cannot read or does not
// support; a LoRA whose file name cannot be written in a tag (":", "<", ">"
// or "=" in it). An unknown LoRA gives an *Error that wraps the resolver's
// *lora.NotFoundError, so errors.As finds its Suggestions.
package prompt

package prompt

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"lorabot/lora"
)

// Error is a request Build refuses. Msg is one sentence meant for the user.
// Err, when set, is the cause: for an unknown LoRA it is the resolver's
// *lora.NotFoundError, so errors.As finds its Suggestions.
type Error struct {
	Msg string
	Err error
}

func (e *Error) Error() string { return e.Msg }

// UserMessage is the sentence to show the user: the whole message.
func (e *Error) UserMessage() string { return e.Msg }

func (e *Error) Unwrap() error { return e.Err }

func errorf(format string, args ...any) *Error {
	return &Error{Msg: fmt.Sprintf(format, args...)}
}

// maxQuoteRunes bounds how much of a user's tag an error message repeats, so
// the sentence stays readable in a Discord reply.
const maxQuoteRunes = 60

// quote shortens s for an error message.
func quote(s string) string {
	if utf8.RuneCountInString(s) <= maxQuoteRunes {
		return s
	}
	r := []rune(s)
	return string(r[:maxQuoteRunes-1]) + "…"
}

// notFound turns a resolver failure into the error Build returns. where says
// where the name came from ("" for an option).
func notFound(value, where string, err error) error {
	var nf *lora.NotFoundError
	if !errors.As(err, &nf) {
		return fmt.Errorf("prompt: resolve LoRA %q: %w", value, err)
	}
	var b strings.Builder
	if nf.Ambiguous {
		// Several LoRAs share that alias: they exist, the name just does
		// not pick one.
		fmt.Fprintf(&b, "Several LoRAs match %q", quote(value))
		if where != "" {
			fmt.Fprintf(&b, " (%s)", where)
		}
		fmt.Fprintf(&b, ": %s; pick one by its file name.", strings.Join(nf.Suggestions, ", "))
		return &Error{Msg: b.String(), Err: err}
	}
	fmt.Fprintf(&b, "No LoRA is called %q", quote(value))
	if where != "" {
		fmt.Fprintf(&b, " (%s)", where)
	}
	if len(nf.Suggestions) > 0 {
		fmt.Fprintf(&b, "; closest: %s", strings.Join(nf.Suggestions, ", "))
	}
	b.WriteByte('.')
	return &Error{Msg: b.String(), Err: err}
}

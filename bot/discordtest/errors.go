package discordtest

import (
	"fmt"
	"net/http"
	"strings"
)

// Discord's JSON error codes the fake answers with.
const (
	codeUnknownChannel     = 10003
	codeUnknownMessage     = 10008
	codeUnknownWebhook     = 10015
	codeUnknownInteraction = 10062
	codeTooLarge           = 40005
	codeAlreadyAcked       = 40060
	codeMissingAccess      = 50001
	codeEmptyMessage       = 50006
	codeInvalidToken       = 50027
	codeInvalidFormBody    = 50035
)

func discordError(code int, message string) map[string]any {
	return map[string]any{"code": code, "message": message}
}

// fieldError is one problem in a request body, at a dotted path such as
// "data.embeds.0.title".
type fieldError struct {
	path    string
	code    string // Discord's error code string, e.g. BASE_TYPE_MAX_LENGTH
	message string
}

func (e fieldError) String() string { return e.path + ": " + e.message }

type fieldErrors []fieldError

func (es *fieldErrors) add(path, code, format string, args ...any) {
	*es = append(*es, fieldError{path: path, code: code, message: fmt.Sprintf(format, args...)})
}

func (es fieldErrors) String() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.String()
	}
	return strings.Join(parts, "; ")
}

// body renders errors as Discord's 50035 answer, whose "errors" nests one
// object per path element and ends in {"_errors": [{code, message}]}.
func (es fieldErrors) body() map[string]any {
	root := map[string]any{}
	for _, e := range es {
		node := root
		if e.path != "" {
			for _, key := range strings.Split(e.path, ".") {
				next, ok := node[key].(map[string]any)
				if !ok {
					next = map[string]any{}
					node[key] = next
				}
				node = next
			}
		}
		list, _ := node["_errors"].([]any)
		node["_errors"] = append(list, map[string]any{"code": e.code, "message": e.message})
	}
	return map[string]any{"code": codeInvalidFormBody, "message": "Invalid Form Body", "errors": root}
}

// reject records the errors as one violation and returns Discord's 400.
// Callers hold s.mu.
func (s *Server) rejectLocked(where string, es fieldErrors) (int, any) {
	s.violateLocked("%s: %s", where, es)
	return http.StatusBadRequest, es.body()
}

package a1111

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
)

// errorBody is what a failing answer said, reduced to an exception class
// and one line of detail.
type errorBody struct {
	Class    string
	Detail   string
	NotFound bool // FastAPI's bare {"detail": "Not Found"} (or SD.Next's HTTPException of it): the route does not exist
}

// parseErrorBody reads every error shape a1111.md lists:
//
//	A1111   {"error": "RuntimeError", "detail": "", "body": "", "errors": "CUDA out of memory"}
//	FastAPI {"detail": [{"loc": ["body", "steps"], "msg": "...", "type": "..."}]}
//	Forge   {"detail": "..."} (HTTP errors), plain-text "Internal Server Error"
//	        (exceptions: Forge has A1111's error middleware off), and, in
//	        older builds, {"error", "detail", "body", "message"}
//	SD.Next the A1111 shape plus "code"; a bare JSON string for a TypeError
//
// and falls back to the text of a plain or HTML body. It never fails.
func parseErrorBody(body []byte) errorBody {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		var str string
		if json.Unmarshal(body, &str) == nil {
			// SD.Next's general_exception_handler answers a TypeError
			// with the message alone, as a JSON string.
			return errorBody{Detail: truncate(str, 300)}
		}
		return errorBody{Detail: plainText(body)}
	}
	var eb errorBody
	eb.Class = jsonText(m["error"])
	detail := m["detail"]
	var list []struct {
		Loc []any  `json:"loc"`
		Msg string `json:"msg"`
	}
	switch {
	case json.Unmarshal(detail, &list) == nil && len(list) > 0:
		parts := make([]string, 0, len(list))
		for _, d := range list {
			parts = append(parts, validationLine(d.Loc, d.Msg))
		}
		eb.Detail = strings.Join(parts, "; ")
	default:
		eb.Detail = jsonText(detail)
	}
	eb.NotFound = eb.Detail == "Not Found" && (eb.Class == "" || eb.Class == "HTTPException")
	// A1111 leaves detail empty for plain exceptions and puts str(e) in
	// "errors"; Forge calls it "message".
	for _, k := range []string{"message", "errors", "msg"} {
		if eb.Detail != "" {
			break
		}
		eb.Detail = jsonText(m[k])
	}
	if eb.Detail == "" {
		eb.Detail = jsonText(m["body"])
	}
	eb.Detail = truncate(eb.Detail, 300)
	return eb
}

// parseErrorBodyStatus is parseErrorBody for an answer of that status. A
// plain-text body that only repeats the status line (Starlette's "Internal
// Server Error", what Forge answers for any exception) says nothing more
// than the status: its detail is left empty, so that messages say "failed"
// instead of quoting it.
func parseErrorBodyStatus(body []byte, status int) errorBody {
	eb := parseErrorBody(body)
	if eb.Class == "" && !json.Valid(body) && strings.EqualFold(strings.TrimSpace(eb.Detail), http.StatusText(status)) {
		eb.Detail = ""
	}
	return eb
}

// validationLine writes one FastAPI validation error as "steps: msg",
// leaving out the "body" root that every location starts with.
func validationLine(loc []any, msg string) string {
	var path []string
	for i, p := range loc {
		s := fmt.Sprint(p)
		if i == 0 && s == "body" && len(loc) > 1 {
			continue
		}
		path = append(path, s)
	}
	if len(path) == 0 {
		return msg
	}
	return strings.Join(path, ".") + ": " + msg
}

// jsonText turns a JSON value into one line of text: a string as itself,
// null as "", anything else as its compact JSON.
func jsonText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	t := strings.TrimSpace(string(raw))
	if t == "null" || t == "{}" || t == "[]" || t == `""` {
		return ""
	}
	return t
}

var (
	titleRE = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)
	tagRE   = regexp.MustCompile(`(?s)<[^>]*>`)
)

// plainText makes a non-JSON body (a proxy's HTML page, a traceback) into a
// short line: an HTML page's title when it has one, else its text.
func plainText(body []byte) string {
	const max = 4096
	if len(body) > max {
		body = body[:max]
	}
	s := string(body)
	if m := titleRE.FindStringSubmatch(s); m != nil {
		s = m[1]
	} else if strings.Contains(s, "<") {
		s = tagRE.ReplaceAllString(s, " ")
	}
	return truncate(html.UnescapeString(s), 200)
}

package a1111test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

func writeJSON200(w http.ResponseWriter, v any) { writeJSONStatus(w, http.StatusOK, v) }

func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain values: cannot happen
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// notFound is Starlette's answer for a route that does not exist, the same
// in every flavor; it is what a server without --api answers on /sdapi.
func notFound(w http.ResponseWriter) {
	writeJSONStatus(w, http.StatusNotFound, map[string]string{"detail": "Not Found"})
}

// httpError answers like a raised HTTPException (auth, "Model not found").
func (s *Server) httpError(w http.ResponseWriter, status int, detail string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", "Basic")
	}
	switch s.opts.Flavor {
	case FlavorForge:
		writeJSONStatus(w, status, map[string]any{"detail": detail})
	case FlavorSDNext:
		writeJSONStatus(w, status, map[string]any{"error": "HTTPException", "code": status, "detail": detail, "body": "", "errors": fmt.Sprintf("%d: %s", status, detail)})
	default:
		writeJSONStatus(w, status, map[string]any{"error": "HTTPException", "detail": detail, "body": "", "errors": fmt.Sprintf("%d: %s", status, detail)})
	}
}

// exception answers like an uncaught Python exception: detail is empty and
// the message sits in "errors" (A1111, SD.Next). Forge has A1111's error
// middleware commented out (modules/api/api.py: "#api_middleware(self.app)"),
// so Starlette's ServerErrorMiddleware answers: plain text, no message.
func (s *Server) exception(w http.ResponseWriter, status int, class, msg string) {
	switch s.opts.Flavor {
	case FlavorForge:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("Internal Server Error"))
	case FlavorSDNext:
		writeJSONStatus(w, status, map[string]any{"error": class, "code": status, "detail": "", "body": "", "errors": msg})
	default:
		writeJSONStatus(w, status, map[string]any{"error": class, "detail": "", "body": "", "errors": msg})
	}
}

// validationError answers 422 as FastAPI does for a body it cannot read:
// pydantic 1's wording for A1111, pydantic 2's for the forks.
func (s *Server) validationError(w http.ResponseWriter, err error) {
	loc := []any{"body"}
	msg, typ := "Expecting value", "value_error.jsondecode"
	v2msg, v2typ := "JSON decode error", "json_invalid"
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case asErr(err, &te):
		loc = append(loc, te.Field)
		msg, typ = "value is not a valid "+te.Type.Kind().String(), "type_error."+te.Type.Kind().String()
		v2msg, v2typ = "Input should be a valid "+te.Type.Kind().String(), te.Type.Kind().String()+"_parsing"
	case asErr(err, &se):
		loc = append(loc, se.Offset)
	}
	item := map[string]any{"loc": loc, "msg": msg, "type": typ}
	if s.opts.Flavor != FlavorA1111 {
		item = map[string]any{"type": v2typ, "loc": loc, "msg": v2msg, "input": nil}
	}
	writeJSONStatus(w, http.StatusUnprocessableEntity, map[string]any{"detail": []any{item}})
}

func asErr[T error](err error, target *T) bool {
	e, ok := err.(T)
	if ok {
		*target = e
	}
	return ok
}

// progress is GET /sdapi/v1/progress. A1111 and Forge add current_task,
// which is always null: api.py imports the module variable's value at
// start ("from modules.progress import … current_task"), so it never
// changes. Use POST /internal/progress to follow a task.
func (s *Server) progress(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	g := s.gen
	s.mu.Unlock()
	state := map[string]any{
		"skipped": g.skipped, "interrupted": g.interrupted, "stopping_generation": false,
		"job": g.job, "job_count": g.jobCount, "job_timestamp": g.timestamp, "job_no": g.jobNo,
		"sampling_step": g.step, "sampling_steps": g.steps,
	}
	if g.timestamp == "" {
		state["job_timestamp"] = "0"
	}
	p, eta := g.progress(time.Now())
	if s.opts.Flavor == FlavorSDNext {
		p, eta = g.sdnextProgress(time.Now())
	}
	out := map[string]any{"progress": p, "eta_relative": eta, "state": state, "current_image": nil, "textinfo": nil}
	if s.opts.Flavor != FlavorSDNext {
		out["current_task"] = nil
	}
	if g.jobCount != 0 && g.step > 0 && r.URL.Query().Get("skip_current_image") != "true" {
		out["current_image"] = base64.StdEncoding.EncodeToString(previewPNG)
	}
	writeJSON200(w, out)
}

func (s *Server) interrupt(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	s.interrupts++
	// A1111 sets the flag whatever runs; the next job's start clears it.
	s.gen.interrupted = true
	s.notifyLocked()
	s.mu.Unlock()
	if s.opts.Flavor == FlavorSDNext {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON200(w, map[string]any{})
}

func (s *Server) skip(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	s.skips++
	s.gen.skipped = true
	s.notifyLocked()
	s.mu.Unlock()
	writeRaw200(w, []byte("null"))
}

func (s *Server) loras(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	raw := s.loadedLoRAs
	s.mu.Unlock()
	writeRaw200(w, raw)
}

func (s *Server) refreshLoRAs(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	s.refreshLocked()
	s.mu.Unlock()
	writeRaw200(w, []byte("null"))
}

func (s *Server) samplers(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	old := s.oldServer
	s.mu.Unlock()
	writeJSON200(w, s.samplerList(old))
}

func (s *Server) schedulers(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	old := s.oldServer
	s.mu.Unlock()
	list := s.schedulerList(old)
	if list == nil {
		notFound(w)
		return
	}
	writeJSON200(w, list)
}

// sdModels is GET /sdapi/v1/sd-models: {title, model_name, hash, sha256,
// filename, config}, hash and sha256 null for a file not hashed yet;
// SD.Next adds "type".
func (s *Server) sdModels(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	list := s.modelsLocked()
	s.mu.Unlock()
	out := make([]map[string]any, 0, len(list))
	orNil := func(v string) any {
		if v == "" {
			return nil
		}
		return v
	}
	for _, m := range list {
		e := map[string]any{"title": m.Title, "model_name": m.ModelName, "hash": orNil(m.Hash), "sha256": orNil(m.SHA256), "filename": m.Filename, "config": nil}
		if s.opts.Flavor == FlavorSDNext {
			e["type"] = "safetensors"
		}
		out = append(out, e)
	}
	writeJSON200(w, out)
}

func (s *Server) getOptions(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	b, err := json.Marshal(s.options)
	s.mu.Unlock()
	if err != nil {
		panic(err) // only plain values: cannot happen
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// writeRaw200 answers with JSON that is already encoded.
func writeRaw200(w http.ResponseWriter, raw []byte) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(raw)
}

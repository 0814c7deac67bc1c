package a1111test

import (
	"net/http"
	"path"
	"strings"
)

// SetThumb makes the web UI's thumbnail route serve data as the file at
// full path (as A1111 names it: under its models/Lora folder, e.g.
// "/workspace/sd/stable-diffusion-webui/models/Lora/sdxl/pixel-art-xl.png").
// nil removes it.
func (s *Server) SetThumb(file string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.thumbs == nil {
		s.thumbs = map[string][]byte{}
	}
	if data == nil {
		delete(s.thumbs, file)
		return
	}
	s.thumbs[file] = data
}

// thumb is modules/ui_extra_networks.py fetch_file: a file of an allowed
// folder with a preview extension, else an error (a ValueError, answered
// 500, for a folder or extension it does not serve; 404 for a missing
// file).
func (s *Server) thumb(w http.ResponseWriter, r *http.Request) {
	file := r.URL.Query().Get("filename")
	ext := strings.ToLower(strings.TrimPrefix(path.Ext(file), "."))
	switch ext {
	case "png", "jpg", "jpeg", "webp", "gif":
	default:
		s.exception(w, http.StatusInternalServerError, "ValueError", "File cannot be fetched: "+file+". Only png,jpg,jpeg,webp,gif.")
		return
	}
	if !strings.Contains(file, "/models/Lora/") {
		s.exception(w, http.StatusInternalServerError, "ValueError", "File cannot be fetched: "+file+". Must be in one of directories registered by extra pages.")
		return
	}
	s.mu.Lock()
	data, ok := s.thumbs[file]
	s.mu.Unlock()
	if !ok {
		s.httpError(w, http.StatusNotFound, "File not found")
		return
	}
	ct := "image/" + ext
	if ext == "jpg" {
		ct = "image/jpeg"
	}
	w.Header().Set("Content-Type", ct)
	_, _ = w.Write(data)
}

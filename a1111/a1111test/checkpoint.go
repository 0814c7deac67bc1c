package a1111test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"lorabot/a1111"
)

// A1111 keeps two things apart that a client easily conflates: the option
// sd_model_checkpoint (the default a job without an override runs on) and
// the weights in memory (whatever was loaded last). An override sets the
// option for its job and puts it back afterwards, but the weights stay; the
// next job whose checkpoint differs from them pays for a load. So jobs that
// alternate between an override and none reload every time, and a run of
// jobs with the same override loads once (modules/processing.py
// process_images; sd_models.reload_model_weights).

// Checkpoint is the title in the option sd_model_checkpoint. During a job
// with a checkpoint override it is the override's; afterwards it is the
// default again (unless the request set override_settings_restore_afterwards
// to false).
func (s *Server) Checkpoint() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, _ := s.options["sd_model_checkpoint"].(string)
	return t
}

// Loaded is the title of the checkpoint whose weights are in memory: the one
// the last job ran on, which an override leaves behind.
func (s *Server) Loaded() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loadedLocked().Title
}

// loadedLocked is the checkpoint in memory as the server lists it now.
func (s *Server) loadedLocked() a1111.Model { return s.modelByFileLocked(s.loaded) }

// ModelLoads counts the checkpoint loads that jobs and POST /options caused
// (each took Options.ModelSwitchTime); the model loaded at start is not one.
func (s *Server) ModelLoads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.modelLoads
}

// overrideLocked applies a job's override_settings to the options, as
// process_images does, and returns the checkpoint the job runs on and the
// function (to call with s.mu held) that puts the options back when the job
// ends. An override title A1111 does not know is dropped: the option's
// checkpoint is used.
func (s *Server) overrideLocked(p *plan) (a1111.Model, func()) {
	// A1111 resolves the title when the job runs, against the checkpoint
	// list of that moment (modules/processing.py process_images).
	if title, ok := p.req.OverrideSettings["sd_model_checkpoint"].(string); ok {
		p.model, p.override = s.findModelLocked(title)
	}
	stored := map[string]any{}
	for k, v := range p.req.OverrideSettings {
		old, known := s.options[k]
		if !known {
			continue
		}
		stored[k] = old
		switch {
		case k != "sd_model_checkpoint":
			s.options[k] = v
		case p.override:
			s.options[k] = p.model.Title
		}
	}
	m, _ := s.findModelLocked(fmt.Sprint(s.options["sd_model_checkpoint"]))
	restore, ok := p.params["override_settings_restore_afterwards"].(bool)
	if ok && !restore {
		return m, func() {}
	}
	return m, func() {
		for k, v := range stored {
			s.options[k] = v
		}
	}
}

// ensureLoaded loads m's weights unless they are the ones in memory, taking
// ModelSwitchTime. It must be called holding the generation lock, as A1111
// loads only under its queue_lock. It reports whether it loaded, and false
// for ok when stop closed first (the server went down).
func (s *Server) ensureLoaded(m a1111.Model, stop <-chan struct{}) (loaded, ok bool) {
	s.mu.Lock()
	same := s.loaded == m.Filename
	s.mu.Unlock()
	if same {
		return false, true
	}
	if d := s.opts.ModelSwitchTime; d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-stop:
			return false, false
		}
	}
	s.mu.Lock()
	s.loaded = m.Filename
	s.modelLoads++
	// Loading hashes the file (so its title gains " [hash]" from now on),
	// and A1111 writes the loaded file's title and hash into the options
	// (modules/sd_models.py load_model_weights); an override's restore puts
	// the title back after the job.
	s.hashed[m.Filename] = true
	cur := s.loadedLocked()
	s.options["sd_model_checkpoint"] = cur.Title
	s.options["sd_checkpoint_hash"] = cur.SHA256
	s.notifyLocked()
	s.mu.Unlock()
	return true, true
}

// setOptions merges the posted settings. An unknown checkpoint is refused as
// A1111 refuses it: a RuntimeError, status 500. A new checkpoint is set at
// once (GET /options shows it) and then loaded by the option's change
// callback, which waits for the generation lock: the answer comes after any
// running job and the load.
func (s *Server) setOptions(w http.ResponseWriter, r *http.Request, epoch <-chan struct{}) {
	body, _ := io.ReadAll(r.Body)
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		s.validationError(w, err)
		return
	}
	var (
		m       a1111.Model
		changed bool
	)
	if v, ok := req["sd_model_checkpoint"]; ok {
		name, _ := v.(string)
		var known bool
		s.mu.Lock()
		m, known = s.findModelLocked(name)
		s.mu.Unlock()
		if !known {
			s.exception(w, http.StatusInternalServerError, "RuntimeError", fmt.Sprintf("model %q not found", name))
			return
		}
		req["sd_model_checkpoint"] = m.Title
	}
	s.mu.Lock()
	for k, v := range req {
		if k == "sd_model_checkpoint" {
			// opts.set runs the callback only when the value changes.
			changed = s.options[k] != v
		}
		s.options[k] = v
	}
	s.notifyLocked()
	s.mu.Unlock()
	if changed {
		turn := s.lock.enqueue()
		if !s.lock.wait(turn, epoch) {
			return
		}
		_, ok := s.ensureLoaded(m, epoch)
		s.lock.unlock()
		if !ok {
			return
		}
	}
	writeRaw200(w, []byte("null"))
}

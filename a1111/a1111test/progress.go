package a1111test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"
)

// taskQueue is A1111's modules/progress.py: the ids of the generations
// waiting for the lock (pending_tasks, in order of arrival), the one
// holding it (current_task) and the last 16 that finished. txt2img records
// its force_task_id, or an id of its own, before it waits for the lock
// (add_task_to_queue), makes it current once it holds the lock and has begun
// (start_task), and finished after processing (finish_task). The web UI's
// own jobs go through the same queue, which is how /internal/progress can
// tell a client that its task waits behind someone else's.
//
// (A1111 skips finish_task when the job raises, so a failed task stays
// current until the next one starts; the fake's jobs do not raise.)
type taskQueue struct {
	current  string
	pending  []pendingTask
	finished []string
}

type pendingTask struct {
	id string
	at time.Time
}

// add is add_task_to_queue: pending_tasks[id] = time.time().
func (q *taskQueue) add(id string, now time.Time) {
	q.pending = slices.DeleteFunc(q.pending, func(p pendingTask) bool { return p.id == id })
	q.pending = append(q.pending, pendingTask{id, now})
}

// start is start_task.
func (q *taskQueue) start(id string) {
	q.current = id
	q.pending = slices.DeleteFunc(q.pending, func(p pendingTask) bool { return p.id == id })
}

// drop takes a task that never ran out of the queue (the server went down
// while it waited).
func (q *taskQueue) drop(id string) {
	q.pending = slices.DeleteFunc(q.pending, func(p pendingTask) bool { return p.id == id })
}

// finish is finish_task.
func (q *taskQueue) finish(id string) {
	if q.current == id {
		q.current = ""
	}
	q.finished = append(q.finished, id)
	if len(q.finished) > 16 {
		q.finished = q.finished[1:]
	}
}

// place is the task's 1-based position among the waiting ones, or 0.
func (q *taskQueue) place(id string) int {
	for i, p := range q.pending {
		if p.id == id {
			return i + 1
		}
	}
	return 0
}

// createTaskID is modules/progress.py create_task_id: what a request without
// force_task_id is filed under.
func createTaskID(kind string) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 7)
	for i := range b {
		b[i] = chars[rand.IntN(len(chars))]
	}
	return fmt.Sprintf("task(%s-%s)", kind, b)
}

// PendingTasks lists the ids of the generations waiting for the lock, in
// order of arrival, as GET /internal/pending-tasks does.
func (s *Server) PendingTasks() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.tasks.pending))
	for _, p := range s.tasks.pending {
		out = append(out, p.id)
	}
	return out
}

// CurrentTask is the id of the generation holding the lock, "" when none
// does (or the last one failed and none started since: see taskQueue).
func (s *Server) CurrentTask() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tasks.current
}

// WaitPending returns once at least n generations wait for the lock.
func (s *Server) WaitPending(ctx context.Context, n int) error {
	return s.waitFor(ctx, func() bool { return len(s.tasks.pending) >= n })
}

// internalProgress is POST /internal/progress (modules/progress.py
// progressapi) as A1111 1.10 and Forge answer it: for a task that is not
// the current one only whether it is queued or completed, with "In queue:
// i/n" or "Waiting..." as text; for the current one its progress without
// /sdapi/v1/progress's 0.01 (so 0 while its model loads, and eta null),
// its ETA, and the live preview when asked for and newer than
// id_live_preview. SD.Next's keeps the older shape: "paused", and
// "Queued..." without a place; and its API does not file requests under
// any task, so its answer about one is always "Waiting...".
func (s *Server) internalProgress(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := struct {
		IDTask        *string `json:"id_task"`
		IDLivePreview int     `json:"id_live_preview"`
		LivePreview   bool    `json:"live_preview"`
	}{IDLivePreview: -1, LivePreview: true}
	if err := json.Unmarshal(body, &req); err != nil {
		s.validationError(w, err)
		return
	}
	id := ""
	if req.IDTask != nil {
		id = *req.IDTask
	}
	s.mu.Lock()
	q := s.tasks
	g := s.gen
	previews, _ := s.options["live_previews_enable"].(bool)
	active := id != "" && id == q.current
	queued := q.place(id) > 0
	completed := slices.Contains(q.finished, id)
	n := len(q.pending)
	place := q.place(id)
	s.mu.Unlock()

	out := map[string]any{"active": active, "queued": queued, "completed": completed,
		"progress": nil, "eta": nil, "live_preview": nil, "id_live_preview": -1, "textinfo": nil}
	if s.opts.Flavor == FlavorSDNext {
		out["paused"] = false
	}
	if !active {
		text := "Waiting..."
		switch {
		case queued && s.opts.Flavor == FlavorSDNext:
			text = "Queued..."
		case queued:
			text = fmt.Sprintf("In queue: %d/%d", place, n)
		}
		out["textinfo"] = text
		writeJSON200(w, out)
		return
	}
	progress := 0.0
	if g.jobCount > 0 {
		progress += float64(g.jobNo) / float64(g.jobCount)
		if g.steps > 0 {
			progress += 1 / float64(g.jobCount) * float64(g.step) / float64(g.steps)
		}
	}
	progress = min(progress, 1)
	out["progress"] = progress
	if progress > 0 {
		elapsed := time.Since(g.start).Seconds()
		out["eta"] = elapsed/progress - elapsed
	}
	out["id_live_preview"] = req.IDLivePreview
	if id := g.previewID(); previews && req.LivePreview && id > 0 && id != req.IDLivePreview {
		out["live_preview"] = "data:image/png;base64," + base64.StdEncoding.EncodeToString(previewPNG)
		out["id_live_preview"] = id
	}
	writeJSON200(w, out)
}

// pendingTasks is GET /internal/pending-tasks (A1111 1.10, Forge).
func (s *Server) pendingTasks(w http.ResponseWriter, _ *http.Request) {
	ids := s.PendingTasks()
	writeJSON200(w, map[string]any{"size": len(ids), "tasks": ids})
}

// WebUIJob sends a txt2img of steps steps to the server as someone at its
// web UI would start one: without force_task_id, so that it is filed under
// an id of the server's own and takes the lock like any job. The channel
// receives the request's outcome once the job ended (nil for an answer of
// 200). Tests use it for "the server is busy with somebody else's job".
func (s *Server) WebUIJob(ctx context.Context, steps int) <-chan error {
	done := make(chan error, 1)
	body := fmt.Sprintf(`{"prompt":"someone at the web UI","steps":%d,"width":64,"height":64}`, steps)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+"/sdapi/v1/txt2img", strings.NewReader(body))
	if err != nil {
		done <- err
		return done
	}
	if s.creds != nil {
		for u, p := range s.creds {
			req.SetBasicAuth(u, p)
			break
		}
	}
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("a1111test: web UI job: status %d", resp.StatusCode)
			}
		}
		done <- err
	}()
	return done
}

package a1111

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// TaskProgress is the answer of POST /internal/progress (A1111
// modules/progress.py progressapi, the same in Forge; SD.Next adds Paused):
// what the server says of one task, the id a txt2img was filed under
// (its force_task_id). Only one of Active, Queued and Completed is true, or
// none: the server has no task of that id (not arrived yet, or a server that
// files API requests under no task, such as SD.Next).
type TaskProgress struct {
	Active    bool `json:"active"`    // the task holds the generation lock
	Queued    bool `json:"queued"`    // it waits for the lock
	Completed bool `json:"completed"` // it is one of the last 16 finished
	Paused    bool `json:"paused"`    // SD.Next: the server is paused
	// Progress and ETA are the task's own, and only while it is active:
	// unlike /sdapi/v1/progress there is no 0.01 in Progress, so it is 0
	// (and ETA absent, 0 here) while the task's checkpoint loads.
	Progress      float64 `json:"progress"`
	ETA           float64 `json:"eta"`             // seconds
	LivePreview   string  `json:"live_preview"`    // a data: URI, only when newer than the id sent
	IDLivePreview int     `json:"id_live_preview"` // send it back to be spared the same preview
	// TextInfo is "In queue: 2/3" for a queued task (SD.Next: "Queued..."),
	// "Waiting..." for one that is not queued nor active, else the server's
	// status line.
	TextInfo string `json:"textinfo"`
}

// Known says whether the server has a task of that id at all.
func (t *TaskProgress) Known() bool { return t.Active || t.Queued || t.Completed }

// QueuePosition reads the task's place from "In queue: i/n": i is 1 for the
// next to run. It returns 0, 0 when the text does not say (not queued, or
// SD.Next's "Queued...").
func (t *TaskProgress) QueuePosition() (pos, of int) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(t.TextInfo), "In queue:")
	if !ok {
		return 0, 0
	}
	if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d/%d", &pos, &of); err != nil || pos < 1 || of < pos {
		return 0, 0
	}
	return pos, of
}

// TaskProgress asks the server about the task taskID (POST
// /internal/progress {"id_task", "id_live_preview", "live_preview"}).
// lastPreview is the IDLivePreview of the previous answer (-1 at first):
// a server only encodes a preview newer than that, and none at all with
// withPreview false (A1111 1.10; older servers ignore the flag, and the id
// spares them most encodes).
//
// The route belongs to the web UI: a server started with --nowebui, or a
// proxy passing only /sdapi, answers 404, and the error wraps
// ErrNotSupported. The client remembers that, as Ping does, and Generate
// then follows the global /sdapi/v1/progress.
func (c *Client) TaskProgress(ctx context.Context, taskID string, lastPreview int, withPreview bool) (*TaskProgress, error) {
	var out TaskProgress
	body := map[string]any{"id_task": taskID, "id_live_preview": lastPreview, "live_preview": withPreview}
	err := c.call(ctx, http.MethodPost, "/internal/progress", body, decodeJSON(&out))
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Status >= 400 && e.Status < 500 && e.Kind != KindAuth {
			// 404 (no web UI), 405 or 422 (a fork's other route): this
			// client will not find its task here.
			if !c.noTaskProgress.Swap(true) {
				c.logger.Debug("a1111: no usable /internal/progress, following /sdapi/v1/progress", "server", c.addr, "status", e.Status)
			}
			if e.Kind == KindBadRequest {
				e.Kind = KindNoAPI
			}
		}
		return nil, notSupported(err, "task progress")
	}
	return &out, nil
}

// newTaskID makes a task id as the web UI's randomId does: "task(" and 15
// base-36 characters ")". It only has to be unique on the server.
func newTaskID() string {
	const chars = "0123456789abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return "task(" + string(b) + ")"
}

// taskState is what the server last said of a generation's task.
type taskState int

const (
	taskUnknown taskState = iota // not (yet, or any more) a task of the server's
	taskQueued
	taskActive
	taskDone
)

// taskWatch follows one generation's task for its polls and its stop.
type taskWatch struct {
	id string

	mu          sync.Mutex
	state       taskState
	known       bool // the server has named this task at least once
	wasActive   bool
	lastPreview int
}

func newTaskWatch(id string) *taskWatch { return &taskWatch{id: id, lastPreview: -1} }

// note records an answer about the task and returns its state.
func (t *taskWatch) note(tp *TaskProgress) taskState {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case tp.Active:
		t.state, t.wasActive = taskActive, true
	case tp.Queued:
		t.state = taskQueued
	case tp.Completed:
		t.state = taskDone
	default:
		t.state = taskUnknown
	}
	if tp.Known() {
		t.known = true
	}
	if tp.IDLivePreview >= 0 {
		t.lastPreview = tp.IDLivePreview
	}
	return t.state
}

func (t *taskWatch) seen() (known, wasActive bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.known, t.wasActive
}

// last is what the server said of the task most recently.
func (t *taskWatch) last() taskState {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state
}

func (t *taskWatch) preview() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lastPreview
}

// Whether the server files API requests under their force_task_id, as far
// as this client has found out (Client.tracks).
const (
	tracksUnknown int32 = iota
	tracksYes
	tracksNo
)

// followsTasks says whether asking /internal/progress about our tasks is
// worth a request: the route exists and the server was not found to ignore
// force_task_id.
func (c *Client) followsTasks() bool {
	return !c.noTaskProgress.Load() && c.tracks.Load() != tracksNo
}

// progressOf is one progress poll of a generation: its own task's state
// where the server can tell, the global figures otherwise (see Progress).
func (c *Client) progressOf(ctx context.Context, t *taskWatch) (*Progress, error) {
	if t == nil || !c.followsTasks() {
		return c.Progress(ctx, false)
	}
	tp, err := c.TaskProgress(ctx, t.id, t.preview(), false)
	if errors.Is(err, ErrNotSupported) {
		return c.Progress(ctx, false)
	}
	if err != nil {
		return nil, err
	}
	st := t.note(tp)
	if tp.Known() {
		c.tracks.Store(tracksYes)
	}
	own := Progress{Own: true, TaskID: t.id, TextInfo: tp.TextInfo}
	switch st {
	case taskQueued:
		own.Queued = true
		own.QueuePos, own.QueueLen = tp.QueuePosition()
		return &own, nil
	case taskDone:
		own.Done = true
		return &own, nil
	case taskActive:
		// Our task holds the lock, so the global state is ours: it has
		// the step figures /internal/progress lacks.
		g, gerr := c.Progress(ctx, false)
		if gerr != nil {
			own.Progress, own.ETARelative = tp.Progress, tp.ETA
		} else {
			own.Progress, own.ETARelative, own.State, own.CurrentImage = g.Progress, g.ETARelative, g.State, g.CurrentImage
			if g.TextInfo != "" {
				own.TextInfo = g.TextInfo
			}
		}
		own.Active = true
		return &own, nil
	}
	// Not filed (yet): the server's figures are someone else's, if any.
	return c.Progress(ctx, false)
}

// learnTracking settles, after a generation that answered without its task
// ever being seen, whether this server files API requests under their
// force_task_id at all: A1111 keeps the last 16 finished tasks, so a server
// that does reports the task completed now. One that does not (SD.Next) is
// then no longer asked, and its stops interrupt as before.
func (c *Client) learnTracking(ctx context.Context, t *taskWatch) {
	if t == nil || !c.followsTasks() || c.tracks.Load() != tracksUnknown {
		return
	}
	if known, _ := t.seen(); known {
		c.tracks.Store(tracksYes)
		return
	}
	tp, err := c.TaskProgress(ctx, t.id, -1, false)
	switch {
	case err != nil:
		return
	case tp.Known():
		c.tracks.Store(tracksYes)
	default:
		c.tracks.Store(tracksNo)
		c.logger.Debug("a1111: the server files no task under force_task_id; following /sdapi/v1/progress", "server", c.addr)
	}
}

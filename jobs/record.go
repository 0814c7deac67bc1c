// Package jobs holds the job record: one /imagine as the bot remembers it
// from the moment it is queued until well after its result is posted. The
// scheduler holds only IDs and callbacks; everything that must survive a
// restart, a failover or a later button press lives here (see
// docs/architecture.md). It knows nothing of Discord, HTTP or bbolt.
package jobs

import (
	"errors"
	"slices"
	"time"

	"lorabot/imagine"
)

// State is where a job is in its life. Queued and Running are pending: a
// restarted bot runs them (again). The others are final.
type State string

const (
	Queued    State = "queued"
	Running   State = "running"
	Done      State = "done"
	Failed    State = "failed"
	Cancelled State = "cancelled"
)

// Pending reports whether a restarted bot must still run a job in state s.
func (s State) Pending() bool { return s == Queued || s == Running }

// MaxServers is how many servers one job is tried on before it fails: a
// job that takes down every server it touches (or a fleet that is down)
// must end with an answer, not bounce for ever.
const MaxServers = 3

// Reply is where the job's message is: the interaction that asked for it.
// While the token lives (15 minutes from Received) the job edits that
// interaction's reply; after, it posts in ChannelID and mentions the user.
type Reply struct {
	AppID         string `json:"app_id"`
	InteractionID string `json:"interaction_id"`
	// Token edits the interaction's reply. It is a credential for 15
	// minutes: stored in the database (0600, never committed) and never
	// logged or shown.
	Token     string    `json:"token"`
	GuildID   string    `json:"guild_id,omitempty"`
	ChannelID string    `json:"channel_id"`
	Received  time.Time `json:"received"`
	// AttachmentLimit is the interaction's largest upload, in bytes.
	AttachmentLimit int64 `json:"attachment_limit,omitempty"`
}

// Record is one job. Writes happen once per change of state (queued,
// running on a server, moved, finished), never per progress tick.
type Record struct {
	ID      string          `json:"id"`
	User    string          `json:"user"`
	State   State           `json:"state"`
	Request imagine.Request `json:"request"`
	Reply   Reply           `json:"reply"`
	// Server is the address (host:port) of the server running it, while
	// Running; empty otherwise.
	Server string `json:"server,omitempty"`
	// Tried are the servers (host:port) that failed the job through no
	// fault of the job's (down, hung, died mid-generation), oldest first.
	Tried []string `json:"tried,omitempty"`
	// Runs counts the starts, so a job that was running when the bot died
	// shows up as run once more.
	Runs int `json:"runs,omitempty"`
	// Seeds are the seeds A1111 reported, once done.
	Seeds []int64 `json:"seeds,omitempty"`
	// Caption is a describe job's description, once done: its result's
	// buttons start an /imagine from it.
	Caption string `json:"caption,omitempty"`
	// Error is the sentence the user was shown, once failed.
	Error   string    `json:"error,omitempty"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// TriedOn reports whether server already failed the job.
func (r *Record) TriedOn(server string) bool { return slices.Contains(r.Tried, server) }

// Store keeps job records. Each method is one transaction, so a crash
// leaves a record as it was before or after a write, never half of it.
type Store interface {
	// PutJob creates or replaces the record with r.ID. A record without an
	// ID, with an unknown State or without a User is refused. The store
	// sets nothing itself: Created and Updated are the caller's to keep.
	PutJob(r Record) error
	// Job returns one record, or an error wrapping ErrNotFound.
	Job(id string) (Record, error)
	// PendingJobs returns the queued and running records in the order
	// they were first put, oldest first: replacing a record keeps its
	// place, so a restarted bot queues jobs in the order users asked.
	PendingJobs() ([]Record, error)
	// PruneJobs forgets final records updated before olderThan, then the
	// oldest (first put) final records beyond the newest keep, and pending
	// records created before pendingBefore (a job nobody could run for
	// that long is given up). A zero time removes nothing by its rule;
	// keep 0 keeps no final record and a negative keep is an error. It
	// returns how many it removed. The age rule reads every final record,
	// so call it now and then (at start, hourly), not after every job.
	PruneJobs(olderThan time.Time, keep int, pendingBefore time.Time) (int, error)
	// DeleteJob forgets one record, whatever its state; a missing one is
	// no error. Only its owner, or a member who may manage the channel's
	// messages, may have a result forgotten (the caller checks).
	DeleteJob(id string) error
}

// ErrNotFound: no record with that ID (never made, or pruned).
var ErrNotFound = errors.New("jobs: no such job record")

// String keeps the token out of anything that formats a Reply (a %+v of a
// Record in a log line or a test failure).
func (r Reply) String() string {
	return "interaction " + r.InteractionID + " in channel " + r.ChannelID
}

package jobs

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// Pending decides what a restarted bot runs again, so every state is
// pinned, and so is a state this binary does not know (from a newer one):
// it is not run.
func TestStatePending(t *testing.T) {
	for s, want := range map[State]bool{
		Queued:    true,
		Running:   true,
		Done:      false,
		Failed:    false,
		Cancelled: false,
		"":        false,
		"Queued":  false,
		"paused":  false,
	} {
		if got := s.Pending(); got != want {
			t.Errorf("State(%q).Pending() = %v, want %v", s, got, want)
		}
	}
}

func TestTriedOn(t *testing.T) {
	var none Record
	if none.TriedOn("a:7860") || none.TriedOn("") {
		t.Error("a record with no tried servers reports one")
	}
	r := Record{Tried: []string{"a:7860", "b:7860"}}
	for server, want := range map[string]bool{"a:7860": true, "b:7860": true, "c:7860": false, "a": false, "": false} {
		if got := r.TriedOn(server); got != want {
			t.Errorf("TriedOn(%q) = %v, want %v", server, got, want)
		}
	}
}

// The record is stored as JSON: its field names are the file format, so
// renaming one loses it from every record already written.
func TestRecordJSONNames(t *testing.T) {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	r := Record{ID: "j", User: "u", State: Failed, Server: "a:1", Tried: []string{"b:1"}, Runs: 2,
		Seeds: []int64{1}, Error: "e", Created: at, Updated: at,
		Reply: Reply{AppID: "1", InteractionID: "2", Token: "t", GuildID: "3", ChannelID: "4", Received: at, AttachmentLimit: 5}}
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"id", "user", "state", "request", "reply", "server", "tried", "runs", "seeds", "error", "created", "updated"} {
		if _, ok := fields[name]; !ok {
			t.Errorf("no %q in %s", name, raw)
		}
	}
	var reply map[string]json.RawMessage
	if err := json.Unmarshal(fields["reply"], &reply); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"app_id", "interaction_id", "token", "guild_id", "channel_id", "received", "attachment_limit"} {
		if _, ok := reply[name]; !ok {
			t.Errorf("no %q in the reply %s", name, fields["reply"])
		}
	}
	var back Record
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, r) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, r)
	}
}

package store

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"lorabot/a1111"
	"lorabot/gen"
	"lorabot/imagine"
	"lorabot/internal/testkit"
	"lorabot/jobs"
	"lorabot/lora"
	"lorabot/prompt"
)

// testToken stands for an interaction token: a credential that must never
// reach an error or a log line.
const testToken = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5OnNlY3JldC10b2tlbg"

var jobEpoch = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// testJob is a realistic record: every field of the request and the reply
// set, so that a round trip shows what JSON keeps.
func testJob(id string, state jobs.State, at time.Time) jobs.Record {
	detail := lora.LoRA{Name: "add_detail", Alias: "Detail Tweaker", Family: lora.FamilySDXL,
		Triggers: []string{"detailed"}, PreferredWeight: 0.7, Title: "Detail", BaseModel: "sd_xl_base_1.0.safetensors", Servers: 3}
	o := fullOptions()
	r := jobs.Record{
		ID:    id,
		User:  "111222333444555666",
		State: state,
		Request: imagine.Request{
			User:         "111222333444555666",
			PresetName:   "Anime",
			PresetPrompt: "masterpiece",
			Options:      o,
			Prompt: prompt.Result{Text: "masterpiece, soft light, detailed <lora:add_detail:0.7>",
				LoRAs: []prompt.Applied{{LoRA: detail, Weight: 0.7, Tag: "<lora:add_detail:0.7>"}}, Triggers: []string{"detailed"}},
			Checkpoint: a1111.Model{Title: "sd_xl_base_1.0.safetensors [31e35c80fc]", ModelName: "sd_xl_base_1.0",
				Hash: "31e35c80fc", SHA256: "31e35c80fc4829d14f90153f4c74cd59c90b779f6afe05a74cd6120b893f7e5b",
				Filename: "/models/sd_xl_base_1.0.safetensors", Config: ""},
			Sampler:   "DPM++ 2M",
			Scheduler: "Karras",
			Family:    lora.FamilySDXL,
			Backends:  3,
		},
		Reply: jobs.Reply{AppID: "900000000000000001", InteractionID: "1300000000000000001", Token: testToken,
			GuildID: "800000000000000001", ChannelID: "700000000000000001", Received: at, AttachmentLimit: 10 << 20},
		Created: at,
		Updated: at,
	}
	switch state {
	case jobs.Running:
		r.Server, r.Runs = "10.0.0.2:7860", 1
	case jobs.Done:
		r.Seeds, r.Runs = []int64{42, 43, 44, 45}, 1
	case jobs.Failed:
		r.Tried, r.Runs, r.Error = []string{"10.0.0.2:7860", "10.0.0.3:7860"}, 2, "Every server failed this job."
	}
	return r
}

func putJobs(t testing.TB, db *DB, rs ...jobs.Record) {
	t.Helper()
	for _, r := range rs {
		if err := db.PutJob(r); err != nil {
			t.Fatalf("PutJob(%s, %s): %v", r.ID, r.State, err)
		}
	}
}

func pendingIDs(t *testing.T, db *DB) []string {
	t.Helper()
	rs, err := db.PendingJobs()
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, r := range rs {
		ids = append(ids, r.ID)
	}
	return ids
}

func TestJobRoundTripsAndSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	db := openAt(t, path)
	want := map[string]jobs.Record{}
	for i, s := range []jobs.State{jobs.Queued, jobs.Running, jobs.Done, jobs.Failed, jobs.Cancelled} {
		r := testJob(fmt.Sprintf("job-%d", i), s, jobEpoch.Add(time.Duration(i)*time.Second+123456789))
		putJobs(t, db, r)
		want[r.ID] = r
	}
	// Created and Updated are the caller's: zero stays zero.
	bare := jobs.Record{ID: "bare", User: "1", State: jobs.Queued}
	putJobs(t, db, bare)
	want[bare.ID] = bare
	check := func(db *DB) {
		t.Helper()
		for id, w := range want {
			got, err := db.Job(id)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, w) {
				t.Errorf("Job(%s):\n got %+v\nwant %+v", id, got, w)
			}
		}
	}
	check(db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, path)
	check(db)
	if err := db.Check(); err != nil {
		t.Error(err)
	}
}

func TestJobNotFound(t *testing.T) {
	db := openTemp(t)
	for _, id := range []string{"nope", "", strings.Repeat("x", 200)} {
		if _, err := db.Job(id); !errors.Is(err, jobs.ErrNotFound) {
			t.Errorf("Job(%.10q) = %v, want jobs.ErrNotFound", id, err)
		}
	}
}

func TestPutJobRefusesBadRecords(t *testing.T) {
	db := openTemp(t)
	ok := testJob("ok", jobs.Queued, jobEpoch)
	for name, edit := range map[string]func(*jobs.Record){
		"empty ID":     func(r *jobs.Record) { r.ID = "" },
		"long ID":      func(r *jobs.Record) { r.ID = strings.Repeat("j", MaxJobIDLen+1) },
		"no state":     func(r *jobs.Record) { r.State = "" },
		"odd state":    func(r *jobs.Record) { r.State = "Done" },
		"no user":      func(r *jobs.Record) { r.User = "" },
		"absurd user":  func(r *jobs.Record) { r.User = strings.Repeat("1", maxUserLen+1) },
		"token as ID?": func(r *jobs.Record) { r.ID = strings.Repeat(testToken, 3) },
	} {
		r := ok
		edit(&r)
		err := db.PutJob(r)
		if !errors.Is(err, ErrBadJob) {
			t.Errorf("%s: PutJob = %v, want ErrBadJob", name, err)
		}
		if err != nil && strings.Contains(err.Error(), testToken) {
			t.Errorf("%s: the error shows the token: %v", name, err)
		}
	}
	if ids := pendingIDs(t, db); len(ids) != 0 {
		t.Errorf("refused records were stored: %q", ids)
	}
	ok.ID = strings.Repeat("j", MaxJobIDLen)
	putJobs(t, db, ok)
}

// PendingJobs lists in the order of first put: a state change keeps a
// record's place, even when it leaves the pending states and comes back.
func TestPendingJobsOldestFirstPutFirst(t *testing.T) {
	db := openTemp(t)
	at := func(id string, s jobs.State) jobs.Record { return testJob(id, s, jobEpoch) }
	putJobs(t, db, at("a", jobs.Queued), at("b", jobs.Queued), at("c", jobs.Queued))
	if got := pendingIDs(t, db); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("pending = %q", got)
	}
	putJobs(t, db, at("a", jobs.Running), at("c", jobs.Done), at("d", jobs.Queued))
	if got := pendingIDs(t, db); !slices.Equal(got, []string{"a", "b", "d"}) {
		t.Errorf("after a runs and c is done: %q", got)
	}
	putJobs(t, db, at("a", jobs.Done), at("c", jobs.Queued), at("b", jobs.Running), at("b", jobs.Queued))
	if got := pendingIDs(t, db); !slices.Equal(got, []string{"b", "c", "d"}) {
		t.Errorf("after a is done, c queued again and b moved: %q", got)
	}
	rs, err := db.PendingJobs()
	if err != nil || len(rs) != 3 || rs[0].State != jobs.Queued || rs[1].Server != "" {
		t.Errorf("pending records: %+v %v", rs, err)
	}
	if err := db.Check(); err != nil {
		t.Error(err)
	}
	putJobs(t, db, at("b", jobs.Cancelled), at("c", jobs.Failed), at("d", jobs.Done))
	if got := pendingIDs(t, db); len(got) != 0 {
		t.Errorf("with every job final: %q", got)
	}
}

func TestPruneJobs(t *testing.T) {
	db := openTemp(t)
	hour := func(h int) time.Time { return jobEpoch.Add(time.Duration(h) * time.Hour) }
	rec := func(id string, s jobs.State, created, updated int) jobs.Record {
		r := testJob(id, s, hour(created))
		r.Updated = hour(updated)
		return r
	}
	// In order of first put. f3 was put before f4 but updated later.
	putJobs(t, db,
		rec("p0", jobs.Queued, 0, 0),
		rec("f1", jobs.Done, 1, 1),
		rec("f2", jobs.Failed, 2, 2),
		rec("f3", jobs.Done, 3, 9),
		rec("f4", jobs.Cancelled, 4, 4),
		rec("p5", jobs.Running, 5, 5),
		rec("f6", jobs.Done, 6, 6),
		rec("f7", jobs.Done, 7, 7),
	)
	remaining := func() []string {
		t.Helper()
		var ids []string
		for _, id := range []string{"p0", "f1", "f2", "f3", "f4", "p5", "f6", "f7"} {
			if _, err := db.Job(id); err == nil {
				ids = append(ids, id)
			} else if !errors.Is(err, jobs.ErrNotFound) {
				t.Fatal(err)
			}
		}
		return ids
	}
	step := func(olderThan time.Time, keep int, pendingBefore time.Time, wantN int, want ...string) {
		t.Helper()
		n, err := db.PruneJobs(olderThan, keep, pendingBefore)
		if err != nil {
			t.Fatal(err)
		}
		if got := remaining(); n != wantN || !slices.Equal(got, want) {
			t.Errorf("PruneJobs removed %d, left %q; want %d, %q", n, got, wantN, want)
		}
		if err := db.Check(); err != nil {
			t.Error(err)
		}
	}
	all := []string{"p0", "f1", "f2", "f3", "f4", "p5", "f6", "f7"}
	// Zero times and a keep above the count remove nothing.
	step(time.Time{}, 100, time.Time{}, 0, all...)
	// By age: final records updated before hour 5; f3 was updated at 9.
	step(hour(5), 100, time.Time{}, 3, "p0", "f3", "p5", "f6", "f7")
	// By count: the oldest finals by first put beyond 2; pending ones do not count.
	step(time.Time{}, 2, time.Time{}, 1, "p0", "p5", "f6", "f7")
	// Pending created before hour 3.
	step(time.Time{}, 2, hour(3), 1, "p5", "f6", "f7")
	if got := pendingIDs(t, db); !slices.Equal(got, []string{"p5"}) {
		t.Errorf("pending after pruning: %q", got)
	}
	// All three rules at once, keep 0 keeping no final record.
	putJobs(t, db, rec("f8", jobs.Done, 8, 8), rec("p9", jobs.Queued, 9, 9))
	if n, err := db.PruneJobs(hour(7), 0, hour(6)); err != nil || n != 4 {
		t.Errorf("PruneJobs(all rules) = %d, %v; want 4", n, err)
	}
	if got := pendingIDs(t, db); !slices.Equal(got, []string{"p9"}) {
		t.Errorf("pending after pruning: %q", got)
	}
	if _, err := db.PruneJobs(time.Time{}, -1, time.Time{}); err == nil {
		t.Error("a negative keep was accepted")
	}
	// A pruned ID put again is a new record, last in the order.
	putJobs(t, db, rec("p0", jobs.Queued, 10, 10))
	if got := pendingIDs(t, db); !slices.Equal(got, []string{"p9", "p0"}) {
		t.Errorf("pending after putting a pruned ID again: %q", got)
	}
	if err := db.Check(); err != nil {
		t.Error(err)
	}
}

// Damage a record in every way that reaches an error or a log line, and
// look for the token in all of them.
func TestJobTokenNeverInErrorsOrLogs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	var logs testkit.LogBuffer
	open := func() *DB {
		t.Helper()
		db, err := Open(path, Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	db := open()
	putJobs(t, db, testJob("torn", jobs.Queued, jobEpoch), testJob("typed", jobs.Queued, jobEpoch),
		testJob("escape", jobs.Running, jobEpoch))
	db.Close()
	writeRaw(t, path, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJobs)
		for id, edit := range map[string]func(string) string{
			// Cut short in the middle of the token.
			"torn": func(s string) string { return s[:strings.Index(s, testToken)+10] },
			// The token where a number belongs.
			"typed": func(s string) string {
				return strings.Replace(s, `"attachment_limit":10485760`, `"attachment_limit":"`+testToken+`"`, 1)
			},
			// A bad escape inside the token.
			"escape": func(s string) string { return strings.Replace(s, testToken, testToken[:5]+`\q`+testToken[5:], 1) },
		} {
			raw := b.Get([]byte(id))
			if !bytes.Contains(raw, []byte(testToken)) {
				t.Fatalf("record %s does not hold the token as such: %s", id, raw)
			}
			if err := b.Put([]byte(id), []byte(edit(string(raw)))); err != nil {
				return err
			}
		}
		return nil
	})
	db = open()
	defer db.Close()
	var errs []error
	for _, id := range []string{"torn", "typed", "escape"} {
		_, err := db.Job(id)
		errs = append(errs, err)
	}
	_, err := db.PendingJobs()
	errs = append(errs, err, db.Check())
	_, err = db.PruneJobs(time.Time{}, 0, jobEpoch.Add(time.Hour))
	errs = append(errs, err)
	for i, err := range errs {
		if err == nil {
			t.Errorf("error %d: nil, want one about the damaged records", i)
			continue
		}
		if strings.Contains(err.Error(), testToken[:10]) || strings.Contains(err.Error(), testToken[len(testToken)-10:]) {
			t.Errorf("error %d shows the token: %v", i, err)
		}
	}
	// Replacing a damaged record repairs it, and says so in the log.
	for _, id := range []string{"torn", "typed", "escape"} {
		putJobs(t, db, testJob(id, jobs.Done, jobEpoch))
	}
	if err := db.Check(); err != nil {
		t.Errorf("after replacing the damaged records: %v", err)
	}
	if !strings.Contains(logs.String(), "job=torn") {
		t.Errorf("the repair was not logged: %s", logs.String())
	}
	if strings.Contains(logs.String(), testToken[:10]) {
		t.Errorf("the log shows the token: %s", logs.String())
	}
}

// A record damaged by hand loses its place in the order, nothing else.
func TestPutJobRepairsUnindexedRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	db := openAt(t, path)
	putJobs(t, db, testJob("a", jobs.Queued, jobEpoch), testJob("b", jobs.Queued, jobEpoch))
	db.Close()
	writeRaw(t, path, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketJobs).Put([]byte("a"), []byte(`{"seq":77,"job":{"id":"a"`))
	})
	db = openAt(t, path)
	if err := db.Check(); err == nil {
		t.Fatal("Check passed a torn record")
	}
	if _, err := db.PendingJobs(); err == nil || !strings.Contains(err.Error(), `"a"`) {
		t.Errorf("PendingJobs over a torn record: %v, want an error naming it", err)
	}
	putJobs(t, db, testJob("a", jobs.Running, jobEpoch))
	if got := pendingIDs(t, db); !slices.Equal(got, []string{"b", "a"}) {
		t.Errorf("pending after the repair: %q", got)
	}
	if err := db.Check(); err != nil {
		t.Error(err)
	}
}

func TestCheckFindsJobIndexProblems(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	db := openAt(t, path)
	putJobs(t, db,
		testJob("unindexed", jobs.Done, jobEpoch),
		testJob("notpending", jobs.Queued, jobEpoch),
		testJob("wronglypending", jobs.Done, jobEpoch),
		testJob("misnamed", jobs.Done, jobEpoch),
		testJob("fine", jobs.Queued, jobEpoch),
	)
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	writeRaw(t, path, func(tx *bolt.Tx) error {
		all, seqs, pending := jobBuckets(tx)
		seqOf := func(id string) []byte {
			rec, err := decodeJob([]byte(id), all.Get([]byte(id)))
			if err != nil {
				t.Fatal(err)
			}
			return seqKey(rec.Seq)
		}
		for _, err := range []error{
			seqs.Delete(seqOf("unindexed")),
			pending.Delete(seqOf("notpending")),
			pending.Put(seqOf("wronglypending"), []byte("wronglypending")),
			seqs.Put(seqKey(999), []byte("ghost")),
			pending.Put([]byte("short"), []byte("fine")),
			all.Put([]byte("misnamed"), bytes.Replace(all.Get([]byte("misnamed")), []byte(`"id":"misnamed"`), []byte(`"id":"other"`), 1)),
		} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	db = openAt(t, path)
	err := db.Check()
	if err == nil {
		t.Fatal("Check passed a file whose job indexes disagree")
	}
	for _, part := range []string{`job "unindexed": jobseq`, `job "notpending" is queued but jobpending`,
		`job "wronglypending" is done but jobpending`,
		`names job "ghost"`, `"short" is not a sequence number`, `under "misnamed" holds ID "other"`} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("Check does not say %q:\n%v", part, err)
		}
	}
	if strings.Contains(err.Error(), `job "fine"`) {
		t.Errorf("Check blames a sound record: %v", err)
	}
}

// A preset file with no jobs at all still lists none and prunes nothing.
func TestNoJobs(t *testing.T) {
	db := openTemp(t)
	if err := db.SavePreset("111", gen.Preset{Name: "x"}); err != nil {
		t.Fatal(err)
	}
	if rs, err := db.PendingJobs(); err != nil || rs == nil || len(rs) != 0 {
		t.Errorf("PendingJobs = %#v, %v; want an empty list", rs, err)
	}
	if n, err := db.PruneJobs(jobEpoch, 0, jobEpoch); err != nil || n != 0 {
		t.Errorf("PruneJobs = %d, %v", n, err)
	}
}

// Pruning a damaged file drops index entries that name no record at their
// seq, and never deletes a live record through such an entry.
func TestPruneJobsDropsStaleIndexEntries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	db := openAt(t, path)
	putJobs(t, db, testJob("a", jobs.Done, jobEpoch), testJob("b", jobs.Done, jobEpoch), testJob("c", jobs.Done, jobEpoch))
	db.Close()
	writeRaw(t, path, func(tx *bolt.Tx) error {
		_, seqs, pending := jobBuckets(tx)
		if err := seqs.Put(seqKey(0), []byte("c")); err != nil { // c lives at seq 3
			return err
		}
		if err := seqs.Put(seqKey(10), []byte("ghost")); err != nil {
			return err
		}
		return pending.Put(seqKey(11), []byte("ghost"))
	})
	for _, c := range []struct {
		name      string
		olderThan time.Time
		keep      int
		// By count alone nothing newer than the excess is looked up, so
		// the ghost entry at seq 10 stays (and counts as one record).
		clean bool
	}{{"by count", time.Time{}, 2, false}, {"by age and count", jobEpoch.Add(-time.Hour), 1, true}} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			copyPath := filepath.Join(dir, "bot.db")
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(copyPath, raw, 0o600); err != nil {
				t.Fatal(err)
			}
			db := openAt(t, copyPath)
			if err := db.Check(); err == nil {
				t.Fatal("Check passed the damaged file")
			}
			// c's stale entry at seq 0 is the oldest: it must go without c.
			n, err := db.PruneJobs(c.olderThan, c.keep, jobEpoch.Add(-time.Hour))
			if err != nil || n != 2 {
				t.Errorf("PruneJobs = %d, %v; want 2 (a and b)", n, err)
			}
			if _, err := db.Job("c"); err != nil {
				t.Errorf("the newest record went with a stale entry: %v", err)
			}
			err = db.Check()
			if c.clean && err != nil {
				t.Errorf("after pruning: %v", err)
			}
			if !c.clean && (err == nil || strings.Contains(err.Error(), "seq 0") || strings.Contains(err.Error(), "jobpending 11")) {
				t.Errorf("after pruning, Check = %v; want only the ghost at jobseq 10", err)
			}
		})
	}
}

// Writers in several goroutines (the scheduler's workers) each move their
// own jobs; bbolt serialises the transactions and the indexes stay whole.
func TestConcurrentPutJobs(t *testing.T) {
	db := openTemp(t)
	const workers, perWorker = 4, 15
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := range perWorker {
				r := testJob(fmt.Sprintf("w%d-%02d", w, i), jobs.Queued, jobEpoch)
				for _, s := range []jobs.State{jobs.Queued, jobs.Running, jobs.Done} {
					if i%3 == 0 && s == jobs.Done {
						break // every third job stays running
					}
					r.State = s
					if err := db.PutJob(r); err != nil {
						errs <- err
						return
					}
				}
			}
			errs <- nil
		}()
	}
	timeout := time.After(30 * time.Second)
	for range workers {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
		case <-timeout:
			t.Fatal("writers did not finish in 30s")
		}
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	rs, err := db.PendingJobs()
	if err != nil {
		t.Fatal(err)
	}
	if want := workers * ((perWorker + 2) / 3); len(rs) != want {
		t.Errorf("%d pending, want %d", len(rs), want)
	}
	for _, r := range rs {
		if r.State != jobs.Running {
			t.Errorf("%s is %s, want running", r.ID, r.State)
		}
	}
}

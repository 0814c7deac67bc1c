package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"lorabot/gen"
	"lorabot/jobs"
)

// Child processes: some tests re-exec the test binary with childEnv set, to
// hold the file lock from another process or to be killed mid-write.
const (
	childEnv     = "LORABOT_STORE_CHILD"
	childPathEnv = "LORABOT_STORE_CHILD_PATH"
	childArgEnv  = "LORABOT_STORE_CHILD_ARG"
	// exitLocked is the lock child's exit code when Open fails with ErrLocked.
	exitLocked = 3
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode, os.Getenv(childPathEnv), os.Getenv(childArgEnv)))
	}
	os.Exit(m.Run())
}

func runChild(mode, path, arg string) int {
	switch mode {
	case "lock":
		timeout, err := time.ParseDuration(arg)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		db, err := Open(path, Options{Timeout: timeout})
		if err != nil {
			fmt.Fprintln(os.Stdout, err)
			if errors.Is(err, ErrLocked) {
				return exitLocked
			}
			return 1
		}
		db.Close()
		return 0
	case "crash":
		start, err := strconv.Atoi(arg)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		return crashWriter(path, start)
	case "jobcrash":
		start, err := strconv.Atoi(arg)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		return jobCrashWriter(path, start)
	}
	fmt.Fprintln(os.Stderr, "unknown child mode", mode)
	return 2
}

// crashWriter writes presets until it is killed, printing "user name" after
// each committed save. It stops by itself after a while so that a parent
// that fails to kill it leaves nothing running.
func crashWriter(path string, start int) int {
	db, err := Open(path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	deadline := time.Now().Add(30 * time.Second)
	for i := start; time.Now().Before(deadline); i++ {
		user, name := crashPresetID(i)
		if err := db.SavePreset(user, crashPreset(name)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Fprintf(os.Stdout, "%s %s\n", user, name)
		// Other writes between saves, so that a kill can land in them too.
		switch {
		case i%7 == 0:
			err = db.SetDefaultPreset(user, name)
		case i%11 == 0:
			_, err = db.SharePreset(user, name)
		case i%13 == 0:
			err = db.DeletePreset(user, name)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

// Job crash child: every crashPruneEvery jobs, right after reporting one
// done, it prunes final records down to the newest crashKeepJobs.
const crashKeepJobs, crashPruneEvery = 20, 10

// jobCrashWriter takes jobs crashJobID(start), crashJobID(start+1), …
// through queued, running and done, one PutJob each, printing "ID state"
// after each commit, and prunes now and then; it never prunes pending
// records. Like crashWriter it stops by itself after a while.
func jobCrashWriter(path string, start int) int {
	db, err := Open(path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	deadline := time.Now().Add(30 * time.Second)
	for i := start; time.Now().Before(deadline); i++ {
		r := crashJob(i)
		for _, s := range []jobs.State{jobs.Queued, jobs.Running, jobs.Done} {
			r.State, r.Updated = s, time.Now()
			r.Server = ""
			if s == jobs.Running {
				r.Server, r.Runs = "10.0.0.2:7860", r.Runs+1
			}
			if err := db.PutJob(r); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			fmt.Fprintf(os.Stdout, "%s %s\n", r.ID, s)
		}
		if i%crashPruneEvery == 0 {
			if _, err := db.PruneJobs(time.Time{}, crashKeepJobs, time.Time{}); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
	}
	return 0
}

func crashJobID(i int) string { return fmt.Sprintf("job%06d", i) }

// crashJob is big enough that a put touches more than one page.
func crashJob(i int) jobs.Record {
	r := testJob(crashJobID(i), jobs.Queued, time.Now())
	r.Request.Prompt.Text = strings.Repeat("detailed ", 300)
	return r
}

// crashPresetID spreads writes over users so that none hits the limit.
func crashPresetID(i int) (user, name string) {
	return fmt.Sprintf("user%d", i/40), fmt.Sprintf("preset %06d", i)
}

// crashPreset is big enough that a save touches more than one page.
func crashPreset(name string) gen.Preset {
	return gen.Preset{Name: name, Options: gen.Options{
		Prompt:   name + ", " + strings.Repeat("detailed ", 80),
		Negative: "blurry",
		Steps:    30,
	}}
}

// openTemp opens a new database in a test folder, closed at cleanup.
func openTemp(t testing.TB) *DB {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "bot.db"))
}

func openAt(t testing.TB, path string) *DB {
	t.Helper()
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func ptr[T any](v T) *T { return &v }

// fullOptions sets every field, seed and count included.
func fullOptions() gen.Options {
	return gen.Options{
		Prompt:   "masterpiece, soft light",
		Negative: "lowres",
		LoRAs: [gen.LoRASlots]gen.LoRAChoice{
			{Name: "add_detail", Weight: ptr(0.7)},
			{Name: "", Weight: ptr(1.25)},
			{Name: "film_grain"},
		},
		Checkpoint: "sd_xl_base_1.0.safetensors [31e35c80fc]",
		Sampler:    "DPM++ 2M",
		Steps:      28,
		CFG:        6.5,
		Width:      832,
		Height:     1216,
		Seed:       ptr(int64(42)),
		Count:      4,
	}
}

func presetNames(ps []gen.Preset) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

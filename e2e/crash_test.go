package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"lorabot/a1111"
	"lorabot/a1111/a1111test"
	"lorabot/bot/discordtest"
)

// The bot process killed outright (SIGKILL: an OOM kill, a power cut)
// while jobs wait: nothing was told to anyone, the bbolt file was not
// closed. The next start on the same DB_PATH must run every job, each
// once, the cut-off one again, one generation at a time.

// crashResult reports whether m is the outcome of the job it asked for
// with prompt, as its user finds it: the original message edited with the
// images (or an error), or, once the token is gone, a channel message that
// mentions the user and carries the job's settings embed.
func crashResult(m discordtest.Message, it *discordtest.Interaction, prompt string) bool {
	if len(m.Attachments) == 0 && !strings.HasPrefix(m.Content, "⚠️") {
		return false
	}
	switch m.Kind {
	case discordtest.KindOriginal:
		return m.InteractionID == it.ID
	case discordtest.KindChannel:
		return len(m.Embeds) > 0 && strings.HasPrefix(m.Embeds[0].Description, prompt) &&
			strings.Contains(m.Content, "<@"+it.User.ID+">")
	}
	return false
}

func TestSIGKILLWithTenJobsQueued(t *testing.T) {
	bin := lorabotBin(t)
	const stepTime = 30 * time.Millisecond
	dc := discordtest.New(t, discordtest.Options{HeartbeatInterval: 100 * time.Millisecond})
	sd := a1111test.Start(t, a1111test.Options{StepTime: stepTime})
	dir := t.TempDir()
	env := []string{
		"DISCORD_TOKEN=" + dc.Token(),
		"DISCORD_API_URL=" + dc.APIURL(),
		"DISCORD_GUILD_ID=" + discordtest.DefaultGuildID,
		"A1111_URL=" + sd.URL(),
		"DB_PATH=" + filepath.Join(dir, "data", "bot.db"),
		"MAX_QUEUE_PER_USER=10",
	}
	first := startBin(t, bin, dir, env)
	if _, err := dc.WaitCommands(ctxT(t)); err != nil {
		t.Fatalf("the bot did not register its commands: %v\nstderr:\n%s", err, first.stderr.String())
	}

	// Ten jobs from four users, each answered before the next is sent: the
	// first runs, nine wait. The first has 40 steps (1.2 s) so that it still
	// runs when the tenth is queued on a loaded machine; the others 20.
	users := []discordtest.User{alice, bob, carol, {ID: "300000000000000044", Name: "dave"}}
	var its []*discordtest.Interaction
	var prompts []string
	for i := range 10 {
		prompt := fmt.Sprintf("k%d a lighthouse at dusk", i+1)
		steps := 20
		if i == 0 {
			steps = 40
		}
		it := dc.SendCommand(discordtest.CommandSpec{User: users[i%len(users)], Name: "imagine",
			Options: []discordtest.Option{discordtest.String("prompt", prompt), discordtest.Int("steps", int64(steps))}})
		cb, err := it.WaitResponse(ctxT(t))
		if err != nil {
			t.Fatalf("no answer to job %d: %v\nstderr:\n%s", i+1, err, first.stderr.String())
		}
		if cb.Ephemeral() {
			t.Fatalf("job %d was refused: %q", i+1, cb.Content)
		}
		if i > 0 && !strings.Contains(cb.Content, "Queued") {
			t.Fatalf("job %d should wait behind the first; it says %q", i+1, cb.Content)
		}
		its, prompts = append(its, it), append(prompts, prompt)
	}
	// The bot records a job as running before it sends it: once A1111
	// samples it, the bbolt file says so.
	if err := sd.WaitStep(ctxT(t), 1); err != nil {
		t.Fatalf("the first job did not start: %v\nstderr:\n%s", err, first.stderr.String())
	}
	var st a1111.ProgressState
	_ = sd.WaitState(ctxT(t), func(s a1111.ProgressState) bool { st = s; return true })
	if n, held := len(sd.Jobs()), sd.InFlight(); n != 0 || held != 1 || st.SamplingStep > 30 {
		t.Fatalf("at the kill A1111 had finished %d generations, held %d, and was at step %d/40; want the first job well under way and 9 waiting in the bot", n, held, st.SamplingStep)
	}

	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	first.wait(t, wait)
	if got := len(sd.Requests()); got != 1 {
		t.Fatalf("A1111 received %d requests before the kill; want 1", got)
	}
	for i, it := range its {
		if m := it.Original(); crashResult(m, it, prompts[i]) {
			t.Fatalf("job %d (%s) ended before the kill: %q (shown %q)\nstderr:\n%s", i+1, it.User.Name, m.Content, m.Shown, first.stderr.String())
		}
	}

	// At the arrival of each request of the restarted bot, every generation
	// before it must have ended: none waits at A1111's lock behind another,
	// least of all behind the killed bot's, whose answer nobody reads.
	// (MaxConcurrent also counts a generation's answer after the lock,
	// which the bot cannot see; that is logged, not asserted.)
	wctx, stopWatch := context.WithTimeout(context.Background(), 2*wait)
	defer stopWatch()
	overlaps := make(chan []string, 1)
	go func() {
		var found []string
		for n := 2; n <= 11; n++ {
			if sd.WaitRequests(wctx, n) != nil {
				break
			}
			if ended := len(sd.Jobs()); ended < n-1 {
				found = append(found, fmt.Sprintf("request %d (%s) came while %d earlier generation(s) still ran or waited",
					n, strings.Fields(sd.Requests()[n-1].Prompt)[0], n-1-ended))
			}
		}
		overlaps <- found
	}()

	began := time.Now()
	second := startBin(t, bin, dir, env)
	var firstAt, lastAt time.Time
	for i, it := range its {
		m, err := dc.WaitChannelMessage(ctxT(t), func(m discordtest.Message) bool { return crashResult(m, it, prompts[i]) })
		if err != nil {
			t.Fatalf("job %d (%s) has no result after the restart: %v\nit shows %q\nstderr:\n%s",
				i+1, it.User.Name, err, it.Original().Content, second.stderr.String())
		}
		at := m.Created
		if m.Kind == discordtest.KindOriginal {
			at = m.Edited
		}
		if firstAt.IsZero() || at.Before(firstAt) {
			firstAt = at
		}
		if at.After(lastAt) {
			lastAt = at
		}
	}
	t.Logf("second start → first result %v, → last result %v (10 jobs, the first of 40 steps and 9 of 20, × %v, on one A1111)",
		firstAt.Sub(began).Round(time.Millisecond), lastAt.Sub(began).Round(time.Millisecond), stepTime)

	// Stopped, the bot can add nothing more: what the users see is final.
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := second.wait(t, wait); code != 0 {
		t.Errorf("the restarted bot exited %d on SIGTERM\nstderr:\n%s", code, second.stderr.String())
	}
	stopWatch()
	if found := <-overlaps; len(found) > 0 {
		t.Errorf("A1111 held two generations at once: %s; the restarted bot must not send a job while the killed one's generation still runs", strings.Join(found, "; "))
	}
	t.Logf("A1111 held at most %d requests at once, answers included", sd.MaxConcurrent())

	channel := dc.ChannelMessages(discordtest.DefaultChannelID)
	for i, it := range its {
		m := it.Original()
		if len(m.Attachments) != 1 {
			t.Errorf("job %d (%s) ended %q with %d images; want its image", i+1, it.User.Name, m.Content, len(m.Attachments))
		}
		results := 0
		for _, c := range m.Shown {
			if strings.HasPrefix(c, "✅") {
				results++
			}
		}
		for _, c := range channel {
			if c.Kind == discordtest.KindChannel && crashResult(c, it, prompts[i]) {
				results++
			}
		}
		if results != 1 {
			t.Errorf("job %d (%s) got %d results; want exactly one\nits message showed %q", i+1, it.User.Name, results, m.Shown)
		}
		// Edits are paced (one per 200 ms for all jobs) and the resumed
		// jobs' first ones go out in no set order: a job near the front
		// may start before its turn. From the sixth on they wait 3 s.
		if i >= 5 && !m.Showed("queued again after the bot restarted") {
			t.Errorf("job %d (%s) never said it was queued again after the restart; it showed %q", i+1, it.User.Name, m.Shown)
		}
	}
	count := map[string]int{}
	var order []string
	for _, r := range sd.Requests() {
		w := strings.Fields(r.Prompt)[0]
		count[w]++
		order = append(order, w)
	}
	if len(order) != 11 || count["k1"] != 2 || order[1] != "k1" {
		t.Errorf("A1111 received %d requests %v; want 11: the cut-off first job, again first after the restart, then every other once", len(order), order)
	}
	for i := 2; i <= 10; i++ {
		if n := count[fmt.Sprintf("k%d", i)]; n != 1 {
			t.Errorf("job %d was sent to A1111 %d times; want once", i, n)
		}
	}
}

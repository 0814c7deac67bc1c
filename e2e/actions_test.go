package e2e

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"lorabot/a1111/a1111test"
	"lorabot/bot/discordtest"
	"lorabot/gen"
	"lorabot/jobs"
	"lorabot/store"
)

// press clicks the button labelled label on m as user and waits for the
// first answer.
func (e *env) press(m discordtest.Message, label string, user discordtest.User) (*discordtest.Interaction, discordtest.Callback) {
	e.t.Helper()
	b, ok := m.FindButton(label)
	if !ok {
		e.t.Fatalf("no %q button on the result: %+v", label, m.Components)
	}
	it := e.dc.ClickButton(m, b.CustomID, user)
	return it, e.response(it)
}

// refusedPress checks a press was answered with one private sentence.
func refusedPress(t *testing.T, what string, cb discordtest.Callback, want string) {
	t.Helper()
	if !cb.Ephemeral() || !strings.Contains(cb.Content, want) || strings.Contains(cb.Content, "\n") || len(cb.Content) > 300 {
		t.Errorf("%s: answer %q (ephemeral %v), want one private sentence with %q", what, cb.Content, cb.Ephemeral(), want)
	}
}

// A result's Reroll, pressed by someone else, is their job: same settings,
// a new seed, a new message that answers the result (its lineage).
func TestRerollByAnotherUser(t *testing.T) {
	e := start(t, setup{})
	m := e.finished(e.imagine(alice, discordtest.String("prompt", "a lighthouse"), discordtest.String("lora", "studio_ghibli_v2"),
		discordtest.Int("steps", 12), discordtest.Int("seed", 77), discordtest.Int("count", 2)))
	first := e.sd.Requests()[0]

	it, cb := e.press(m, "Reroll", bob)
	if cb.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource {
		t.Fatalf("a press that starts a job must answer with a new message at once; got type %d", cb.Type)
	}
	again := e.finished(it)
	if len(again.Attachments) != 2 || !strings.Contains(again.Content, "<@"+bob.ID+">") || !strings.Contains(again.Content, "reroll of") {
		t.Errorf("reroll result: %q with %d images", again.Content, len(again.Attachments))
	}
	if again.ID == m.ID || again.InteractedMessageID != m.ID {
		t.Errorf("the reroll must be a new message answering the result %s; it is %s answering %q", m.ID, again.ID, again.InteractedMessageID)
	}
	if got, ok := e.dc.Message(m.ID); !ok || len(got.Attachments) != 2 || got.Content != m.Content {
		t.Errorf("the original result changed: %+v", got)
	}
	reqs := e.sd.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d generations, want 2", len(reqs))
	}
	r := reqs[1]
	if r.Prompt != first.Prompt || r.Steps != 12 || r.BatchSize != 2 || r.SamplerName != first.SamplerName || r.Seed != -1 {
		t.Errorf("reroll sent %+v\n  the first was %+v", r, first)
	}
	// bob owns it: alice may not delete it, he may.
	if _, cb := e.press(again, "Delete", alice); !cb.Ephemeral() || !strings.Contains(cb.Content, "<@"+bob.ID+">") {
		t.Errorf("alice deleting bob's reroll: %+v", cb)
	}
	e.press(again, "Delete", bob)
	if err := waitDeleted(e, again.ID); err != nil {
		t.Error(err)
	}
	if got, _ := e.dc.Message(m.ID); got.Deleted {
		t.Error("deleting the reroll deleted the result it came from")
	}
}

// Vary keeps the image's seed and mixes in a new subseed; subtle and
// strong differ in how much. With several images, V2 varies the second.
func TestVaryKeepsTheImagesSeed(t *testing.T) {
	e := start(t, setup{})
	m := e.finished(e.imagine(alice, discordtest.String("prompt", "a lighthouse"), discordtest.Int("seed", 500), discordtest.Int("count", 2)))
	it, _ := e.press(m, "V2", alice)
	v := e.finished(it)
	if !strings.Contains(v.Content, "subtle variation of image 2") {
		t.Errorf("variation message: %q", v.Content)
	}
	r := e.sd.Requests()[1]
	if r.Seed != 501 || r.Subseed != -1 || r.SubseedStrength != 0.1 || r.BatchSize != 2 {
		t.Errorf("V2 sent seed %d subseed %d strength %g batch %d; want 501 (image 2's), -1, 0.1, 2", r.Seed, r.Subseed, r.SubseedStrength, r.BatchSize)
	}
	if bytes.Equal(v.Attachments[0].Data, m.Attachments[1].Data) {
		t.Error("the variation is the same picture as image 2")
	}

	// Strong, from the select menu, on image 1.
	sel := e.dc.SelectValues(m, "resmore:"+jobIDOf(t, m), []string{"vx:1"}, bob)
	e.finished(sel)
	r = e.sd.Requests()[2]
	if r.Seed != 500 || r.SubseedStrength != 0.35 {
		t.Errorf("strong variation of image 1 sent seed %d strength %g", r.Seed, r.SubseedStrength)
	}
}

// Upscale sends the posted image through the server's upscaler and posts
// it at twice the size; a server that lists no upscaler gets a sentence,
// and nothing is queued.
func TestUpscale(t *testing.T) {
	e := start(t, setup{})
	m := e.finished(e.imagine(alice, discordtest.String("prompt", "a lighthouse"), discordtest.String("size", "256x320")))
	it, _ := e.press(m, "Upscale 2×", bob)
	up := e.finished(it)
	if len(up.Attachments) != 1 {
		t.Fatalf("upscale result: %q", up.Content)
	}
	if w, h := pngSize(t, up.Attachments[0].Data); w != 512 || h != 640 || !strings.Contains(up.Content, "512x640") {
		t.Errorf("upscaled to %dx%d, message %q; want 512x640 said", w, h, up.Content)
	}
	xs := e.sd.ExtrasRequests()
	if len(xs) != 1 || xs[0].Upscaler1 != "R-ESRGAN 4x+" || xs[0].UpscalingResize != 2 || !bytes.Equal(xs[0].Image, m.Attachments[0].Data) {
		t.Fatalf("extras requests: %d, want the posted image with R-ESRGAN 4x+ at 2", len(xs))
	}
	if up.InteractedMessageID != m.ID {
		t.Errorf("the upscale does not answer its result")
	}
	// Only Delete under an upscale; it is bob's.
	if _, ok := up.FindButton("Reroll"); ok {
		t.Error("an upscale offers Reroll")
	}
	if _, cb := e.press(up, "Delete", bob); cb.Type != discordgo.InteractionResponseDeferredMessageUpdate {
		t.Errorf("bob deleting his upscale: %+v", cb)
	}
	if err := waitDeleted(e, up.ID); err != nil {
		t.Error(err)
	}
}

func TestUpscaleWithoutAnUpscaler(t *testing.T) {
	e := start(t, setup{a1111: a1111test.Options{Upscalers: []string{"None"}}})
	m := e.finished(e.imagine(alice, discordtest.String("prompt", "a lighthouse"), discordtest.String("size", "256x256")))
	_, cb := e.press(m, "Upscale 2×", alice)
	refusedPress(t, "upscale with no upscaler", cb, "upscaler")
	if n := len(e.sd.ExtrasRequests()); n != 0 {
		t.Errorf("%d upscales reached A1111", n)
	}
}

// With two servers of which one lists no upscaler, the upscale runs on
// the one that has it; a server's size bound refuses an upscale beyond it.
func TestUpscaleGoesWhereTheUpscalerIs(t *testing.T) {
	e := start(t, setup{a1111: a1111test.Options{Upscalers: []string{"None", "Lanczos"}}, more: []a1111test.Options{{}}})
	m := e.finished(e.imagine(alice, discordtest.String("prompt", "a lighthouse"), discordtest.String("size", "256x256")))
	for range 2 {
		it, _ := e.press(m, "Upscale 2×", bob)
		e.finished(it)
	}
	if a, b := e.sds[0].ExtrasRequests(), e.sds[1].ExtrasRequests(); len(a) != 0 || len(b) != 2 || b[0].Upscaler1 != "R-ESRGAN 4x+" {
		t.Errorf("upscales: %d on the server with only Lanczos, %d on the one with R-ESRGAN 4x+", len(a), len(b))
	}
	admin := discordtest.CommandSpec{User: manager, GuildID: discordtest.DefaultGuildID, ChannelID: discordtest.DefaultChannelID}
	e.changed(admin, discordtest.Subcommand("limits", discordtest.String("max_size", "384x384")), "384")
	_, cb := e.press(m, "Upscale 2×", bob)
	refusedPress(t, "an upscale beyond the server's size bound", cb, "the result would be 512x512")
	if n := len(e.sds[1].ExtrasRequests()); n != 2 {
		t.Errorf("a refused upscale reached A1111")
	}
}

// Upscale (creative) runs img2img from the posted image at twice its size
// with low denoising and the image's seed.
func TestCreativeUpscale(t *testing.T) {
	e := start(t, setup{})
	m := e.finished(e.imagine(alice, discordtest.String("prompt", "a lighthouse"), discordtest.String("size", "256x320"), discordtest.Int("seed", 9)))
	it, _ := e.press(m, "Upscale (creative)", alice)
	up := e.finished(it)
	reqs := e.sd.Img2ImgRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d img2img requests", len(reqs))
	}
	r := reqs[0]
	if r.Width != 512 || r.Height != 640 || r.DenoisingStrength != 0.3 || r.Seed != 9 || len(r.InitImages) != 1 || !bytes.Equal(r.InitImages[0], m.Attachments[0].Data) {
		t.Errorf("creative upscale sent %dx%d strength %g seed %d", r.Width, r.Height, r.DenoisingStrength, r.Seed)
	}
	if w, h := pngSize(t, up.Attachments[0].Data); w != 512 || h != 640 {
		t.Errorf("creative upscale is %dx%d", w, h)
	}
	if !strings.Contains(up.Content, "creative upscale") {
		t.Errorf("message %q", up.Content)
	}
}

// Edit opens a form with the job's prompt, negative and LoRA weights; what
// the user changes there is the new job.
func TestEditAResult(t *testing.T) {
	e := start(t, setup{})
	m := e.finished(e.imagine(alice, discordtest.String("prompt", "a lighthouse"), discordtest.String("negative", "blurry"),
		discordtest.String("lora", "studio_ghibli_v2"), discordtest.Number("weight", 0.7), discordtest.Int("seed", 42)))
	it, cb := e.press(m, "Edit", bob)
	if cb.Type != discordgo.InteractionResponseModal {
		t.Fatalf("Edit must open a form, got %+v", cb)
	}
	shown := map[string]string{}
	for _, row := range cb.Components {
		for _, c := range row.Components {
			shown[c.CustomID] = c.Value
		}
	}
	if shown["prompt"] != "a lighthouse" || shown["negative"] != "blurry" || !strings.Contains(shown["loras"], ":0.7") || shown["seed"] != "42" {
		t.Errorf("form prefilled with %q", shown)
	}
	sub := e.dc.SubmitModal(it, map[string]string{"prompt": "a lighthouse at night", "negative": "", "loras": shown["loras"][:strings.LastIndex(shown["loras"], ":")] + ":1.2", "seed": "7"}, bob)
	again := e.finished(sub)
	r := e.sd.Requests()[1]
	if !strings.Contains(r.Prompt, "a lighthouse at night") || !strings.Contains(r.Prompt, ":1.2>") || r.Seed != 7 || strings.Contains(r.NegativePrompt, "blurry") {
		t.Errorf("edited job sent prompt %q negative %q seed %d", r.Prompt, r.NegativePrompt, r.Seed)
	}
	if !strings.Contains(again.Content, "<@"+bob.ID+">") {
		t.Errorf("the edited job is not bob's: %q", again.Content)
	}
	// A bad weight in the form: one sentence, nothing generated.
	it, _ = e.press(m, "Edit", bob)
	bad := e.response(e.dc.SubmitModal(it, map[string]string{"prompt": "x", "loras": "studio_ghibli_v2:heavy"}, bob))
	refusedPress(t, "a bad weight in the form", bad, "must be a number")
	if n := len(e.sd.Requests()); n != 2 {
		t.Errorf("%d generations after a refused form", n)
	}
}

// Delete is the owner's or a moderator's; it removes the message and the
// bot forgets the record, so its other buttons then say so.
func TestDeleteAResult(t *testing.T) {
	e := start(t, setup{})
	m := e.finished(e.imagine(alice, discordtest.String("prompt", "a lighthouse"), discordtest.String("size", "256x256")))
	_, cb := e.press(m, "Delete", bob)
	refusedPress(t, "bob deleting alice's result", cb, "Only <@"+alice.ID+">")
	if got, _ := e.dc.Message(m.ID); got.Deleted {
		t.Fatal("bob's press deleted alice's result")
	}
	mod := discordtest.User{ID: "300000000000000099", Name: "mod", Permissions: "8192"} // Manage Messages
	m2 := e.finished(e.imagine(alice, discordtest.String("prompt", "a lighthouse"), discordtest.String("size", "256x256")))
	e.press(m2, "Delete", mod)
	if err := waitDeleted(e, m2.ID); err != nil {
		t.Fatal(err)
	}
	e.press(m, "Delete", alice)
	if err := waitDeleted(e, m.ID); err != nil {
		t.Fatal(err)
	}
	// The bot forgot both results.
	e.stop()
	db, err := store.Open(e.cfg.DBPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, msg := range []discordtest.Message{m, m2} {
		id := jobIDOf(t, msg)
		if _, err := db.Job(id); !errors.Is(err, jobs.ErrNotFound) {
			t.Errorf("the record of deleted job %s: %v", id, err)
		}
		if _, err := db.Result(id); !errors.Is(err, gen.ErrResultNotFound) {
			t.Errorf("the settings of deleted job %s: %v", id, err)
		}
	}
}

// A button on a result posted before a restart works; one whose record
// was pruned says so clearly and queues nothing.
func TestButtonsAfterARestartAndAPrune(t *testing.T) {
	e := start(t, setup{})
	m := e.finished(e.imagine(alice, discordtest.String("prompt", "a lighthouse"), discordtest.String("size", "256x256")))
	m2 := e.finished(e.imagine(alice, discordtest.String("prompt", "a harbour"), discordtest.String("size", "256x256")))
	e.stop()
	db, err := store.Open(e.cfg.DBPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteJob(jobIDOf(t, m2)); err != nil { // as pruning would
		t.Fatal(err)
	}
	db.Close()
	e.run()

	it, _ := e.press(m, "Reroll", bob)
	if again := e.finished(it); len(again.Attachments) != 1 {
		t.Errorf("reroll after a restart: %q", again.Content)
	}
	_, cb := e.press(m2, "Reroll", bob)
	refusedPress(t, "a pruned result", cb, "no longer knows this result")
	if n := len(e.sd.Requests()); n != 3 {
		t.Errorf("%d generations; the pruned press must queue nothing", n)
	}
}

// /imagine image: runs img2img from the attachment, at the picture's shape;
// bad files are refused with one sentence and nothing is queued.
func TestImagineFromAPicture(t *testing.T) {
	e := start(t, setup{})
	pic := testPNG(t, 300, 200)
	it := e.imagine(alice, discordtest.String("prompt", "a watercolour"), discordtest.AttachmentOption("image", "sketch.png", pic))
	m := e.finished(it)
	reqs := e.sd.Img2ImgRequests()
	if len(reqs) != 1 || !bytes.Equal(reqs[0].InitImages[0], pic) || reqs[0].DenoisingStrength != 0.6 || reqs[0].Width != 640 || reqs[0].Height != 448 {
		t.Fatalf("img2img requests %d; want the attachment at strength 0.6, 640x448 (3:2 at SD1's area)", len(reqs))
	}
	if len(m.Attachments) != 1 {
		t.Errorf("img2img result: %q", m.Content)
	}
	for _, bad := range []struct {
		what, name string
		data       []byte
		want       string
	}{
		{"a renamed text file", "notes.png", []byte("these are my notes, not a picture"), "not an image"},
		{"an empty file", "empty.png", nil, "is empty"},
		{"a 12,000 × 12,000 PNG", "huge.png", pngHeader(12000, 12000), "12000×12000"},
		{"a file over 10 MiB", "big.png", append(pngHeader(100, 100), make([]byte, 11<<20)...), "at most 10 MiB"},
	} {
		cb := e.response(e.imagine(alice, discordtest.String("prompt", "x"), discordtest.AttachmentOption("image", bad.name, bad.data)))
		refusedPress(t, bad.what, cb, bad.want)
	}
	cb := e.response(e.imagine(alice, discordtest.String("prompt", "x"), discordtest.Number("strength", 0.5)))
	refusedPress(t, "strength without a picture", cb, "attach one")
	if n := len(e.sd.Img2ImgRequests()) + len(e.sd.Requests()); n != 1 {
		t.Errorf("%d generations; refused pictures must queue nothing", n)
	}
}

// /describe: the interrogator's caption, and a button that starts an
// /imagine from it after a form to adjust it.
func TestDescribeAPicture(t *testing.T) {
	e := start(t, setup{a1111: a1111test.Options{NoDeepDanbooru: true}})
	pic := testPNG(t, 64, 64)
	it := e.dc.SendCommand(discordtest.CommandSpec{User: alice, Name: "describe", Options: []discordtest.Option{discordtest.AttachmentOption("image", "cat.png", pic)}})
	m, err := it.WaitOriginal(ctxT(t), func(m discordtest.Message) bool {
		return strings.HasPrefix(m.Content, "📝 <@") || strings.HasPrefix(m.Content, "⚠️")
	})
	if err != nil {
		t.Fatalf("no description: %v\n%s", err, e.logs)
	}
	ints := e.sd.Interrogations()
	if len(ints) != 1 || ints[0].Model != "clip" || !bytes.Equal(ints[0].Image, pic) {
		t.Fatalf("interrogations: %+v", ints)
	}
	caption := m.Embeds[0].Description
	if caption == "" {
		t.Fatalf("no caption shown: %+v", m)
	}
	press, cb := e.press(m, "Imagine this…", bob)
	if cb.Type != discordgo.InteractionResponseModal {
		t.Fatalf("Imagine this must open a form: %+v", cb)
	}
	e.finished(e.dc.SubmitModal(press, map[string]string{"prompt": caption + ", oil painting"}, bob))
	if r := e.sd.Requests(); len(r) != 1 || !strings.Contains(r[0].Prompt, caption+", oil painting") {
		t.Errorf("the imagine from the caption sent %+v", r)
	}

	it = e.dc.SendCommand(discordtest.CommandSpec{User: alice, Name: "describe", Options: []discordtest.Option{
		discordtest.AttachmentOption("image", "cat.png", pic), discordtest.String("model", "deepdanbooru")}})
	m, err = it.WaitOriginal(ctxT(t), func(m discordtest.Message) bool { return strings.HasPrefix(m.Content, "⚠️") })
	if err != nil || !strings.Contains(m.Content, "deepdanbooru") {
		t.Errorf("a server without DeepDanbooru: %q %v", m.Content, err)
	}

	// The description shows the picture: a server that generates only in
	// age-restricted channels describes only there, and under the spoiler
	// policy the picture is not shown unblurred.
	admin := discordtest.CommandSpec{User: manager, GuildID: discordtest.DefaultGuildID, ChannelID: discordtest.DefaultChannelID}
	e.changed(admin, discordtest.Subcommand("policy", discordtest.String("value", "allow")), "allow")
	cb = e.response(e.dc.SendCommand(discordtest.CommandSpec{User: alice, Name: "describe", Options: []discordtest.Option{discordtest.AttachmentOption("image", "cat.png", pic)}}))
	refusedPress(t, "/describe outside an age-restricted channel under allow", cb, "age-restricted")
	e.changed(admin, discordtest.Subcommand("policy", discordtest.String("value", "spoiler")), "spoiler")
	it = e.dc.SendCommand(discordtest.CommandSpec{User: alice, Name: "describe", Options: []discordtest.Option{discordtest.AttachmentOption("image", "cat.png", pic)}})
	m, err = it.WaitOriginal(ctxT(t), func(m discordtest.Message) bool { return strings.HasPrefix(m.Content, "📝 <@") })
	if err != nil || m.Embeds[0].Thumbnail != nil {
		t.Errorf("a description under the spoiler policy shows the picture: %v %+v", err, m.Embeds)
	}
	if n := len(e.sd.Interrogations()); n != 3 {
		t.Errorf("%d interrogations; the refused one must not reach A1111", n)
	}
}

func mustButton(t *testing.T, m discordtest.Message, label string) string {
	t.Helper()
	b, ok := m.FindButton(label)
	if !ok {
		t.Fatalf("no %q button: %+v", label, m.Components)
	}
	return b.CustomID
}

// jobIDOf is the job record ID a result's Reroll button carries.
func jobIDOf(t *testing.T, m discordtest.Message) string {
	t.Helper()
	parts := strings.Split(mustButton(t, m, "Reroll"), ":")
	return parts[2]
}

func waitDeleted(e *env, id string) error { return e.dc.WaitDeleted(ctxT(e.t), id) }

// pngHeader is the start of a PNG that declares w×h pixels: enough for a
// header decode, far too little to decode.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 17)
	copy(ihdr, "IHDR")
	binary.BigEndian.PutUint32(ihdr[4:], w)
	binary.BigEndian.PutUint32(ihdr[8:], h)
	ihdr[12], ihdr[13] = 8, 6 // 8-bit RGBA
	binary.Write(&b, binary.BigEndian, uint32(13))
	b.Write(ihdr)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(ihdr))
	return b.Bytes()
}

// Two servers: a reroll runs under the bounds its server has today, and a
// button that names another server's result, a tampered record ID or an
// action the bot never made is refused with a sentence, queuing nothing.
func TestResultButtonsBetweenServers(t *testing.T) {
	e := startGlobal(t, setup{})
	adminA := at(guildA, chanA, manager)
	spec := at(guildA, chanA, alice)
	spec.Name, spec.Options = "imagine", []discordtest.Option{discordtest.String("prompt", "a lighthouse"), discordtest.Int("steps", 20), discordtest.String("size", "256x256")}
	mA := e.finished(e.dc.SendCommand(spec))
	mB := e.imaged(at(guildB, chanB, bob), "a fox")
	e.changed(adminA, discordtest.Subcommand("limits", discordtest.Int("max_steps", 10)), "10")

	it, _ := e.press(mA, "Reroll", bob)
	e.finished(it)
	if r := e.sd.Requests(); len(r) != 3 || r[2].Steps != 10 {
		t.Fatalf("the reroll under A's new bound of 10 steps sent %d steps", r[len(r)-1].Steps)
	}
	before := len(e.sd.Requests())
	idB := jobIDOf(t, mB)
	tampered := idB[:len(idB)-1] + string("0123456789"[(strings.IndexByte("0123456789", idB[len(idB)-1])+1)%10])
	for _, c := range []struct{ what, id, want string }{
		{"A's result from B", "res:rr:" + jobIDOf(t, mA), "not one this bot made"},
		{"a tampered record ID", "res:rr:" + tampered, "not one this bot made"},
		{"an action the bot never made", "res:zz:" + idB, "not one this bot made"},
		{"an image the result lacks", "res:up:" + idB + ":4", "no image 4"},
		{"a prefix the bot never made", "nosuch:1", "no longer works"},
		{"Delete of A's result from B", "resdel:" + jobIDOf(t, mA), "not one this bot made"},
		{"Delete of B's result naming A's job", "resdel:" + jobIDOf(t, mA), "not one this bot made"},
	} {
		refusedPress(t, c.what, e.response(e.dc.ForgeComponent(mB, c.id, bob)), c.want)
	}
	if n := len(e.sd.Requests()) + len(e.sd.ExtrasRequests()); n != before {
		t.Errorf("refused presses queued %d jobs", n-before)
	}
	for _, m := range []discordtest.Message{mA, mB} {
		if got, _ := e.dc.Message(m.ID); got.Deleted {
			t.Errorf("a refused press deleted message %s", m.ID)
		}
	}
	// A's record is still there: its Edit opens the form.
	if _, cb := e.press(mA, "Edit", bob); cb.Type != discordgo.InteractionResponseModal {
		t.Errorf("A's result lost its record: %+v", cb)
	}
}

// An img2img job cut off by a restart runs again from its picture's URL:
// only the URL is in its record.
func TestImg2ImgJobSurvivesARestart(t *testing.T) {
	e := start(t, setup{a1111: a1111test.Options{StepTime: 20 * time.Millisecond}})
	pic := testPNG(t, 200, 200)
	it := e.imagine(alice, discordtest.String("prompt", "a watercolour"), discordtest.Int("steps", 100),
		discordtest.AttachmentOption("image", "sketch.png", pic))
	if err := e.sd.WaitGenerating(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	e.restart()
	m := e.finished(it)
	reqs := e.sd.Img2ImgRequests()
	if len(m.Attachments) != 1 || len(reqs) != 2 || !bytes.Equal(reqs[1].InitImages[0], pic) {
		t.Fatalf("after the restart: %q, %d img2img requests", m.Content, len(reqs))
	}
}

// A compare's cell menus are tied to their job like a result's buttons: a
// crafted pick naming another server's compare is refused, and a real one
// is planned again under the server's bounds of today.
func TestCompareMenusBetweenServers(t *testing.T) {
	e := startGlobal(t, setup{})
	spec := at(guildA, chanA, alice)
	spec.Name, spec.Options = "compare", []discordtest.Option{discordtest.String("prompt", "secret prompt of A"), discordtest.String("lora", "add_detail"),
		discordtest.String("weights", "0, 1"), discordtest.String("size", "128x128")}
	grid := e.finished(e.dc.SendCommand(spec))
	mB := e.imaged(at(guildB, chanB, bob), "a fox")
	idA := strings.Split(grid.Attachments[0].Filename, "_")[1]
	before := len(e.sd.Requests())
	for _, c := range []struct{ what, id string }{
		{"a cell of A's compare picked from B", "cmpcell:" + idA},
		{"A's cell saved as a preset from B", "cmpsave:" + idA},
	} {
		refusedPress(t, c.what, e.response(e.dc.ForgeSelect(mB, c.id, []string{"1"}, bob)), "not one this bot made")
	}
	if n := len(e.sd.Requests()); n != before {
		t.Fatalf("a crafted pick ran %d generations", n-before)
	}
	adminA := at(guildA, chanA, manager)
	e.changed(adminA, discordtest.Subcommand("limits", discordtest.Int("max_steps", 10)), "10")
	cell := e.finished(e.dc.SelectValues(grid, "cmpcell:"+idA, []string{"1"}, bob))
	r := e.sd.Requests()[len(e.sd.Requests())-1]
	if len(cell.Attachments) != 1 || r.Steps != 10 || !strings.HasSuffix(r.Prompt, "secret prompt of A <lora:add_detail:1>") {
		t.Errorf("the full-size cell sent %d steps, prompt %q; want A's bound of 10 and the cell's prompt", r.Steps, r.Prompt)
	}
}

package a1111test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"lorabot/a1111"
)

// Job is one finished generation, as the fake ran it.
type Job struct {
	Request     a1111.Txt2ImgRequest
	Checkpoint  string   // the title it ran on: the override's when known, else the option's
	Loaded      bool     // its checkpoint had to be loaded first (ModelSwitchTime), as the weights in memory differed
	Sampler     string   // what ran, after the server's fallbacks (see resolveSampler)
	Scheduler   string   // the scheduler's label as the server reports it ("Karras", "Automatic"); "" where the server has none
	TaskID      string   // the task it was filed under: its force_task_id, or an id of the server's own
	StepsDone   int      // sampling steps run, over all batches
	Images      int      // images returned, extras included
	Interrupted bool     // /interrupt ended it early
	Skipped     int      // batches cut short by /skip
	LoRAs       []string // <lora:…> names that loaded, as typed
	Ignored     []string // <lora:…> names A1111 did not find and ignored
	Img2Img     bool     // it came on /img2img (Request holds its txt2img fields)
	Denoising   float64  // img2img: the denoising_strength it ran with
}

// fifoLock is A1111's queue_lock: one generation at a time, waiters served
// in order of arrival.
type fifoLock struct {
	mu      sync.Mutex
	busy    bool
	waiters []chan struct{}
}

// enqueue takes a place in line; the returned channel closes when it is
// this place's turn. Taking the place apart from waiting lets a request be
// recorded and queued in one step, so that arrival order is lock order.
func (l *fifoLock) enqueue() chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	ch := make(chan struct{})
	if !l.busy {
		l.busy = true
		close(ch)
		return ch
	}
	l.waiters = append(l.waiters, ch)
	return ch
}

// wait waits for the turn of place ch, or gives the place up and returns
// false when stop closes first.
func (l *fifoLock) wait(ch chan struct{}, stop <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-stop:
		l.mu.Lock()
		defer l.mu.Unlock()
		for i, w := range l.waiters {
			if w == ch {
				l.waiters = append(l.waiters[:i], l.waiters[i+1:]...)
				return false
			}
		}
		// Our turn came just as stop closed: pass it on.
		l.unlockLocked()
		return false
	}
}

func (l *fifoLock) unlock() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.unlockLocked()
}

func (l *fifoLock) unlockLocked() {
	if len(l.waiters) == 0 {
		l.busy = false
		return
	}
	next := l.waiters[0]
	l.waiters = l.waiters[1:]
	close(next)
}

// extraNetworkRE is A1111's extra-network tag syntax.
var extraNetworkRE = regexp.MustCompile(`<(\w+):([^>]+)>`)

// plan is a request with A1111's defaults and fallbacks applied.
type plan struct {
	req       a1111.Txt2ImgRequest
	params    map[string]any
	width     int
	height    int
	steps     int
	batch     int
	iters     int
	cfg       float64
	sampler   string
	scheduler string
	seed      int64
	model     a1111.Model // the override's, else resolved when the job starts
	override  bool
	loraNames []string // as typed in the prompt, in order
	// loraWeights are the tags' (TE) weights, by loraNames' index: A1111's
	// default multiplier, 1, when a tag gives none.
	loraWeights []float64
	taskID      string        // "" when the flavor files API jobs under no task (SD.Next)
	job         string        // shared.state.job: "scripts_txt2img", "scripts_img2img"
	init        []image.Image // img2img: the decoded init images; nil for txt2img
	denoise     float64       // img2img: denoising_strength
}

func (s *Server) txt2img(w http.ResponseWriter, r *http.Request, epoch <-chan struct{}) {
	s.generation(w, r, epoch, false)
}

// img2img is POST /sdapi/v1/img2img: txt2img's handling, after the init
// images are read (img2imgapi: 404 "Init image not found" without them,
// 500 "Invalid encoded image" for one that does not decode).
func (s *Server) img2img(w http.ResponseWriter, r *http.Request, epoch <-chan struct{}) {
	s.generation(w, r, epoch, true)
}

// img2imgJSON holds img2img's own fields as sent: init images as base64
// strings (A1111 also takes data: URLs), denoising_strength absent or not.
type img2imgJSON struct {
	InitImages        []string `json:"init_images"`
	DenoisingStrength *float64 `json:"denoising_strength"`
	ResizeMode        int      `json:"resize_mode"`
	ImageCFGScale     float64  `json:"image_cfg_scale"`
}

// generation runs a txt2img or an img2img request: both take the one lock,
// are filed as tasks and report progress the same way.
func (s *Server) generation(w http.ResponseWriter, r *http.Request, epoch <-chan struct{}, img2img bool) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	var req a1111.Txt2ImgRequest
	if err := json.Unmarshal(body, &req); err != nil {
		s.validationError(w, err)
		return
	}
	var params map[string]any
	_ = json.Unmarshal(body, &params)
	var i2i img2imgJSON
	if img2img {
		if err := json.Unmarshal(body, &i2i); err != nil {
			s.validationError(w, err)
			return
		}
		// The answer's echo leaves the images out (include_init_images
		// is false).
		params["init_images"], params["mask"] = nil, nil
	}

	s.mu.Lock()
	if img2img {
		rec := a1111.Img2ImgRequest{Txt2ImgRequest: req, ResizeMode: i2i.ResizeMode, ImageCFGScale: i2i.ImageCFGScale}
		if i2i.DenoisingStrength != nil {
			rec.DenoisingStrength = *i2i.DenoisingStrength
		}
		for _, b := range i2i.InitImages {
			raw, _ := decodeB64Image(b)
			rec.InitImages = append(rec.InitImages, raw)
		}
		s.img2imgRequests = append(s.img2imgRequests, rec)
	} else {
		s.requests = append(s.requests, req)
	}
	old := s.oldServer
	s.notifyLocked()
	s.mu.Unlock()

	p := newPlan(req, params)
	kind := "txt2img"
	if img2img {
		kind = "img2img"
		if i2i.InitImages == nil {
			s.httpError(w, http.StatusNotFound, "Init image not found")
			return
		}
		p.denoise = 0.75
		if i2i.DenoisingStrength != nil {
			p.denoise = *i2i.DenoisingStrength
		}
		for _, b := range i2i.InitImages {
			img, err := decodeImage(b)
			if err != nil {
				s.httpError(w, http.StatusInternalServerError, "Invalid encoded image")
				return
			}
			p.init = append(p.init, img)
		}
	}
	p.job = "scripts_" + kind
	var ok bool
	// The sampler is checked before the job is queued (text2imgapi).
	if p.sampler, p.scheduler, ok = s.resolveSampler(old, req.SamplerName, req.Scheduler); !ok {
		s.httpError(w, http.StatusNotFound, "Sampler not found")
		return
	}
	if s.opts.Flavor != FlavorSDNext {
		p.taskID = req.ForceTaskID
		if p.taskID == "" {
			p.taskID = createTaskID(kind)
		}
	}

	s.mu.Lock()
	if p.taskID != "" {
		s.tasks.add(p.taskID, time.Now())
	}
	turn := s.lock.enqueue()
	s.inflight++
	s.maxInfl = max(s.maxInfl, s.inflight)
	s.notifyLocked()
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inflight--
		s.notifyLocked()
		s.mu.Unlock()
	}()

	// As in A1111 the job runs to its end even when the client hangs up;
	// only /interrupt, the server going down or closing stops it.
	if !s.lock.wait(turn, epoch) {
		return
	}
	job, produced, ok := s.run(&p, epoch)
	s.lock.unlock()
	if !ok {
		return
	}
	// A1111 encodes the images after releasing the lock.
	s.answer(w, p, job, produced)
}

func newPlan(req a1111.Txt2ImgRequest, params map[string]any) plan {
	p := plan{req: req, params: params}
	orDefault := func(v, d int) int {
		if v <= 0 {
			return d
		}
		return v
	}
	// Latents are 1/8 of the image: sizes round down to multiples of 8. The
	// cap keeps a test's typo from eating the machine's memory.
	p.width = min(max(orDefault(req.Width, 512)/8*8, 64), 4096)
	p.height = min(max(orDefault(req.Height, 512)/8*8, 64), 4096)
	p.steps = orDefault(req.Steps, 50)
	p.batch = orDefault(req.BatchSize, 1)
	p.iters = orDefault(req.NIter, 1)
	p.cfg = req.CFGScale
	if p.cfg == 0 {
		p.cfg = 7
	}
	p.seed = req.Seed
	if p.seed == -1 {
		p.seed = int64(rand.Uint32())
	}
	for _, m := range extraNetworkRE.FindAllStringSubmatch(req.Prompt, -1) {
		if m[1] != "lora" && m[1] != "lyco" {
			continue
		}
		name, rest, _ := strings.Cut(m[2], ":")
		p.loraNames = append(p.loraNames, name)
		w, err := strconv.ParseFloat(strings.Split(rest, ":")[0], 64)
		if err != nil {
			w = 1
		}
		p.loraWeights = append(p.loraWeights, w)
	}
	return p
}

// run is process_images under the lock: begin, apply the overrides, load the
// checkpoint if the weights in memory differ, then sample step by step; the
// overrides are put back and the state ended whatever happens. It returns
// false when the server went down or closed meanwhile.
func (s *Server) run(p *plan, stop <-chan struct{}) (Job, int, bool) {
	s.mu.Lock()
	s.gen.begin(p.job, time.Now())
	if p.taskID != "" {
		s.tasks.start(p.taskID)
	}
	var restore func()
	p.model, restore = s.overrideLocked(p)
	s.notifyLocked()
	s.mu.Unlock()
	job := Job{Request: p.req, Checkpoint: p.model.Title, Sampler: p.sampler, Scheduler: p.scheduler, TaskID: p.taskID,
		Img2Img: p.init != nil, Denoising: p.denoise}
	// down ends a job the server lost; its state went with the server.
	down := func() (Job, int, bool) {
		s.mu.Lock()
		restore()
		s.notifyLocked()
		s.mu.Unlock()
		return job, 0, false
	}

	loaded, ok := s.ensureLoaded(p.model, stop)
	if !ok {
		return down()
	}
	job.Loaded = loaded
	s.mu.Lock()
	// Loading hashed the file: the job ran on the title it has now.
	p.model = s.modelByFileLocked(p.model.Filename)
	job.Checkpoint = p.model.Title
	// job_count is set only now: during the load /progress shows -1.
	s.gen.jobCount = p.iters
	// Resolve LoRAs; A1111 rescans its folders once when a name is unknown.
	var missing bool
	for _, n := range p.loraNames {
		if _, ok := s.index.lookup(n); !ok {
			missing = true
		}
	}
	if missing {
		s.refreshLocked()
	}
	for _, n := range p.loraNames {
		if _, ok := s.index.lookup(n); ok {
			job.LoRAs = append(job.LoRAs, n)
		} else {
			job.Ignored = append(job.Ignored, n)
		}
	}
	if s.opts.Flavor == FlavorForge && len(job.Ignored) > 0 {
		// Forge's load_networks fails on the unknown name after it listed
		// the others, the activation is abandoned, and the empty
		// activation that follows loads nothing: no LoRA applies and no
		// "Lora hashes" is written (extensions-builtin/sd_forge_lora).
		job.Ignored, job.LoRAs = p.loraNames, nil
	}
	s.notifyLocked()
	s.mu.Unlock()

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	produced := 0
	for range p.iters {
		// As in A1111, a skip is cleared and an interrupt obeyed only
		// between batches (and checked by the sampler at every step).
		s.mu.Lock()
		s.gen.skipped = false
		interrupted := s.gen.interrupted
		if !interrupted {
			s.gen.steps = p.samplerSteps() // the sampler sets it as it starts
		}
		s.notifyLocked()
		s.mu.Unlock()
		if interrupted {
			job.Interrupted = true
			break
		}
		for st := 0; st < p.samplerSteps(); st++ {
			timer.Reset(s.opts.StepTime)
			select {
			case <-timer.C:
			case <-stop:
				return down()
			}
			s.mu.Lock()
			interrupted, skipped := s.gen.interrupted, s.gen.skipped
			if !interrupted && !skipped {
				s.gen.step = st + 1
				job.StepsDone++
				s.notifyLocked()
			}
			s.mu.Unlock()
			if interrupted {
				job.Interrupted = true
				break
			}
			if skipped {
				job.Skipped++
				break
			}
		}
		// The cut-short batch is still decoded and returned, as in A1111.
		produced += p.batch
		s.mu.Lock()
		s.gen.nextjob()
		s.notifyLocked()
		s.mu.Unlock()
	}
	job.Images = produced
	if produced > 0 {
		job.Images += s.opts.ExtraImages
	}
	s.mu.Lock()
	restore()
	if p.taskID != "" {
		s.tasks.finish(p.taskID)
	}
	s.gen.end()
	s.jobs = append(s.jobs, job)
	s.notifyLocked()
	s.mu.Unlock()
	return job, produced, true
}

// answer writes the txt2img response: PNGs with their infotext, the request
// echo, and the info JSON string.
func (s *Server) answer(w http.ResponseWriter, p plan, job Job, produced int) {
	s.mu.Lock()
	var hashes, names, sdnextHashes []string
	for _, n := range job.LoRAs {
		e, _ := s.index.lookup(n)
		// A1111 strips these two from the names as typed, so that the
		// list parses (ExtraNetworkLora.remove_symbols).
		clean := strings.NewReplacer(":", "", ",", "").Replace(n)
		hashes = append(hashes, clean+": "+e.shorthash)
		names = append(names, e.name)
		sdnextHashes = append(sdnextHashes, e.shorthash)
	}
	format, _ := s.options["samples_format"].(string)
	s.mu.Unlock()
	// What the LoRAs that loaded did, for the band of every image.
	weights := map[string]float64{}
	for i, n := range p.loraNames {
		if slices.Contains(job.LoRAs, n) {
			weights[n] += p.loraWeights[i]
		}
	}
	band := WeightMark(weights)
	extra := map[string]any{}
	if p.scheduler != "" && !strings.EqualFold(p.scheduler, "automatic") {
		extra["Schedule type"] = p.scheduler
	}
	switch {
	case len(hashes) == 0:
	case s.opts.Flavor == FlavorSDNext:
		// modules/lora/extra_networks_lora.py infotext: the networks by
		// their (SD.Next) names, and the hashes alone.
		extra["LoRA networks"] = strings.Join(names, ", ")
		extra["LoRA hashes"] = strings.Join(sdnextHashes, ", ")
	default:
		extra["Lora hashes"] = strings.Join(hashes, ", ")
	}
	version := "v1.10.1"
	if s.opts.Flavor == FlavorForge {
		version = "f2.0.1v1.10.1-previous-669-gdfdcbab6"
	}
	n := produced
	seeds := make([]int64, n)
	subseeds := make([]int64, n)
	infotexts := make([]string, n)
	extras := job.Images - produced
	images := make([]string, 0, n+extras)
	// As processing.py does: with a subseed strength every image keeps the
	// seed and the subseeds count up; without, the seeds count up.
	strength := p.req.SubseedStrength
	subseed := p.req.Subseed
	if subseed <= 0 {
		subseed = p.seed + 1000
		if p.req.Subseed == -1 {
			subseed = int64(rand.Uint32())
		}
	}
	for i := range n {
		seeds[i], subseeds[i] = p.seed+int64(i), subseed+int64(i)
		look := seeds[i] // what the picture is drawn from
		if strength > 0 {
			seeds[i] = p.seed
			look = p.seed*31 + subseeds[i]*int64(1+strength*100)
		}
		infotexts[i] = infotext(p, seeds[i], extra, version)
		var img []byte
		if p.init != nil && (format == "" || strings.EqualFold(format, "png")) {
			img = blendPNG(p.init[i%len(p.init)], p.width, p.height, look, p.denoise, infotexts[i])
		} else {
			img = s.encodeImage(format, p.width, p.height, look, infotexts[i], &band)
		}
		images = append(images, base64.StdEncoding.EncodeToString(img))
	}
	for i := range extras {
		images = append(images, base64.StdEncoding.EncodeToString(makePNG(p.width, p.height, -int64(i+1), false, "", nil)))
	}
	info := map[string]any{
		"prompt": p.req.Prompt, "all_prompts": repeat(p.req.Prompt, n),
		"negative_prompt": p.req.NegativePrompt, "all_negative_prompts": repeat(p.req.NegativePrompt, n),
		"seed": p.seed, "all_seeds": seeds, "subseed": subseed, "all_subseeds": subseeds,
		"subseed_strength": strength, "width": p.width, "height": p.height, "sampler_name": p.sampler,
		"cfg_scale": p.cfg, "steps": p.steps, "batch_size": p.batch, "restore_faces": false,
		"face_restoration_model": nil, "sd_model_name": p.model.ModelName, "sd_model_hash": p.model.Hash,
		"sd_vae_name": nil, "sd_vae_hash": nil, "seed_resize_from_w": -1, "seed_resize_from_h": -1,
		"denoising_strength": denoisingInfo(p), "extra_generation_params": extra, "index_of_first_image": 0,
		"infotexts": infotexts, "styles": []string{}, "job_timestamp": time.Now().Format("20060102150405"),
		"clip_skip": 1, "is_using_inpainting_conditioning": false, "version": version,
	}
	if s.opts.Flavor == FlavorSDNext {
		// modules/processing.py Processed.js: no model name, no version,
		// no face restoration; cfg_end and the detailer instead.
		for _, k := range []string{"sd_model_name", "version", "restore_faces", "face_restoration_model", "sd_vae_name", "sd_vae_hash", "is_using_inpainting_conditioning"} {
			delete(info, k)
		}
		info["cfg_end"], info["detailer"], info["detailer_model"] = 1, false, nil
	}
	infoJSON, err := json.Marshal(info)
	if err != nil {
		panic(err) // only plain values: cannot happen
	}
	if p.params == nil {
		p.params = map[string]any{}
	}
	writeJSON200(w, map[string]any{"images": images, "parameters": p.params, "info": string(infoJSON)})
}

// encodeImage writes one generated image in the samples_format option, as
// A1111's encode_pil_to_base64 does: PNG with the infotext in a text chunk,
// or JPEG or WEBP (A1111 puts the infotext in their EXIF; the fake leaves it
// out). The option is read after the job, when an override of it has been
// restored, so only the server's own setting counts, as in A1111. PNGs
// carry band across their middle (WeightMark); JPEG and WEBP do not.
func (s *Server) encodeImage(format string, w, h int, seed int64, params string, band *color.RGBA) []byte {
	switch strings.ToLower(format) {
	case "webp":
		tint := uint8(seed * 37)
		return SolidWebP(w, h, color.NRGBA{R: 0x80, G: 0x40, B: tint, A: 0xff})
	case "jpg", "jpeg":
		var buf bytes.Buffer
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		if err := jpeg.Encode(&buf, img, nil); err != nil {
			panic(err) // writing to memory: cannot fail
		}
		return buf.Bytes()
	}
	return makePNG(w, h, seed, s.opts.NoisyImages, params, band)
}

// denoisingInfo is info's denoising_strength: img2img's, null for a
// txt2img without hires fix.
func denoisingInfo(p plan) any {
	if p.init == nil {
		return nil
	}
	return p.denoise
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// infotext writes A1111's generation parameters text, as stored in the PNG.
func infotext(p plan, seed int64, extra map[string]any, version string) string {
	var b strings.Builder
	b.WriteString(p.req.Prompt)
	if p.req.NegativePrompt != "" {
		b.WriteString("\nNegative prompt: " + p.req.NegativePrompt)
	}
	fmt.Fprintf(&b, "\nSteps: %d, Sampler: %s", p.steps, p.sampler)
	if st, ok := extra["Schedule type"].(string); ok {
		fmt.Fprintf(&b, ", Schedule type: %s", st)
	}
	fmt.Fprintf(&b, ", CFG scale: %g, Seed: %d, Size: %dx%d, Model hash: %s, Model: %s",
		p.cfg, seed, p.width, p.height, p.model.Hash, p.model.ModelName)
	if p.init != nil {
		fmt.Fprintf(&b, ", Denoising strength: %g", p.denoise)
	}
	if h, ok := extra["Lora hashes"].(string); ok {
		fmt.Fprintf(&b, ", Lora hashes: %q", h)
	}
	b.WriteString(", Version: " + version)
	return b.String()
}

// samplerSteps is how many steps the sampler runs, what /progress shows as
// sampling_steps: an img2img job denoises only part of the way, so A1111
// runs int(min(denoising_strength, 0.999) × steps) + 1 of them
// (sd_samplers_common.setup_img2img_steps, then launch_sampling(t_enc+1)).
func (p plan) samplerSteps() int {
	if p.init == nil {
		return p.steps
	}
	return int(min(p.denoise, 0.999)*float64(p.steps)) + 1
}

// Package a1111 talks to an AUTOMATIC1111 WebUI (or its API-compatible forks
// Forge and SD.Next) over HTTP. It knows A1111's JSON shapes and its error
// forms, and nothing of Discord.
package a1111

// LoRA is one entry of GET /sdapi/v1/loras, reduced to the metadata the bot
// uses. Everything else in the safetensors metadata (cover images, training
// settings) is skipped while decoding so that a large catalog is never held.
type LoRA struct {
	Name  string // file stem: what <lora:NAME:…> uses
	Alias string // ss_output_name or the stem
	Path  string // absolute path on the A1111 machine
	Meta  LoRAMeta
}

// LoRAMeta holds the metadata keys the catalog derives facts from. Values are
// as A1111 sends them (strings), except TagFrequency, which A1111 parses.
type LoRAMeta struct {
	BaseModelVersion string                    // ss_base_model_version, e.g. "sd_v1", "sdxl_base_v1-0"
	V2               string                    // ss_v2, "True"/"False"
	Architecture     string                    // modelspec.architecture
	Title            string                    // modelspec.title
	TriggerPhrase    string                    // modelspec.trigger_phrase
	SDModelName      string                    // ss_sd_model_name
	OutputName       string                    // ss_output_name
	ModelHash        string                    // sshs_model_hash: A1111's "Lora hashes" show its first 12 characters
	TagFrequency     map[string]map[string]int // ss_tag_frequency: dataset dir → tag → count
}

// Txt2ImgRequest is the body of POST /sdapi/v1/txt2img. Zero values are
// omitted so that A1111's own defaults apply.
type Txt2ImgRequest struct {
	Prompt         string `json:"prompt"`
	NegativePrompt string `json:"negative_prompt,omitempty"`
	Seed           int64  `json:"seed"` // -1 for random
	// Subseed (-1: random) is mixed into the seed's noise by
	// SubseedStrength (0 to 1): a variation of the seed's image.
	Subseed         int64   `json:"subseed,omitempty"`
	SubseedStrength float64 `json:"subseed_strength,omitempty"`
	SamplerName     string  `json:"sampler_name,omitempty"`
	Scheduler       string  `json:"scheduler,omitempty"`
	BatchSize       int     `json:"batch_size,omitempty"`
	NIter           int     `json:"n_iter,omitempty"`
	Steps           int     `json:"steps,omitempty"`
	CFGScale        float64 `json:"cfg_scale,omitempty"`
	// DistilledCFGScale is Flux's distilled guidance on Forge (its default
	// 3.5); other servers ignore the field.
	DistilledCFGScale float64        `json:"distilled_cfg_scale,omitempty"`
	Width             int            `json:"width,omitempty"`
	Height            int            `json:"height,omitempty"`
	OverrideSettings  map[string]any `json:"override_settings,omitempty"`
	// ForceTaskID files the job under this id in the server's task queue
	// (A1111 1.8+, Forge), so that POST /internal/progress can say whether
	// it waits, runs or is done. Generate sets a fresh one when it is
	// empty; servers without the field ignore it.
	ForceTaskID string `json:"force_task_id,omitempty"`
}

// Img2ImgRequest is the body of POST /sdapi/v1/img2img: txt2img's fields
// (Width and Height are the output's size; the init image is resized to
// it) plus the image to start from. Zero values are omitted, so that
// A1111's defaults apply: DenoisingStrength 0 means A1111's 0.75, so a
// caller wanting the init image nearly unchanged sends a small value, not
// 0. There is no mask: inpainting is not used.
type Img2ImgRequest struct {
	Txt2ImgRequest
	// InitImages are image files (PNG, JPEG, WEBP); encoding/json sends
	// each as the base64 string A1111 expects. A1111 answers 404 "Init
	// image not found" without one and 500 "Invalid encoded image" for
	// bytes that are no image.
	InitImages [][]byte `json:"init_images"`
	// DenoisingStrength is how much of the init image is redrawn, 0..1:
	// 0.2–0.35 keeps its composition, 0.75 (A1111's default) keeps little.
	DenoisingStrength float64 `json:"denoising_strength,omitempty"`
	// ResizeMode fits the init image to Width×Height: 0 just resize
	// (A1111's default), 1 crop and resize, 2 resize and fill, 3 latent
	// upscale.
	ResizeMode int `json:"resize_mode,omitempty"`
	// ImageCFGScale is the image guidance of instruct-pix2pix models;
	// other models ignore it.
	ImageCFGScale float64 `json:"image_cfg_scale,omitempty"`
}

// Txt2ImgResult is A1111's answer with the images decoded to PNG bytes.
// img2img answers the same shape.
type Txt2ImgResult struct {
	// Images are the image files in order, as the server encoded them: PNG
	// by default, JPEG or WEBP when its samples_format option says so (all
	// three decode with image.Decode in this program: see webp.go). Forge
	// may append extra images after the requested ones.
	Images [][]byte
	Info   Info // parsed leniently from the "info" string; zero when absent or unparsable
}

// Info is the parsed "info" field of a txt2img answer.
type Info struct {
	Seed                  int64             `json:"seed"`
	AllSeeds              []int64           `json:"all_seeds"`
	AllSubseeds           []int64           `json:"all_subseeds"`
	SubseedStrength       float64           `json:"subseed_strength"`
	Width                 int               `json:"width"`
	Height                int               `json:"height"`
	SamplerName           string            `json:"sampler_name"`
	CFGScale              float64           `json:"cfg_scale"`
	Steps                 int               `json:"steps"`
	SDModelName           string            `json:"sd_model_name"`
	SDModelHash           string            `json:"sd_model_hash"`
	ExtraGenerationParams map[string]any    `json:"extra_generation_params"`
	Infotexts             []string          `json:"infotexts"`
	Version               string            `json:"version"`
	LoraHashes            map[string]string `json:"-"` // from extra_generation_params["Lora hashes"]: LoRA name → hash, for every LoRA that really loaded
}

// Progress is GET /sdapi/v1/progress, which describes whatever the server
// runs now, and, during Generate, what POST /internal/progress says of the
// generation's own task (the fields after TextInfo).
//
// When Own is true the figures are this generation's: Queued with its
// place, or Active with Progress, ETARelative and State (read from
// /sdapi/v1/progress while the task holds the lock, so they are its own),
// or Done. When Own is false the server cannot tell (no web UI routes,
// SD.Next, a task not filed yet) and Progress and State are the global
// ones, which belong to someone else's job while another holds the lock.
type Progress struct {
	Progress     float64       `json:"progress"`     // 0..1
	ETARelative  float64       `json:"eta_relative"` // seconds
	State        ProgressState `json:"state"`
	CurrentImage string        `json:"current_image"` // base64, only when asked and live previews are on
	TextInfo     string        `json:"textinfo"`

	Own      bool   `json:"-"` // the fields below and the figures above are this generation's task's
	Queued   bool   `json:"-"` // it waits for the server's lock behind other jobs (the web UI's, another client's)
	QueuePos int    `json:"-"` // its 1-based place among the waiting jobs; 0 when the server does not say
	QueueLen int    `json:"-"` // how many jobs wait, itself included; 0 when the server does not say
	Active   bool   `json:"-"` // it holds the lock: loading its checkpoint or sampling
	Done     bool   `json:"-"` // it finished; the answer is on its way
	TaskID   string `json:"-"` // the force_task_id it was sent with
}

// ProgressState is the "state" object of /progress. Idle means JobCount == 0.
type ProgressState struct {
	Skipped       bool   `json:"skipped"`
	Interrupted   bool   `json:"interrupted"`
	Job           string `json:"job"`
	JobCount      int    `json:"job_count"`
	JobNo         int    `json:"job_no"`
	SamplingStep  int    `json:"sampling_step"`
	SamplingSteps int    `json:"sampling_steps"`
}

// Model is one entry of GET /sdapi/v1/sd-models.
type Model struct {
	Title     string `json:"title"` // what override_settings.sd_model_checkpoint takes
	ModelName string `json:"model_name"`
	Hash      string `json:"hash"`
	SHA256    string `json:"sha256"`
	Filename  string `json:"filename"`
	Config    string `json:"config"`
}

// Sampler is one entry of GET /sdapi/v1/samplers.
type Sampler struct {
	Name    string            `json:"name"`
	Aliases []string          `json:"aliases"`
	Options map[string]string `json:"options"`
}

// Scheduler is one entry of GET /sdapi/v1/schedulers (A1111 1.9+, Forge,
// SD.Next). A1111 and Forge send {name, label, aliases, default_rho,
// need_inner_model}: a txt2img's scheduler field takes the Label
// ("Karras"; the name "karras" is corrected with a console warning).
// SD.Next sends {name, cls, options}, with no label: there a scheduler is
// what its sampler list names ("Euler a" → EulerAncestralDiscreteScheduler),
// chosen through sampler_name.
type Scheduler struct {
	Name    string   `json:"name"`
	Label   string   `json:"label"`
	Aliases []string `json:"aliases"`
	Class   string   `json:"cls"` // SD.Next: the diffusers class
}

// Upscaler is one entry of GET /sdapi/v1/upscalers: A1111 and Forge send
// {name, model_name, model_path, model_url, scale}, with null for the
// built-in ones' model fields (decoded as ""). Name is what
// extra-single-image's upscaler_1 and txt2img's hr_upscaler take, matched
// exactly. Scale is the model's native factor (4 for ESRGAN models and
// for the built-in Lanczos and Nearest); it is not a limit: A1111 runs a
// model as often as needed and resizes to the factor asked for.
type Upscaler struct {
	Name      string  `json:"name"`
	ModelName string  `json:"model_name"`
	ModelPath string  `json:"model_path"`
	ModelURL  string  `json:"model_url"`
	Scale     float64 `json:"scale"`
}

package a1111test

import (
	"strings"
)

// What the three servers list and how they read a request's sampler. Each
// table is the server's own, shape for shape, because a client that reads
// one of them right can still misread the others:
//
//   - A1111 1.10 (modules/sd_samplers_kdiffusion.py, sd_samplers_timesteps.py,
//     sd_samplers_lcm.py, sd_schedulers.py): samplers without a schedule in
//     the name, each with its default scheduler in options; /schedulers as
//     {name, label, aliases, default_rho, need_inner_model}.
//   - Forge (same files in lllyasviel/stable-diffusion-webui-forge, 2025-06):
//     A1111's tables plus HeunPP2, IPNDM, IPNDM_V, DEIS, DDPM and four more
//     schedulers (Turbo, Align Your Steps GITS/11/32).
//   - SD.Next (vladmandic/automatic modules/sd_samplers_diffusers.py): the
//     samplers are diffusers schedulers ("UniPC", "Euler a", "DPM++ 2M"),
//     with no aliases and empty options; /schedulers answers
//     {name, cls, options} with the same names and no label.
//   - before A1111 1.9: the schedule is part of the sampler name ("DPM++ 2M
//     Karras") and /schedulers is 404.

type samplerJSON struct {
	Name    string         `json:"name"`
	Aliases []string       `json:"aliases"`
	Options map[string]any `json:"options"`
}

// samplers are A1111 1.10's, in its order: the first is the fallback for a
// name it does not know (sd_samplers.samplers[0]).
var samplers = []samplerJSON{
	{"DPM++ 2M", []string{"k_dpmpp_2m"}, map[string]any{"scheduler": "karras"}},
	{"DPM++ SDE", []string{"k_dpmpp_sde"}, map[string]any{"scheduler": "karras", "second_order": true, "brownian_noise": true}},
	{"DPM++ 2M SDE", []string{"k_dpmpp_2m_sde"}, map[string]any{"scheduler": "exponential", "brownian_noise": true}},
	{"DPM++ 2M SDE Heun", []string{"k_dpmpp_2m_sde_heun"}, map[string]any{"scheduler": "exponential", "brownian_noise": true, "solver_type": "heun"}},
	{"DPM++ 2S a", []string{"k_dpmpp_2s_a"}, map[string]any{"scheduler": "karras", "uses_ensd": true, "second_order": true}},
	{"DPM++ 3M SDE", []string{"k_dpmpp_3m_sde"}, map[string]any{"scheduler": "exponential", "discard_next_to_last_sigma": true, "brownian_noise": true}},
	{"Euler a", []string{"k_euler_a", "k_euler_ancestral"}, map[string]any{"uses_ensd": true}},
	{"Euler", []string{"k_euler"}, map[string]any{}},
	{"LMS", []string{"k_lms"}, map[string]any{}},
	{"Heun", []string{"k_heun"}, map[string]any{"second_order": true}},
	{"DPM2", []string{"k_dpm_2"}, map[string]any{"scheduler": "karras", "discard_next_to_last_sigma": true, "second_order": true}},
	{"DPM2 a", []string{"k_dpm_2_a"}, map[string]any{"scheduler": "karras", "discard_next_to_last_sigma": true, "uses_ensd": true, "second_order": true}},
	{"DPM fast", []string{"k_dpm_fast"}, map[string]any{"uses_ensd": true}},
	{"DPM adaptive", []string{"k_dpm_ad"}, map[string]any{"uses_ensd": true}},
	{"Restart", []string{"restart"}, map[string]any{"scheduler": "karras", "second_order": true}},
	{"DDIM", []string{"ddim"}, map[string]any{}},
	{"DDIM CFG++", []string{"ddim_cfgpp"}, map[string]any{}},
	{"PLMS", []string{"plms"}, map[string]any{}},
	{"UniPC", []string{"unipc"}, map[string]any{}},
	{"LCM", []string{"k_lcm"}, map[string]any{}},
}

// forgeSamplers are A1111's with the k-diffusion additions Forge makes
// before the timestep samplers, and its DDPM (modules_forge/alter_samplers.py)
// at the end.
var forgeSamplers = func() []samplerJSON {
	var out []samplerJSON
	for _, s := range samplers {
		if s.Name == "DDIM" {
			out = append(out,
				samplerJSON{"HeunPP2", []string{"heunpp2"}, map[string]any{}},
				samplerJSON{"IPNDM", []string{"ipndm"}, map[string]any{}},
				samplerJSON{"IPNDM_V", []string{"ipndm_v"}, map[string]any{}},
				samplerJSON{"DEIS", []string{"deis"}, map[string]any{}})
		}
		out = append(out, s)
	}
	return append(out, samplerJSON{"DDPM", []string{"ddpm"}, map[string]any{}})
}()

// sdnextSamplers are SD.Next's diffusers schedulers with the class each
// one builds; the first, "Default", keeps the model's own scheduler.
var sdnextSamplers = []struct{ name, cls string }{
	{"Default", ""},
	{"UniPC", "UniPCMultistepScheduler"},
	{"DDIM", "DDIMScheduler"},
	{"Euler", "EulerDiscreteScheduler"},
	{"Euler a", "EulerAncestralDiscreteScheduler"},
	{"Euler SGM", "EulerDiscreteScheduler"},
	{"Euler EDM", "EDMEulerScheduler"},
	{"Euler FlowMatch", "FlowMatchEulerDiscreteScheduler"},
	{"DPM++", "DPMSolverMultistepScheduler"},
	{"DPM++ 2M", "DPMSolverMultistepScheduler"},
	{"DPM++ 3M", "DPMSolverMultistepScheduler"},
	{"DPM++ 1S", "DPMSolverSinglestepScheduler"},
	{"DPM++ SDE", "DPMSolverMultistepScheduler"},
	{"DPM++ 2M SDE", "DPMSolverMultistepScheduler"},
	{"DPM++ 2M EDM", "EDMDPMSolverMultistepScheduler"},
	{"DPM SDE", "DPMSolverSDEScheduler"},
	{"Heun", "HeunDiscreteScheduler"},
	{"DEIS", "DEISMultistepScheduler"},
	{"PNDM", "PNDMScheduler"},
	{"DDPM", "DDPMScheduler"},
	{"LMSD", "LMSDiscreteScheduler"},
	{"KDPM2", "KDPM2DiscreteScheduler"},
	{"KDPM2 a", "KDPM2AncestralDiscreteScheduler"},
	{"LCM", "LCMScheduler"},
	{"TCD", "TCDScheduler"},
}

// sdnextDefaultSampler is the sampler_name default of SD.Next's request
// model (modules/api/models.py): what a request without one runs.
const sdnextDefaultSampler = "UniPC"

// oldSamplers are a pre-1.9 server's: the schedule is part of the name.
var oldSamplers = []samplerJSON{
	{"Euler a", []string{"k_euler_a"}, map[string]any{}},
	{"Euler", []string{"k_euler"}, map[string]any{}},
	{"DPM++ 2M", []string{"k_dpmpp_2m"}, map[string]any{}},
	{"DPM++ 2M Karras", []string{"k_dpmpp_2m_ka"}, map[string]any{"scheduler": "karras"}},
	{"DPM++ SDE Karras", []string{"k_dpmpp_sde_ka"}, map[string]any{"scheduler": "karras", "second_order": true, "brownian_noise": true}},
	{"DDIM", []string{"ddim"}, map[string]any{}},
}

// scheduler is one entry of A1111's sd_schedulers.schedulers.
type scheduler struct {
	Name           string   `json:"name"`
	Label          string   `json:"label"`
	Aliases        []string `json:"aliases"`
	DefaultRho     float64  `json:"default_rho"`
	NeedInnerModel bool     `json:"need_inner_model"`
}

var schedulers = []scheduler{
	{"automatic", "Automatic", nil, -1, false},
	{"uniform", "Uniform", nil, -1, true},
	{"karras", "Karras", nil, 7.0, false},
	{"exponential", "Exponential", nil, -1, false},
	{"polyexponential", "Polyexponential", nil, 1.0, false},
	{"sgm_uniform", "SGM Uniform", []string{"SGMUniform"}, -1, true},
	{"kl_optimal", "KL Optimal", nil, -1, false},
	{"align_your_steps", "Align Your Steps", nil, -1, false},
	{"simple", "Simple", nil, -1, true},
	{"normal", "Normal", nil, -1, true},
	{"ddim", "DDIM", nil, -1, true},
	{"beta", "Beta", nil, -1, true},
}

var forgeSchedulers = append(append([]scheduler(nil), schedulers...),
	scheduler{"turbo", "Turbo", nil, -1, true},
	scheduler{"align_your_steps_GITS", "Align Your Steps GITS", nil, -1, false},
	scheduler{"align_your_steps_11", "Align Your Steps 11", nil, -1, false},
	scheduler{"align_your_steps_32", "Align Your Steps 32", nil, -1, false},
)

// samplerList is what GET /samplers answers.
func (s *Server) samplerList(old bool) any {
	switch {
	case old:
		return oldSamplers
	case s.opts.Flavor == FlavorForge:
		return forgeSamplers
	case s.opts.Flavor == FlavorSDNext:
		out := make([]samplerJSON, 0, len(sdnextSamplers))
		for _, x := range sdnextSamplers {
			out = append(out, samplerJSON{Name: x.name, Aliases: []string{}, Options: map[string]any{}})
		}
		return out
	}
	return samplers
}

// schedulerList is what GET /schedulers answers; nil means 404.
func (s *Server) schedulerList(old bool) any {
	switch {
	case old:
		return nil
	case s.opts.Flavor == FlavorForge:
		return forgeSchedulers
	case s.opts.Flavor == FlavorSDNext:
		out := make([]map[string]any, 0, len(sdnextSamplers))
		for _, x := range sdnextSamplers {
			if x.cls == "" {
				continue
			}
			out = append(out, map[string]any{"name": x.name, "cls": x.cls, "options": map[string]any{}})
		}
		return out
	}
	return schedulers
}

// resolveSampler is how the server turns a request's sampler_name and
// scheduler into what runs. ok false means the server refuses the request
// with 404 "Sampler not found" before it queues it.
//
// A1111 1.10 and Forge (modules/api/api.py text2imgapi, sd_samplers.py
// get_sampler_and_scheduler and fix_p_invalid_sampler_and_scheduler): no
// sampler means "Euler" (sampler_index's default); a schedule at the end of
// the name is split off ("DPM++ 2M Karras" → DPM++ 2M + Karras); a name
// that is not a sampler's (aliases do not count) silently becomes the first
// sampler, DPM++ 2M; a scheduler sent is looked up by name or label, an
// unknown one is Automatic, and the answer names it by its label ("karras"
// → "Karras", with a console warning); a split-off schedule that is the
// sampler's own default reads as Automatic.
//
// Before 1.9 the name is looked up as sent: unknown is a 404. SD.Next
// validates the same way (modules/api/helpers.py), and its default is
// UniPC.
func (s *Server) resolveSampler(old bool, name, sched string) (sampler, schedLabel string, ok bool) {
	switch {
	case old:
		if name == "" {
			name = "Euler"
		}
		for _, x := range oldSamplers {
			if x.Name == name {
				return name, "", true
			}
		}
		return name, "", false
	case s.opts.Flavor == FlavorSDNext:
		if name == "" {
			name = sdnextDefaultSampler
		}
		for _, x := range sdnextSamplers {
			if x.name == name {
				return name, "", true
			}
		}
		return name, "", false
	}
	list, scheds := samplers, schedulers
	if s.opts.Flavor == FlavorForge {
		list, scheds = forgeSamplers, forgeSchedulers
	}
	lookup := func(n string) scheduler {
		for _, x := range scheds {
			if x.Name == n || x.Label == n {
				return x
			}
		}
		return scheds[0]
	}
	found := lookup(sched)
	if name == "" {
		name = "Euler"
	}
	for _, x := range scheds {
		for _, opt := range append([]string{x.Label, x.Name}, x.Aliases...) {
			if strings.HasSuffix(name, " "+opt) {
				found, name = x, strings.TrimSuffix(name, " "+opt)
				break
			}
		}
	}
	picked := list[0]
	for _, x := range list {
		if x.Name == name {
			picked = x
			break
		}
	}
	if sched != "" {
		// The request's own scheduler wins over a split-off one.
		return picked.Name, lookup(sched).Label, true
	}
	if def, _ := picked.Options["scheduler"].(string); def == found.Name {
		found = scheds[0]
	}
	return picked.Name, found.Label, true
}

// sdnextLoRAName is the name SD.Next lists a LoRA file under: its stem with
// every "." made "_" (modules/lora/networks.py list_available_networks).
func sdnextLoRAName(stem string) string { return strings.ReplaceAll(stem, ".", "_") }

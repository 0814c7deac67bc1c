package a1111test

import (
	"strings"

	"lorabot/a1111"
)

// Checkpoint titles the fake knows, as A1111 writes them once it has hashed
// the files; the first is loaded at start. A file in a subfolder is named
// with its folder ("sdxl/…"), as A1111 names it.
const (
	ModelSD15  = "v1-5-pruned-emaonly.safetensors [6ce0161689]"
	ModelSD21  = "v2-1_768-ema-pruned.safetensors [ad2a33c361]"
	ModelSDXL  = "sd_xl_base_1.0.safetensors [31e35c80fc]"
	ModelAnimX = "sdxl/animagine-xl-3.1.safetensors [e3c47aedb0]"
)

const modelDir = "/workspace/sd/stable-diffusion-webui/models/Stable-diffusion/"

// Models is what GET /sdapi/v1/sd-models answers on A1111 and Forge when
// every file is hashed (see Options.Unhashed). model_name is the name with
// its folder's "/" made "_" and no extension (modules/sd_models.py
// CheckpointInfo).
var Models = []a1111.Model{
	{Title: ModelSD15, ModelName: "v1-5-pruned-emaonly", Hash: "6ce0161689", SHA256: "6ce0161689b3853acaa03779ec93eafe75a02f4ced659bee03f50797806fa2fa", Filename: modelDir + "v1-5-pruned-emaonly.safetensors"},
	{Title: ModelSD21, ModelName: "v2-1_768-ema-pruned", Hash: "ad2a33c361", SHA256: "ad2a33c361c1f593c4a1fb32ea81afce2b5bb7d1983c6b94793a26a3b54b08a0", Filename: modelDir + "v2-1_768-ema-pruned.safetensors"},
	{Title: ModelSDXL, ModelName: "sd_xl_base_1.0", Hash: "31e35c80fc", SHA256: "31e35c80fc4829d14f90153f4c74cd59c90b779f6afe05a74cd6120b893f7e5b", Filename: modelDir + "sd_xl_base_1.0.safetensors"},
	{Title: ModelAnimX, ModelName: "sdxl_animagine-xl-3.1", Hash: "e3c47aedb0", SHA256: "e3c47aedb06418c6c331443cd89f2b3b3b34b7ed2102a3d4c4408a8d35aad6b0", Filename: modelDir + "sdxl/animagine-xl-3.1.safetensors"},
}

// relName is a checkpoint's name as A1111 keeps it: the file relative to the
// models folder, with its extension ("sdxl/animagine-xl-3.1.safetensors").
func relName(m a1111.Model) string { return strings.TrimPrefix(m.Filename, modelDir) }

// modelAs is m as this server lists it now: with or without its hash, in
// the flavor's naming. A1111 and Forge title a file "name [shorthash]" once
// hashed and "name" before; SD.Next drops the extension from both, and its
// model_name keeps the folder (modules/sd_checkpoint.py).
func (s *Server) modelAs(m a1111.Model, hashed bool) a1111.Model {
	name := relName(m)
	out := a1111.Model{ModelName: m.ModelName, Filename: m.Filename, Title: name}
	if s.opts.Flavor == FlavorSDNext {
		name = strings.TrimSuffix(name, ".safetensors")
		out.Title, out.ModelName = name, name
	}
	if hashed {
		out.Hash, out.SHA256 = m.Hash, m.SHA256
		out.Title += " [" + m.Hash + "]"
	}
	return out
}

// modelsLocked is the checkpoint list as the server has it now.
func (s *Server) modelsLocked() []a1111.Model {
	out := make([]a1111.Model, 0, len(Models))
	for _, m := range Models {
		out = append(out, s.modelAs(m, s.hashed[m.Filename]))
	}
	return out
}

// findModelLocked matches a checkpoint the way the server's alias table
// does (modules/sd_models.py CheckpointInfo ids: title, name, model name,
// file stem, and the hash forms only once the file was hashed;
// SD.Next: title, name, file name, short hash). So a title with a hash
// that this server has not computed yet is unknown here, though the same
// file is on disk: a client must match checkpoints by file, not by title.
// It returns the model as currently listed.
func (s *Server) findModelLocked(x string) (a1111.Model, bool) {
	if x == "" {
		return a1111.Model{}, false
	}
	for _, m := range Models {
		hashed := s.hashed[m.Filename]
		cur := s.modelAs(m, hashed)
		name := relName(m)
		stem := strings.TrimSuffix(name[strings.LastIndex(name, "/")+1:], ".safetensors")
		aliases := []string{cur.Title, name}
		if s.opts.Flavor == FlavorSDNext {
			aliases = append(aliases, strings.TrimSuffix(name, ".safetensors"), m.Filename)
		} else {
			aliases = append(aliases, m.ModelName, stem)
		}
		if hashed {
			aliases = append(aliases, m.Hash, m.SHA256, name+" ["+m.Hash+"]", stem+" ["+m.Hash+"]")
		}
		for _, a := range aliases {
			if a == x {
				return cur, true
			}
		}
	}
	return a1111.Model{}, false
}

// DefaultUpscalers are the names a fresh A1111 1.10 lists on
// /upscalers, in its order, plus one user-installed ESRGAN model
// (4x-UltraSharp), as most installs have.
var DefaultUpscalers = []string{"None", "Lanczos", "Nearest", "4x-UltraSharp", "ESRGAN_4x", "LDSR", "R-ESRGAN 4x+", "R-ESRGAN 4x+ Anime6B", "ScuNET GAN", "ScuNET PSNR", "SwinIR 4x"}

const upscalerDir = "/workspace/sd/stable-diffusion-webui/models/"

// knownUpscalers are A1111's entries for its own upscalers: built-in ones
// have null model fields; model_path is where the weights are (a URL until
// they are downloaded).
var knownUpscalers = map[string]map[string]any{
	"None":                 {"model_name": nil, "model_path": nil},
	"Lanczos":              {"model_name": nil, "model_path": nil},
	"Nearest":              {"model_name": nil, "model_path": nil},
	"ESRGAN_4x":            {"model_name": "ESRGAN_4x", "model_path": "https://github.com/cszn/KAIR/releases/download/v1.0/ESRGAN.pth"},
	"LDSR":                 {"model_name": nil, "model_path": "https://heibox.uni-heidelberg.de/f/578df07c8fc04ffbadf3/?dl=1"},
	"R-ESRGAN 4x+":         {"model_name": "R-ESRGAN 4x+", "model_path": "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.1.0/RealESRGAN_x4plus.pth"},
	"R-ESRGAN 4x+ Anime6B": {"model_name": "R-ESRGAN 4x+ Anime6B", "model_path": "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.2.2.4/RealESRGAN_x4plus_anime_6B.pth"},
	"ScuNET GAN":           {"model_name": "ScuNET GAN", "model_path": "https://github.com/cszn/KAIR/releases/download/v1.0/scunet_color_real_gan.pth"},
	"ScuNET PSNR":          {"model_name": "ScuNET PSNR", "model_path": "https://github.com/cszn/KAIR/releases/download/v1.0/scunet_color_real_psnr.pth"},
	"SwinIR 4x":            {"model_name": "SwinIR 4x", "model_path": "https://github.com/JingyunLiang/SwinIR/releases/download/v0.0/003_realSR_BSRGAN_DFOWMFC_s64w8_SwinIR-L_x4_GAN.pth"},
}

// upscalerList is /upscalers for these names: {name, model_name,
// model_path, model_url (always null), scale}. A name A1111 does not ship
// is a user's ESRGAN model file.
func upscalerList(names []string) []map[string]any {
	out := make([]map[string]any, 0, len(names))
	for _, n := range names {
		e := map[string]any{"name": n, "model_url": nil, "scale": 4}
		if k, ok := knownUpscalers[n]; ok {
			e["model_name"], e["model_path"] = k["model_name"], k["model_path"]
		} else {
			e["model_name"], e["model_path"] = n, upscalerDir+"ESRGAN/"+n+".pth"
		}
		out = append(out, e)
	}
	return out
}

func defaultOptions() map[string]any {
	return map[string]any{
		"sd_model_checkpoint":         "",
		"sd_checkpoint_hash":          Models[0].SHA256,
		"samples_format":              "png",
		"CLIP_stop_at_last_layers":    1,
		"sd_vae":                      "Automatic",
		"live_previews_enable":        true,
		"show_progress_every_n_steps": 10,
		"eta_noise_seed_delta":        0,
		"sd_lora":                     "None",
		"lora_preferred_name":         "Alias from file",
		"lora_add_hashes_to_infotext": true,
		"enable_pnginfo":              true,
	}
}

// modelByFileLocked is the checkpoint of that file as listed now.
func (s *Server) modelByFileLocked(file string) a1111.Model {
	for _, m := range Models {
		if m.Filename == file {
			return s.modelAs(m, s.hashed[m.Filename])
		}
	}
	return a1111.Model{}
}

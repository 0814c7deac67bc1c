package app

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"lorabot/civitai"
	"lorabot/config"
	"lorabot/lora"
)

// startCivitai runs the Civitai looker when CIVITAI is on: it is told the
// catalog's LoRAs whenever the catalog changes, and hands what it learns
// back to the catalog (lora.Catalog.SetRemote). Nothing waits for it.
func startCivitai(ctx context.Context, wg *sync.WaitGroup, cfg config.Config, t Timings, catalog *lora.Catalog, st civitai.Store, log *slog.Logger) {
	if !cfg.Civitai {
		log.Info("Civitai lookups are off (CIVITAI=off)")
		return
	}
	timeout := t.CivitaiTimeout
	if timeout <= 0 {
		timeout = civitai.DefaultRequestTimeout
	}
	client, err := civitai.New(cfg.CivitaiAPIURL, cfg.CivitaiAPIKey, &http.Client{Timeout: timeout})
	if err != nil {
		log.Warn("Civitai lookups are off", "err", err) // config.Load checked the URL already
		return
	}
	looker := civitai.NewLooker(client, st, civitai.LookerOptions{Interval: t.CivitaiEvery, RetryMin: t.CivitaiRetry, Logger: log,
		OnUpdate: func(known map[string]civitai.Info) { catalog.SetRemote(remoteOf(known)) }})
	wg.Add(2)
	go func() { defer wg.Done(); looker.Run(ctx) }()
	go func() {
		defer wg.Done()
		var last []lora.Want
		for {
			changed := catalog.Changed()
			if ws := catalog.Wants(ctx); !slices.Equal(ws, last) {
				last = ws
				looker.Want(toWants(ws))
			}
			select {
			case <-ctx.Done():
				return
			case <-changed:
			}
		}
	}()
}

func toWants(ws []lora.Want) []civitai.Want {
	out := make([]civitai.Want, len(ws))
	for i, w := range ws {
		out[i] = civitai.Want{Name: w.Name, Hash: w.Hash, File: w.File}
	}
	return out
}

// remoteOf is what the catalog takes of the looker's knowledge.
func remoteOf(known map[string]civitai.Info) map[string]lora.Remote {
	out := make(map[string]lora.Remote, len(known))
	for name, in := range known {
		out[name] = lora.Remote{Hash: in.Hash, TrainedWords: in.TrainedWords, Family: lora.RemoteFamily(in.BaseModel), BaseModel: in.BaseModel,
			NSFW: in.NSFW, ModelName: in.ModelName, PageURL: in.PageURL, PreviewURL: in.PreviewURL, PreviewNSFW: in.PreviewNSFW, Description: in.Description}
	}
	return out
}

// checkCivitai is `lorabot check`'s line on Civitai: off, or on and
// whether Civitai answers (a lookup of a hash no file has: 404 is an
// answer). Civitai is optional, so a failure is a warning, not a failed
// check.
func checkCivitai(ctx context.Context, cfg config.Config, limit time.Duration) string {
	if !cfg.Civitai {
		return "· Civitai lookups are off (CIVITAI=off)\n"
	}
	c, err := civitai.New(cfg.CivitaiAPIURL, cfg.CivitaiAPIKey, &http.Client{Timeout: limit})
	if err != nil {
		return "⚠ Civitai lookups are on, but CIVITAI_API_URL is unusable: " + err.Error() + "\n"
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	_, err = c.ByHash(ctx, "0000000000000000000000000000000000000000000000000000000000000000")
	var rl *civitai.RateLimitError
	switch {
	case err == nil, errors.Is(err, civitai.ErrNotFound), errors.As(err, &rl):
		return "✓ Civitai lookups are on: Civitai answers at " + cfg.CivitaiAPIURL + "\n"
	}
	return "⚠ Civitai lookups are on, but Civitai does not answer at " + cfg.CivitaiAPIURL + " (" + err.Error() + ")\n" +
		"  note: the bot works without it, on the LoRAs' own metadata, and keeps trying in the background; CIVITAI=off stops the lookups\n"
}

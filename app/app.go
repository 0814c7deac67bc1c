// Package app wires lorabot's parts together and runs them until asked to
// stop. main only reads the settings and calls Run or Check; end-to-end tests
// call Run in-process against fake servers.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"lorabot/a1111"
	"lorabot/bot"
	"lorabot/commands"
	"lorabot/config"
	"lorabot/imagine"
	"lorabot/lora"
	"lorabot/queue"
	"lorabot/store"
	"lorabot/throttle"
)

// Timings that tests may shorten.
type Timings struct {
	CatalogEvery  time.Duration // periodic LoRA rescan of the catalog (not of A1111's folders)
	ProgressEvery time.Duration // how often a running job polls /progress
	EditEvery     time.Duration // at most one progress edit per job this often
	StopWithin    time.Duration // how long shutdown waits for running jobs
	TokenLifetime time.Duration // Discord's interaction token life; 0 is the real 15 minutes
}

// DefaultTimings are production's.
var DefaultTimings = Timings{CatalogEvery: 5 * time.Minute, ProgressEvery: time.Second, EditEvery: time.Second, StopWithin: 8 * time.Second}

// Run starts the bot and serves until ctx ends, then stops taking jobs,
// tells users whose jobs were cut off, and closes everything. ready, when
// not nil, is closed once the bot is connected and its commands registered.
func Run(ctx context.Context, cfg config.Config, t Timings, log *slog.Logger, ready chan<- struct{}) error {
	db, err := store.Open(cfg.DBPath, store.Options{Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("open the database (DB_PATH): %w", err)
	}
	defer db.Close()

	clients, err := Clients(cfg, log)
	if err != nil {
		return err
	}
	sources := make([]lora.Source, len(clients))
	for i, c := range clients {
		sources[i] = c
	}
	catalog := lora.NewCatalog(sources, lora.CatalogOptions{LoRADir: cfg.LoRADir, Logger: log})
	overrides, err := db.TriggerOverrides()
	if err != nil {
		return err
	}
	catalog.SetTriggerOverrides(overrides)
	servers := imagine.NewServers(clients, log)
	loadCatalog(ctx, catalog, servers, log)

	sched := queue.New(queue.Options{Backends: len(clients), MaxPerUser: cfg.MaxQueuePerUser, Logger: log})
	// Every file-less interaction edit shares one rate-limit bucket in
	// discordgo: space them out globally, not only per job.
	edits := throttle.New(t.EditEvery, throttle.WithPace(t.EditEvery/5))
	defer edits.Close()

	router := bot.NewRouter(log)
	commands.Register(router, &commands.Deps{
		Catalog: catalog, Presets: db, Results: db, Triggers: db, Servers: servers, Queue: sched, MaxPerUser: cfg.MaxQueuePerUser,
		Edits: edits, ProgressEvery: t.ProgressEvery, Log: log,
	})
	b, err := bot.New(bot.Options{Token: cfg.DiscordToken, APIURL: cfg.DiscordAPIURL, GuildID: cfg.GuildID, Router: router, Logger: log, TokenLifetime: t.TokenLifetime})
	if err != nil {
		return err
	}
	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = b.Open(openCtx)
	cancel()
	if err != nil {
		return err
	}
	if ready != nil {
		close(ready)
	}

	bg, stopBG := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		refreshLoop(bg, catalog, servers, t.CatalogEvery, log)
	}()

	<-ctx.Done()
	log.Info("stopping: no new jobs; cutting off the queue")
	stopCtx, cancelStop := context.WithTimeout(context.Background(), t.StopWithin)
	defer cancelStop()
	cut, qerr := sched.Shutdown(stopCtx)
	if len(cut) > 0 {
		log.Info("jobs cut off by shutdown", "count", len(cut))
	}
	if qerr != nil {
		// A frozen A1111 must not keep the bot from stopping: its users were
		// told their jobs were cut off; the requests die with the process.
		log.Warn("jobs still running at shutdown; leaving them", "err", qerr)
	}
	stopBG()
	<-done
	if err := b.Close(stopCtx); err != nil {
		log.Warn("discord session did not close cleanly", "err", err)
	}
	log.Info("stopped")
	return nil
}

// Clients makes one A1111 client per A1111_URL.
func Clients(cfg config.Config, log *slog.Logger) ([]*a1111.Client, error) {
	var clients []*a1111.Client
	for _, u := range cfg.A1111URLs {
		c, err := a1111.New(u, a1111.Options{GenerateTimeout: cfg.A1111Timeout, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("A1111_URL: %w", err)
		}
		clients = append(clients, c)
	}
	return clients, nil
}

// loadCatalog reads the LoRA catalog and the servers' lists once at start.
// A1111 may still be starting: the bot runs anyway and the refresh loop
// catches up.
func loadCatalog(ctx context.Context, catalog *lora.Catalog, servers *imagine.Servers, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if ch, err := catalog.Refresh(ctx); err != nil {
		log.Warn("LoRA catalog not loaded yet; will retry", "err", err)
	} else {
		log.Info("LoRA catalog loaded", "loras", ch.Total)
	}
	if err := servers.Refresh(ctx); err != nil {
		log.Warn("checkpoints and samplers not loaded yet; will retry", "err", err)
	}
}

// refreshLoop keeps the catalog and the servers' lists current. It retries
// sooner while the last attempt failed, so a bot started before A1111 is
// usable soon after A1111 comes up.
func refreshLoop(ctx context.Context, catalog *lora.Catalog, servers *imagine.Servers, every time.Duration, log *slog.Logger) {
	wait := every
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		_, cerr := catalog.Refresh(rctx)
		serr := servers.Refresh(rctx)
		cancel()
		if err := errors.Join(cerr, serr); err != nil {
			log.Warn("refresh of LoRAs and models failed", "err", err)
			wait = min(every, 30*time.Second)
			continue
		}
		wait = every
	}
}

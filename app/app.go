// Package app wires lorabot's parts together and runs them until asked to
// stop. main only reads the settings and calls Run or Check; end-to-end tests
// call Run in-process against fake servers.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"lorabot/a1111"
	"lorabot/bot"
	"lorabot/commands"
	"lorabot/config"
	"lorabot/health"
	"lorabot/imagine"
	"lorabot/jobs"
	"lorabot/lora"
	"lorabot/queue"
	"lorabot/store"
	"lorabot/throttle"
)

// Timings that tests may shorten. Zero values of the later fields take
// their packages' defaults.
type Timings struct {
	CatalogEvery  time.Duration // periodic LoRA rescan of the catalog (not of A1111's folders)
	ProgressEvery time.Duration // how often a running job polls /progress
	EditEvery     time.Duration // at most one progress edit per job this often
	StopWithin    time.Duration // how long shutdown waits for running jobs
	TokenLifetime time.Duration // Discord's interaction token life; 0 is the real 15 minutes

	ProbeMin, ProbeMax time.Duration // back-off between probes of a down server (2 s doubling to 60 s)
	ProbeEvery         time.Duration // probes of a server that is up (30 s)
	StallAfter         time.Duration // a generation whose server stops answering /progress this long moves (60 s)
	InterruptGrace     time.Duration // how long a stopped generation waits for A1111 to let go (30 s)
	NoServerWait       time.Duration // how long a job waits while no server is up (5 min)
	RefreshTimeout     time.Duration // one server's answer to a refresh (30 s)
	StartWait          time.Duration // how long the start waits for the servers' first lists (10 s)

	CivitaiEvery   time.Duration // least time between two Civitai lookups (civitai.DefaultInterval)
	CivitaiRetry   time.Duration // first back-off after a failed lookup (civitai.DefaultRetryMin)
	CivitaiTimeout time.Duration // one lookup's limit (civitai.DefaultRequestTimeout)

	// PlainRoundRobin is for benchmarks: places jobs in plain fair order,
	// ignoring loaded checkpoints (queue.Options.MaxOvertakes = -1).
	PlainRoundRobin bool
}

// Job records kept: final ones for a week and at most this many (result
// buttons read them); pending ones for a day (a job nobody could run for a
// day is given up).
const (
	keepFinalJobs   = 2000
	keepFinalFor    = 7 * 24 * time.Hour
	keepPendingFor  = 24 * time.Hour
	pruneJobsEvery  = time.Hour
	defaultStartFor = 10 * time.Second
)

// keyCommandsGuild is the setting that remembers the guild the commands
// were last registered to ("" = globally), so that the next start can
// empty that guild's set when it registers elsewhere.
const keyCommandsGuild = "discord/commands-guild"

// DefaultTimings are production's. StopWithin and closeWithin together stay
// within the 10 s a service manager gives between SIGTERM and SIGKILL.
var DefaultTimings = Timings{CatalogEvery: 5 * time.Minute, ProgressEvery: time.Second, EditEvery: time.Second, StopWithin: 6 * time.Second}

// Run starts the bot and serves until ctx ends, then stops taking jobs,
// tells users whose jobs were cut off, and closes everything. ready, when
// not nil, is closed once the bot is connected and its commands registered.
func Run(ctx context.Context, cfg config.Config, t Timings, log *slog.Logger, ready chan<- struct{}) error {
	db, err := store.Open(cfg.DBPath, store.Options{Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("open the database (DB_PATH): %w", err)
	}
	defer db.Close()
	o := newOps(cfg)

	clients, err := clientsWith(cfg, a1111.Options{StallTimeout: t.StallAfter, InterruptGrace: t.InterruptGrace}, log)
	if err != nil {
		return err
	}
	sources := make([]lora.Source, len(clients))
	probers := make([]health.Prober, len(clients))
	names := make([]string, len(clients))
	for i, c := range clients {
		sources[i], probers[i], names[i] = c, c, c.Addr()
	}
	catalog := lora.NewCatalog(sources, lora.CatalogOptions{LoRADir: cfg.LoRADir, Logger: log, SourceTimeout: t.RefreshTimeout})
	// Trigger words admins set before servers had settings of their own
	// were the home server's when there is one (once, after the upgrade).
	moved, err := db.AdoptDefaults(cfg.GuildID)
	if err != nil {
		return err
	}
	if len(moved) > 0 {
		log.Info("the admins' trigger words now belong to the home server", "guild", cfg.GuildID, "loras", len(moved))
	}
	servers := imagine.NewServers(clients, log)
	servers.RefreshTimeout = t.RefreshTimeout

	maxOvertakes := 0 // queue.DefaultMaxOvertakes
	if t.PlainRoundRobin {
		maxOvertakes = -1
	}
	sched := queue.New(queue.Options{Backends: len(clients), MaxPerUser: cfg.MaxQueuePerUser, Logger: log,
		Retryable: a1111.IsServerDown, Unreached: a1111.IsNotReached, NoServerWait: t.NoServerWait, MaxOvertakes: maxOvertakes,
		Observer: o.queueObserver()})
	fl := newFleet(clients, catalog, servers, sched, t.CatalogEvery, log)
	tracker := health.New(probers, health.Options{ProbeMin: t.ProbeMin, ProbeMax: t.ProbeMax, Every: t.ProbeEvery,
		Fault: a1111.IsServerDown, OnChange: fl.onChange, Names: names, Logger: log})
	fl.health = tracker
	router := bot.NewRouter(log)
	router.Answered = o.answered()
	stopOps, err := o.serve(cfg.MetricsAddr, names, tracker, sched, router, db, log)
	if err != nil {
		return err
	}
	defer stopOps()

	bg, stopBG := context.WithCancel(context.Background())
	var bgDone sync.WaitGroup
	bgDone.Add(2)
	go func() { defer bgDone.Done(); tracker.Run(bg) }()
	go func() { defer bgDone.Done(); fl.run(bg) }()
	startCivitai(bg, &bgDone, cfg, t, catalog, db, log)
	defer func() { stopBG(); bgDone.Wait() }()
	startFor := t.StartWait
	if startFor <= 0 {
		startFor = defaultStartFor
	}
	wctx, cancelWait := context.WithTimeout(ctx, startFor)
	fl.waitFirst(wctx)
	cancelWait()
	if catalog.Index().Len() == 0 {
		log.Warn("no LoRA list from any image server yet; will keep trying")
	}
	pruneJobs(db, log)
	// Progress edits are spaced per job and, with the pace, across jobs:
	// a steady trickle of requests rather than bursts into Discord's limits.
	edits := throttle.New(t.EditEvery, throttle.WithPace(t.EditEvery/5))
	defer edits.Close()

	cmds := commands.Register(router, &commands.Deps{
		Catalog: catalog, Presets: db, Results: db, Servers: servers, Queue: sched, MaxPerUser: cfg.MaxQueuePerUser,
		Guilds: db, HomeGuild: cfg.GuildID,
		Jobs: db, Health: tracker, NoServerWait: t.NoServerWait,
		Edits: edits, ProgressEvery: t.ProgressEvery, Log: log, JobEnded: o.jobEnded(),
	})
	previous, _, err := db.Setting(keyCommandsGuild)
	if err != nil {
		return err
	}
	b, err := bot.New(bot.Options{Token: cfg.DiscordToken, APIURL: cfg.DiscordAPIURL, GuildID: cfg.GuildID, Router: router, Logger: log, TokenLifetime: t.TokenLifetime,
		PreviousGuild: string(previous), Requests: o.requests(),
		Registered: func(guildID string) {
			if err := db.SetSetting(keyCommandsGuild, []byte(guildID)); err != nil {
				log.Warn("could not remember where the commands are registered", "err", err)
			}
		}})
	if err != nil {
		return err
	}
	o.attach(b)
	// Read before Open: once connected, new jobs are recorded too, and one
	// must not be taken for the previous run's.
	pending, perr := db.PendingJobs()
	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = b.Open(openCtx)
	cancel()
	if err != nil {
		return err
	}
	if perr != nil {
		log.Error("could not read the jobs of the previous run", "err", perr)
	} else if len(pending) > 0 {
		// A generation the previous run started may still be running on
		// its server (A1111 goes on when its client dies): that server
		// takes no job until it is idle, or it would hold two at once.
		for _, r := range pending {
			if r.State == jobs.Running {
				fl.drain(bg, r.Server, cfg.A1111Timeout)
			}
		}
		log.Info("resuming the jobs queued before the restart", "jobs", cmds.Resume(pending, b.Resume))
	}
	if ready != nil {
		close(ready)
	}
	bgDone.Add(1)
	go func() {
		defer bgDone.Done()
		tick := time.NewTicker(pruneJobsEvery)
		defer tick.Stop()
		for {
			select {
			case <-bg.Done():
				return
			case <-tick.C:
				pruneJobs(db, log)
			}
		}
	}()

	var failed error
	select {
	case <-ctx.Done():
	case failed = <-b.Failed():
		// No reconnection can help (the token was reset): stop as for a
		// signal, so users hear their jobs wait for the next start.
	}
	log.Info("stopping: no new jobs; cutting off the queue")
	stopCtx, cancelStop := context.WithTimeout(context.Background(), t.StopWithin)
	defer cancelStop()
	// From here every Discord request, and any waiting for a rate limit or
	// in flight, ends with the budget: the notices go out concurrently
	// (one limit per interaction) and none can hold the shutdown up.
	b.Stopping(stopCtx)
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
	bgDone.Wait()
	// A budget of its own: the jobs' may be spent, and closing the gateway
	// takes discordgo a second.
	closeCtx, cancelClose := context.WithTimeout(context.Background(), closeWithin)
	defer cancelClose()
	if err := b.Close(closeCtx); err != nil {
		log.Warn("discord session did not close cleanly", "err", err)
	}
	log.Info("stopped")
	if failed != nil {
		return fmt.Errorf("the Discord session ended: %w", failed)
	}
	return nil
}

// closeWithin bounds closing the Discord session after the jobs' StopWithin:
// together they keep a shutdown within 10 s.
const closeWithin = 1500 * time.Millisecond

// Clients makes one A1111 client per A1111_URL.
func Clients(cfg config.Config, log *slog.Logger) ([]*a1111.Client, error) {
	return clientsWith(cfg, a1111.Options{}, log)
}

func clientsWith(cfg config.Config, opts a1111.Options, log *slog.Logger) ([]*a1111.Client, error) {
	var clients []*a1111.Client
	opts.GenerateTimeout, opts.Logger = cfg.A1111Timeout, log
	for _, u := range cfg.A1111URLs {
		c, err := a1111.New(u, opts)
		if err != nil {
			return nil, fmt.Errorf("A1111_URL: %w", err)
		}
		clients = append(clients, c)
	}
	return clients, nil
}

// pruneJobs forgets old job records; a failure only leaves them longer.
func pruneJobs(db *store.DB, log *slog.Logger) {
	now := time.Now()
	n, err := db.PruneJobs(now.Add(-keepFinalFor), keepFinalJobs, now.Add(-keepPendingFor))
	if err != nil {
		log.Warn("could not prune old job records", "err", err)
	} else if n > 0 {
		log.Info("pruned old job records", "count", n)
	}
}

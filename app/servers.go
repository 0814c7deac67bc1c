package app

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"lorabot/a1111"
	"lorabot/health"
	"lorabot/imagine"
	"lorabot/lora"
	"lorabot/queue"
)

// fleet keeps each A1111 server's lists fresh on a loop of its own, so a
// hung server delays nobody else's LoRAs, checkpoints or samplers, and
// tells the queue what each server has loaded.
type fleet struct {
	clients []*a1111.Client
	catalog *lora.Catalog
	servers *imagine.Servers
	health  *health.Tracker
	sched   *queue.Scheduler
	every   time.Duration
	log     *slog.Logger

	kick []chan struct{} // one per server: refresh now (it came back)

	mu    sync.Mutex
	fresh []bool // the server's loaded model is unknown to the queue: it (re)started
	down  []bool // it was down since its last refresh
	held  []bool // kept from the queue until a leftover generation ends (drain)
	first []chan struct{}
}

func newFleet(clients []*a1111.Client, catalog *lora.Catalog, servers *imagine.Servers, sched *queue.Scheduler, every time.Duration, log *slog.Logger) *fleet {
	f := &fleet{clients: clients, catalog: catalog, servers: servers, sched: sched, every: every, log: log}
	for range clients {
		f.kick = append(f.kick, make(chan struct{}, 1))
		f.fresh = append(f.fresh, true)
		f.down = append(f.down, false)
		f.held = append(f.held, false)
		f.first = append(f.first, make(chan struct{}))
	}
	return f
}

// onChange is the health tracker's listener: a down server gets no jobs;
// one that came back may have restarted, with other LoRAs and its default
// model loaded, so its lists are read again at once.
func (f *fleet) onChange(i int, up bool) {
	f.mu.Lock()
	f.sched.SetUp(i, up && !f.held[i])
	back := up && f.down[i]
	f.down[i] = !up
	if back {
		f.fresh[i] = true
	}
	f.mu.Unlock()
	if !back {
		return // gone, or first heard from: the loop's first refresh is under way
	}
	select {
	case f.kick[i] <- struct{}{}:
	default:
	}
}

// run refreshes every server on its own loop until ctx ends.
func (f *fleet) run(ctx context.Context) {
	var wg sync.WaitGroup
	for i := range f.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.loop(ctx, i)
		}()
	}
	wg.Wait()
}

// waitFirst waits until every server's first refresh ended (answered or
// failed within its own deadline) or ctx ends, so that the bot usually
// starts with its lists while a hung server delays the start by at most
// ctx's bound.
func (f *fleet) waitFirst(ctx context.Context) {
	for _, ch := range f.first {
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}

func (f *fleet) loop(ctx context.Context, i int) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	first := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-f.kick[i]:
		}
		var err error
		if first || f.health.Up(i) {
			err = f.refresh(ctx, i)
		}
		if first {
			close(f.first[i])
			first = false
		}
		wait := f.every
		if err != nil {
			// A bot started before A1111 is usable soon after A1111 is.
			wait = min(f.every, 30*time.Second)
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
	}
}

// refresh reads server i's LoRAs and lists, each within its own deadline.
func (f *fleet) refresh(ctx context.Context, i int) error {
	addr := f.clients[i].Addr()
	ch, cerr := f.catalog.RefreshSource(ctx, i)
	serr := f.servers.RefreshOne(ctx, i)
	err := errors.Join(cerr, serr)
	f.health.Report(i, err)
	if err != nil {
		if ctx.Err() == nil {
			f.log.Warn("could not read an image server's LoRAs and models; will retry", "server", addr, "err", err)
		}
		return err
	}
	f.log.Debug("image server's lists read", "server", addr, "loras", ch.Total)
	deflt := f.servers.Loaded(i)
	f.mu.Lock()
	fresh := f.fresh[i]
	f.fresh[i] = false
	f.mu.Unlock()
	loaded := deflt
	if !fresh {
		// The queue follows what jobs loaded since; the option only says
		// what a job without a checkpoint will load.
		if b := f.sched.Backends(); i < len(b) {
			loaded = b[i].Loaded
		}
	}
	f.sched.SetModels(i, loaded, deflt)
	return nil
}

// drain keeps the server at addr from the queue until its /progress says
// no job runs there (or limit passes): the generation a killed bot started
// runs on without it, and a job sent now would wait behind it in A1111's
// lock, two at once on one server.
func (f *fleet) drain(ctx context.Context, addr string, limit time.Duration) {
	i := slices.IndexFunc(f.clients, func(c *a1111.Client) bool { return c.Addr() == addr })
	if i < 0 {
		return // that server is no longer in A1111_URL
	}
	f.mu.Lock()
	if f.held[i] {
		f.mu.Unlock()
		return
	}
	f.held[i] = true
	f.sched.SetUp(i, false)
	f.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(ctx, limit)
		defer cancel()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			p, err := f.clients[i].Progress(ctx, false)
			if err != nil || p.State.JobCount == 0 || ctx.Err() != nil {
				// Idle, or not answering: the health tracker has it then.
				break
			}
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
		f.log.Info("the previous run's generation has ended; the server takes jobs again", "server", addr)
		f.mu.Lock()
		f.held[i] = false
		f.sched.SetUp(i, !f.down[i])
		f.mu.Unlock()
	}()
}

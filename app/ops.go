package app

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"lorabot/bot"
	"lorabot/commands"
	"lorabot/config"
	"lorabot/health"
	"lorabot/metrics"
	"lorabot/queue"
	"lorabot/store"
)

// ops is the operator's window on the bot (METRICS_ADDR): the metrics
// and their listener. A nil *ops is metrics off: every hook it hands out
// is nil, so the packages it would observe pay nothing.
type ops struct {
	m   *metrics.Metrics
	bot atomic.Pointer[bot.Bot] // set once the bot exists; readiness reads it
}

func newOps(cfg config.Config) *ops {
	if cfg.MetricsAddr == "" {
		return nil
	}
	return &ops{m: metrics.New()}
}

func (o *ops) queueObserver() queue.Observer {
	if o == nil {
		return queue.Observer{}
	}
	return o.m.QueueObserver()
}

func (o *ops) requests() func(string, int) {
	if o == nil {
		return nil
	}
	return o.m.DiscordRequest
}

func (o *ops) answered() func(string, time.Duration) {
	if o == nil {
		return nil
	}
	return o.m.Answered
}

func (o *ops) jobEnded() func(commands.JobEnd) {
	if o == nil {
		return nil
	}
	return func(e commands.JobEnd) {
		if e.Outcome == queue.OutcomeDone {
			o.m.Generated(e.Server, e.Generation)
		}
	}
}

// serve starts the listener with the views and readiness checks over the
// parts of the bot; stop ends it. Readiness: the gateway is connected, at
// least one A1111 server is up (not merely not known to be down), and the
// database answers.
func (o *ops) serve(addr string, names []string, tracker *health.Tracker, sched *queue.Scheduler, router *bot.Router, db *store.DB, log *slog.Logger) (stop func(), err error) {
	if o == nil {
		return func() {}, nil
	}
	o.m.Watch(metrics.Views{
		Servers:  names,
		Health:   func(i int) health.State { return tracker.Status(i).State },
		Backends: sched.Backends,
		Queue:    sched.Snapshot,
		Gateway:  o.connected,
		Router:   router.Stats,
	})
	checks := []metrics.Check{
		{Name: "discord", OK: func() error {
			if !o.connected() {
				return errors.New("the gateway is not connected")
			}
			return nil
		}},
		{Name: "a1111", OK: func() error {
			for i := range tracker.Len() {
				if tracker.Status(i).State == health.Up {
					return nil
				}
			}
			return errors.New("no image server is up")
		}},
		{Name: "database", OK: db.Ping},
	}
	stopServe, err := metrics.Serve(addr, o.m.Handler(checks), log)
	if err != nil {
		return nil, err
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := stopServe(ctx); err != nil {
			log.Warn("the metrics listener did not stop cleanly", "err", err)
		}
	}, nil
}

func (o *ops) connected() bool {
	b := o.bot.Load()
	return b != nil && b.Connected()
}

// attach tells readiness about the bot once it exists.
func (o *ops) attach(b *bot.Bot) {
	if o != nil {
		o.bot.Store(b)
	}
}

// Package metrics is lorabot's Prometheus side: the registry and its
// collectors, and the HTTP listener (METRICS_ADDR) that serves /metrics,
// /healthz and /readyz. The domain packages know nothing of Prometheus:
// they offer plain hooks (queue.Observer, bot.Options.Requests,
// bot.Router.Answered, commands.Deps.JobEnded), which app wires to the
// methods here, and read-only views (queue snapshots, health states) that
// the collectors read at each scrape.
//
// Labels never carry a secret or a person: no token, prompt or user ID.
// Routes are bot.RouteClass classes, servers their host:port, models the
// checkpoint's name.
package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"lorabot/bot"
	"lorabot/queue"
)

// Buckets of the histograms, in seconds. A job waits from nothing to many
// minutes; a generation takes seconds to minutes; an interaction must be
// answered within 3 s, and autocomplete in a few milliseconds.
var (
	waitBuckets       = []float64{0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800}
	generationBuckets = []float64{1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600}
	answerBuckets     = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3}
)

// Metrics holds the collectors. Its methods are safe for concurrent use
// and cheap: counters are resolved per label value once, up front, where
// the values are known.
type Metrics struct {
	reg *prometheus.Registry

	jobs       map[queue.Outcome]prometheus.Counter
	wait       prometheus.Histogram
	generation *prometheus.HistogramVec
	requests   *prometheus.CounterVec
	limited    map[string]prometheus.Counter
	answers    map[string]prometheus.Observer
}

// New makes the registry with the bot's collectors, Go's runtime and the
// process's.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	jobs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lorabot_jobs_total",
		Help: "Jobs ended, by outcome (done, failed, cancelled, cut_off by a shutdown, no_server up).",
	}, []string{"outcome"})
	m.jobs = map[queue.Outcome]prometheus.Counter{}
	for _, o := range queue.Outcomes {
		m.jobs[o] = jobs.WithLabelValues(string(o))
	}
	m.wait = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "lorabot_job_wait_seconds",
		Help:    "Time a job waited in line before it started on a server (again after a failover).",
		Buckets: waitBuckets,
	})
	m.generation = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "lorabot_generation_seconds",
		Help:    "Time an A1111 server took for a job that gave images, by server.",
		Buckets: generationBuckets,
	}, []string{"server"})
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lorabot_discord_requests_total",
		Help: "REST requests to Discord, by route class and HTTP status (0: no answer).",
	}, []string{"route", "status"})
	limited := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lorabot_discord_rate_limited_total",
		Help: "Discord's 429 answers, by route class.",
	}, []string{"route"})
	m.limited = map[string]prometheus.Counter{}
	for _, r := range bot.RouteClasses {
		m.limited[r] = limited.WithLabelValues(r)
	}
	answers := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "lorabot_interaction_answer_seconds",
		Help:    "Time from an interaction's arrival to the bot's first answer, by kind (command, autocomplete, button, modal).",
		Buckets: answerBuckets,
	}, []string{"kind"})
	m.answers = map[string]prometheus.Observer{}
	for _, k := range []string{"command", "autocomplete", "button", "modal"} {
		m.answers[k] = answers.WithLabelValues(k)
	}
	m.reg.MustRegister(jobs, m.wait, m.generation, m.requests, limited, answers,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is where the collectors are registered, for a handler or a
// test's Gather.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// QueueObserver counts jobs by outcome and times their waits.
func (m *Metrics) QueueObserver() queue.Observer {
	return queue.Observer{
		Started: func(_ int, waited time.Duration) { m.wait.Observe(waited.Seconds()) },
		Ended: func(o queue.Outcome) {
			if c := m.jobs[o]; c != nil {
				c.Inc()
			}
		},
	}
}

// Generated times a generation that gave images on server (host:port).
func (m *Metrics) Generated(server string, took time.Duration) {
	m.generation.WithLabelValues(server).Observe(took.Seconds())
}

// DiscordRequest counts one answer of Discord (bot.Options.Requests).
func (m *Metrics) DiscordRequest(route string, status int) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	if status == 429 {
		if c := m.limited[route]; c != nil {
			c.Inc()
		}
	}
}

// Answered times an interaction's first answer (bot.Router.Answered).
func (m *Metrics) Answered(kind string, took time.Duration) {
	if o := m.answers[kind]; o != nil {
		o.Observe(took.Seconds())
	}
}

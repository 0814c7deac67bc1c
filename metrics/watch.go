package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"lorabot/bot"
	"lorabot/health"
	"lorabot/queue"
)

// Views are the read-only views the collectors read at each scrape, so
// that a gauge is the state itself rather than a sum of events that
// could drift. A nil field leaves its metrics out.
type Views struct {
	// Servers name the A1111 servers (host:port), in A1111_URL order.
	Servers []string
	// Health is server i's state.
	Health func(i int) health.State
	// Backends are the scheduler's servers (loaded model, jobs done).
	Backends func() []queue.BackendStatus
	// Queue counts the jobs queued and running.
	Queue func() queue.Status
	// Gateway reports whether the Discord gateway is connected.
	Gateway func() bool
	// Router counts the interactions not answered in time.
	Router func() bot.RouterStats
}

var (
	descQueue     = prometheus.NewDesc("lorabot_queue_jobs", "Jobs in the queue, by state (queued, running).", []string{"state"}, nil)
	descUp        = prometheus.NewDesc("lorabot_server_up", "1 while an A1111 server answers, 0 while it is down or not yet heard from.", []string{"server"}, nil)
	descModel     = prometheus.NewDesc("lorabot_server_model_info", "The checkpoint an A1111 server has loaded, as far as the bot knows (always 1).", []string{"server", "model"}, nil)
	descDone      = prometheus.NewDesc("lorabot_server_jobs_done_total", "Jobs that gave images on an A1111 server since the bot started.", []string{"server"}, nil)
	descGateway   = prometheus.NewDesc("lorabot_discord_gateway_connected", "1 while the Discord gateway connection is up.", nil, nil)
	descLate      = prometheus.NewDesc("lorabot_interactions_late_total", "Interactions not answered within Discord's 3 seconds: answered late, or arrived too old to answer.", []string{"reason"}, nil)
	viewsDescribe = []*prometheus.Desc{descQueue, descUp, descModel, descDone, descGateway, descLate}
)

// Watch registers the collectors that read v at each scrape.
func (m *Metrics) Watch(v Views) {
	m.reg.MustRegister(views(v))
}

type views Views

func (v views) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range viewsDescribe {
		ch <- d
	}
}

func (v views) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, val float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, val, labels...)
	}
	counter := func(d *prometheus.Desc, val float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, val, labels...)
	}
	if v.Queue != nil {
		st := v.Queue()
		gauge(descQueue, float64(st.Queued), "queued")
		gauge(descQueue, float64(st.Running), "running")
	}
	if v.Health != nil {
		for i, name := range v.Servers {
			gauge(descUp, b2f(v.Health(i) == health.Up), name)
		}
	}
	if v.Backends != nil {
		for i, b := range v.Backends() {
			if i >= len(v.Servers) {
				break
			}
			if b.Loaded != "" {
				gauge(descModel, 1, v.Servers[i], b.Loaded)
			}
			counter(descDone, float64(b.Done), v.Servers[i])
		}
	}
	if v.Gateway != nil {
		gauge(descGateway, b2f(v.Gateway()))
	}
	if v.Router != nil {
		st := v.Router()
		counter(descLate, float64(st.Late), "answered_late")
		counter(descLate, float64(st.TooOld), "arrived_too_old")
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Package metricstest reads a /metrics answer the way Prometheus does, for
// tests that check what the bot's metrics say.
package metricstest

import (
	"fmt"
	"io"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Scrape is one parsed answer of /metrics.
type Scrape struct {
	Families map[string]*dto.MetricFamily
	Text     string
}

// Parse reads the Prometheus text format with Prometheus's own parser: an
// error means a scraper would refuse it too.
func Parse(r io.Reader) (Scrape, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return Scrape{}, err
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(raw)))
	if err != nil {
		return Scrape{}, fmt.Errorf("metrics do not parse: %w", err)
	}
	return Scrape{Families: fams, Text: string(raw)}, nil
}

// Sum adds up the samples of family name whose labels include want
// (name, value pairs): counters' and gauges' values, histograms' counts.
// found is false when no sample matches.
func (s Scrape) Sum(name string, want ...string) (total float64, found bool) {
	f := s.Families[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(want); i += 2 {
			if have[want[i]] != want[i+1] {
				continue next
			}
		}
		found = true
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	return total, found
}

// Lines are the text lines that start with prefix, for failure messages.
func (s Scrape) Lines(prefix string) string {
	var out []string
	for _, l := range strings.Split(s.Text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Want is one expected sum: Sum(Name, Labels...) == Value, found.
type Want struct {
	Name   string
	Labels []string
	Value  float64
}

// Expect is a Want: the samples of name with labels (name, value pairs)
// sum to value.
func Expect(name string, value float64, labels ...string) Want {
	return Want{Name: name, Labels: labels, Value: value}
}

// Check returns one line per expectation the scrape does not meet.
func (s Scrape) Check(wants []Want) []string {
	var bad []string
	for _, w := range wants {
		got, ok := s.Sum(w.Name, w.Labels...)
		if !ok || got != w.Value {
			bad = append(bad, fmt.Sprintf("%s%v = %v (present %v), want %v", w.Name, w.Labels, got, ok, w.Value))
		}
	}
	return bad
}

package baseline

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the baseline's Prometheus metrics, on a registry of their own.
type metrics struct {
	reg        *prometheus.Registry
	consumed   prometheus.Counter
	invalid    prometheus.Counter
	batchWrite prometheus.Histogram
	httpDur    *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		consumed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sticky_baseline_events_consumed_total",
			Help: "Records of the events topic written to Redis (or found malformed and skipped), counted once their offsets' commit has been attempted.",
		}),
		invalid: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sticky_baseline_events_invalid_total",
			Help: "Malformed records of the events topic, skipped.",
		}),
		batchWrite: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sticky_baseline_batch_write_seconds",
			Help:    "Time to write one poll's events to Redis: the read of recent items and the write pipeline.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		httpDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sticky_baseline_http_request_duration_seconds",
			Help:    "HTTP request latency by route and status code.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}, []string{"route", "code"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.consumed, m.invalid, m.batchWrite, m.httpDur,
	)
	return m
}

package engine

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/internal/servertiming"
)

// metrics bridges the parts' measurements into Prometheus, on the engine's
// own registry. It implements stream.Observer for what is pushed, and a
// Collector for what is read at scrape time from Stats snapshots.
type metrics struct {
	e *Engine

	consumed   *prometheus.CounterVec
	applied    *prometheus.CounterVec
	duplicates prometheus.Counter
	replayed   prometheus.Counter
	invalid    *prometheus.CounterVec
	batch      prometheus.Histogram
	batchSize  prometheus.Histogram
	freshness  prometheus.Histogram
	httpDur    *prometheus.HistogramVec
	httpShed   *prometheus.CounterVec

	pushSelected, pushHanded, pushExpired prometheus.Counter
	pushAcks                              *prometheus.CounterVec
	pushSelect                            prometheus.Histogram

	inFlightDesc, lagDesc, partsDesc, hitsDesc, missesDesc, entriesDesc, cacheBytesDesc, cacheMaxDesc,
	diskDesc, trimmedDesc, yieldDesc, yieldsDesc, flushesDesc, stagedDesc, checkpointsDesc, writtenDesc, itemsDesc, catDesc, catInvalidDesc *prometheus.Desc
	audUsersDesc, audCustomersDesc, audSegmentDesc, audStageDesc, audFitAtDesc, audFitTookDesc *prometheus.Desc
	audLoadedDesc, audLoadDesc                                                                 *prometheus.Desc
}

func newMetrics(reg *prometheus.Registry, e *Engine) *metrics {
	m := &metrics{
		e: e,
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sticky_stream_events_consumed_total",
			Help: "Records taken from the events topic and processed, by event type (unknown: not decodable that far).",
		}, []string{"type"}),
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sticky_stream_events_applied_total", Help: "Events folded into state, by type.",
		}, []string{"type"}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sticky_stream_events_duplicate_total", Help: "Events skipped because their event_id was already applied.",
		}),
		replayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sticky_stream_events_replayed_total", Help: "Events skipped on recovery because their user's stored vector already held them (a flush cut short by a crash).",
		}),
		invalid: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sticky_stream_events_invalid_total", Help: "Malformed events parked on the dead-letter topic, by event type and offending field.",
		}, []string{"type", "field"}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sticky_stream_batch_apply_seconds", Help: "Time to fold and commit one batch of a partition.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sticky_stream_batch_events", Help: "Events per committed batch.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}),
		freshness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sticky_stream_freshness_seconds",
			Help:    "Time from a record's Kafka timestamp (when it was produced) to its state being committed and readable.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}),
		httpDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sticky_http_request_duration_seconds", Help: "HTTP request latency by route and status code.",
			Buckets: []float64{.0001, .00025, .0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "code"}),
		httpShed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sticky_http_requests_shed_total", Help: "API requests answered 503 at once because HTTPMaxInFlight requests were in flight, by route.",
		}, []string{"route"}),
		pushSelected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sticky_push_targets_selected_total", Help: "Users selected as targets of push campaigns.",
		}),
		pushHanded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sticky_push_targets_handed_out_total", Help: "Targets leased to the push service.",
		}),
		pushExpired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sticky_push_leases_expired_total", Help: "Leased targets not acknowledged in time, handed out again.",
		}),
		pushAcks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sticky_push_acks_total", Help: "Acknowledgements of sends, by status.",
		}, []string{"status"}),
		pushSelect: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sticky_push_selection_seconds", Help: "Time to score every user and select a campaign's targets.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		inFlightDesc:     prometheus.NewDesc("sticky_http_requests_in_flight", "API requests being served (bounded by HTTPMaxInFlight).", nil, nil),
		lagDesc:          prometheus.NewDesc("sticky_stream_consumer_lag_records", "Records between the last applied offset and the end of the partition.", []string{"partition"}, nil),
		partsDesc:        prometheus.NewDesc("sticky_stream_assigned_partitions", "Partitions of the events topic assigned to this instance.", nil, nil),
		hitsDesc:         prometheus.NewDesc("sticky_state_cache_hits_total", "User reads served by the cache.", nil, nil),
		missesDesc:       prometheus.NewDesc("sticky_state_cache_misses_total", "User reads that went to Badger.", nil, nil),
		entriesDesc:      prometheus.NewDesc("sticky_state_cache_entries", "Entries in the user cache.", nil, nil),
		cacheBytesDesc:   prometheus.NewDesc("sticky_state_cache_bytes", "Bytes held by the user cache.", nil, nil),
		cacheMaxDesc:     prometheus.NewDesc("sticky_state_cache_max_bytes", "Configured size of the user cache.", nil, nil),
		diskDesc:         prometheus.NewDesc("sticky_state_disk_bytes", "Badger size on disk, by part.", []string{"part"}, nil),
		trimmedDesc:      prometheus.NewDesc("sticky_state_builder_freed_bytes_total", "Bytes of Badger's idle table-builder buffers freed by the store (state.Config.BuilderTrimInterval).", nil, nil),
		yieldDesc:        prometheus.NewDesc("sticky_stream_yield_seconds_total", "Time partition workers waited for API requests in flight before folding (stream.Config.YieldMax).", nil, nil),
		yieldsDesc:       prometheus.NewDesc("sticky_stream_yields_total", "Waits of partition workers for API requests in flight.", nil, nil),
		flushesDesc:      prometheus.NewDesc("sticky_state_flushes_total", "Flushes of a partition's applied state (users, item deltas, offset) to Badger.", nil, nil),
		stagedDesc:       prometheus.NewDesc("sticky_state_staged_users", "Users applied and not yet flushed to Badger (held in memory).", nil, nil),
		checkpointsDesc:  prometheus.NewDesc("sticky_state_item_checkpoints_total", "Checkpoints of a partition's item shares written to Badger.", nil, nil),
		writtenDesc:      prometheus.NewDesc("sticky_state_written_bytes_total", "Bytes of keys and values flushes and checkpoints wrote to Badger, by what they hold (users, item_deltas, item_shares, model); Badger's compactions rewrite them again.", []string{"kind"}, nil),
		itemsDesc:        prometheus.NewDesc("sticky_ranker_index_items", "Items with statistics in the ranker's index.", nil, nil),
		catDesc:          prometheus.NewDesc("sticky_catalogue_items", "Items in the catalogue.", nil, nil),
		catInvalidDesc:   prometheus.NewDesc("sticky_catalogue_items_invalid_total", "Malformed catalogue records parked on the dead-letter topic.", nil, nil),
		audUsersDesc:     prometheus.NewDesc("sticky_audience_users", "Users with at least one event (flushed to the state: trails by up to a flush interval).", nil, nil),
		audCustomersDesc: prometheus.NewDesc("sticky_audience_customers", "Users with at least one purchase.", nil, nil),
		audSegmentDesc:   prometheus.NewDesc("sticky_audience_segment_customers", "Customers per RFM segment.", []string{"segment"}, nil),
		audStageDesc:     prometheus.NewDesc("sticky_audience_lifecycle_users", "Users per lifecycle stage.", []string{"stage"}, nil),
		audFitAtDesc:     prometheus.NewDesc("sticky_audience_model_fitted_timestamp_seconds", "When the BG/NBD and Gamma-Gamma models were last fitted.", nil, nil),
		audFitTookDesc:   prometheus.NewDesc("sticky_audience_model_fit_seconds", "How long the last fit of the value models took.", nil, nil),
		audLoadedDesc:    prometheus.NewDesc("sticky_audience_loaded", "1 once the audience holds every stored user (it loads in the background after a start), 0 before.", nil, nil),
		audLoadDesc:      prometheus.NewDesc("sticky_audience_load_seconds", "How long loading the audience from the store took (present once it is loaded).", nil, nil),
	}
	for _, t := range features.Types() {
		m.applied.WithLabelValues(t.String())
		m.consumed.WithLabelValues(t.String())
	}
	for _, s := range []string{"sent", "failed"} {
		m.pushAcks.WithLabelValues(s)
	}
	reg.MustRegister(m.consumed, m.applied, m.duplicates, m.replayed, m.invalid, m.batch, m.batchSize, m.freshness, m.httpDur, m.httpShed, m,
		m.pushSelected, m.pushHanded, m.pushExpired, m.pushAcks, m.pushSelect,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// shed counts an API request shed by the limiter.
func (m *metrics) shed(route string) { m.httpShed.WithLabelValues(route).Inc() }

// stream.Observer

func (m *metrics) Consumed(t features.Type, n int) {
	m.consumed.WithLabelValues(t.String()).Add(float64(n))
}
func (m *metrics) Applied(t features.Type, n int) {
	m.applied.WithLabelValues(t.String()).Add(float64(n))
}
func (m *metrics) Duplicates(n int) { m.duplicates.Add(float64(n)) }
func (m *metrics) Replayed(n int)   { m.replayed.Add(float64(n)) }
func (m *metrics) Invalid(t features.Type, field string) {
	m.invalid.WithLabelValues(t.String(), field).Inc()
}
func (m *metrics) Freshness(d time.Duration) { m.freshness.Observe(d.Seconds()) }
func (m *metrics) Batch(_ int32, n int, took time.Duration) {
	m.batch.Observe(took.Seconds())
	m.batchSize.Observe(float64(n))
}

// campaigns.Observer

func (m *metrics) Selected(n int, took time.Duration) {
	m.pushSelected.Add(float64(n))
	m.pushSelect.Observe(took.Seconds())
}
func (m *metrics) HandedOut(n int)            { m.pushHanded.Add(float64(n)) }
func (m *metrics) Acked(status string, n int) { m.pushAcks.WithLabelValues(status).Add(float64(n)) }
func (m *metrics) Expired(n int)              { m.pushExpired.Add(float64(n)) }

// prometheus.Collector

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.inFlightDesc, m.lagDesc, m.partsDesc, m.hitsDesc, m.missesDesc, m.entriesDesc,
		m.cacheBytesDesc, m.cacheMaxDesc, m.diskDesc, m.trimmedDesc, m.yieldDesc, m.yieldsDesc, m.flushesDesc, m.stagedDesc, m.checkpointsDesc, m.writtenDesc, m.itemsDesc, m.catDesc, m.catInvalidDesc,
		m.audUsersDesc, m.audCustomersDesc, m.audSegmentDesc, m.audStageDesc, m.audFitAtDesc, m.audFitTookDesc,
		m.audLoadedDesc, m.audLoadDesc} {
		ch <- d
	}
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	e := m.e
	ch <- prometheus.MustNewConstMetric(m.inFlightDesc, prometheus.GaugeValue, float64(e.limit.inFlight()))
	st := e.cons.Status()
	for p, lag := range st.Lag {
		ch <- prometheus.MustNewConstMetric(m.lagDesc, prometheus.GaugeValue, float64(lag), strconv.Itoa(int(p)))
	}
	ch <- prometheus.MustNewConstMetric(m.partsDesc, prometheus.GaugeValue, float64(len(st.Partitions)))
	ss := e.store.Stats()
	ch <- prometheus.MustNewConstMetric(m.hitsDesc, prometheus.CounterValue, float64(ss.CacheHits))
	ch <- prometheus.MustNewConstMetric(m.missesDesc, prometheus.CounterValue, float64(ss.CacheMisses))
	ch <- prometheus.MustNewConstMetric(m.entriesDesc, prometheus.GaugeValue, float64(ss.CacheEntries))
	ch <- prometheus.MustNewConstMetric(m.cacheBytesDesc, prometheus.GaugeValue, float64(ss.CacheBytes))
	ch <- prometheus.MustNewConstMetric(m.cacheMaxDesc, prometheus.GaugeValue, float64(ss.CacheMaxBytes))
	ch <- prometheus.MustNewConstMetric(m.diskDesc, prometheus.GaugeValue, float64(ss.LSMBytes), "lsm")
	ch <- prometheus.MustNewConstMetric(m.diskDesc, prometheus.GaugeValue, float64(ss.VLogBytes), "vlog")
	ch <- prometheus.MustNewConstMetric(m.trimmedDesc, prometheus.CounterValue, float64(ss.BuilderFreed))
	waited, waits := e.limit.gate.Waited()
	ch <- prometheus.MustNewConstMetric(m.yieldDesc, prometheus.CounterValue, waited.Seconds())
	ch <- prometheus.MustNewConstMetric(m.yieldsDesc, prometheus.CounterValue, float64(waits))
	ch <- prometheus.MustNewConstMetric(m.flushesDesc, prometheus.CounterValue, float64(ss.Flushes))
	ch <- prometheus.MustNewConstMetric(m.stagedDesc, prometheus.GaugeValue, float64(ss.Pinned))
	ch <- prometheus.MustNewConstMetric(m.checkpointsDesc, prometheus.CounterValue, float64(ss.Checkpoints))
	for _, w := range []struct {
		kind string
		n    uint64
	}{{"users", ss.WrittenUsers}, {"item_deltas", ss.WrittenDeltas}, {"item_shares", ss.WrittenShares}, {"model", ss.WrittenModel}} {
		ch <- prometheus.MustNewConstMetric(m.writtenDesc, prometheus.CounterValue, float64(w.n), w.kind)
	}
	ch <- prometheus.MustNewConstMetric(m.itemsDesc, prometheus.GaugeValue, float64(e.idx.Size().Items))
	ch <- prometheus.MustNewConstMetric(m.catDesc, prometheus.GaugeValue, float64(e.cat.Len()))
	ch <- prometheus.MustNewConstMetric(m.catInvalidDesc, prometheus.CounterValue, float64(e.loader.Invalid()))
	ls := e.aud.LoadStats()
	if !ls.Loaded {
		// The counts would be of part of the population.
		ch <- prometheus.MustNewConstMetric(m.audLoadedDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(m.audLoadedDesc, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(m.audLoadDesc, prometheus.GaugeValue, ls.Took.Seconds())
	ac := e.aud.Counts()
	ch <- prometheus.MustNewConstMetric(m.audUsersDesc, prometheus.GaugeValue, float64(ac.Users))
	ch <- prometheus.MustNewConstMetric(m.audCustomersDesc, prometheus.GaugeValue, float64(ac.Customers))
	for s, n := range ac.Segments {
		ch <- prometheus.MustNewConstMetric(m.audSegmentDesc, prometheus.GaugeValue, float64(n), s)
	}
	for s, n := range ac.Lifecycle {
		ch <- prometheus.MustNewConstMetric(m.audStageDesc, prometheus.GaugeValue, float64(n), s)
	}
	if f := ac.Model; f != nil {
		ch <- prometheus.MustNewConstMetric(m.audFitAtDesc, prometheus.GaugeValue, float64(f.At.UnixMilli())/1e3)
		ch <- prometheus.MustNewConstMetric(m.audFitTookDesc, prometheus.GaugeValue, f.TookSeconds)
	}
}

// instrument records the latency of h under a bounded route label, and
// puts it on the answer as a Server-Timing header (internal/servertiming).
func (m *metrics) instrument(route string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := servertiming.NewWriter(w, start)
		h(sw, r)
		m.httpDur.WithLabelValues(route, strconv.Itoa(sw.Code)).Observe(time.Since(start).Seconds())
	})
}

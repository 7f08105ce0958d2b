package system

import (
	"cmp"
	"io"
	"log/slog"
	"time"

	"github.com/stickyhq/sticky/stream"
)

// Options configure a system run. The zero value of each field means its
// documented default.
type Options struct {
	// Brokers are Kafka seed brokers. Empty: the harness starts an
	// embedded kfake broker in its own process, on loopback.
	Brokers []string
	// TargetURL is the HTTP API of a Sticky deployment already running
	// (e.g. "http://sticky-1:8080"). Set, the harness does not start
	// sticky: it produces the workload to EventsTopic and ItemsTopic of
	// Brokers (required), which the deployment consumes, and measures it
	// through its API and /metrics (see the package doc for what is and is
	// not measured then). The Redis baseline, when asked for, is still
	// started by the harness. Default: empty, the harness starts sticky.
	TargetURL string
	// EventsTopic and ItemsTopic are the deployment's topics, with
	// TargetURL only. Defaults "sticky.events" and "sticky.items" (sticky's
	// own defaults, from stream.DefaultConfig).
	EventsTopic, ItemsTopic string
	// Partitions of the events topic each target consumes. Default 6.
	Partitions int
	// Dir holds the targets' data directories, logs and Redis's files.
	// Required.
	Dir string
	// StickyBinary is the sticky executable run as `serve`. Default:
	// `sticky` in the running executable's directory, else on PATH.
	StickyBinary string
	// BaselineBinary is the executable run as `baseline`: the harness's
	// own command, sticky-bench. Default: the running executable.
	BaselineBinary string
	// StickyArgs are extra arguments for `sticky serve` (e.g. cache size).
	StickyArgs []string
	// Baseline also measures the Redis baseline. Default false.
	Baseline bool
	// Targets restricts which targets run ("sticky", "redis-baseline");
	// empty: Sticky, and the baseline when Baseline is set.
	Targets []string

	// Backlog is how many events are on the topic before a target starts.
	// Default: every event except those reserved for the live phase
	// (LiveRate × (WarmUp + Live), at most half of the workload).
	Backlog int
	// IngestTimeout bounds the ingest phase. Default 10 minutes.
	IngestTimeout time.Duration

	// Live is the measured live phase, after WarmUp. Defaults 30 s, 3 s.
	Live, WarmUp time.Duration
	// LiveRate is the events/s produced during the live phase. Default 5,000.
	LiveRate float64
	// RecRate is the recommendation requests/s of the open-loop generator.
	// Default 5,000.
	RecRate float64
	// RecWorkers is how many requests may be in flight; a request due
	// while all are busy waits, and its wait counts. Default 64.
	RecWorkers int
	// K is the list length asked for. Default 10.
	K int
	// FreshEvery is how often a freshness sample is produced (an event of
	// a new user), FreshPoll how often at first its profile is polled, and
	// FreshTimeout when it counts as missing. Defaults 50 ms, 250 µs, 10 s.
	FreshEvery, FreshPoll, FreshTimeout time.Duration
	// FreshPollGrowth: each poll of a sample waits FreshPoll plus this
	// share of the time elapsed since its event was produced, so a
	// figure's resolution is FreshPoll or this share of it, and a target
	// that falls behind is not flooded with polls (at a fixed 250 µs a
	// 40 ms sample polled 160 times; with 0.05, 44). Negative: a fixed
	// interval. Default 0.05.
	FreshPollGrowth float64

	// Progress receives a live progress line; nil: none. ProgressTTY
	// rewrites one line in place instead of printing one every 5 s.
	Progress    io.Writer
	ProgressTTY bool
	// Log receives what goes wrong; default slog.Default().
	Log *slog.Logger
}

func (o *Options) defaults() {
	if o.Partitions <= 0 {
		o.Partitions = 6
	}
	if o.IngestTimeout <= 0 {
		o.IngestTimeout = 10 * time.Minute
	}
	if o.Live <= 0 {
		o.Live = 30 * time.Second
	}
	if o.WarmUp <= 0 {
		o.WarmUp = 3 * time.Second
	}
	if o.LiveRate <= 0 {
		o.LiveRate = 5000
	}
	if o.RecRate <= 0 {
		o.RecRate = 5000
	}
	if o.RecWorkers <= 0 {
		o.RecWorkers = 64
	}
	if o.K <= 0 {
		o.K = 10
	}
	if o.FreshEvery <= 0 {
		o.FreshEvery = 50 * time.Millisecond
	}
	if o.FreshPoll <= 0 {
		o.FreshPoll = 250 * time.Microsecond
	}
	if o.FreshPollGrowth == 0 {
		o.FreshPollGrowth = 0.05
	}
	if o.FreshTimeout <= 0 {
		o.FreshTimeout = 10 * time.Second
	}
	if d := stream.DefaultConfig(); o.EventsTopic == "" || o.ItemsTopic == "" {
		o.EventsTopic, o.ItemsTopic = cmp.Or(o.EventsTopic, d.EventsTopic), cmp.Or(o.ItemsTopic, d.ItemsTopic)
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
}

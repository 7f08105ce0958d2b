// Command sticky runs the Sticky personalization engine.
//
//	sticky serve   run the engine (embedded broker unless --brokers is given)
//	sticky demo    serve, plus a synthetic shop: catalogue, history and live shoppers
//	sticky help    list commands, flags, environment variables and defaults
//
// Every flag can also be set with an environment variable: --cache-bytes is
// STICKY_CACHE_BYTES. A flag on the command line wins over the environment.
//
// The benchmark harness is its own command, cmd/sticky-bench, so that this
// binary does not link the harness's Redis client, histograms and plots.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/stickyhq/sticky/cmd/sticky/engine"
	"github.com/stickyhq/sticky/internal/bytesize"
	"github.com/stickyhq/sticky/internal/cli"
	"github.com/stickyhq/sticky/stream"
)

func main() { cli.Main("sticky", run) }

func run(args []string, stdout, stderr io.Writer) error {
	cmd := "help"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve", "demo":
		s := newSettings()
		fs := s.flags(cmd)
		fs.SetOutput(stderr)
		if err := cli.Parse(fs, args, "STICKY_", os.LookupEnv); err != nil {
			return err
		}
		cfg, err := s.config(stderr)
		if err != nil {
			return err
		}
		setMemoryLimit(s.memoryLimit, cfg.Logger)
		setGCPercent(s.gcPercent, cfg.Logger)
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if s.pprof != "" {
			stopPprof, err := startPprof(s.pprof, cfg.Logger)
			if err != nil {
				return err
			}
			defer stopPprof()
		}
		if cmd == "demo" {
			return demo(ctx, cfg, s.demo, stdout)
		}
		return serve(ctx, cfg)
	case "bench":
		return errors.New(`the benchmark harness is its own binary now: run "sticky-bench help" (build it with "go build -o bin/ ./cmd/sticky-bench")`)
	case "help", "-h", "--help":
		usage(stdout)
		return nil
	default:
		usage(stderr)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

// setMemoryLimit sets the Go runtime's soft memory limit, unless GOMEMLIMIT
// set it already.
func setMemoryLimit(limit bytesize.Size, log *slog.Logger) {
	if limit <= 0 {
		return
	}
	if v, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		log.Info("--memory-limit ignored: GOMEMLIMIT is set", "GOMEMLIMIT", v)
		return
	}
	debug.SetMemoryLimit(int64(limit))
}

// setGCPercent sets the Go runtime's GC target (the heap may grow to
// 1 + percent/100 times what the last collection found live), unless GOGC
// set it already.
func setGCPercent(percent int, log *slog.Logger) {
	if v, ok := os.LookupEnv("GOGC"); ok {
		if percent != defaultGCPercent {
			log.Info("--gc-percent ignored: GOGC is set", "GOGC", v)
		}
		return
	}
	debug.SetGCPercent(percent)
}

func serve(ctx context.Context, cfg engine.Config) error {
	e, err := engine.Start(ctx, cfg)
	if err != nil {
		return err
	}
	<-ctx.Done()
	cfg.Logger.Info("shutting down")
	return e.Close()
}

// defaultGCPercent is --gc-percent's default: the Go runtime's.
const defaultGCPercent = 100

// settings are what serve and demo are given: the engine's configuration,
// which flags and STICKY_* variables set field by field, and the few
// options that are the command's own.
type settings struct {
	engine.Config
	brokers, boosts, logLevel, pprof string
	memoryLimit                      bytesize.Size
	gcPercent                        int
	kafka                            kafkaOptions
	demo                             demoOptions
}

type demoOptions struct {
	users, items, days int
	rate               float64
	seed               uint64
}

func newSettings() *settings {
	return &settings{Config: engine.DefaultConfig(), logLevel: "info", gcPercent: defaultGCPercent,
		demo: demoOptions{users: 500, items: 3000, days: 14, rate: 50, seed: 1}}
}

// flags binds the flags of cmd onto s; each flag's default is the value it
// is bound to.
func (s *settings) flags(cmd string) *flag.FlagSet {
	fs := flag.NewFlagSet("sticky "+cmd, flag.ContinueOnError)
	c := &s.Config
	fs.StringVar(&c.HTTPAddr, "http", c.HTTPAddr, "HTTP API listen address")
	fs.StringVar(&c.DataDir, "data", c.DataDir, "data directory (Badger state, embedded broker log)")
	fs.StringVar(&s.brokers, "brokers", s.brokers, "comma-separated Kafka brokers; empty starts the embedded broker")
	fs.StringVar(&c.EmbeddedKafka, "embedded-kafka", c.EmbeddedKafka, "embedded broker listen address")
	fs.BoolVar(&c.EmbeddedKafkaSync, "embedded-kafka-sync", c.EmbeddedKafkaSync, "fsync every produce on the embedded broker")
	fs.IntVar(&c.HTTPMaxInFlight, "http-max-inflight", c.HTTPMaxInFlight, "most API requests served at once; beyond, 503 with Retry-After (default 64 per GOMAXPROCS)")
	fs.TextVar(&s.memoryLimit, "memory-limit", s.memoryLimit, "Go runtime soft memory limit (bytes, or with KiB/MiB/GiB); 0: none; GOMEMLIMIT, if set, wins; also caps the default --cache-bytes at a quarter of it")
	fs.IntVar(&s.gcPercent, "gc-percent", s.gcPercent, "Go runtime GC target: the heap grows to 1 + N/100 times the live heap before a collection (GOGC; negative: off); GOGC, if set, wins")
	fs.TextVar(&c.State.CacheBytes, "cache-bytes", c.State.CacheBytes, "user-vector cache size (bytes, or with KiB/MiB/GiB)")
	sc := &c.State
	fs.TextVar(&sc.MemTableSize, "badger-memtable", sc.MemTableSize, "Badger memtable size; a commit holds at most 15% of it")
	fs.IntVar(&sc.NumMemtables, "badger-memtables", sc.NumMemtables, "Badger memtables, the active one and those waiting to be flushed")
	fs.IntVar(&sc.NumLevelZeroTables, "badger-l0-tables", sc.NumLevelZeroTables, "Badger L0 tables that trigger a compaction (each is checked by reads that miss the cache)")
	fs.IntVar(&sc.NumLevelZeroTablesStall, "badger-l0-stall", sc.NumLevelZeroTablesStall, "Badger L0 tables that stall writes")
	fs.TextVar(&sc.BaseTableSize, "badger-table", sc.BaseTableSize, "Badger table size at the base level")
	fs.IntVar(&sc.TableSizeMultiplier, "badger-table-multiplier", sc.TableSizeMultiplier, "Badger table size ratio between levels below the base level")
	fs.IntVar(&sc.NumCompactors, "badger-compactors", sc.NumCompactors, "Badger compactions run at once (at least 2)")
	fs.DurationVar(&sc.BuilderTrimInterval, "badger-builder-trim", sc.BuilderTrimInterval, "how often the table-builder buffers Badger keeps (up to eight, each up to a memtable) are freed; negative: never")
	fs.TextVar(&sc.BlockCacheSize, "badger-block-cache", sc.BlockCacheSize, "Badger block cache (tables are uncompressed: 0, off, is right)")
	fs.TextVar(&sc.IndexCacheSize, "badger-index-cache", sc.IndexCacheSize, "Badger index and bloom filter cache; 0 keeps them all in memory")
	fs.TextVar(&sc.ValueThreshold, "badger-value-threshold", sc.ValueThreshold, "largest value kept in Badger's LSM tree; larger ones go to the value log")
	fs.TextVar(&sc.ValueLogFileSize, "badger-vlog-file", sc.ValueLogFileSize, "Badger value-log file size")

	st := &c.Stream
	fs.IntVar(&st.Partitions, "partitions", st.Partitions, "partitions of topics Sticky creates")
	fs.StringVar(&st.Group, "group", st.Group, "Kafka consumer group")
	fs.Var((*topicPrefix)(st), "topic-prefix", "topics are <prefix>.events, <prefix>.items and <prefix>.events.dlq")
	fs.StringVar(&st.InstanceID, "instance-id", st.InstanceID, "static group membership id: a restart with the same id resumes without a rebalance")
	fs.DurationVar(&st.SessionTimeout, "session-timeout", st.SessionTimeout, "how long the group waits for a silent member before moving its partitions")
	s.kafka.flags(fs)
	fs.TextVar(&st.FetchMaxBytes, "fetch-max-bytes", st.FetchMaxBytes, "largest fetch response from the brokers, as sent (compressed): the records it holds, decompressed, take several times this until applied")
	fs.IntVar(&st.BatchEvents, "batch-events", st.BatchEvents, "most events applied per batch")
	fs.DurationVar(&st.FlushInterval, "flush-interval", st.FlushInterval, "applied state is flushed to Badger (users, item deltas, offset) when the oldest unflushed batch is this old; a crash replays at most this much of the log; negative: after every batch")
	fs.DurationVar(&st.CheckpointInterval, "checkpoint-interval", st.CheckpointInterval, "item shares are checkpointed (the item-delta records since the last checkpoint folded into them and deleted) when the oldest record is this old, or after 4,096 flushes or 500,000 item deltas; a crash's recovery folds at most this much")
	fs.DurationVar(&st.YieldMax, "yield-max", st.YieldMax, "longest a partition worker waits per batch for API reads (GETs) in flight before folding, and workers fold one at a time meanwhile; negative: never")
	fs.Int64Var(&c.ReadyLag, "ready-lag", c.ReadyLag, "largest consumer lag (records) at which /readyz reports ready")

	fs.DurationVar(&c.Index.ApplyEvery, "index-apply-every", c.Index.ApplyEvery,
		"how often, at most, committed item statistics are applied to the ranker's index (batches in between are applied together; negative: each at once)")
	fs.IntVar(&c.Ranker.MaxK, "max-k", c.Ranker.MaxK, "largest k a recommendation request may ask for")
	fs.IntVar(&c.Ranker.Concurrent, "rank-concurrent", c.Ranker.Concurrent, "recommendation requests ranked at once (8 per GOMAXPROCS); the others wait their turn")
	fs.IntVar(&c.Ranker.MaxPerCategory, "max-per-category", c.Ranker.MaxPerCategory, "diversity: most items of one category in a list (0: no cap)")
	fs.TextVar(&c.Ranker.Repeat, "repeat", c.Ranker.Repeat, "items the user already bought or viewed: learn (the model weighs them; bought ones only if repeatable) or never (nothing bought is shown again)")
	fs.IntVar(&c.Ranker.Model.Sample, "train-sample", c.Ranker.Model.Sample, "the ranker's model trains on one positive event in N (ingest cost)")
	fs.IntVar(&c.Ranker.Model.BacklogSample, "train-backlog-sample", c.Ranker.Model.BacklogSample,
		"in a batch of a catching-up partition (at least --train-backlog-batch events), train on one positive event in N more (1: all)")
	fs.Float64Var(&c.Ranker.Model.TrainBudget, "train-budget", c.Ranker.Model.TrainBudget,
		"CPU the ranker's model may train with, as a share of one core (positive events past it are not learned from; negative: no bound)")
	fs.IntVar(&c.Ranker.Model.BacklogBatch, "train-backlog-batch", c.Ranker.Model.BacklogBatch, "batch size from which a batch counts as backlog for --train-backlog-sample")
	fs.BoolVar(&c.Ranker.Model.Frozen, "train-off", c.Ranker.Model.Frozen, "do not train the ranker's model: score with the prior weights (and any stored shares)")

	f := &c.Features
	fs.DurationVar(&f.AffinityHalfLife, "affinity-half-life", f.AffinityHalfLife, "half-life of category and brand affinities")
	fs.DurationVar(&f.HabitHalfLife, "habit-half-life", f.HabitHalfLife, "half-life of hour, device and context habits")
	fs.DurationVar(&f.PopularityHalfLife, "popularity-half-life", f.PopularityHalfLife, "half-life of item popularity")
	fs.DurationVar(&f.CoocHalfLife, "cooc-half-life", f.CoocHalfLife, "half-life of co-occurrence weights (negative: they never decay)")
	fs.TextVar(&f.Weights, "weights", f.Weights, "event weights, type=weight,...")
	fs.TextVar(&f.EarnRules, "earn-rules", f.EarnRules, "loyalty points per event type: type=N[/unit]@Mm (N points, per currency unit if /unit, expiring M months later)")
	fs.TextVar(&f.Tiers, "tiers", f.Tiers, "loyalty tiers: name:points earned in the tier window, lowest first")
	fs.IntVar(&f.TierWindowMonths, "tier-window-months", f.TierWindowMonths, "rolling window of the loyalty tiers, in months")
	fs.Float64Var(&f.AtRiskFactor, "at-risk-factor", f.AtRiskFactor, "at risk after this many times the customer's own time between purchases")
	fs.Float64Var(&f.ChurnFactor, "churn-factor", f.ChurnFactor, "churned after this many times the customer's own time between purchases")

	a := &c.Audience
	fs.DurationVar(&a.RefitInterval, "value-refit-interval", a.RefitInterval, "how often BG/NBD and Gamma-Gamma are refitted on the population")
	fs.IntVar(&a.CLVMonths, "clv-months", a.CLVMonths, "lifetime value horizon, in months of 30 days")
	fs.Float64Var(&a.DiscountRate, "clv-discount-rate", a.DiscountRate, "lifetime value discount rate, a year")

	p := &c.Push
	fs.DurationVar(&p.Lease, "push-lease", p.Lease, "how long pulled push targets wait for an acknowledgement")
	fs.TextVar(&p.Campaigns.QuietHours, "push-quiet-hours", p.Campaigns.QuietHours, "default quiet hours of campaigns, local time HH:MM-HH:MM")
	fs.TextVar(&p.Campaigns.SendWindow, "push-send-window", p.Campaigns.SendWindow, "default send window of campaigns, local time HH:MM-HH:MM")
	fs.TextVar(&p.Campaigns.Caps, "push-caps", p.Campaigns.Caps, "default frequency caps across campaigns")

	fs.StringVar(&s.boosts, "boosts", s.boosts, "JSON file of ranker boosts: [{\"when\": rule, \"category\"|\"brand\"|\"tag\": ..., \"factor\": 1.5, \"reason\": ...}]")
	fs.StringVar(&s.logLevel, "log-level", s.logLevel, "debug, info, warn or error")
	fs.StringVar(&s.pprof, "pprof", s.pprof, "listen address of Go's profiles (/debug/pprof/); empty: off")
	if cmd == "demo" {
		fs.IntVar(&s.demo.users, "demo-users", s.demo.users, "demo: synthetic shoppers")
		fs.IntVar(&s.demo.items, "demo-items", s.demo.items, "demo: catalogue items")
		fs.IntVar(&s.demo.days, "demo-days", s.demo.days, "demo: days of history produced on a fresh data directory")
		fs.Float64Var(&s.demo.rate, "demo-rate", s.demo.rate, "demo: live events per second")
		fs.Uint64Var(&s.demo.seed, "demo-seed", s.demo.seed, "demo: random seed")
	}
	return fs
}

// topicPrefix sets the three topics of a stream.Config from one prefix.
type topicPrefix stream.Config

func (p *topicPrefix) String() string { return strings.TrimSuffix(p.EventsTopic, ".events") }

func (p *topicPrefix) Set(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	(*stream.Config)(p).WithTopicPrefix(s)
	return nil
}

// config completes the engine's configuration with the options that are not
// fields of it, and checks it.
func (s *settings) config(stderr io.Writer) (engine.Config, error) {
	cfg := s.Config
	var err error
	if cfg.Logger, err = cli.NewLogger(s.logLevel, stderr); err != nil {
		return cfg, err
	}
	cfg.Brokers = cli.SplitList(s.brokers)
	if d := engine.DefaultConfig().State.CacheBytes; s.memoryLimit > 0 && cfg.State.CacheBytes == d {
		// fastcache fills to its size with enough users: keep it to a
		// quarter of the limit unless sized explicitly.
		cfg.State.CacheBytes = min(d, s.memoryLimit/4)
	}
	if cfg.Stream.ClientOpts, err = s.kafka.opts(); err != nil {
		return cfg, err
	}
	if s.boosts != "" {
		b, err := os.ReadFile(s.boosts)
		if err != nil {
			return cfg, fmt.Errorf("invalid --boosts: %w", err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cfg.Ranker.Boosts); err != nil {
			return cfg, fmt.Errorf("invalid --boosts %s: %w", s.boosts, err)
		}
	}
	return cfg, cfg.Validate()
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Sticky: a streaming, real-time personalization engine.

Usage:
  sticky serve [flags]   run the engine; without --brokers it starts an embedded
                         Kafka-protocol broker on --embedded-kafka
  sticky demo [flags]    serve, plus a synthetic shop: catalogue, history and a
                         stream of live shoppers; prints example requests
  sticky help            this text

The benchmark harness is its own binary: "sticky-bench help" lists its commands.

Flags (each also as the environment variable shown; a flag given on the command
line wins over the environment):
`)
	for _, cmd := range []string{"serve", "demo"} {
		if cmd == "demo" {
			fmt.Fprintln(w, "\nDemo only:")
		}
		cli.PrintFlags(w, newSettings().flags(cmd), "STICKY_", func(f *flag.Flag) bool {
			return cmd != "demo" || strings.HasPrefix(f.Name, "demo-")
		})
	}
}

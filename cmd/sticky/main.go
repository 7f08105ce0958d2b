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
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/stickyhq/sticky/cmd/sticky/engine"
	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/internal/cli"
	"github.com/stickyhq/sticky/ranker/push"
)

func main() { cli.Main("sticky", run) }

func run(args []string, stdout, stderr io.Writer) error {
	cmd := "help"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve", "demo":
		o := defaultOptions()
		fs := o.flags(cmd)
		fs.SetOutput(stderr)
		if err := cli.Parse(fs, args, "STICKY_", os.LookupEnv); err != nil {
			return err
		}
		cfg, err := o.config(stderr)
		if err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if o.pprof != "" {
			stopPprof, err := startPprof(o.pprof, cfg.Logger)
			if err != nil {
				return err
			}
			defer stopPprof()
		}
		if cmd == "demo" {
			return demo(ctx, cfg, o.demo, stdout)
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

func serve(ctx context.Context, cfg engine.Config) error {
	e, err := engine.Start(ctx, cfg)
	if err != nil {
		return err
	}
	<-ctx.Done()
	cfg.Logger.Info("shutting down")
	return e.Close()
}

// options are the command line's view of engine.Config.
type options struct {
	http, data, brokers, embedded, cacheBytes, logLevel, weights string
	embeddedSync                                                 bool
	partitions, batch, maxK, perCategory                         int
	readyLag                                                     int64
	group, topicPrefix, instanceID                               string
	sessionTimeout                                               time.Duration
	affinityHL, habitHL, popularityHL, coocHL                    time.Duration
	kafka                                                        kafkaOptions
	earnRules, tiers, boostsFile, pprof                          string
	tierWindow                                                   int
	atRisk, churn, clvRate                                       float64
	clvMonths                                                    int
	refit, pushLease                                             time.Duration
	pushQuiet, pushWindow, pushCaps                              string
	demo                                                         demoOptions
}

type demoOptions struct {
	users, items, days int
	rate               float64
	seed               uint64
}

func defaultOptions() *options {
	d := engine.DefaultConfig()
	return &options{
		http: d.HTTPAddr, data: d.DataDir, embedded: d.EmbeddedKafka, cacheBytes: "256MiB", logLevel: "info",
		partitions: int(d.Stream.Partitions), batch: d.Stream.BatchEvents, group: d.Stream.Group,
		topicPrefix: "sticky", sessionTimeout: d.Stream.SessionTimeout,
		maxK: d.Ranker.MaxK, perCategory: d.Ranker.MaxPerCategory, readyLag: d.ReadyLag,
		affinityHL: d.Features.AffinityHalfLife, habitHL: d.Features.HabitHalfLife,
		popularityHL: d.Features.PopularityHalfLife, coocHL: d.Features.CoocHalfLife,
		weights:   formatWeights(d.Features.Weights),
		earnRules: formatEarnRules(d.Features.EarnRules), tiers: formatTiers(d.Features.Tiers),
		tierWindow: d.Features.TierWindowMonths, atRisk: d.Features.AtRiskFactor, churn: d.Features.ChurnFactor,
		refit: d.Audience.RefitInterval, clvMonths: d.Audience.CLVMonths, clvRate: d.Audience.DiscountRate,
		pushLease: time.Minute, pushQuiet: "22:00-08:00", pushWindow: "09:00-21:00", pushCaps: "per_day=1,per_week=0",
		demo: demoOptions{users: 500, items: 3000, days: 14, rate: 50, seed: 1},
	}
}

func (o *options) flags(cmd string) *flag.FlagSet {
	fs := flag.NewFlagSet("sticky "+cmd, flag.ContinueOnError)
	fs.StringVar(&o.http, "http", o.http, "HTTP API listen address")
	fs.StringVar(&o.data, "data", o.data, "data directory (Badger state, embedded broker log)")
	fs.StringVar(&o.brokers, "brokers", o.brokers, "comma-separated Kafka brokers; empty starts the embedded broker")
	fs.StringVar(&o.embedded, "embedded-kafka", o.embedded, "embedded broker listen address")
	fs.BoolVar(&o.embeddedSync, "embedded-kafka-sync", o.embeddedSync, "fsync every produce on the embedded broker")
	fs.StringVar(&o.cacheBytes, "cache-bytes", o.cacheBytes, "user-vector cache size (bytes, or with KiB/MiB/GiB)")
	fs.IntVar(&o.partitions, "partitions", o.partitions, "partitions of topics Sticky creates")
	fs.StringVar(&o.group, "group", o.group, "Kafka consumer group")
	fs.StringVar(&o.topicPrefix, "topic-prefix", o.topicPrefix, "topics are <prefix>.events, <prefix>.items and <prefix>.events.dlq")
	fs.StringVar(&o.instanceID, "instance-id", o.instanceID, "static group membership id: a restart with the same id resumes without a rebalance")
	fs.DurationVar(&o.sessionTimeout, "session-timeout", o.sessionTimeout, "how long the group waits for a silent member before moving its partitions")
	o.kafka.flags(fs)
	fs.IntVar(&o.batch, "batch-events", o.batch, "most events applied per state commit")
	fs.Int64Var(&o.readyLag, "ready-lag", o.readyLag, "largest consumer lag (records) at which /readyz reports ready")
	fs.IntVar(&o.maxK, "max-k", o.maxK, "largest k a recommendation request may ask for")
	fs.IntVar(&o.perCategory, "max-per-category", o.perCategory, "diversity: most items of one category in a list")
	fs.DurationVar(&o.affinityHL, "affinity-half-life", o.affinityHL, "half-life of category and brand affinities")
	fs.DurationVar(&o.habitHL, "habit-half-life", o.habitHL, "half-life of hour, device and context habits")
	fs.DurationVar(&o.popularityHL, "popularity-half-life", o.popularityHL, "half-life of item popularity")
	fs.DurationVar(&o.coocHL, "cooc-half-life", o.coocHL, "half-life of co-occurrence weights")
	fs.StringVar(&o.weights, "weights", o.weights, "event weights, type=weight,...")
	fs.StringVar(&o.earnRules, "earn-rules", o.earnRules, "loyalty points per event type: type=N[/unit]@Mm (N points, per currency unit if /unit, expiring M months later)")
	fs.StringVar(&o.tiers, "tiers", o.tiers, "loyalty tiers: name:points earned in the tier window, lowest first")
	fs.IntVar(&o.tierWindow, "tier-window-months", o.tierWindow, "rolling window of the loyalty tiers, in months")
	fs.Float64Var(&o.atRisk, "at-risk-factor", o.atRisk, "at risk after this many times the customer's own time between purchases")
	fs.Float64Var(&o.churn, "churn-factor", o.churn, "churned after this many times the customer's own time between purchases")
	fs.DurationVar(&o.refit, "value-refit-interval", o.refit, "how often BG/NBD and Gamma-Gamma are refitted on the population")
	fs.IntVar(&o.clvMonths, "clv-months", o.clvMonths, "lifetime value horizon, in months of 30 days")
	fs.Float64Var(&o.clvRate, "clv-discount-rate", o.clvRate, "lifetime value discount rate, a year")
	fs.DurationVar(&o.pushLease, "push-lease", o.pushLease, "how long pulled push targets wait for an acknowledgement")
	fs.StringVar(&o.pushQuiet, "push-quiet-hours", o.pushQuiet, "default quiet hours of campaigns, local time HH:MM-HH:MM")
	fs.StringVar(&o.pushWindow, "push-send-window", o.pushWindow, "default send window of campaigns, local time HH:MM-HH:MM")
	fs.StringVar(&o.pushCaps, "push-caps", o.pushCaps, "default frequency caps across campaigns")
	fs.StringVar(&o.boostsFile, "boosts", o.boostsFile, "JSON file of ranker boosts: [{\"when\": rule, \"category\"|\"brand\"|\"tag\": ..., \"factor\": 1.5, \"reason\": ...}]")
	fs.StringVar(&o.logLevel, "log-level", o.logLevel, "debug, info, warn or error")
	fs.StringVar(&o.pprof, "pprof", o.pprof, "listen address of Go's profiles (/debug/pprof/); empty: off")
	if cmd == "demo" {
		fs.IntVar(&o.demo.users, "demo-users", o.demo.users, "demo: synthetic shoppers")
		fs.IntVar(&o.demo.items, "demo-items", o.demo.items, "demo: catalogue items")
		fs.IntVar(&o.demo.days, "demo-days", o.demo.days, "demo: days of history produced on a fresh data directory")
		fs.Float64Var(&o.demo.rate, "demo-rate", o.demo.rate, "demo: live events per second")
		fs.Uint64Var(&o.demo.seed, "demo-seed", o.demo.seed, "demo: random seed")
	}
	return fs
}

func (o *options) config(stderr io.Writer) (engine.Config, error) {
	cfg := engine.DefaultConfig()
	var err error
	if cfg.Logger, err = cli.NewLogger(o.logLevel, stderr); err != nil {
		return cfg, err
	}
	cfg.HTTPAddr, cfg.DataDir, cfg.EmbeddedKafka, cfg.EmbeddedKafkaSync = o.http, o.data, o.embedded, o.embeddedSync
	cfg.Brokers = cli.SplitList(o.brokers)
	n, err := parseBytes(o.cacheBytes)
	if err != nil {
		return cfg, fmt.Errorf("invalid --cache-bytes: %w", err)
	}
	cfg.CacheBytes = n
	if o.partitions < 1 {
		return cfg, fmt.Errorf("invalid --partitions %d", o.partitions)
	}
	cfg.Stream.Partitions = int32(o.partitions)
	cfg.Stream.Group = o.group
	if o.topicPrefix == "" {
		return cfg, errors.New("invalid --topic-prefix: empty")
	}
	cfg.Stream.WithTopicPrefix(o.topicPrefix)
	cfg.Stream.InstanceID = o.instanceID
	cfg.Stream.SessionTimeout = o.sessionTimeout
	if cfg.Stream.ClientOpts, err = o.kafka.opts(); err != nil {
		return cfg, err
	}
	cfg.Stream.BatchEvents = o.batch
	cfg.ReadyLag = o.readyLag
	cfg.Ranker.MaxK, cfg.Ranker.MaxPerCategory = o.maxK, o.perCategory
	f := &cfg.Features
	f.AffinityHalfLife, f.HabitHalfLife, f.PopularityHalfLife, f.CoocHalfLife = o.affinityHL, o.habitHL, o.popularityHL, o.coocHL
	if f.Weights, err = parseWeights(o.weights); err != nil {
		return cfg, fmt.Errorf("invalid --weights: %w", err)
	}
	if f.EarnRules, err = parseEarnRules(o.earnRules); err != nil {
		return cfg, fmt.Errorf("invalid --earn-rules: %w", err)
	}
	if f.Tiers, err = parseTiers(o.tiers); err != nil {
		return cfg, fmt.Errorf("invalid --tiers: %w", err)
	}
	f.TierWindowMonths, f.AtRiskFactor, f.ChurnFactor = o.tierWindow, o.atRisk, o.churn
	cfg.Audience.RefitInterval = o.refit
	if o.clvMonths < 1 || o.clvMonths > 600 || o.clvRate < 0 || o.clvRate > 10 {
		return cfg, fmt.Errorf("invalid --clv-months %d or --clv-discount-rate %v", o.clvMonths, o.clvRate)
	}
	cfg.Audience.CLVMonths, cfg.Audience.DiscountRate = o.clvMonths, o.clvRate
	defs := push.DefaultDefaults()
	var ok bool
	if defs.QuietHours.Start, defs.QuietHours.End, ok = strings.Cut(o.pushQuiet, "-"); !ok {
		return cfg, fmt.Errorf("invalid --push-quiet-hours %q: want HH:MM-HH:MM", o.pushQuiet)
	}
	if defs.SendWindow.Start, defs.SendWindow.End, ok = strings.Cut(o.pushWindow, "-"); !ok {
		return cfg, fmt.Errorf("invalid --push-send-window %q: want HH:MM-HH:MM", o.pushWindow)
	}
	for _, kv := range strings.Split(o.pushCaps, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || (k != "per_day" && k != "per_week") {
			return cfg, fmt.Errorf("invalid --push-caps %q: want per_day=N,per_week=N", o.pushCaps)
		}
		if k == "per_day" {
			defs.Caps.PerDay = n
		} else {
			defs.Caps.PerWeek = n
		}
	}
	if err := defs.Validate(); err != nil {
		return cfg, fmt.Errorf("invalid push defaults: %w", err)
	}
	cfg.Push.Defaults, cfg.Push.Lease = &defs, o.pushLease
	if o.boostsFile != "" {
		b, err := os.ReadFile(o.boostsFile)
		if err != nil {
			return cfg, fmt.Errorf("invalid --boosts: %w", err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cfg.Ranker.Boosts); err != nil {
			return cfg, fmt.Errorf("invalid --boosts %s: %w", o.boostsFile, err)
		}
	}
	if err := f.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func parseBytes(s string) (int, error) {
	mult := 1
	for _, u := range []struct {
		suffix string
		m      int
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	return n * mult, nil
}

func parseWeights(s string) (map[features.Type]float64, error) {
	w := map[features.Type]float64{}
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		name, val, ok := strings.Cut(kv, "=")
		t := features.ParseType(strings.TrimSpace(name))
		if !ok || t == features.TypeUnknown {
			return nil, fmt.Errorf("%q is not type=weight with a known event type", kv)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			return nil, fmt.Errorf("weight of %s: %w", name, err)
		}
		w[t] = v
	}
	return w, nil
}

// parseEarnRules reads "purchase=1/unit@12m,review=10@3m".
func parseEarnRules(s string) (map[features.Type]features.EarnRule, error) {
	rules := map[features.Type]features.EarnRule{}
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		name, spec, ok := strings.Cut(kv, "=")
		t := features.ParseType(strings.TrimSpace(name))
		pts, months, ok2 := strings.Cut(spec, "@")
		if !ok || !ok2 || t == features.TypeUnknown || !strings.HasSuffix(months, "m") {
			return nil, fmt.Errorf("%q is not type=N[/unit]@Mm", kv)
		}
		m, err := strconv.Atoi(strings.TrimSuffix(months, "m"))
		if err != nil || m < 1 {
			return nil, fmt.Errorf("%q: months must be a positive integer", kv)
		}
		per := strings.HasSuffix(pts, "/unit")
		n, err := strconv.ParseFloat(strings.TrimSuffix(pts, "/unit"), 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q: points must be a number >= 0", kv)
		}
		r := features.EarnRule{ExpiryMonths: m}
		if per {
			r.PerUnit = n
		} else {
			r.Fixed = n
		}
		rules[t] = r
	}
	return rules, nil
}

func formatEarnRules(rs map[features.Type]features.EarnRule) string {
	var parts []string
	for _, t := range features.Types() {
		r, ok := rs[t]
		if !ok {
			continue
		}
		if r.PerUnit > 0 {
			parts = append(parts, fmt.Sprintf("%s=%g/unit@%dm", t, r.PerUnit, r.ExpiryMonths))
		} else {
			parts = append(parts, fmt.Sprintf("%s=%g@%dm", t, r.Fixed, r.ExpiryMonths))
		}
	}
	return strings.Join(parts, ",")
}

// parseTiers reads "bronze:0,silver:500".
func parseTiers(s string) ([]features.Tier, error) {
	var ts []features.Tier
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		name, v, ok := strings.Cut(kv, ":")
		n, err := strconv.ParseFloat(v, 64)
		if !ok || name == "" || err != nil {
			return nil, fmt.Errorf("%q is not name:points", kv)
		}
		ts = append(ts, features.Tier{Name: name, MinPoints: n})
	}
	return ts, nil
}

func formatTiers(ts []features.Tier) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = fmt.Sprintf("%s:%g", t.Name, t.MinPoints)
	}
	return strings.Join(parts, ",")
}

func formatWeights(w map[features.Type]float64) string {
	var parts []string
	for _, t := range features.Types() {
		if v, ok := w[t]; ok {
			parts = append(parts, t.String()+"="+strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	return strings.Join(parts, ",")
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
		cli.PrintFlags(w, defaultOptions().flags(cmd), "STICKY_", func(f *flag.Flag) bool {
			return cmd != "demo" || strings.HasPrefix(f.Name, "demo-")
		})
	}
}

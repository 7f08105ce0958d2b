// Command sticky-bench is Sticky's benchmark harness: it measures a sticky
// binary (ingest, freshness, latency, memory) and, with --baseline, a Kafka →
// Redis pipeline on the same workload, evaluates recommendation quality, and
// writes the result, a report and plots.
//
//	sticky-bench run        the system run (and the quality evaluation)
//	sticky-bench quality    only the quality evaluation
//	sticky-bench convert    write a workload as Sticky event and item files
//	sticky-bench report     re-render the report and plots from a result.json
//	sticky-bench baseline   the Redis baseline service (run starts it)
//	sticky-bench help       list the commands
//
// The system run starts `sticky serve` from --sticky-binary (default: sticky
// beside this executable, else on PATH) and the baseline as `sticky-bench
// baseline` from this executable; with --target-url and --brokers it
// measures a deployment already running instead of starting sticky (see
// the package doc of bench/system for what is measured then). Every flag can also be set with an
// environment variable: --live-rate is STICKY_BENCH_LIVE_RATE. A flag on the
// command line wins over the environment.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/stickyhq/sticky/bench/baseline"
	"github.com/stickyhq/sticky/bench/quality"
	"github.com/stickyhq/sticky/bench/report"
	"github.com/stickyhq/sticky/bench/synth"
	"github.com/stickyhq/sticky/bench/system"
	"github.com/stickyhq/sticky/bench/workload"
	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/internal/cli"
	"github.com/stickyhq/sticky/ranker"
	"github.com/stickyhq/sticky/stream"
)

const benchUsage = `Sticky's benchmark harness.

Usage:
  sticky-bench run [flags]       the system run: ingest, freshness, latency, memory and
                                 quality of Sticky (and with --baseline, of a Kafka →
                                 Redis pipeline) on one workload; writes result.json,
                                 report.md and PNG plots into --out
  sticky-bench quality [flags]   only the prequential quality evaluation
  sticky-bench convert [flags]   write a workload (a data set or the synthetic shop) as
                                 Sticky event and item files (JSON lines, .gz to gzip)
  sticky-bench report [flags]    re-render report.md and the plots from a result.json
  sticky-bench baseline [flags]  the Redis baseline service (the harness starts it)
  sticky-bench help              this text; "sticky-bench <command> -h" lists its flags

Workloads: --workload synthetic (flags --users, --items, --days, ...), online-retail or
cdnow (read from --data-dir), or --events FILE [--items-file FILE] for your own logs.
The run starts "sticky serve" from --sticky-binary: by default the sticky beside this
executable, else the one on PATH ("go build -o bin/ ./cmd/..." builds both).

A deployment already running: --target-url http://host:8080 --brokers its-kafka:9092
(and --events-topic, --items-topic if not sticky's defaults) measures it instead of
starting sticky, so the load can come from another machine. The harness produces the
workload's catalogue and events into those topics while the deployment consumes them
(it creates no topic; use a deployment whose state may hold the workload). Measured
then: ingest (from the first backlog event applied to the last, on the deployment's
sticky_stream_events_consumed_total; at most the producer's rate), raw consume (after
the ingest), freshness and latency (network included), RSS, Go heap and state size
from its /metrics, CPU from its process_cpu_seconds_total. Not measured: startup and
peak RSS. Other traffic on its topics during the run skews the ingest figures.

CPU: each phase reports the target's CPU seconds (and its average busy cores) beside
the harness process's own (getrusage; it includes the embedded broker when there is
one), so the report shows what share of the machine the target had.
Every flag is also the environment variable STICKY_BENCH_<FLAG>, e.g.
--live-rate is STICKY_BENCH_LIVE_RATE.
`

// envPrefix names the harness's environment variables STICKY_BENCH_*, so
// that the engine's STICKY_* variables (which the Sticky target inherits)
// do not change the harness.
const envPrefix = "STICKY_BENCH_"

func main() { cli.Main("sticky-bench", run) }

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, benchUsage)
		return errors.New("a command is required")
	}
	sub, args := args[0], args[1:]
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch sub {
	case "run", "quality":
		return benchRun(ctx, sub, args, stdout, stderr)
	case "convert":
		return benchConvert(args, stdout, stderr)
	case "report":
		return benchReport(args, stdout, stderr)
	case "baseline":
		return benchBaseline(ctx, args, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, benchUsage)
		return nil
	}
	fmt.Fprint(stderr, benchUsage)
	return fmt.Errorf("unknown command %q", sub)
}

// newFlagSet is the flag set of a command; -h lists its flags with their
// environment variables.
func newFlagSet(sub string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("sticky-bench "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: sticky-bench %s [flags]\n\nFlags (each also as the environment variable shown; a flag given on the command\nline wins over the environment):\n", sub)
		cli.PrintFlags(stderr, fs, envPrefix, nil)
	}
	return fs
}

// workloadFlags choose and size a workload.
type workloadFlags struct {
	name, dataDir, events, items string
	limit                        int
	timeScale                    float64
	firstOnly                    bool
	synth                        workload.SynthConfig
	seed                         uint64
}

func (f *workloadFlags) register(fs *flag.FlagSet) {
	f.synth.Users, f.synth.Items, f.synth.Days = 10000, 5000, 14
	fs.StringVar(&f.name, "workload", "synthetic", "synthetic, online-retail or cdnow; ignored with --events")
	fs.StringVar(&f.dataDir, "data-dir", "../shared/data", "directory of the data sets")
	fs.StringVar(&f.events, "events", "", "file of Sticky events (JSON lines in time order, .gz gunzipped) to replay")
	fs.StringVar(&f.items, "items-file", "", "with --events: catalogue file (JSON lines of items)")
	fs.IntVar(&f.limit, "limit", 0, "replay only the first N events (0: all)")
	fs.Float64Var(&f.timeScale, "time-scale", 1, "multiply every gap between events by this (20 replays a year of events as twenty: quality must not depend on the shop's pace)")
	fs.BoolVar(&f.firstOnly, "first-only", false, "keep only each user's first event with each item and make every item not repeatable: a log of items consumed once (films rated once) made from any workload; before --limit")
	fs.IntVar(&f.synth.Users, "users", f.synth.Users, "synthetic: shoppers")
	fs.IntVar(&f.synth.Items, "items", f.synth.Items, "synthetic: catalogue items")
	fs.IntVar(&f.synth.Days, "days", f.synth.Days, "synthetic: days of history")
	fs.Uint64Var(&f.seed, "seed", 1, "synthetic: random seed")
	fs.IntVar(&f.synth.Categories, "categories", 24, "synthetic: categories")
	fs.Float64Var(&f.synth.ZipfS, "zipf", 1.2, "synthetic: Zipf exponent of item popularity within a category (> 1)")
	fs.Float64Var(&f.synth.SessionsPerDay, "sessions-per-day", 1.2, "synthetic: mean sessions per shopper per day")
	fs.IntVar(&f.synth.Regions, "regions", 8, "synthetic: home regions (and time zones) of shoppers, 1 to 8")
	fs.Float64Var(&f.synth.ClickRate, "click-rate", 0.33, "synthetic: chance a viewed item is clicked")
	fs.Float64Var(&f.synth.CartRate, "cart-rate", 0.3, "synthetic: chance a viewed item is added to the cart")
	fs.Float64Var(&f.synth.DismissRate, "dismiss-rate", 0.02, "synthetic: chance a viewed item is dismissed")
	fs.Float64Var(&f.synth.SearchRate, "search-rate", 0.2, "synthetic: chance a session starts with a search")
}

func (f *workloadFlags) load() (*workload.Workload, error) {
	var w *workload.Workload
	var err error
	switch {
	case f.events != "":
		w, err = workload.ReadFiles(f.events, f.items)
	case f.name == "synthetic":
		f.synth.Seed = f.seed
		if f.synth.Regions > len(synth.Regions) || f.synth.Regions < 1 {
			return nil, fmt.Errorf("--regions must be 1 to %d", len(synth.Regions))
		}
		if f.synth.ZipfS <= 1 {
			return nil, errors.New("--zipf must be greater than 1")
		}
		w = workload.Synthetic(f.synth)
	default:
		w, err = workload.Dataset(f.name, f.dataDir)
	}
	if err != nil {
		return nil, err
	}
	if f.firstOnly {
		w.FirstOnly()
	}
	w.Limit(f.limit)
	if f.timeScale != 1 {
		if err := w.Scale(f.timeScale); err != nil {
			return nil, fmt.Errorf("--time-scale: %w", err)
		}
	}
	return w, nil
}

func benchRun(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet(sub, stderr)
	var wf workloadFlags
	wf.register(fs)
	var (
		o            system.Options
		brokers      string
		stickyArgs   string
		out          string
		qEvents      int
		qInteract    bool
		excludeSeen  bool
		repeat       ranker.Repeat
		maxPerCat    int
		trainSample  int
		noQuality    bool
		k            int
		targets      string
		logLevel     string
		progressMode string
	)
	fs.StringVar(&out, "out", "", "output directory (default bench-results/<date-time>)")
	fs.IntVar(&k, "k", 10, "list length asked for and scored (HR@K, NDCG@K)")
	fs.IntVar(&qEvents, "quality-events", 300_000, "quality: evaluate on the first N events (0: all)")
	fs.BoolVar(&qInteract, "quality-interactions", false, "quality: evaluate before every item interaction, not only purchases")
	fs.TextVar(&repeat, "repeat", ranker.RepeatLearn, "quality: Sticky's --repeat, learn (the default) or never (nothing bought is shown again: films, books)")
	fs.IntVar(&maxPerCat, "max-per-category", 0, "quality: the diversity rule of Sticky and of the Redis baseline rules alike, at most N items of one category in a list (0: none, the default of both)")
	fs.IntVar(&trainSample, "train-sample", 1, "quality: Sticky's model trains on one positive event in N (chosen by a hash of the event), as the engine's --train-budget thins live training when it is spent")
	fs.BoolVar(&excludeSeen, "exclude-seen", false, "quality: remove from every list each item the user interacted with before (default: only dismissed, bought and not repeatable, unavailable)")
	if sub == "run" {
		fs.StringVar(&brokers, "brokers", "", "Kafka brokers; empty starts an embedded kfake broker in the harness")
		fs.StringVar(&o.TargetURL, "target-url", "", "measure the sticky deployment already running at this URL instead of starting sticky; needs --brokers (its brokers)")
		fs.StringVar(&o.EventsTopic, "events-topic", stream.DefaultConfig().EventsTopic, "with --target-url: the deployment's events topic")
		fs.StringVar(&o.ItemsTopic, "items-topic", stream.DefaultConfig().ItemsTopic, "with --target-url: the deployment's catalogue topic")
		fs.BoolVar(&o.Baseline, "baseline", false, "also measure the Redis baseline (needs redis-server in PATH)")
		fs.StringVar(&targets, "targets", "", "comma-separated targets to run: sticky, redis-baseline (default sticky, plus the baseline with --baseline)")
		fs.IntVar(&o.Partitions, "partitions", 6, "partitions of the events topic")
		fs.IntVar(&o.Backlog, "backlog", 0, "events on the topic before a target starts (0: all but those kept for the live phase)")
		fs.DurationVar(&o.IngestTimeout, "ingest-timeout", 10*time.Minute, "give up the ingest phase after this long")
		fs.DurationVar(&o.Live, "live", 30*time.Second, "measured live phase")
		fs.DurationVar(&o.WarmUp, "warm-up", 3*time.Second, "live-phase warm-up, not measured")
		fs.Float64Var(&o.LiveRate, "live-rate", 5000, "events/s produced during the live phase")
		fs.Float64Var(&o.RecRate, "rec-rate", 5000, "recommendation requests/s (open loop)")
		fs.IntVar(&o.RecWorkers, "rec-workers", 64, "recommendation requests in flight at most")
		fs.DurationVar(&o.FreshEvery, "fresh-every", 50*time.Millisecond, "a freshness sample every")
		fs.DurationVar(&o.FreshPoll, "fresh-poll", 250*time.Microsecond, "first profile poll interval of a freshness sample")
		fs.Float64Var(&o.FreshPollGrowth, "fresh-poll-growth", 0.05, "each freshness poll waits --fresh-poll plus this share of the time elapsed (resolution, and no flood of polls on a target that falls behind); negative: fixed interval")
		fs.StringVar(&o.StickyBinary, "sticky-binary", "", "the sticky executable run as the Sticky target (default: sticky beside this executable, else on PATH)")
		fs.StringVar(&stickyArgs, "sticky-args", "", "extra arguments for sticky serve, space-separated")
		fs.BoolVar(&noQuality, "no-quality", false, "skip the quality evaluation")
		fs.StringVar(&progressMode, "progress", "auto", "progress line: auto, line (rewritten in place), log (a line every 5 s) or none")
	}
	fs.StringVar(&logLevel, "log-level", "warn", "debug, info, warn or error")
	if err := cli.Parse(fs, args, envPrefix, os.LookupEnv); err != nil {
		return err
	}
	log, err := cli.NewLogger(logLevel, stderr)
	if err != nil {
		return err
	}
	if o.TargetURL != "" && brokers == "" {
		return errors.New("--target-url needs --brokers: the brokers the deployment consumes from")
	}
	if out == "" {
		out = filepath.Join("bench-results", time.Now().Format("20060102-150405"))
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("cannot create --out %s: %w", out, err)
	}
	started := time.Now()
	fmt.Fprintf(stderr, "loading the workload...\n")
	w, err := wf.load()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "workload %s: %d events, %d users, %d items (%.1f s)\n", w.Name, len(w.Events), w.Users(), len(w.Items), time.Since(started).Seconds())

	res := &system.Result{Command: commandLine(), Machine: system.ThisMachine(), Started: started, Goals: system.DefaultGoals}
	if sub == "run" {
		o.K, o.Log = k, log
		o.Dir = filepath.Join(out, "work")
		o.StickyArgs = strings.Fields(stickyArgs)
		o.Brokers, o.Targets = cli.SplitList(brokers), cli.SplitList(targets)
		switch progressMode {
		case "auto":
			o.Progress, o.ProgressTTY = stderr, isTerminal(stderr)
		case "line", "log":
			o.Progress, o.ProgressTTY = stderr, progressMode == "line"
		case "none":
		default:
			return fmt.Errorf("invalid --progress %q: auto, line, log or none", progressMode)
		}
		if err := system.Run(ctx, w, o, res); err != nil {
			return err
		}
		defer os.RemoveAll(o.Dir) // data directories; logs of failed targets are copied below
		for _, t := range res.Targets {
			if len(t.Errors) > 0 {
				copyLogs(filepath.Join(o.Dir, t.Name), out)
			}
		}
	}
	if sub == "quality" || !noQuality {
		if qEvents > 0 {
			w.Limit(qEvents)
		}
		fmt.Fprintf(stderr, "quality: prequential evaluation on %d events...\n", len(w.Events))
		p := quality.RepeatsAllowed
		if excludeSeen {
			p = quality.ExcludeSeen
		}
		q := evaluateQuality(w, k, qInteract, p, repeat, maxPerCat, trainSample, stderr)
		res.Quality = q
	}
	res.Seconds = time.Since(started).Seconds()
	if err := report.WriteJSON(filepath.Join(out, "result.json"), res); err != nil {
		return err
	}
	if err := writeReport(out, res); err != nil {
		return err
	}
	fmt.Fprint(stdout, report.Summary(res))
	fmt.Fprintf(stdout, "\nresult: %s\nreport: %s\n", filepath.Join(out, "result.json"), filepath.Join(out, "report.md"))
	return nil
}

// evaluateQuality runs Sticky's ranker (with Config.Repeat repeat), the
// baseline's rules and the reference baselines over the workload under
// protocol p, Sticky and the baseline's rules both with the diversity rule
// maxPerCat (0: none), Sticky's model training on one positive event in
// trainSample, with a progress line on stderr every 5 s.
func evaluateQuality(w *workload.Workload, k int, interactions bool, p quality.Protocol, repeat ranker.Repeat, maxPerCat, trainSample int, stderr io.Writer) *system.Quality {
	rc := ranker.DefaultConfig()
	rc.Repeat, rc.MaxPerCategory = repeat, maxPerCat
	rc.Model.Sample = trainSample
	recs := quality.Standard(w.Items, features.DefaultConfig(), rc)
	fmt.Fprintf(stderr, "quality: protocol %s: %s\n", p, p.Rule())
	scores := quality.Evaluate(w, recs, quality.Options{K: k, Interactions: interactions, Protocol: p,
		Progress: func(pr quality.Progress) { fmt.Fprintln(stderr, pr) }})
	return &system.Quality{Workload: w.Name, Events: len(w.Events), K: k, Interactions: interactions,
		Protocol: p.String(), Exclusion: p.Rule(), StickyRepeat: recs[0].(*quality.Sticky).Ranker().Config().Repeat.String(),
		MaxPerCategory: maxPerCat, TrainSample: rc.Model.Sample, Scores: scores}
}

func benchConvert(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("convert", stderr)
	var wf workloadFlags
	wf.register(fs)
	var events, items string
	fs.StringVar(&events, "out-events", "", "events file to write (.gz to gzip); required")
	fs.StringVar(&items, "out-items", "", "catalogue file to write (.gz to gzip)")
	if err := cli.Parse(fs, args, envPrefix, os.LookupEnv); err != nil {
		return err
	}
	if events == "" {
		return errors.New("--out-events is required")
	}
	w, err := wf.load()
	if err != nil {
		return err
	}
	if err := w.WriteFiles(events, items); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d events (%d users, %d purchases) → %s; %d items → %s\n",
		w.Name, len(w.Events), w.Users(), w.Purchases(), events, len(w.Items), items)
	return nil
}

func benchReport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", stderr)
	var in, out string
	fs.StringVar(&in, "result", "", "result.json of a run; required")
	fs.StringVar(&out, "out", "", "directory for report.md and the plots (default: the result's)")
	if err := cli.Parse(fs, args, envPrefix, os.LookupEnv); err != nil {
		return err
	}
	if in == "" {
		return errors.New("--result is required")
	}
	if out == "" {
		out = filepath.Dir(in)
	}
	res, err := report.ReadJSON(in)
	if err != nil {
		return err
	}
	if err := writeReport(out, res); err != nil {
		return err
	}
	fmt.Fprint(stdout, report.Summary(res))
	return nil
}

// writeReport writes the plots and report.md into out.
func writeReport(out string, res *system.Result) error {
	plots, err := report.Plots(out, res)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "report.md"), []byte(report.Markdown(res, plots)), 0o644); err != nil {
		return fmt.Errorf("cannot write the report: %w", err)
	}
	return nil
}

func benchBaseline(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlagSet("baseline", stderr)
	var o baseline.Options
	var brokers, logLevel string
	fs.StringVar(&brokers, "brokers", "127.0.0.1:9092", "Kafka brokers, comma-separated")
	fs.StringVar(&o.Topic, "topic", "sticky.events", "events topic")
	fs.StringVar(&o.ItemsTopic, "items-topic", "sticky.items", "catalogue topic")
	fs.StringVar(&o.Group, "group", "sticky-baseline", "consumer group")
	fs.StringVar(&o.Redis, "redis", "127.0.0.1:6379", "Redis address")
	fs.StringVar(&o.HTTP, "http", "127.0.0.1:8090", "HTTP listen address")
	fs.StringVar(&logLevel, "log-level", "warn", "debug, info, warn or error")
	if err := cli.Parse(fs, args, envPrefix, os.LookupEnv); err != nil {
		return err
	}
	log, err := cli.NewLogger(logLevel, stderr)
	if err != nil {
		return err
	}
	o.Brokers = cli.SplitList(brokers)
	return baseline.Run(ctx, o, log)
}

// commandLine is the command as typed, for the report.
func commandLine() string {
	args := make([]string, 0, len(os.Args))
	args = append(args, "sticky-bench")
	for _, a := range os.Args[1:] {
		if strings.ContainsAny(a, " \t\"'$") {
			a = fmt.Sprintf("%q", a)
		}
		args = append(args, a)
	}
	return strings.Join(args, " ")
}

// isTerminal reports whether w is a character device.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || runtime.GOOS == "windows" {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// copyLogs copies a failed target's *.log files into out.
func copyLogs(dir, out string) {
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, l := range logs {
		if b, err := os.ReadFile(l); err == nil {
			os.WriteFile(filepath.Join(out, filepath.Base(l)), b, 0o644)
		}
	}
}

package report

import (
	"bytes"
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stickyhq/sticky/bench/quality"
	"github.com/stickyhq/sticky/bench/system"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// sample is a realistic two-target result.
func sample() *system.Result {
	hist := func(scale float64, counts ...int64) []system.Bar {
		var bars []system.Bar
		up := 0.0001 * scale
		for _, c := range counts {
			bars = append(bars, system.Bar{UpTo: up, Count: c})
			up *= 1.5
		}
		return bars
	}
	series := func(ingest, live float64) []system.Sample {
		var s []system.Sample
		for t := 1; t <= 8; t++ {
			s = append(s, system.Sample{Seconds: float64(t), Value: ingest * (1 - 0.02*float64(t)), Phase: "ingest"})
		}
		for t := 9; t <= 20; t++ {
			s = append(s, system.Sample{Seconds: float64(t), Value: live, Phase: "live"})
		}
		return s
	}
	fresh := func(base float64, n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = base * (1 + 3*float64(i)/float64(n))
		}
		return v
	}
	return &system.Result{
		Command: "sticky bench run --workload online-retail --live-rate 2000 --live-seconds 60 --baseline redis",
		Machine: system.Machine{CPUs: 2, CPUModel: "AMD EPYC 7B13", MemBytes: 8 << 30, OS: "linux/amd64 6.8.0", GoVersion: "go1.26.0", Host: "bench-1"},
		Started: time.Date(2026, 11, 23, 17, 4, 5, 0, time.UTC),
		Seconds: 312.5,
		Broker:  "embedded (kfake)",
		Workload: system.Workload{
			Name: "online-retail", Events: 1_020_000, Users: 4_372, Items: 3_684, Backlog: 900_000,
			LiveRate: 2000, LiveSeconds: 60, Partitions: 6,
		},
		Goals: system.DefaultGoals,
		Targets: []system.Target{
			{
				Name:        "sticky",
				Description: "sticky serve, 6 partitions, Badger under a temporary directory, fastcache 64 MiB",
				Ingest:      system.Ingest{Events: 900_000, Seconds: 6, PerSecond: 150_000, StartupSeconds: 1.2, RawPerSecond: 600_000, Ratio: 0.25},
				Throughput:  series(160_000, 2000),
				Freshness: system.Freshness{
					Samples: 400, Missing: 0, P50: 0.006, P99: 0.018, Max: 0.0241,
					Values: fresh(0.006, 400), PollSeconds: 0.001,
				},
				Latency: system.Latency{
					Rate: 5000, Requests: 300_000, Errors: 3, Achieved: 4999.2,
					P50: 0.0004, P90: 0.0008, P99: 0.0015, P999: 0.004, Max: 0.0121,
					Histogram:   hist(1, 10, 2000, 60_000, 150_000, 70_000, 15_000, 2500, 400, 80, 7, 3),
					EmptyLists:  12,
					ServerTimed: 300_000, ServerP50: 0.0002, ServerP99: 0.0009, OutsideP50: 0.0002, OutsideP99: 0.0007,
					SendLagP50: 0.00005, SendLagP99: 0.0003,
				},
				Memory: system.Memory{
					RSSBytes: 210 << 20, PeakRSSBytes: 260 << 20, AnonRSSBytes: 150 << 20, FileRSSBytes: 60 << 20, HeapBytes: 96 << 20,
					StateBytes: 48 << 20, StateKind: "Badger LSM and value log on disk", Users: 4_372, BytesPerUser: float64(48<<20) / 4372,
				},
				CPU: system.CPU{
					Ingest: system.PhaseCPU{Seconds: 7.2, TargetSeconds: 11.5, HarnessSeconds: 2.4},
					Live:   system.PhaseCPU{Seconds: 60, TargetSeconds: 48, HarnessSeconds: 39},
					Source: "/proc",
				},
			},
			{
				Name:        "redis-baseline",
				Description: "Go service with go-redis, one consumer per partition, redis-server 7.4",
				Ingest:      system.Ingest{Events: 900_000, Seconds: 22.5, PerSecond: 40_000, StartupSeconds: 0.4, RawPerSecond: 620_000, Ratio: 40_000.0 / 620_000},
				Throughput:  series(42_000, 2000),
				Freshness: system.Freshness{
					Samples: 400, Missing: 2, P50: 0.012, P99: 0.040, Max: 0.09,
					Values: fresh(0.012, 398), PollSeconds: 0.001,
				},
				Latency: system.Latency{
					Rate: 5000, Requests: 300_000, Errors: 0, Achieved: 4990,
					P50: 0.0011, P90: 0.0022, P99: 0.0048, P999: 0.011, Max: 0.031,
					Histogram: hist(3, 10, 2000, 60_000, 150_000, 70_000, 15_000, 2500, 400, 80, 7, 3),
				},
				Memory: system.Memory{
					RSSBytes: 420 << 20, PeakRSSBytes: 450 << 20, AnonRSSBytes: 410 << 20, FileRSSBytes: 10 << 20, HeapBytes: 30 << 20,
					StateBytes: 160 << 20, StateKind: "Redis used_memory", Users: 4_372, BytesPerUser: float64(160<<20) / 4372,
				},
				CPU: system.CPU{
					Ingest: system.PhaseCPU{Seconds: 23.1, TargetSeconds: 30.2, HarnessSeconds: 3.1},
					Live:   system.PhaseCPU{Seconds: 60, TargetSeconds: 66, HarnessSeconds: 41},
					Source: "/proc",
				},
				Errors: []string{"redis: 3 slow commands over 10 ms (SLOWLOG)"},
			},
		},
		Quality: &system.Quality{
			Workload: "online-retail", Events: 1_020_000, K: 10, Protocol: "repeats-allowed",
			Exclusion: "the harness removes from every list the items the user dismissed, bought and not repeatable, or unavailable; repeat purchases count",
			Scores: []quality.Score{
				{Name: "sticky ranker", Evaluated: 18_532, HR: 0.1834, NDCG: 0.1012, Coverage: 0.612, Items: 2255, Seconds: 41.2},
				{Name: "redis-baseline rules", Evaluated: 18_532, HR: 0.1201, NDCG: 0.0633, Coverage: 0.231, Items: 851, Seconds: 3.1},
				{Name: "global popularity", Evaluated: 18_532, HR: 0.0512, NDCG: 0.0241, Coverage: 0.004, Items: 15, Seconds: 0.9},
			},
		},
	}
}

// row returns the table line of s labelled label, in the first section
// whose heading starts with section ("" for anywhere).
func row(t *testing.T, s, section, label string) string {
	t.Helper()
	in := section == ""
	for l := range strings.SplitSeq(s, "\n") {
		if !in {
			in = strings.HasPrefix(l, section)
			continue
		}
		if f := fields(l); len(f) > 0 && f[0] == label {
			return l
		}
	}
	t.Fatalf("no row %q under %q in:\n%s", label, section, s)
	return ""
}

// fields splits a table line into its cells (two or more spaces apart).
func fields(l string) []string {
	var out []string
	for f := range strings.SplitSeq(strings.TrimSpace(l), "  ") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func TestSummary(t *testing.T) {
	s := Summary(sample())
	golden(t, "summary.golden", s)

	f := func(section string, want ...string) {
		t.Helper()
		got := fields(row(t, s, section, want[0]))
		if !reflect.DeepEqual(got, want) {
			t.Errorf("row %q:\n got %q\nwant %q", want[0], got, want)
		}
	}
	// 150k / 40k = 3.75; p99 1.5 ms / 4.8 ms = 0.3125.
	f("Ingest", "ingest (events/s)", "150.0k", "40.0k", "×3.75 better", "≥ 100k events/s", "met")
	f("Ingest", "raw consume (events/s)", "600.0k", "620.0k", "×0.97")
	f("Ingest", "ingest / raw", "25.0%", "6.5%", "×3.88 better")
	f("Ingest", "startup (s)", "1.20", "0.40", "×3.00 worse")
	f("Recommendations", "p99 (ms)", "1.50", "4.80", "×0.31 better", "p99 ≤ 2 ms at 5k req/s", "met")
	f("Freshness", "p99 (ms)", "18.0", "40.0", "×0.45 better", "p99 ≤ 25 ms", "met")
	f("Freshness", "missing", "0", "2", "–")
	f("Recommendations", "errors", "3", "0", "–")
	f("Memory", "RSS", "210.0 MiB", "420.0 MiB", "×0.50 better")
	f("Memory", "state per user", "11.2 KiB", "37.5 KiB", "×0.30 better")
	f("Quality", "sticky ranker", "18,532", "0.1834", "0.1012", "61.2%", "41.20")
	// 11.5 s of CPU over 7.2 s: 1.60 cores; 30.2 s for the baseline's ingest.
	f("CPU, user + system — ingest", "target CPU (s)", "11.50", "30.20", "×0.38 better")
	f("CPU, user + system — ingest", "target cores (avg)", "1.60", "1.31", "×1.22")
	f("CPU, user + system — live", "harness CPU (s)", "39.00", "41.00", "×0.95")
	f("CPU, user + system — live", "harness cores (avg)", "0.65", "0.68", "×0.95")

	for _, want := range []string{
		"Sticky/baseline",
		"Ingest — backlog of 900,000 events",
		"ingest / raw", "samples", "achieved (req/s)", "p90 (ms)", "p99.9 (ms)", "empty lists",
		"peak RSS", "Go heap", "state per user",
		"recommender", "HR@10", "NDCG@10", "coverage",
		"Redis baseline: 1 error(s)", "! redis: 3 slow commands",
		"state: Sticky = Badger LSM and value log on disk; Redis baseline = Redis used_memory.",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
}

func TestGoals(t *testing.T) {
	g := system.DefaultGoals
	type check func(system.Goals, *system.Target) (verdict, bool)
	f := func(name string, c check, tg system.Target, want string) {
		t.Helper()
		v, ok := c(g, &tg)
		if !ok {
			t.Fatalf("%s: no goal", name)
		}
		if v.status != want {
			t.Errorf("%s: status %q, want %q", name, v.status, want)
		}
	}
	fresh := func(p99 float64, samples, missing int) system.Target {
		return system.Target{Freshness: system.Freshness{P99: p99, Samples: samples, Missing: missing}}
	}
	lat := func(p99, rate float64) system.Target {
		return system.Target{Latency: system.Latency{P99: p99, Rate: rate, Requests: 1000}}
	}
	f("ingest at goal", ingestGoal, system.Target{Ingest: system.Ingest{PerSecond: 100_000}}, "met")
	f("ingest below", ingestGoal, system.Target{Ingest: system.Ingest{PerSecond: 99_999}}, "missed")
	f("ingest unmeasured", ingestGoal, system.Target{}, "no data")
	f("freshness at goal", freshnessGoal, fresh(0.025, 100, 0), "met")
	f("freshness above", freshnessGoal, fresh(0.0251, 100, 0), "missed")
	f("freshness 1% missing", freshnessGoal, fresh(0.01, 100, 1), "met")
	f("freshness 2% missing", freshnessGoal, fresh(0.01, 100, 2), "missed (2 of 100 never visible)")
	f("freshness no samples", freshnessGoal, fresh(0, 0, 0), "no data")
	f("freshness no p99", freshnessGoal, fresh(0, 200, 1), "no data")
	f("latency at goal", latencyGoal, lat(0.002, 5000), "met")
	f("latency above", latencyGoal, lat(0.00201, 5000), "missed")
	f("latency above at low rate", latencyGoal, lat(0.003, 1000), "missed")
	f("latency at low rate", latencyGoal, lat(0.001, 1000), "not shown (ran at 1k req/s)")
	f("latency unmeasured", latencyGoal, system.Target{}, "no data")

	if _, ok := ingestGoal(system.Goals{}, &system.Target{}); ok {
		t.Error("a zero goal is shown")
	}

	// The verdicts reach the summary.
	r := sample()
	r.Targets[0].Ingest.PerSecond = 99_000
	r.Targets[0].Latency.P99 = 0.0025
	s := Summary(r)
	if l := row(t, s, "Ingest", "ingest (events/s)"); !strings.HasSuffix(l, "missed") {
		t.Errorf("ingest row: %q", l)
	}
	if l := row(t, s, "Recommendations", "p99 (ms)"); !strings.HasSuffix(l, "missed") {
		t.Errorf("latency row: %q", l)
	}
	if l := row(t, s, "Freshness", "p99 (ms)"); !strings.HasSuffix(l, "met") {
		t.Errorf("freshness row: %q", l)
	}
}

func TestMarkdown(t *testing.T) {
	r := sample()
	md := Markdown(r, []string{"latency.png", "freshness.png", "throughput.png"})
	golden(t, "report.golden.md", md)
	for _, want := range []string{
		"# Sticky benchmark — 2026-11-23 17:04 UTC",
		"```sh\n" + r.Command + "\n```",
		"- **Machine:** 2 CPUs (AMD EPYC 7B13), 8.00 GiB RAM, linux/amd64 6.8.0, go1.26.0, host `bench-1`",
		"- **Broker:** embedded (kfake)",
		"live phase: 2k events/s × 60 s (≈ 120,000 events)",
		"partitions: 6",
		"## Goals",
		"| ingest ≥ 100k events/s | 150.0k events/s | **met** |",
		"| freshness p99 ≤ 25 ms | 18.0 ms | **met** |",
		"| recommendation latency p99 ≤ 2 ms at 5k req/s | 1.50 ms at 5k req/s | **met** |",
		"## Figures",
		"| figure | Sticky | Redis baseline | Sticky/baseline | goal | Sticky vs goal |",
		"| ingest (events/s) | 150.0k | 40.0k | ×3.75 better | ≥ 100k events/s | met |",
		"| **Memory, end of the live phase** |",
		"## Recommendation quality",
		"before each purchase, every recommender is asked for its top 10",
		"| recommender | evaluated | HR@10 | NDCG@10 | coverage |",
		"| sticky ranker | 18,532 | 0.1834 | 0.1012 | 61.2% |",
		"![latency](latency.png)", "![freshness](freshness.png)", "![throughput](throughput.png)",
		"## How measured",
		"no coordinated omission",
		"every 1 ms",
		"### Sticky (`sticky`)",
		r.Targets[0].Description,
		"### Redis baseline (`redis-baseline`)",
		"**1 error(s); the figures of this target are partial:**",
		"redis: 3 slow commands over 10 ms (SLOWLOG)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}

	for _, want := range []string{
		"| **CPU, user + system — ingest phase, until the whole backlog is applied** |",
		"| target CPU (s) | 11.50 | 30.20 | ×0.38 better |",
		"CPU — ingest: target 11.50 s (1.60 cores avg), harness 2.40 s (0.33 cores avg) over 7.20 s; live: target 48.00 s (0.80 cores avg), harness 39.00 s (0.65 cores avg) over 60.00 s.",
		"**CPU.** User + system CPU seconds",
		"and the embedded broker, which runs in the harness's process in this run",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(md, "a deployment already running") {
		t.Error("a started target is described as a deployment")
	}

	r.Quality.Interactions = true
	r.Machine.CPUs = 8
	md = Markdown(r, nil)
	for _, want := range []string{"before each item interaction", "this one has 8 CPUs"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(md, "## Plots") {
		t.Error("plots section without plots")
	}
}

// A Sticky deployment the harness did not start (--target-url): where it
// was measured and what was not, in both outputs.
func TestDeployment(t *testing.T) {
	r := sample()
	r.Broker = "kafka-1:9092"
	r.Targets[0].URL = "http://sticky-1:8080"
	r.Targets[0].Ingest.StartupSeconds = 0
	r.Targets[0].Memory.PeakRSSBytes = 0
	md := Markdown(r, nil)
	for _, want := range []string{
		"Measured at http://sticky-1:8080, a deployment the harness did not start.",
		"**Sticky, a deployment already running** (at http://sticky-1:8080)",
		"startup and peak RSS are not measured",
		"read the ingest ratios with that in mind",
		"| startup (s) | – | 0.40 | – |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(md, "embedded broker, which runs") {
		t.Error("the harness's CPU is said to include a broker it did not run")
	}
	if s := Summary(r); !strings.Contains(s, "Sticky: the deployment at http://sticky-1:8080, not started by the harness") {
		t.Errorf("summary:\n%s", s)
	}
}

// A result written before the harness measured CPU (a former reference
// run of docs/bench, kept in testdata) still renders, without CPU rows or
// NaN.
func TestOldResults(t *testing.T) {
	paths, err := filepath.Glob("testdata/old-result.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no old result: %v", err)
	}
	for _, p := range paths {
		r, err := ReadJSON(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Targets) < 2 || hasCPU(r) {
			t.Fatalf("%s: %d targets, CPU %v", p, len(r.Targets), hasCPU(r))
		}
		s, md := Summary(r), Markdown(r, nil)
		for _, out := range []string{s, md} {
			for _, bad := range []string{"NaN", "Inf", "%!", "CPU, user", "**CPU.**", "CPU —"} {
				if strings.Contains(out, bad) {
					t.Errorf("%s: output holds %q", p, bad)
				}
			}
		}
		if l := row(t, s, "Ingest", "ingest (events/s)"); !strings.Contains(l, "better") && !strings.Contains(l, "worse") {
			t.Errorf("%s: no ratio in %q", p, l)
		}
	}
}

func TestPlots(t *testing.T) {
	dir := t.TempDir()
	names, err := Plots(dir, sample())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"latency.png", "freshness.png", "throughput.png"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("wrote %q, want %q", names, want)
	}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if sz := img.Bounds().Size(); sz.X != 800 || sz.Y != 450 {
			t.Errorf("%s is %v, want 800×450", n, sz)
		}
	}
}

func TestPlotsWithoutData(t *testing.T) {
	dir := t.TempDir()
	r := &system.Result{Goals: system.DefaultGoals, Targets: []system.Target{{Name: "sticky"}}}
	names, err := Plots(dir, r)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 0 {
		t.Errorf("wrote %q without data", names)
	}
	// One target with only a throughput series: one plot.
	r.Targets[0].Throughput = []system.Sample{{Seconds: 1, Value: 10, Phase: "ingest"}}
	names, err = Plots(dir, r)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(names, []string{"throughput.png"}) {
		t.Errorf("wrote %q", names)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "result.json")
	want := sample()
	if err := WriteJSON(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v", got, want)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("\n  \"command\": ")) {
		t.Errorf("not indented:\n%.200s", b)
	}

	if _, err := ReadJSON(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("reading a missing file succeeded")
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadJSON(bad); err == nil {
		t.Error("reading a broken file succeeded")
	}
}

func TestZeroValues(t *testing.T) {
	f := func(name string, r *system.Result) {
		t.Helper()
		s, md := Summary(r), Markdown(r, nil)
		for _, out := range []string{s, md} {
			for _, bad := range []string{"NaN", "Inf", "%!"} {
				if strings.Contains(out, bad) {
					t.Errorf("%s: output holds %q:\n%s", name, bad, out)
				}
			}
		}
		if len(r.Targets) == 1 && strings.Contains(s, "/baseline") {
			t.Errorf("%s: ratio column with one target:\n%s", name, s)
		}
		if _, err := Plots(t.TempDir(), r); err != nil {
			t.Errorf("%s: plots: %v", name, err)
		}
	}
	f("empty", &system.Result{})
	f("one zero target", &system.Result{Goals: system.DefaultGoals, Targets: []system.Target{{Name: "sticky"}}})
	f("zero quality", &system.Result{Quality: &system.Quality{Scores: []quality.Score{{Name: "x"}}}})

	zero := sample()
	zero.Targets[1] = system.Target{Name: "redis-baseline", Errors: []string{"cannot start redis-server: exec: not found"}}
	zero.Targets[0].Freshness = system.Freshness{Missing: 3}
	f("zero baseline", zero)
	s := Summary(zero)
	if l := row(t, s, "Ingest", "ingest (events/s)"); !reflect.DeepEqual(fields(l)[:4], []string{"ingest (events/s)", "150.0k", "–", "–"}) {
		t.Errorf("ingest row against a zero baseline: %q", l)
	}
	if !strings.Contains(s, "! cannot start redis-server: exec: not found") {
		t.Errorf("error not printed:\n%s", s)
	}
	if l := row(t, s, "Freshness", "p99 (ms)"); !strings.Contains(l, "missed (3 of 3 never visible)") {
		t.Errorf("freshness with every sample missing: %q", l)
	}

	one := sample()
	one.Targets = one.Targets[:1]
	f("one target", one)
	if l := row(t, Summary(one), "Ingest", "ingest (events/s)"); !reflect.DeepEqual(fields(l), []string{"ingest (events/s)", "150.0k", "≥ 100k events/s", "met"}) {
		t.Errorf("one target: %q", fields(l))
	}
}

func TestFormat(t *testing.T) {
	f := func(got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	f(fmtRate(152_340), "152.3k")
	f(fmtRate(1_250_000), "1.25M")
	f(fmtRate(840), "840")
	f(fmtRate(0), "0")
	f(fmtRateShort(100_000), "100k")
	f(fmtRateShort(5000), "5k")
	f(fmtMS(0.0015), "1.50")
	f(fmtMS(0.0004), "0.400")
	f(fmtMS(0.0181), "18.1")
	f(fmtMS(0.2501), "250")
	f(fmtMSShort(0.025), "25")
	f(fmtMSShort(0.002), "2")
	f(fmtBytes(512), "512 B")
	f(fmtBytes(210<<20), "210.0 MiB")
	f(fmtBytes(3<<30), "3.00 GiB")
	f(fmtCount(1_234_567), "1,234,567")
	f(fmtCount(-1234), "-1,234")
	f(fmtCount(12), "12")
	f(fmtRatio(0.2104), "×0.21")
	f(fmtRatio(12.44), "×12.4")
	f(fmtRatio(0.0123), "×0.012")
	f(codeBlock("", "a ``` b"), "````\na ``` b\n````\n")
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the output (run with -update after checking it):\n%s", path, got)
	}
}

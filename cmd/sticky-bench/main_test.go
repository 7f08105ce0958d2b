package main

import (
	"bytes"
	"errors"
	"flag"
	"image/png"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/stickyhq/sticky/bench/report"
	"github.com/stickyhq/sticky/bench/system"
)

// The harness end to end: sticky and sticky-bench are built side by side,
// `sticky-bench run` measures the sticky beside it on a small synthetic
// shop (and the Redis baseline, `sticky-bench baseline`, when redis-server
// is installed), then the figures, result file, report and plots are
// checked.
func TestBenchRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries and runs the harness")
	}
	bin := buildBinaries(t)
	targets := system.TargetSticky
	if _, err := exec.LookPath("redis-server"); err == nil {
		targets += "," + system.TargetBaseline
	} else if os.Getenv("STICKY_TEST_REQUIRE_REDIS") == "1" {
		t.Fatal("redis-server is not installed and STICKY_TEST_REQUIRE_REDIS=1")
	} else {
		t.Log("redis-server not installed: measuring Sticky only")
	}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(filepath.Join(bin, "sticky-bench"), "run", "--targets", targets, "--out", out,
		"--users", "150", "--items", "400", "--days", "3", "--partitions", "3",
		"--live", "3s", "--warm-up", "1s", "--live-rate", "300", "--rec-rate", "200", "--fresh-every", "100ms",
		"--quality-events", "5000", "--progress", "log")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Logf("stderr:\n%s", stderr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stdout:\n%s", stdout.String())

	res, err := report.ReadJSON(filepath.Join(out, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Command, "sticky-bench run --targets") {
		t.Errorf("command %q", res.Command)
	}
	want := strings.Split(targets, ",")
	if len(res.Targets) != len(want) {
		t.Fatalf("targets %d, want %v", len(res.Targets), want)
	}
	wl := res.Workload
	if wl.Events < 1000 || wl.Backlog <= 0 || wl.Backlog >= wl.Events || wl.Users > 150 || wl.Users < 120 || wl.Items != 400 {
		t.Fatalf("workload %+v", wl)
	}
	for i, tg := range res.Targets {
		if tg.Name != want[i] {
			t.Fatalf("target %d is %s, want %s", i, tg.Name, want[i])
		}
		if len(tg.Errors) > 0 {
			t.Fatalf("%s: %v", tg.Name, tg.Errors)
		}
		in := tg.Ingest
		if in.Events != wl.Backlog || in.PerSecond <= 0 || in.RawPerSecond <= 0 || in.Ratio <= 0 || in.Seconds <= 0 {
			t.Errorf("%s ingest %+v", tg.Name, in)
		}
		l := tg.Latency
		// 200/s for 3 s: about 600 requests measured.
		if l.Requests < 400 || l.Errors != 0 || l.EmptyLists != 0 || l.P50 <= 0 || l.P99 < l.P50 || l.Max < l.P999 || len(l.Histogram) == 0 {
			t.Errorf("%s latency %+v", tg.Name, l)
		}
		var n int64
		for _, b := range l.Histogram {
			n += b.Count
		}
		if n != l.Requests {
			t.Errorf("%s: histogram holds %d requests, want %d", tg.Name, n, l.Requests)
		}
		f := tg.Freshness
		if f.Samples < 15 || f.Missing != 0 || f.P50 <= 0 || f.Max < f.P99 || len(f.Values) != f.Samples {
			t.Errorf("%s freshness %+v", tg.Name, f)
		}
		m := tg.Memory
		if m.RSSBytes <= 0 || m.HeapBytes <= 0 || m.StateBytes <= 0 || m.Users < 150 || m.BytesPerUser <= 0 {
			t.Errorf("%s memory %+v", tg.Name, m)
		}
		for name, p := range map[string]system.PhaseCPU{"ingest": tg.CPU.Ingest, "live": tg.CPU.Live} {
			if p.Seconds <= 0 || p.TargetSeconds <= 0 || p.HarnessSeconds <= 0 {
				t.Errorf("%s: %s cpu %+v", tg.Name, name, p)
			}
		}
		if tg.CPU.Source != "/proc" {
			t.Errorf("%s: cpu source %q", tg.Name, tg.CPU.Source)
		}
		phases := map[string]bool{}
		for _, s := range tg.Throughput {
			phases[s.Phase] = true
		}
		if !phases["live"] {
			t.Errorf("%s: no live throughput samples: %+v", tg.Name, tg.Throughput)
		}
	}
	if q := res.Quality; q == nil || q.Events != 5000 || len(q.Scores) != 6 || q.Protocol != "repeats-allowed" {
		t.Fatalf("quality %+v", res.Quality)
	}
	for _, s := range res.Quality.Scores {
		if s.Evaluated == 0 || s.HR <= 0 {
			t.Errorf("quality %+v", s)
		}
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"latency.png", "freshness.png", "throughput.png"} {
		if !bytes.Contains(md, []byte(s)) {
			t.Errorf("report does not show %s", s)
		}
		f, err := os.Open(filepath.Join(out, s))
		if err != nil {
			t.Fatal(err)
		}
		_, err = png.Decode(f)
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "work")); !os.IsNotExist(err) {
		t.Errorf("the work directory was left behind: %v", err)
	}
	// The report re-renders from the result file alone.
	stdout.Reset()
	if err := run([]string{"report", "--result", filepath.Join(out, "result.json")}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "sticky") {
		t.Fatalf("summary:\n%s", stdout.String())
	}
}

// buildBinaries builds sticky and sticky-bench into a temporary directory.
func buildBinaries(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", bin+string(filepath.Separator), ".", "../sticky").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// --target-url: a sticky already running (a subprocess on an embedded
// broker of the test, on sticky's default topics) is measured through its
// URL; the harness starts no sticky of its own.
func TestBenchRunTargetURL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries and runs the harness")
	}
	bin := buildBinaries(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0), kfake.SeedTopics(-1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	brokers := strings.Join(c.ListenAddrs(), ",")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	logf, err := os.Create(filepath.Join(dir, "sticky.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	sticky := exec.Command(filepath.Join(bin, "sticky"), "serve", "--brokers", brokers, "--data", filepath.Join(dir, "data"),
		"--http", addr, "--partitions", "3", "--log-level", "warn")
	sticky.Stdout, sticky.Stderr = logf, logf
	if err := sticky.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { sticky.Wait(); close(exited) }()
	t.Cleanup(func() {
		sticky.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			sticky.Process.Kill()
			<-exited
		}
	})
	url := "http://" + addr
	waitFor(t, time.Minute, func() error {
		select {
		case <-exited:
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("sticky exited:\n%s", b)
		default:
		}
		resp, err := http.Get(url + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return errors.New(resp.Status)
		}
		return nil
	})

	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(filepath.Join(bin, "sticky-bench"), "run", "--target-url", url, "--brokers", brokers, "--out", out,
		"--users", "100", "--items", "300", "--days", "2",
		"--live", "2s", "--warm-up", "1s", "--live-rate", "200", "--rec-rate", "100", "--fresh-every", "100ms",
		"--no-quality", "--progress", "log")
	// The harness must not find a sticky to start: it starts none.
	cmd.Env = append(os.Environ(), "PATH="+t.TempDir())
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	t.Logf("stderr:\n%s", stderr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stdout:\n%s", stdout.String())

	res, err := report.ReadJSON(filepath.Join(out, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Targets) != 1 {
		t.Fatalf("targets %+v", res.Targets)
	}
	tg := res.Targets[0]
	if len(tg.Errors) > 0 {
		t.Fatalf("errors: %v", tg.Errors)
	}
	if tg.Name != system.TargetSticky || tg.URL != url || !strings.Contains(tg.Description, "sticky.events") {
		t.Errorf("target %s at %q: %s", tg.Name, tg.URL, tg.Description)
	}
	in := tg.Ingest
	if in.Events != res.Workload.Backlog || in.PerSecond <= 0 || in.RawPerSecond <= 0 || in.Ratio <= 0 || in.StartupSeconds != 0 {
		t.Errorf("ingest %+v", in)
	}
	if l := tg.Latency; l.Requests < 100 || l.Errors != 0 || l.P99 <= 0 {
		t.Errorf("latency %+v", l)
	}
	if f := tg.Freshness; f.Samples < 8 || f.Missing != 0 || f.P50 <= 0 {
		t.Errorf("freshness %+v", f)
	}
	if m := tg.Memory; m.RSSBytes <= 0 || m.PeakRSSBytes != 0 || m.HeapBytes <= 0 || m.Users < 100 {
		t.Errorf("memory %+v", m)
	}
	cpu := tg.CPU
	for name, p := range map[string]system.PhaseCPU{"ingest": cpu.Ingest, "live": cpu.Live} {
		if p.Seconds <= 0 || p.TargetSeconds <= 0 || p.HarnessSeconds <= 0 {
			t.Errorf("%s cpu %+v", name, p)
		}
	}
	if cpu.Source != "process_cpu_seconds_total" {
		t.Errorf("cpu source %q", cpu.Source)
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{url, "| target CPU (s) |", "harness"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("report lacks %q", want)
		}
	}

	// Without --brokers there is nothing the deployment reads from.
	if err := run([]string{"run", "--target-url", url, "--no-quality"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "--brokers") {
		t.Errorf("--target-url without --brokers: %v", err)
	}
}

// waitFor polls f every 20 ms until it returns nil, failing the test after
// total.
func waitFor(t *testing.T, total time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %v", total, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Every flag is also a STICKY_BENCH_* variable, and -h lists both.
func TestHelpAndEnvironment(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run([]string{"help"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "--target-url") {
		t.Errorf("help does not explain --target-url:\n%s", stdout.String())
	}
	for _, sub := range []string{"run", "quality", "convert", "report", "baseline"} {
		if !strings.Contains(stdout.String(), "sticky-bench "+sub+" [flags]") {
			t.Errorf("help lacks %s:\n%s", sub, stdout.String())
		}
	}
	if err := run([]string{"run", "-h"}, &stdout, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run -h: %v", err)
	}
	for _, want := range []string{"--live-rate", "STICKY_BENCH_LIVE_RATE", "(default 5000)", "--sticky-binary", "STICKY_BENCH_STICKY_BINARY",
		"--target-url", "--events-topic", "(default sticky.events)", "--items-topic"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("run -h lacks %q:\n%s", want, stderr.String())
		}
	}
	if err := run([]string{"frobnicate"}, io.Discard, io.Discard); err == nil {
		t.Error("unknown command accepted")
	}

	// The engine's STICKY_USERS is not the harness's: only STICKY_BENCH_USERS counts.
	t.Setenv("STICKY_USERS", "7")
	t.Setenv("STICKY_BENCH_USERS", "40")
	t.Setenv("STICKY_BENCH_ITEMS", "60")
	dir := t.TempDir()
	stdout.Reset()
	if err := run([]string{"convert", "--days", "2", "--out-events", filepath.Join(dir, "e.jsonl"), "--out-items", filepath.Join(dir, "i.jsonl")}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stdout.String(), "synthetic (40 users, 60 items, 2 days): ") {
		t.Fatalf("convert: %s", stdout.String())
	}
	t.Setenv("STICKY_BENCH_USERS", "many")
	if err := run([]string{"convert", "--out-events", filepath.Join(dir, "e.jsonl")}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "STICKY_BENCH_USERS") {
		t.Fatalf("a bad STICKY_BENCH_USERS: %v", err)
	}
}

// TestQualityRepeat: `quality --repeat never` evaluates Sticky with
// ranker.Config.Repeat never, and the result and the summary say so; the
// default is learn, unstated in the summary.
func TestQualityRepeat(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "learn"},
		{[]string{"--repeat", "never"}, "never"},
	} {
		out := t.TempDir()
		var stdout, stderr bytes.Buffer
		args := append([]string{"--users", "60", "--items", "80", "--days", "2", "--out", out}, tc.args...)
		if err := benchRun(t.Context(), "quality", args, &stdout, &stderr); err != nil {
			t.Fatalf("%v: %v\n%s", tc.args, err, stderr.String())
		}
		res, err := report.ReadJSON(filepath.Join(out, "result.json"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Quality == nil || res.Quality.StickyRepeat != tc.want {
			t.Fatalf("%v: quality %+v, want sticky_repeat %q", tc.args, res.Quality, tc.want)
		}
		if said := strings.Contains(stdout.String(), "sticky runs with --repeat never"); said != (tc.want == "never") {
			t.Errorf("%v: summary states the repeat policy: %v\n%s", tc.args, said, stdout.String())
		}
	}
}

// TestQualityTrainSample: `quality --train-sample 4` trains Sticky's model
// on one positive event in four, and the result and the summary say so;
// the default (every event) is unstated.
func TestQualityTrainSample(t *testing.T) {
	for _, n := range []int{1, 4} {
		out := t.TempDir()
		var stdout, stderr bytes.Buffer
		args := []string{"--users", "60", "--items", "80", "--days", "2", "--out", out, "--train-sample", strconv.Itoa(n)}
		if err := benchRun(t.Context(), "quality", args, &stdout, &stderr); err != nil {
			t.Fatalf("%v: %v\n%s", n, err, stderr.String())
		}
		res, err := report.ReadJSON(filepath.Join(out, "result.json"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Quality == nil || res.Quality.TrainSample != n {
			t.Fatalf("--train-sample %d: quality %+v", n, res.Quality)
		}
		if said := strings.Contains(stdout.String(), "trains on one positive event in 4"); said != (n == 4) {
			t.Errorf("--train-sample %d: summary states the sample: %v\n%s", n, said, stdout.String())
		}
	}
}

// TestQualityOptions: `quality --first-only --max-per-category 2` keeps
// each user's first event with each item (the workload's name says so)
// and gives Sticky and the Redis rules the cap, which the result and the
// summary state.
func TestQualityOptions(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := []string{"--users", "60", "--items", "80", "--days", "2", "--out", out, "--first-only", "--max-per-category", "2"}
	if err := benchRun(t.Context(), "quality", args, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	res, err := report.ReadJSON(filepath.Join(out, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	q := res.Quality
	if q == nil || q.MaxPerCategory != 2 || !strings.Contains(q.Workload, "first of each item per user") {
		t.Fatalf("quality %+v: want max_per_category 2 and a first-only workload", q)
	}
	if !strings.Contains(stdout.String(), "at most 2 items of one category") {
		t.Errorf("the summary does not state the cap:\n%s", stdout.String())
	}
}

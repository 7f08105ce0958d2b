package main

import (
	"bytes"
	"errors"
	"flag"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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
	bin := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", bin+string(filepath.Separator), ".", "../sticky").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
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

// Every flag is also a STICKY_BENCH_* variable, and -h lists both.
func TestHelpAndEnvironment(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run([]string{"help"}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"run", "quality", "convert", "report", "baseline"} {
		if !strings.Contains(stdout.String(), "sticky-bench "+sub+" [flags]") {
			t.Errorf("help lacks %s:\n%s", sub, stdout.String())
		}
	}
	if err := run([]string{"run", "-h"}, &stdout, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run -h: %v", err)
	}
	for _, want := range []string{"--live-rate", "STICKY_BENCH_LIVE_RATE", "(default 5000)", "--sticky-binary", "STICKY_BENCH_STICKY_BINARY"} {
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

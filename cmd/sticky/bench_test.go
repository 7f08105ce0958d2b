package main

import (
	"bytes"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stickyhq/sticky/bench/report"
	"github.com/stickyhq/sticky/bench/system"
)

// The harness end to end: `sticky bench run` on a small synthetic shop
// against the built binary (and the Redis baseline when redis-server is
// installed), then the figures, result file, report and plots are checked.
func TestBenchRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs the harness")
	}
	bin := stickyBinary(t)
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
	err := run([]string{"bench", "run", "--sticky-binary", bin, "--targets", targets, "--out", out,
		"--users", "150", "--items", "400", "--days", "3", "--partitions", "3",
		"--live", "3s", "--warm-up", "1s", "--live-rate", "300", "--rec-rate", "200", "--fresh-every", "100ms",
		"--quality-events", "5000", "--progress", "log"}, &stdout, &stderr)
	t.Logf("stderr:\n%s", stderr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stdout:\n%s", stdout.String())

	res, err := report.ReadJSON(filepath.Join(out, "result.json"))
	if err != nil {
		t.Fatal(err)
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
	if q := res.Quality; q == nil || q.Events != 5000 || len(q.Scores) != 5 {
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
	if err := run([]string{"bench", "report", "--result", filepath.Join(out, "result.json")}, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "sticky") {
		t.Fatalf("summary:\n%s", stdout.String())
	}
}

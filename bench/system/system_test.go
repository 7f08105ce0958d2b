package system

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stickyhq/sticky/features"
)

func TestParseMetrics(t *testing.T) {
	m, err := parseMetrics(strings.NewReader(`# HELP sticky_stream_events_consumed_total Records.
# TYPE sticky_stream_events_consumed_total counter
sticky_stream_events_consumed_total{type="view"} 1200
sticky_stream_events_consumed_total{type="purchase"} 34
sticky_state_disk_bytes{part="lsm"} 1.5e+06
sticky_state_disk_bytes{part="vlog"} 500000
go_memstats_heap_inuse_bytes 8.388608e+06
weird{label="a b} c"} 3 1700000000000
not_a_number NaNx
`))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{
		"sticky_stream_events_consumed_total": 1234,
		"sticky_state_disk_bytes":             2e6,
		"go_memstats_heap_inuse_bytes":        8388608,
		"weird":                               3,
	} {
		if m[name] != want {
			t.Errorf("%s = %v, want %v", name, m[name], want)
		}
	}
	if _, ok := m["not_a_number"]; ok {
		t.Error("an unparsable sample was counted")
	}
}

func TestQuantileAndBars(t *testing.T) {
	v := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if q := quantile(v, 0.5); q != 5 {
		t.Fatalf("p50 %v", q)
	}
	if q := quantile(v, 0.99); q != 10 {
		t.Fatalf("p99 %v", q)
	}
	h := newHist()
	for _, us := range []int64{100, 100, 150, 1000, 5000, 5000, 5000} {
		h.RecordValue(us)
	}
	b := bars(h)
	var n int64
	prev := 0.0
	for _, x := range b {
		if x.UpTo <= prev {
			t.Fatalf("bars not increasing: %+v", b)
		}
		prev = x.UpTo
		n += x.Count
	}
	if n != 7 || b[0].Count != 2 || b[0].UpTo < 100e-6 || b[0].UpTo > 120e-6 || b[len(b)-1].Count != 3 {
		t.Fatalf("bars %+v", b)
	}
}

func TestShiftToNow(t *testing.T) {
	t0 := time.Date(2011, 1, 1, 0, 0, 0, 0, time.UTC)
	evs := []features.Event{{Time: t0}, {Time: t0.Add(time.Hour)}, {Time: t0.Add(3 * time.Hour)}}
	out := shiftToNow(evs, 2)
	if d := time.Since(out[1].Time); d < 0 || d > time.Minute {
		t.Fatalf("last backlog event %v ago", d)
	}
	if out[2].Time.Sub(out[1].Time) != 2*time.Hour || out[1].Time.Sub(out[0].Time) != time.Hour {
		t.Fatalf("gaps changed: %v", out)
	}
	if !evs[0].Time.Equal(t0) {
		t.Fatal("the workload was modified")
	}
}

// Without sticky beside the test binary, findSticky falls back to PATH, and
// says where it looked when sticky is on neither.
func TestFindSticky(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PATH", dir)
	if _, err := findSticky(); err == nil || !strings.Contains(err.Error(), "cannot find the sticky binary beside") {
		t.Fatalf("no sticky anywhere: %v", err)
	}
	bin := filepath.Join(dir, "sticky")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := findSticky(); err != nil || got != bin {
		t.Fatalf("findSticky() = %q, %v; want %q", got, err, bin)
	}
}

func TestParseProcStat(t *testing.T) {
	f := func(line string, want float64) {
		t.Helper()
		got, err := parseProcStat(line)
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if got != want {
			t.Errorf("%q: %v s, want %v", line, got, want)
		}
	}
	// utime 1234 and stime 566 ticks: 18 s.
	f("4242 (sticky) S 1 4242 4242 0 -1 4194560 9127 0 0 0 1234 566 0 0 20 0 12 0 77 1 2 3", 18)
	// A command name with spaces and parentheses.
	f("7 (a) b (c) R 1 7 7 0 -1 0 0 0 0 0 50 25 0 0 20 0 1 0 1", 0.75)
	if _, err := parseProcStat("7 (short) R 1 2"); err == nil {
		t.Error("a short line parsed")
	}
	if _, err := parseProcStat("no name"); err == nil {
		t.Error("a line without a command name parsed")
	}
}

// The harness's own CPU grows as it works, and this process's /proc figure
// agrees with it within the ticks' resolution.
func TestCPUReadings(t *testing.T) {
	before := harnessCPU()
	x := 0
	for start := time.Now(); time.Since(start) < 100*time.Millisecond; {
		x++
	}
	after := harnessCPU()
	if after <= before {
		t.Fatalf("harness CPU %v then %v (spun %d times)", before, after, x)
	}
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	p, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if now := harnessCPU(); p <= 0 || p > now+0.05 {
		t.Errorf("/proc says %v s, getrusage %v s", p, now)
	}

	a := cpuMark{at: time.Unix(100, 0), target: 5, harness: 1, ok: true}
	b := cpuMark{at: time.Unix(104, 0), target: 11, harness: 3, ok: true}
	if got := phaseCPU(a, b); got != (PhaseCPU{Seconds: 4, TargetSeconds: 6, HarnessSeconds: 2}) || got.TargetCores() != 1.5 || got.HarnessCores() != 0.5 {
		t.Errorf("phase %+v", got)
	}
	b.ok = false
	if got := phaseCPU(a, b); got.TargetSeconds != 0 || got.HarnessSeconds != 2 {
		t.Errorf("a failed reading: %+v", got)
	}
	if (PhaseCPU{}).TargetCores() != 0 {
		t.Error("cores of an empty phase")
	}
}

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

package main

import (
	"io"
	"os/exec"
	"strings"
	"testing"
)

// The server does not link the benchmark harness: `sticky bench` says in
// one line where the harness went, and none of the harness's dependencies
// is among the command's packages.
func TestNoHarness(t *testing.T) {
	err := run([]string{"bench", "run", "--baseline"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "sticky-bench") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("sticky bench: %v; want one line pointing at sticky-bench", err)
	}
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, harness := range []string{"github.com/redis/go-redis/", "gonum.org/v1/plot", "github.com/HdrHistogram/",
			"github.com/stickyhq/sticky/bench/baseline", "github.com/stickyhq/sticky/bench/report", "github.com/stickyhq/sticky/bench/system"} {
			if strings.HasPrefix(pkg, harness) {
				t.Errorf("cmd/sticky links %s", pkg)
			}
		}
	}
}

package quality

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stickyhq/sticky/bench/workload"
	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/ranker"
	"github.com/stickyhq/sticky/stream/streamtest"
)

// GateMargin is how Sticky's HR@10 must compare with the best baseline's
// in the quality gate: Sticky >= GateMargin × best. 1.0 (at least as
// good as every baseline) until the learned ranker lands and the margin is
// set from measurement; issue 10 aims at 1.15.
const GateMargin = 1.0

// The gate's slice of Online Retail: the first gateEvents sales in time
// order (the first three weeks), evaluated before one purchase in
// gateEvery so that the run stays well under two minutes under the race
// detector on two cores; every sale is learnt.
const (
	gateEvents = 16_000
	gateEvery  = 4
)

// TestQualityGate is the quality gate of CI: on a time-ordered slice of
// Online Retail, Sticky's HR@10 must reach GateMargin × the best
// baseline's, every recommender scored under the repeats-allowed protocol
// (the catalogue's items are repeatable: shops re-order gift-ware, so
// repeat purchases are what a recommender must get right here). It skips
// without the data set, unless STICKY_TEST_REQUIRE_DATA=1.
func TestQualityGate(t *testing.T) {
	if testing.Short() {
		t.Skip("the quality gate replays 16,000 Online Retail sales")
	}
	gate(t, onlineRetail(t, gateEvents), RepeatsAllowed)
}

// The Online Retail data set, read once for the package's tests: reading
// it takes about 20 s under the race detector.
var retail struct {
	sync.Mutex
	w *workload.Workload
}

// onlineRetail returns the first n sales of Online Retail (a copy of the
// shared workload's header: do not modify the events), or skips the test
// without the data set (fails it under STICKY_TEST_REQUIRE_DATA=1).
func onlineRetail(t *testing.T, n int) *workload.Workload {
	t.Helper()
	dir := streamtest.DataDir(t)
	retail.Lock()
	defer retail.Unlock()
	if retail.w == nil {
		w, err := workload.Dataset("online-retail", dir)
		if err != nil {
			t.Fatal(err)
		}
		retail.w = w
	}
	w := *retail.w
	w.Limit(n)
	return &w
}

// gate evaluates the standard recommenders on w under p and fails if
// Sticky (the first) is below GateMargin × the best of the others.
func gate(t *testing.T, w *workload.Workload, p Protocol) {
	t.Helper()
	const k = 10
	recs := Standard(w.Items, features.DefaultConfig(), ranker.DefaultConfig())
	scores := Evaluate(w, recs, Options{K: k, Protocol: p, Every: gateEvery,
		Progress: func(pr Progress) { t.Log(pr) }})
	table := Table(scores, k, p)
	best := 1
	for i := 2; i < len(scores); i++ {
		if scores[i].HR > scores[best].HR {
			best = i
		}
	}
	sticky, base := scores[0], scores[best]
	if sticky.Evaluated == 0 || base.Evaluated == 0 {
		t.Fatalf("nothing evaluated:\n%s", table)
	}
	ratio := sticky.HR / base.HR
	verdict := fmt.Sprintf("%s, %d of %d events, 1 purchase in %d evaluated: Sticky HR@%d %.4f = %.2f× the best baseline's (%s, %.4f); the gate asks ≥ %.2f×",
		w.Name, sticky.Evaluated, len(w.Events), gateEvery, k, sticky.HR, ratio, base.Name, base.HR, GateMargin)
	if sticky.HR < GateMargin*base.HR {
		t.Fatalf("quality gate FAILED: %s\n%s", verdict, indent(table))
	}
	t.Logf("quality gate passed: %s\n%s", verdict, indent(table))
}

func indent(s string) string {
	return "\t" + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n\t") + "\n"
}

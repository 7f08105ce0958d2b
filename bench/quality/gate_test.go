//go:build !race

package quality

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stickyhq/sticky/bench/workload"
	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/ranker"
)

// GateMargin is how Sticky's HR@10 must compare with the best baseline's
// in the quality gate: Sticky >= GateMargin × best. Measured with the
// ranker learning choices with a softmax over its candidates, no
// diversity cap: 1.27× on the gate's slice (0.2432 vs the Redis rules'
// 0.1922; the evaluation is deterministic) and 1.22× on the slow shop's
// (0.2054 vs 0.1680), so a change that costs Sticky about 6% of its hit
// rate fails the gate; 1.15 is also the quality issue's target. Sticky's
// NDCG@10 must also be at least the best baseline's NDCG@10 (measured:
// 1.39×).
const GateMargin = 1.15

// The gate's slice of Online Retail: the first gateEvents sales in time
// order (about three months, long enough for the learned ranker to warm
// up), evaluated before one purchase in gateEvery; every sale is learnt.
// About a minute on two cores. The gate is built without the race
// detector (a race run of it takes several minutes): `make test` runs it
// in a second, plain `go test`.
const (
	gateEvents = 80_000
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
		t.Skip("the quality gate replays 80,000 Online Retail sales")
	}
	gate(t, onlineRetail(t, gateEvents), RepeatsAllowed)
}

// TestQualityGateSlowShop is the gate on the same slice replayed as a
// slow shop's log: every gap between sales multiplied by slowShop (three
// months of sales spread over decades, about the pace of a public film
// rating log), under the exclude-seen protocol (films and books: nothing
// seen is shown again). Quality must not hang on time constants that suit
// one shop's pace: with co-occurrence decaying over 30 days, Sticky fell
// here to 0.29× the Redis rules' hit rate (0.0458 vs 0.1555) while at the
// natural pace it led them (docs/design.md, "Time constants and a shop's
// pace"); it now reaches 1.22×.
func TestQualityGateSlowShop(t *testing.T) {
	if testing.Short() {
		t.Skip("the quality gate replays 80,000 Online Retail sales")
	}
	w := onlineRetail(t, gateEvents)
	if err := w.Scale(slowShop); err != nil {
		t.Fatal(err)
	}
	gate(t, w, ExcludeSeen)
}

// TestQualityGateFilmLike is the gate on the same slice made into the log
// of a shop where an item is consumed once (workload.FirstOnly: each
// shopper's first purchase of each item, nothing repeatable), as a log of
// films rated once is: the pattern of the held-out film-rating log in the
// quality issue, where the Redis rules led Sticky. On this slice the
// pointwise model of the earlier rounds reached 0.98× the rules (0.1999
// vs 0.2038) and fails here; the softmax model reaches 1.24× (0.2357 vs
// 0.1900; docs/design.md, "Ranking").
func TestQualityGateFilmLike(t *testing.T) {
	if testing.Short() {
		t.Skip("the quality gate replays 80,000 Online Retail sales")
	}
	w := onlineRetail(t, gateEvents)
	w.FirstOnly()
	gate(t, w, RepeatsAllowed)
}

// slowShop is the time scale of TestQualityGateSlowShop.
const slowShop = 100

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
	bestNDCG := 1
	for i := 2; i < len(scores); i++ {
		if scores[i].NDCG > scores[bestNDCG].NDCG {
			bestNDCG = i
		}
	}
	if sticky.NDCG < scores[bestNDCG].NDCG {
		t.Fatalf("quality gate FAILED: Sticky NDCG@%d %.4f is below %s's %.4f\n%s", k, sticky.NDCG, scores[bestNDCG].Name, scores[bestNDCG].NDCG, indent(table))
	}
	t.Logf("quality gate passed: %s\n%s", verdict, indent(table))
}

func indent(s string) string {
	return "\t" + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n\t") + "\n"
}

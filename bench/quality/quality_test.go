package quality

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stickyhq/sticky/bench/synth"
	"github.com/stickyhq/sticky/bench/workload"
	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/ranker"
)

// A recommender that knows the future scores perfectly; one that
// recommends nothing scores zero: the metrics measure what they say.
type oracle struct{}

func (oracle) Name() string                                 { return "oracle" }
func (oracle) Recommend(ev *features.Event, k int) []string { return []string{ev.ItemID} }
func (oracle) Observe(*features.Event)                      {}

type mute struct{}

func (mute) Name() string                            { return "mute" }
func (mute) Recommend(*features.Event, int) []string { return nil }
func (mute) Observe(*features.Event)                 {}

func TestEvaluate(t *testing.T) {
	w := workload.Synthetic(workload.SynthConfig{Config: synth.Config{Users: 150, Items: 600}, Days: 20,
		End: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)})
	recs := []Recommender{oracle{}, mute{}, NewSticky("sticky", w.Items, features.DefaultConfig(), ranker.DefaultConfig()),
		NewPopularity(), NewWindow(7 * 24 * time.Hour), NewItemKNN()}
	scores := Evaluate(w, recs, Options{K: 10})
	t.Log("\n" + Table(scores, 10, RepeatsAllowed))
	// The oracle misses only the purchases the protocol excludes (a
	// non-repeatable item bought again, an unavailable item).
	if s := scores[0]; s.HR < 0.5 || s.NDCG != s.HR || s.Evaluated != w.Purchases() {
		t.Fatalf("oracle %+v (purchases %d)", s, w.Purchases())
	}
	if s := scores[1]; s.HR != 0 || s.Coverage != 0 {
		t.Fatalf("mute %+v", s)
	}
	for _, s := range scores[2:] {
		if s.HR <= 0 || s.HR > 1 || s.NDCG > s.HR || s.Coverage <= 0 {
			t.Fatalf("%s: %+v", s.Name, s)
		}
	}
	// On the synthetic shop, where tastes and complements are real,
	// Sticky must beat plain popularity.
	if scores[2].HR <= scores[3].HR {
		t.Fatalf("sticky HR %.4f not above popularity %.4f", scores[2].HR, scores[3].HR)
	}
}

// fixed recommends the same ranking to everyone and records what it was
// asked for.
type fixed struct {
	ranking []string
	asked   []int
}

func (f *fixed) Name() string { return "fixed" }
func (f *fixed) Recommend(_ *features.Event, k int) []string {
	f.asked = append(f.asked, k)
	return f.ranking[:min(k, len(f.ranking))]
}
func (f *fixed) Observe(*features.Event) {}

// The harness, not the recommender, applies the protocol: it removes the
// excluded items and asks again for more when too few remain.
func TestProtocol(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := func(typ features.Type, item string) features.Event {
		at = at.Add(time.Minute)
		return features.Event{UserID: "u", Type: typ, ItemID: item, Time: at}
	}
	items := []features.Item{{ID: "a", Available: true, Repeatable: true}, {ID: "b", Available: true},
		{ID: "c", Available: true, Repeatable: true}, {ID: "d"}, {ID: "e", Available: true, Repeatable: true},
		{ID: "f", Available: true, Repeatable: true}, {ID: "g", Available: true, Repeatable: true}}
	w := &workload.Workload{Items: items, Events: []features.Event{
		ev(features.TypePurchase, "a"), // repeatable: stays in under repeats-allowed
		ev(features.TypePurchase, "b"), // not repeatable: out under both
		ev(features.TypeDismiss, "c"),  // out under both
		ev(features.TypeView, "e"),     // out under exclude-seen
		ev(features.TypePurchase, "a"), // scored on the list after the events above
	}}
	f := func(p Protocol, wantHR float64, wantAsked []int) {
		t.Helper()
		rec := &fixed{ranking: []string{"a", "b", "c", "d", "e", "f", "g"}}
		scores := Evaluate(w, []Recommender{rec}, Options{K: 2, Protocol: p})
		if s := scores[0]; math.Abs(s.HR-wantHR) > 1e-12 {
			t.Fatalf("%s: %+v", p, s)
		}
		if !slices.Equal(rec.asked[len(rec.asked)-len(wantAsked):], wantAsked) {
			t.Fatalf("%s: asked for %v, want the last to be %v", p, rec.asked, wantAsked)
		}
	}
	// Repeats allowed, the last purchase (of a): [a b] → [a] (b bought),
	// ask for 4 → [a b c d] → [a] (c dismissed, d unavailable), ask for
	// 5 (k + 3 excludable) → [a e]: a hit, as the two purchases before.
	f(RepeatsAllowed, 1, []int{2, 4, 5})
	// Exclude seen: a, b, c and e are out, d unavailable: [f g] after
	// asking for 8 (and getting 7), a miss; the purchase of b was a hit
	// ([a b c d] → [b c]).
	f(ExcludeSeen, 2.0/3, []int{2, 4, 8})
	if !strings.Contains(Table(nil, 10, ExcludeSeen), "interacted with before") {
		t.Fatal("the table does not state the protocol")
	}
}

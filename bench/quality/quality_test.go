package quality

import (
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
	t.Log("\n" + Table(scores, 10))
	if s := scores[0]; s.HR != 1 || s.NDCG != 1 || s.Evaluated != w.Purchases() {
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

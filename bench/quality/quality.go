// Package quality evaluates recommendations prequentially: replaying a
// workload in time order, before each purchase (or each item interaction)
// it asks every recommender for the top K for that user at that moment and
// context, scores the answer against the item actually chosen, then lets
// every recommender learn the event. Sticky's own ranker (the same
// features, index and ranker code the engine runs) is evaluated next to
// baselines computed on the same stream: global popularity, popularity in
// a sliding window, and item-kNN retrained once per simulated day.
package quality

import (
	"fmt"
	"math"
	"time"

	"github.com/stickyhq/sticky/bench/workload"
	"github.com/stickyhq/sticky/features"
)

// Recommender is something evaluated.
type Recommender interface {
	Name() string
	// Recommend returns up to k item ids for the user just before ev.
	Recommend(ev *features.Event, k int) []string
	// Observe learns the event.
	Observe(ev *features.Event)
}

// Options configure an evaluation.
type Options struct {
	K int // default 10
	// Interactions evaluates before every item interaction (view, click,
	// cart, purchase…), not only before purchases. Default false.
	Interactions bool
	// Progress, if set, is called every 10,000 events with the events done.
	Progress func(done, total int)
}

// Score is one recommender's result.
type Score struct {
	Name      string  `json:"name"`
	Evaluated int     `json:"evaluated"`
	HR        float64 `json:"hr"`       // share of evaluations whose chosen item was in the top K
	NDCG      float64 `json:"ndcg"`     // mean 1/log2(rank+2) of the chosen item (0 when absent)
	Coverage  float64 `json:"coverage"` // distinct items recommended / catalogue items
	Items     int     `json:"items_recommended"`
	Seconds   float64 `json:"seconds"` // time spent recommending and learning
}

// Evaluate replays w through every recommender.
func Evaluate(w *workload.Workload, recs []Recommender, o Options) []Score {
	if o.K <= 0 {
		o.K = 10
	}
	type acc struct {
		hits, ndcg float64
		n          int
		seen       map[string]struct{}
		took       time.Duration
	}
	accs := make([]acc, len(recs))
	for i := range accs {
		accs[i].seen = make(map[string]struct{})
	}
	for i := range w.Events {
		ev := &w.Events[i]
		evaluate := ev.Type == features.TypePurchase || (o.Interactions && ev.Type.Intent() > 0)
		for r, rec := range recs {
			a := &accs[r]
			start := time.Now()
			if evaluate {
				list := rec.Recommend(ev, o.K)
				a.n++
				for rank, id := range list {
					a.seen[id] = struct{}{}
					if id == ev.ItemID {
						a.hits++
						a.ndcg += 1 / math.Log2(float64(rank)+2)
					}
				}
			}
			rec.Observe(ev)
			a.took += time.Since(start)
		}
		if o.Progress != nil && (i+1)%10000 == 0 {
			o.Progress(i+1, len(w.Events))
		}
	}
	out := make([]Score, len(recs))
	for r, rec := range recs {
		a := accs[r]
		s := Score{Name: rec.Name(), Evaluated: a.n, Items: len(a.seen), Seconds: a.took.Seconds()}
		if a.n > 0 {
			s.HR, s.NDCG = a.hits/float64(a.n), a.ndcg/float64(a.n)
		}
		if len(w.Items) > 0 {
			s.Coverage = float64(len(a.seen)) / float64(len(w.Items))
		}
		out[r] = s
	}
	return out
}

// String formats scores as a table.
func Table(scores []Score, k int) string {
	s := fmt.Sprintf("%-28s %10s %8s %8s %9s\n", "recommender", "evaluated", fmt.Sprintf("HR@%d", k), fmt.Sprintf("NDCG@%d", k), "coverage")
	for _, x := range scores {
		s += fmt.Sprintf("%-28s %10d %8.4f %8.4f %8.1f%%\n", x.Name, x.Evaluated, x.HR, x.NDCG, 100*x.Coverage)
	}
	return s
}

// Package quality evaluates recommendations prequentially: replaying a
// workload in time order, before each purchase (or each item interaction)
// it asks every recommender for the top K for that user at that moment and
// context, scores the answer against the item actually chosen, then lets
// every recommender learn the event. Sticky's own ranker (the same
// features, index and ranker code the engine runs) is evaluated next to
// baselines computed on the same stream: global popularity, popularity in
// a sliding window, item-kNN updated with every event, and item-kNN
// retrained once per simulated day. Every list is filtered by the same
// exclusion rule (Protocol), applied by the harness, not the recommenders.
package quality

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/stickyhq/sticky/bench/workload"
	"github.com/stickyhq/sticky/features"
)

// Recommender is something evaluated.
type Recommender interface {
	Name() string
	// Recommend returns up to k item ids for the user just before ev, best
	// first. The harness may ask for more than K and drop what the
	// protocol excludes, so k varies; Recommend must not change what the
	// recommender has learnt.
	Recommend(ev *features.Event, k int) []string
	// Observe learns the event.
	Observe(ev *features.Event)
}

// Protocol is the exclusion rule the harness applies to every
// recommender's list, the same for all: it asks each recommender for
// enough items, removes the excluded ones itself and keeps the first K, so
// that no recommender wins or loses by its own filtering.
type Protocol int

const (
	// RepeatsAllowed removes only what the catalogue rules forbid for
	// everyone: items the user dismissed, items the user bought that are
	// not repeatable (or not in the catalogue), and unavailable items.
	// Items the user bought before (repeatable ones) or interacted with
	// stay in. The default.
	RepeatsAllowed Protocol = iota
	// ExcludeSeen also removes every item the user interacted with before
	// (viewed, clicked, carted, bought, reviewed, shared, dismissed): the
	// usual protocol for films and books, and a test of discovery.
	ExcludeSeen
)

// String is the protocol's short name, as in result.json.
func (p Protocol) String() string {
	if p == ExcludeSeen {
		return "exclude-seen"
	}
	return "repeats-allowed"
}

// Rule states the exclusion rule in a sentence, for tables and reports.
func (p Protocol) Rule() string {
	s := "the harness removes from every list the items the user dismissed, bought and not repeatable, or unavailable"
	if p == ExcludeSeen {
		return s + ", and every item the user interacted with before"
	}
	return s + "; repeat purchases count"
}

// Options configure an evaluation.
type Options struct {
	K int // default 10
	// Interactions evaluates before every item interaction (view, click,
	// cart, purchase…), not only before purchases. Default false.
	Interactions bool
	// Protocol is the exclusion rule. Default RepeatsAllowed.
	Protocol Protocol
	// Every evaluates one in Every of the events that would be evaluated
	// (the 1st, the Every+1st…); every event is still learnt. It makes a
	// quick run cheaper without shortening what the recommenders learn
	// from. Default 1: all.
	Every int
	// Progress, if set, is called at least every ProgressEvery of wall
	// time (checked every 64 events) and once at the end.
	Progress func(Progress)
	// ProgressEvery is the wall time between Progress calls. Default 5 s.
	ProgressEvery time.Duration
}

// Progress is how far an evaluation is.
type Progress struct {
	Done, Total int
	Elapsed     time.Duration
	K           int
	Scores      []Score // so far
}

// String is a one-line progress report: events done, elapsed time and
// each recommender's running HR@K.
func (p Progress) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "quality: %d/%d events (%.0f%%), %.0f s; HR@%d", p.Done, p.Total,
		100*float64(p.Done)/float64(max(p.Total, 1)), p.Elapsed.Seconds(), p.K)
	for i, s := range p.Scores {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, " %s %.4f", s.Name, s.HR)
	}
	return b.String()
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

// history is what the harness knows of each user, from the events seen so
// far, to apply the protocol.
type history struct {
	p           Protocol
	unavailable map[string]struct{}
	repeatable  map[string]bool
	users       map[string]*userHistory
}

type userHistory struct {
	blocked map[string]struct{} // dismissed, or bought and not repeatable
	seen    map[string]struct{} // every item interacted with
}

func newHistory(items []features.Item, p Protocol) *history {
	h := &history{p: p, unavailable: map[string]struct{}{}, repeatable: make(map[string]bool, len(items)),
		users: map[string]*userHistory{}}
	for i := range items {
		if !items[i].Available {
			h.unavailable[items[i].ID] = struct{}{}
		}
		h.repeatable[items[i].ID] = items[i].Repeatable
	}
	return h
}

func (h *history) observe(ev *features.Event) {
	if ev.ItemID == "" || !ev.Type.NeedsItem() {
		return
	}
	u := h.users[ev.UserID]
	if u == nil {
		u = &userHistory{blocked: map[string]struct{}{}}
		if h.p == ExcludeSeen {
			u.seen = map[string]struct{}{}
		}
		h.users[ev.UserID] = u
	}
	if ev.Type == features.TypeDismiss || ev.Type == features.TypePurchase && !h.repeatable[ev.ItemID] {
		u.blocked[ev.ItemID] = struct{}{}
	}
	if u.seen != nil {
		u.seen[ev.ItemID] = struct{}{}
	}
}

// excluded reports whether the protocol removes id from u's lists.
func (h *history) excluded(u *userHistory, id string) bool {
	if _, ok := h.unavailable[id]; ok {
		return true
	}
	if u == nil {
		return false
	}
	if _, ok := u.blocked[id]; ok {
		return true
	}
	_, ok := u.seen[id]
	return ok
}

// list asks rec for ev's user's top k under the protocol: it asks for k,
// removes the excluded items and, while fewer than k remain and rec had
// more to give, asks again for more (k plus the items removed, at least
// twice as many as before, at most k plus everything that could be
// excluded). When nothing is excluded rec is asked exactly for k.
func (h *history) list(rec Recommender, ev *features.Event, k int) []string {
	u := h.users[ev.UserID]
	limit := k + len(h.unavailable)
	if u != nil {
		limit += len(u.blocked) + len(u.seen)
	}
	for n := k; ; {
		got := rec.Recommend(ev, n)
		kept := got[:0:0]
		for _, id := range got {
			if !h.excluded(u, id) {
				kept = append(kept, id)
			}
		}
		if len(kept) >= k || len(got) < n || n >= limit {
			return kept[:min(k, len(kept))]
		}
		n = min(limit, max(2*n, k+len(got)-len(kept)))
	}
}

// Evaluate replays w through every recommender under o.Protocol.
func Evaluate(w *workload.Workload, recs []Recommender, o Options) []Score {
	if o.K <= 0 {
		o.K = 10
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 5 * time.Second
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
	scores := func() []Score {
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
	hist := newHistory(w.Items, o.Protocol)
	started := time.Now()
	last := started
	eligible := 0
	for i := range w.Events {
		ev := &w.Events[i]
		evaluate := ev.Type == features.TypePurchase || (o.Interactions && ev.Type.Intent() > 0)
		if evaluate {
			evaluate = eligible%max(o.Every, 1) == 0
			eligible++
		}
		for r, rec := range recs {
			a := &accs[r]
			start := time.Now()
			if evaluate {
				list := hist.list(rec, ev, o.K)
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
		hist.observe(ev)
		if o.Progress != nil && i%64 == 63 {
			if now := time.Now(); now.Sub(last) >= o.ProgressEvery {
				last = now
				o.Progress(Progress{Done: i + 1, Total: len(w.Events), Elapsed: now.Sub(started), K: o.K, Scores: scores()})
			}
		}
	}
	out := scores()
	if o.Progress != nil {
		o.Progress(Progress{Done: len(w.Events), Total: len(w.Events), Elapsed: time.Since(started), K: o.K, Scores: out})
	}
	return out
}

// Table formats scores as a text table, under a line stating the
// protocol.
func Table(scores []Score, k int, p Protocol) string {
	s := fmt.Sprintf("protocol %s: %s\n", p, p.Rule())
	s += fmt.Sprintf("%-28s %10s %8s %8s %9s %9s\n", "recommender", "evaluated", fmt.Sprintf("HR@%d", k), fmt.Sprintf("NDCG@%d", k), "coverage", "seconds")
	for _, x := range scores {
		s += fmt.Sprintf("%-28s %10d %8.4f %8.4f %8.1f%% %9.1f\n", x.Name, x.Evaluated, x.HR, x.NDCG, 100*x.Coverage, x.Seconds)
	}
	return s
}

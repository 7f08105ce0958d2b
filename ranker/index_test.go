package ranker

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stickyhq/sticky/bench/synth"
	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/state"
)

// TestIndexNeighboursFollowStats: after batches of every size, each
// entry's ready-for-requests neighbours are exactly its statistics'
// neighbours (rebuild reuses the old list's entries where it can, and
// lists are cut to their strongest as they fill).
func TestIndexNeighboursFollowStats(t *testing.T) {
	fc := features.DefaultConfig()
	f := features.NewExtractor(fc)
	w := synth.New(synth.Config{Seed: 5, Users: 300, Items: 400})
	cat := state.NewCatalogue()
	cat.Apply(w.Items, nil)
	x := NewIndex(DefaultIndexConfig(), f, cat)
	users := map[string]*features.User{}
	rng := rand.New(rand.NewPCG(5, 5))
	var d features.Deltas
	evs := w.History(7, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC))
	full := 0
	for i := 0; i < len(evs); {
		n := 1 + rng.IntN(64)
		for end := min(i+n, len(evs)); i < end; i++ {
			ev := &evs[i]
			u := users[ev.UserID]
			if u == nil {
				u = &features.User{ID: ev.UserID}
				users[ev.UserID] = u
			}
			f.FoldUser(u, ev, cat.Get(ev.ItemID), &d)
		}
		x.Apply(&d)
		d.Reset()
		if rng.IntN(8) == 0 || i == len(evs) {
			full += checkNeighbours(t, x, fc.NeighboursMax)
		}
	}
	if full == 0 {
		t.Fatal("no neighbour list ever filled up: the test does not exercise the cut")
	}
}

// checkNeighbours fails t if an entry's neighbours differ from its
// statistics'; it returns how many lists are at limit (cut at the next
// new neighbour).
func checkNeighbours(t *testing.T, x *Index, limit int) (full int) {
	t.Helper()
	x.mu.RLock()
	defer x.mu.RUnlock()
	hl := x.f.HalfLives().Cooc
	for id, e := range x.items {
		ns := e.st.Neighbours
		if len(e.nb) != len(ns) {
			t.Fatalf("%s: %d neighbours ready, %d in its statistics", id, len(e.nb), len(ns))
		}
		if len(ns) == limit {
			full++
		}
		for i, n := range ns {
			if e.nb[i].e != x.items[n.Key] || e.nb[i].e.id != n.Key {
				t.Fatalf("%s: neighbour %d is %q, want %q", id, i, e.nb[i].e.id, n.Key)
			}
			if want := n.Value(e.nbAt, hl); e.nb[i].w != want {
				t.Fatalf("%s: neighbour %s weight %v, want %v", id, n.Key, e.nb[i].w, want)
			}
		}
	}
	return full
}

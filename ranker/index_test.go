package ranker

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
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
	rng := rand.New(rand.NewPCG(5, 5))
	evs := w.History(7, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC))
	full := 0
	foldInBatches(f, cat, evs, rng, 64, func(d *features.Deltas, _ int, last bool) {
		x.Apply(d)
		if rng.IntN(8) == 0 || last {
			full += checkNeighbours(t, x, fc.NeighboursMax)
		}
	})
	if full == 0 {
		t.Fatal("no neighbour list ever filled up: the test does not exercise the cut")
	}
}

// TestIndexApplyEqualsFold: Apply copies each touched item's statistics
// into the storage of the copy it replaced the time before
// (entry.spare, nbSpare); after batches of every size the index's
// statistics equal a plain fold of the same deltas, field for field,
// while readers go through the lists and neighbours throughout (run with
// -race).
func TestIndexApplyEqualsFold(t *testing.T) {
	fc := features.DefaultConfig()
	f := features.NewExtractor(fc)
	w := synth.New(synth.Config{Seed: 7, Users: 300, Items: 300})
	cat := state.NewCatalogue()
	cat.Apply(w.Items, nil)
	x := NewIndex(DefaultIndexConfig(), f, cat)
	ref := map[string]*features.ItemStats{}
	evs := w.History(3, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC))
	now := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC).UnixMilli()

	stop := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		var nbs []neighbour
		var sig [8]Signals
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			it := w.Items[i%len(w.Items)]
			nbs, _ = x.neighbours(nbs[:0], it.ID, now)
			es := make([]*entry, 0, len(sig))
			for _, n := range nbs[:min(len(nbs), len(sig))] {
				es = append(es, n.e)
			}
			x.lookup(es, now, features.Bucket("CN-SH", features.Evening), features.Bucket(features.AnyRegion, features.Evening), sig[:len(es)])
			x.Popular(20)
		}
	}()

	rng := rand.New(rand.NewPCG(7, 7))
	checked, reused := 0, 0
	foldInBatches(f, cat, evs, rng, 48, func(d *features.Deltas, i int, last bool) {
		x.Apply(d)
		f.ApplyDeltas(d, func(id string) *features.ItemStats {
			if ref[id] == nil {
				ref[id] = new(features.ItemStats)
			}
			return ref[id]
		})
		if rng.IntN(20) != 0 && !last {
			return
		}
		for id, want := range ref {
			got, ok := x.Stats(id)
			if !ok || !reflect.DeepEqual(got, want) {
				t.Fatalf("after %d events, %s: index %+v, fold %+v", i, id, got, want)
			}
			checked++
		}
	})
	close(stop)
	<-readerDone
	x.amu.Lock()
	for _, e := range x.items {
		if e.spare != nil && len(e.spare.Neighbours) > 0 {
			reused++
		}
	}
	x.amu.Unlock()
	if checked < 3000 || reused < 100 {
		t.Fatalf("%d statistics compared, %d items with a spare copy: the test exercises too little", checked, reused)
	}
	checkNeighbours(t, x, fc.NeighboursMax)
}

// foldInBatches folds evs into users of their own, in batches of 1 to
// maxBatch events (sizes drawn from rng), and hands each batch's item
// deltas to apply with the events folded so far and whether they are all
// of evs; the deltas are reset after.
func foldInBatches(f *features.Extractor, cat *state.Catalogue, evs []features.Event, rng *rand.Rand, maxBatch int,
	apply func(d *features.Deltas, folded int, last bool)) {
	users := map[string]*features.User{}
	var d features.Deltas
	for i := 0; i < len(evs); {
		n := 1 + rng.IntN(maxBatch)
		for end := min(i+n, len(evs)); i < end; i++ {
			ev := &evs[i]
			u := users[ev.UserID]
			if u == nil {
				u = &features.User{ID: ev.UserID}
				users[ev.UserID] = u
			}
			f.FoldUser(u, ev, cat.Get(ev.ItemID), &d)
		}
		apply(&d, i, i == len(evs))
		d.Reset()
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

// TestIndexLoadEqualsAdds: loading partitions' shares in one go gives the
// index that adding them one by one gives.
func TestIndexLoadEqualsAdds(t *testing.T) {
	fc := features.DefaultConfig()
	f := features.NewExtractor(fc)
	w := synth.New(synth.Config{Seed: 6, Users: 300, Items: 400})
	cat := state.NewCatalogue()
	cat.Apply(w.Items, nil)
	// Three partitions' shares, users split by id.
	shares := make([]map[string]*features.ItemStats, 3)
	for i := range shares {
		shares[i] = map[string]*features.ItemStats{}
	}
	users := map[string]*features.User{}
	var d features.Deltas
	end := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for _, ev := range w.History(7, end) {
		u := users[ev.UserID]
		if u == nil {
			u = &features.User{ID: ev.UserID}
			users[ev.UserID] = u
		}
		f.FoldUser(u, &ev, cat.Get(ev.ItemID), &d)
		p := shares[len(ev.UserID)%3]
		f.ApplyDeltas(&d, func(id string) *features.ItemStats {
			if p[id] == nil {
				p[id] = new(features.ItemStats)
			}
			return p[id]
		})
		d.Reset()
	}
	added, loaded := NewIndex(DefaultIndexConfig(), f, cat), NewIndex(DefaultIndexConfig(), f, cat)
	for _, p := range shares {
		for id, st := range p {
			added.Add(id, st)
		}
	}
	if err := loaded.Load(func(add func(string, *features.ItemStats)) error {
		for _, p := range shares {
			for id, st := range p {
				add(id, st)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	now := end.UnixMilli()
	lists := func(x *Index) []string {
		var out []string
		out = append(out, x.Popular(500)...)
		for _, it := range w.Items {
			out = append(out, x.PopularIn(it.Category, 50)...)
		}
		for _, r := range []string{"", "CN-SH", "DE-BE", "US-NY"} {
			for dp := features.Night; dp <= features.Evening; dp++ {
				out = append(out, x.PopularAt(features.Bucket(r, dp), 50)...)
			}
		}
		out = append(out, x.Trending(now, 100)...)
		for _, it := range w.Items {
			nbs, top := x.neighbours(nil, it.ID, now)
			out = append(out, fmt.Sprint(top))
			for _, n := range nbs {
				out = append(out, fmt.Sprint(n.e.id, n.raw, n.cos, n.hasCos))
			}
		}
		return out
	}
	a, l := lists(added), lists(loaded)
	if len(a) < 1000 {
		t.Fatalf("only %d list entries: the test compares too little", len(a))
	}
	if !slices.Equal(a, l) {
		for i := range min(len(a), len(l)) {
			if a[i] != l[i] {
				t.Fatalf("entry %d: added %q, loaded %q", i, a[i], l[i])
			}
		}
		t.Fatalf("%d entries added, %d loaded", len(a), len(l))
	}
	checkNeighbours(t, loaded, fc.NeighboursMax)
}

// TestLookupScaledSignalsMatchDecayed: the popularity and trend lookup
// reads from scaled values (entry.popR, one factor per request) equal the
// items' own decayed values, for requests before, among and after the
// items' updates, while the reference time moves many times.
func TestLookupScaledSignalsMatchDecayed(t *testing.T) {
	fc := features.DefaultConfig()
	fc.TrendShortHalfLife = time.Minute // a span of 256 minutes: the updates below move the reference
	f := features.NewExtractor(fc)
	x := NewIndex(DefaultIndexConfig(), f, state.NewCatalogue())
	hl := f.HalfLives()
	rng := rand.New(rand.NewPCG(7, 7))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	const hour = int64(time.Hour / time.Millisecond)
	refs := map[int64]bool{}
	scaled, checked := 0, 0
	for step := range 200 {
		at := base + int64(step)*hour/2 // 100 hours in all
		for range 5 {
			var st features.ItemStats
			st.Pop.Add(1+rng.Float32()*5, at-rng.Int64N(hour), hl.Popularity)
			st.Short.Add(1+rng.Float32()*5, at-rng.Int64N(hour), hl.Short)
			st.Long.Add(1+rng.Float32()*5, at-rng.Int64N(hour), hl.Long)
			st.Actions = 1
			x.Add(fmt.Sprintf("i%d", rng.IntN(40)), &st)
		}
		refs[x.ref] = true
		var es []*entry
		for _, e := range x.items {
			es = append(es, e)
		}
		out := make([]Signals, len(es))
		for _, now := range []int64{at - 2*hour, at - hour/2, at, at + hour, at + 72*hour} {
			x.lookup(es, now, "", "", out)
			for i, e := range es {
				checked++
				if now >= e.sigAt {
					scaled++
				}
				wp, wt := e.st.Popularity(now, f), e.st.Trend(now, f)
				if !near(out[i].Popularity, wp) || !near(out[i].Trend, wt) {
					t.Fatalf("step %d, %s at %+d ms from its latest update: popularity %g, trend %g; decayed %g, %g",
						step, e.id, now-e.sigAt, out[i].Popularity, out[i].Trend, wp, wt)
				}
			}
		}
	}
	if len(refs) < 10 || scaled < checked/2 || scaled == checked {
		t.Errorf("%d reference times, %d of %d lookups scaled: the test does not exercise both paths and the moves", len(refs), scaled, checked)
	}
}

// near says whether a and b agree to 1e-12, relatively.
func near(a, b float64) bool {
	return math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b))
}

// TestLookupScaledSignalsOfStaleItems: an item whose sums are far older
// than the reference time reads its decayed values, not a scaled value
// rounded to 0, even for a request well before the reference (a 1-hour
// popularity half-life: 50 days is 2^-1200, below float64's range, while
// 30 days is 2^-720, within it).
func TestLookupScaledSignalsOfStaleItems(t *testing.T) {
	fc := features.DefaultConfig()
	fc.PopularityHalfLife = time.Hour
	f := features.NewExtractor(fc)
	x := NewIndex(DefaultIndexConfig(), f, state.NewCatalogue())
	hl := f.HalfLives()
	const day = int64(24 * time.Hour / time.Millisecond)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	add := func(id string, at int64) {
		var st features.ItemStats
		st.Pop.Add(3, at, hl.Popularity)
		st.Short.Add(3, at, hl.Short)
		st.Long.Add(3, at, hl.Long)
		x.Add(id, &st)
	}
	add("stale", t0)
	for i := range 10 {
		add(fmt.Sprint("fresh", i), t0+50*day)
	}
	es := []*entry{x.items["stale"]}
	out := make([]Signals, 1)
	for _, now := range []int64{t0 + day, t0 + 30*day, t0 + 49*day, t0 + 50*day, t0 + 51*day} {
		x.lookup(es, now, "", "", out)
		st := es[0].st
		if wp, wt := st.Popularity(now, f), st.Trend(now, f); !near(out[0].Popularity, wp) || !near(out[0].Trend, wt) {
			t.Errorf("%d days after its update: popularity %g, trend %g; decayed %g, %g", (now-t0)/day, out[0].Popularity, out[0].Trend, wp, wt)
		}
	}
}

// TestLookupScaledSignalsDoNotDependOnOrder: two indexes holding the same
// statistics, one fed them in order and the other in reverse (one share
// at a time, so the reference moves differently on the way), read
// bit-identical signals: the reference time depends on the statistics
// alone, so a restart's index scores as the running one did.
func TestLookupScaledSignalsDoNotDependOnOrder(t *testing.T) {
	fc := features.DefaultConfig()
	fc.TrendShortHalfLife = time.Minute
	f := features.NewExtractor(fc)
	hl := f.HalfLives()
	rng := rand.New(rand.NewPCG(11, 11))
	const hour = int64(time.Hour / time.Millisecond)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	shares := make([]features.ItemStats, 300)
	for i := range shares {
		at := base + rng.Int64N(100*hour)
		shares[i].Pop.Add(1+rng.Float32()*5, at, hl.Popularity)
		shares[i].Short.Add(1+rng.Float32()*5, at, hl.Short)
		shares[i].Long.Add(1+rng.Float32()*5, at-rng.Int64N(hour), hl.Long)
	}
	a, b := NewIndex(DefaultIndexConfig(), f, state.NewCatalogue()), NewIndex(DefaultIndexConfig(), f, state.NewCatalogue())
	for i := range shares {
		a.Add(fmt.Sprint("i", i), &shares[i])
		j := len(shares) - 1 - i
		b.Add(fmt.Sprint("i", j), &shares[j])
	}
	if a.ref != b.ref {
		t.Fatalf("reference times %d and %d", a.ref, b.ref)
	}
	var ea, eb []*entry
	for i := range shares {
		ea, eb = append(ea, a.items[fmt.Sprint("i", i)]), append(eb, b.items[fmt.Sprint("i", i)])
	}
	oa, ob := make([]Signals, len(ea)), make([]Signals, len(eb))
	for _, now := range []int64{base + 100*hour, base + 101*hour, base + 150*hour} {
		a.lookup(ea, now, "", "", oa)
		b.lookup(eb, now, "", "", ob)
		for i := range oa {
			if oa[i] != ob[i] {
				t.Fatalf("item %d at %d: %+v and %+v", i, now, oa[i], ob[i])
			}
		}
	}
}

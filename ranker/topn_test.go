package ranker

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stickyhq/sticky/features"
)

// TestTopNIsExact checks the list against a brute-force sort after random
// increasing updates, the only kind the index makes.
func TestTopNIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{1, 5, 50} {
		l := newTopN(n)
		keys := map[string]float64{}
		entries := map[string]*entry{}
		for i := 0; i < 5000; i++ {
			item := fmt.Sprint("i", rng.IntN(300))
			keys[item] += rng.Float64()
			e := entries[item]
			if e == nil {
				e = &entry{id: item}
				entries[item] = e
			}
			l.offer(e, keys[item])
			if i%500 == 499 {
				type kv struct {
					k string
					v float64
				}
				var all []kv
				for k, v := range keys {
					all = append(all, kv{k, v})
				}
				slices.SortFunc(all, func(a, b kv) int {
					if c := cmp.Compare(b.v, a.v); c != 0 {
						return c
					}
					return strings.Compare(a.k, b.k)
				})
				want := make([]string, 0, n)
				for _, e := range all[:min(n, len(all))] {
					want = append(want, e.k)
				}
				if got := idsOf(l.snapshot()); !slices.Equal(got, want) {
					t.Fatalf("n=%d after %d updates:\n got %v\nwant %v", n, i+1, got, want)
				}
			}
		}
	}
}

// TestTrendingRefresh: while batches are being applied, a new window's
// trending list is computed at most once per TrendingRefresh; with the
// bound off (or the index unchanged), each window's list is its own.
func TestTrendingRefresh(t *testing.T) {
	for _, refresh := range []time.Duration{time.Hour, -1} {
		w := newWorld(t)
		cfg := DefaultIndexConfig()
		cfg.TrendingRefresh = refresh
		w.idx = NewIndex(cfg, w.f, w.cat)
		at := base.Add(-24 * time.Hour)
		// A steady item, then a burst on another one the next day.
		for i := range 40 {
			w.fold(t, fmt.Sprint("s-", i), features.TypeView, "boo-01", at.Add(time.Duration(i)*30*time.Minute), "", "")
		}
		first := slices.Clone(w.idx.Trending(at.Add(20*time.Hour).UnixMilli(), 5))
		for i := range 30 {
			w.fold(t, fmt.Sprint("b-", i), features.TypeView, "gar-03", at.Add(23*time.Hour+time.Duration(i)*time.Minute), "", "")
		}
		second := w.idx.Trending(at.Add(24*time.Hour).UnixMilli(), 5)
		hasBurst := slices.Contains(second, "gar-03")
		if refresh > 0 && (hasBurst || !slices.Equal(first, second)) {
			t.Fatalf("refresh %v: list recomputed within the bound: %v then %v", refresh, first, second)
		}
		if refresh < 0 && !hasBurst {
			t.Fatalf("refresh off: the burst is not trending: %v then %v", first, second)
		}
	}
}

// TestSelectBestMatchesSort checks selectBest against a full sort: the
// first m are the sorted list's first m, in order, and every other
// candidate is still there; scores tie often, so ids break the ties.
func TestSelectBestMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for trial := 0; trial < 500; trial++ {
		n := rng.IntN(300)
		list := make([]*candidate, n)
		for i := range list {
			list[i] = &candidate{id: fmt.Sprintf("i%04d", rng.IntN(10000)), score: float64(rng.IntN(20)) / 4}
		}
		want := slices.Clone(list)
		slices.SortFunc(want, byScore)
		m := rng.IntN(n + 10)
		got := slices.Clone(list)
		k := selectBest(got, m)
		if k != min(m, n) {
			t.Fatalf("n %d m %d: selectBest returned %d", n, m, k)
		}
		for i := 0; i < k; i++ {
			if got[i] != want[i] && byScore(got[i], want[i]) != 0 {
				t.Fatalf("n %d m %d: position %d is %s %.2f, want %s %.2f", n, m, i, got[i].id, got[i].score, want[i].id, want[i].score)
			}
		}
		slices.SortFunc(got, byScore)
		for i := range got {
			if byScore(got[i], want[i]) != 0 {
				t.Fatalf("n %d m %d: the candidates changed", n, m)
			}
		}
	}
}

// TestDiversifyPastTheSelected checks that diversify gives the same list
// whether rank ordered every candidate or only the best m: here the best
// 40 are all of one category, so the diversity rule reaches past them.
func TestDiversifyPastTheSelected(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	items := map[string]*features.Item{"a": {Category: "a"}, "b": {Category: "b"}, "c": {Category: "c"}}
	var list []*candidate
	for i := 0; i < 200; i++ {
		cat := "a"
		score := 10 + rng.Float64()
		if i >= 40 {
			cat = []string{"a", "b", "c"}[rng.IntN(3)]
			score = rng.Float64() * 10
		}
		list = append(list, &candidate{id: fmt.Sprintf("i%03d", i), item: items[cat], score: score})
	}
	rng.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
	newScorer := func() *scorer {
		return &scorer{r: &Ranker{cfg: DefaultConfig()}, perCat: map[string]int{}}
	}
	full := slices.Clone(list)
	s := newScorer()
	s.sorted = selectBest(full, len(full))
	want := slices.Clone(s.diversify(full, 10))
	part := slices.Clone(list)
	s = newScorer()
	s.sorted = selectBest(part, 32)
	got := s.diversify(part, 10)
	if len(got) != 10 || !slices.Equal(got, want) {
		ids := func(cs []*candidate) (out []string) {
			for _, c := range cs {
				out = append(out, c.id+"/"+c.item.Category)
			}
			return out
		}
		t.Fatalf("diversify after selecting 32: %v\nafter a full sort: %v", ids(got), ids(want))
	}
}

package ranker

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestTopNIsExact checks the list against a brute-force sort after random
// increasing updates, the only kind the index makes.
func TestTopNIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{1, 5, 50} {
		l := newTopN(n)
		keys := map[string]float64{}
		for i := 0; i < 5000; i++ {
			item := fmt.Sprint("i", rng.IntN(300))
			keys[item] += rng.Float64()
			l.offer(item, keys[item])
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
				if got := l.refresh(); !slices.Equal(got, want) {
					t.Fatalf("n=%d after %d updates:\n got %v\nwant %v", n, i+1, got, want)
				}
			}
		}
	}
}

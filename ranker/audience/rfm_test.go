package audience

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestScoreThresholds: scoring by the four thresholds gives what a binary
// search over the keys gives (the way scores were computed before), for
// every key of random histograms, the keys between and beyond them.
func TestScoreThresholds(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	search := func(c *cdf, k int64) int {
		if c.n == 0 {
			return 3
		}
		i, _ := slices.BinarySearch(c.keys, k)
		below := c.n
		if i < len(c.keys) {
			below = c.below[i]
		}
		return min(1+int(5*float64(below)/float64(c.n)), 5)
	}
	for round := range 2000 {
		h := newHist()
		keys := 1 + rng.IntN(40)
		if round%7 == 0 {
			keys = 0
		}
		for range keys {
			k := rng.Int64N(100) - 50
			if rng.IntN(10) == 0 {
				k = math.MinInt32
			}
			n := 1 + rng.Int64N(5)
			if rng.IntN(5) == 0 {
				n = 1 + rng.Int64N(1000) // one key holding most customers (one-time buyers)
			}
			h.add(k, n)
		}
		c := h.cdf()
		probe := []int64{math.MinInt64, math.MinInt32 - 1, math.MinInt32, math.MinInt32 + 1, math.MaxInt64}
		for k := int64(-52); k <= 52; k++ {
			probe = append(probe, k)
		}
		for _, k := range probe {
			if got, want := c.score(k), search(&c, k); got != want {
				t.Fatalf("round %d: score(%d) = %d, want %d (keys %v below %v n %d thresholds %v)", round, k, got, want, c.keys, c.below, c.n, c.th[:c.nth])
			}
		}
	}
}

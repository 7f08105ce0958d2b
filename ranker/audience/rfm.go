package audience

import (
	"math"
	"slices"
)

// hist is an exact histogram of integer keys with deletions: the population
// distribution of one RFM figure. Monetary values are keyed by log buckets
// of 1% relative width, so quantiles of money are exact to 1%.
type hist struct {
	counts map[int64]int64
	n      int64
}

func newHist() *hist { return &hist{counts: make(map[int64]int64)} }

func (h *hist) add(k, d int64) {
	c := h.counts[k] + d
	if c == 0 {
		delete(h.counts, k)
	} else {
		h.counts[k] = c
	}
	h.n += d
}

// cuts returns the keys at the given quantiles (0..1, increasing): the
// smallest key whose cumulative count reaches q·n.
func (h *hist) cuts(qs []float64) []int64 {
	out := make([]int64, len(qs))
	if h.n == 0 {
		return out
	}
	keys := make([]int64, 0, len(h.counts))
	for k := range h.counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var cum int64
	i := 0
	for _, k := range keys {
		cum += h.counts[k]
		for i < len(qs) && float64(cum) >= qs[i]*float64(h.n) {
			out[i] = k
			i++
		}
	}
	for ; i < len(qs); i++ {
		out[i] = keys[len(keys)-1]
	}
	return out
}

// moneyKey buckets an amount into 1%-wide log buckets: from MinInt32 (0.01
// or less) to about 71,000 (the largest float64), so it fits an int32.
func moneyKey(v float64) int64 {
	if v <= 0.01 {
		return math.MinInt32
	}
	return int64(math.Floor(math.Log(v) / math.Log1p(0.01)))
}

// moneyOfKey returns the lower edge of a money bucket.
func moneyOfKey(k int64) float64 {
	if k == math.MinInt32 {
		return 0
	}
	return math.Exp(float64(k) * math.Log1p(0.01))
}

// quintiles are the cut points shown for the 1-5 scores.
var quintiles = []float64{0.2, 0.4, 0.6, 0.8}

// cdf is a snapshot of a hist for scoring: sorted keys with the count below
// each, and the score's thresholds.
type cdf struct {
	keys, below []int64
	n           int64
	// The score of k is 1 plus the number of th[:nth] at or below k: the
	// score does not decrease with k, so four thresholds say it all, and a
	// recount scores every user with at most four comparisons a figure
	// instead of a binary search.
	th  [4]int64
	nth int
}

func (h *hist) cdf() cdf {
	c := cdf{n: h.n, keys: make([]int64, 0, len(h.counts))}
	for k := range h.counts {
		c.keys = append(c.keys, k)
	}
	slices.Sort(c.keys)
	var cum int64
	for _, k := range c.keys {
		c.below = append(c.below, cum)
		cum += h.counts[k]
	}
	c.thresholds()
	return c
}

// scoreAt is the score of the keys whose lower bound in c.keys is i (i =
// len(c.keys): above every key): every customer below keys[i] counts.
func (c *cdf) scoreAt(i int) int {
	below := c.n
	if i < len(c.keys) {
		below = c.below[i]
	}
	return min(1+int(5*float64(below)/float64(c.n)), 5)
}

// thresholds sets th: th[s-2] is the smallest key scored s or more. The
// keys whose lower bound is i are those in (keys[i-1], keys[i]], and
// scoreAt does not decrease with i.
func (c *cdf) thresholds() {
	if c.n == 0 {
		return
	}
	for i := 0; i <= len(c.keys) && c.nth < 4; i++ {
		for s := c.scoreAt(i); c.nth < s-1; c.nth++ {
			if i == 0 {
				c.th[c.nth] = math.MinInt64
			} else {
				c.th[c.nth] = c.keys[i-1] + 1
			}
		}
	}
}

// score maps a key to 1..5 by the share of customers strictly below it, in
// fifths: ties share the lowest score of the range they span, so that the
// many one-time buyers of a shop all have F = 1.
func (c *cdf) score(k int64) int {
	if c.n == 0 {
		return 3
	}
	s := 1
	for _, t := range c.th[:c.nth] {
		if k >= t {
			s++
		}
	}
	return s
}

// Segment names, from the grid below.
const (
	Champions         = "champions"
	Loyal             = "loyal"
	PotentialLoyalist = "potential_loyalist"
	NewCustomers      = "new"
	Promising         = "promising"
	NeedAttention     = "need_attention"
	AboutToSleep      = "about_to_sleep"
	AtRisk            = "at_risk"
	CantLose          = "cant_lose"
	Hibernating       = "hibernating"
	Lost              = "lost"
)

// Segments lists every RFM segment name.
func Segments() []string {
	return []string{Champions, Loyal, PotentialLoyalist, NewCustomers, Promising, NeedAttention,
		AboutToSleep, AtRisk, CantLose, Hibernating, Lost}
}

// segmentGrid names the segment of a recency score (row, 1..5) and a
// frequency-monetary score (column, 1..5; the rounded mean of F and M).
// It is the table documented in docs/design.md.
var segmentGrid = [5][5]string{
	// FM:  1             2                  3                  4          5
	{Lost, Hibernating, AtRisk, CantLose, CantLose},                            // R = 1
	{Hibernating, Hibernating, AtRisk, AtRisk, CantLose},                       // R = 2
	{AboutToSleep, AboutToSleep, NeedAttention, Loyal, Loyal},                  // R = 3
	{Promising, PotentialLoyalist, PotentialLoyalist, Loyal, Champions},        // R = 4
	{NewCustomers, PotentialLoyalist, PotentialLoyalist, Champions, Champions}, // R = 5
}

// Segment returns the segment of R, F and M scores (1..5 each).
func Segment(r, f, m int) string {
	return segmentNames[segmentIndex(r, f, m)]
}

// numSegments is len(Segments()).
const numSegments = 11

// segmentNames is Segments(), indexed by segmentIndex; segmentIndexGrid is
// segmentGrid as those indexes. Both are read-only.
var (
	segmentNames     = Segments()
	segmentIndexGrid = func() (g [5][5]uint8) {
		for r, row := range segmentGrid {
			for c, name := range row {
				g[r][c] = uint8(slices.Index(segmentNames, name))
			}
		}
		return g
	}()
)

// segmentIndex returns the index in Segments() of the segment of R, F and
// M scores (1..5 each); the table counts by index.
func segmentIndex(r, f, m int) uint8 {
	fm := (f + m + 1) / 2 // the mean, halves rounded up
	return segmentIndexGrid[clamp(r)-1][clamp(fm)-1]
}

func clamp(s int) int { return min(max(s, 1), 5) }

package ranker

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/ranker/audience"
)

// feature indexes, in the order of Weights.
const (
	fCooc = iota
	fCategory
	fContext
	fBrand
	fBucket
	fTrend
	fPopularity
	fPrice
	numFeatures
)

// scorer holds one request's working state.
type scorer struct {
	r          *Ranker
	u          *features.User
	now        int64
	daypart    features.Daypart
	region     string
	device     string
	exclude    map[string]struct{}
	catalogued bool
	cands      map[string]*candidate
	boosts     []*boost // the boosts whose rule the user matches

	catAff, ctxAff, brandAff map[string]float64 // normalised to max 1 (negatives kept)
	topCats                  []string
}

// boost is a configured Boost with its rule parsed.
type boost struct {
	Boost
	rule *audience.Rule
}

// matches says whether the boost applies to it (nil: an item missing from
// the catalogue).
func (b *boost) matches(it *features.Item) bool {
	if it == nil {
		return b.Category == "" && b.Brand == "" && b.Tag == ""
	}
	return (b.Category == "" || it.Category == b.Category) && (b.Brand == "" || it.Brand == b.Brand) &&
		(b.Tag == "" || slices.Contains(it.Tags, b.Tag))
}

// rank scores every candidate and returns them best first.
func (s *scorer) rank() []*candidate {
	list := make([]*candidate, 0, len(s.cands))
	for _, c := range s.cands {
		list = append(list, c)
	}
	// Deterministic order before scoring: map iteration is random.
	slices.SortFunc(list, func(a, b *candidate) int { return strings.Compare(a.id, b.id) })
	ids := make([]string, len(list))
	for i, c := range list {
		ids[i] = c.id
	}
	sig := make([]Signals, len(list))
	bucket := ""
	if s.region != "" {
		bucket = features.Bucket(s.region, s.daypart)
	}
	s.r.idx.Lookup(ids, s.now, bucket, features.Bucket(features.AnyRegion, s.daypart), sig)

	var maxCooc, maxPop, maxBucket float64
	for i, c := range list {
		c.sig = sig[i]
		maxCooc = math.Max(maxCooc, c.cooc)
		maxPop = math.Max(maxPop, c.sig.Popularity)
		maxBucket = math.Max(maxBucket, c.bucketPop())
	}
	w := s.r.cfg.Weights
	weights := [numFeatures]float64{w.Cooc, w.Category, w.Context, w.Brand, w.Bucket, w.Trend, w.Popularity, w.Price}
	for _, c := range list {
		if maxCooc > 0 {
			c.f[fCooc] = c.cooc / maxCooc
		}
		if c.item != nil {
			c.f[fCategory] = s.catAff[c.item.Category]
			c.f[fContext] = s.ctxAff[c.item.Category]
			c.f[fBrand] = s.brandAff[c.item.Brand]
			if c.item.Price > 0 && s.u.Price.W > 0 {
				c.f[fPrice] = s.u.Price.Fit(c.item.Price) - 0.5
			}
		}
		if maxBucket > 0 {
			c.f[fBucket] = math.Log1p(c.bucketPop()) / math.Log1p(maxBucket)
		}
		if c.sig.Trend > 1 {
			c.f[fTrend] = math.Min((c.sig.Trend-1)/4, 1)
		}
		if maxPop > 0 {
			c.f[fPopularity] = math.Log1p(c.sig.Popularity) / math.Log1p(maxPop)
		}
		for i := range c.f {
			c.score += weights[i] * c.f[i]
		}
		for _, b := range s.boosts {
			if b.matches(c.item) {
				c.score *= b.Factor
				if c.boost == nil && b.Factor > 1 {
					c.boost = b
				}
			}
		}
	}
	slices.SortStableFunc(list, func(a, b *candidate) int { return cmp.Compare(b.score, a.score) })
	return list
}

func (c *candidate) bucketPop() float64 {
	if c.sig.Bucket > 0 {
		return c.sig.Bucket
	}
	return c.sig.AnyBucket
}

// diversify takes the best k with at most MaxPerCategory per category,
// filling from the held-back items if the rule leaves the list short.
func (r *Ranker) diversify(list []*candidate, k int) []*candidate {
	picked := make([]*candidate, 0, k)
	var held []*candidate
	perCat := make(map[string]int)
	for _, c := range list {
		if len(picked) == k {
			break
		}
		cat := ""
		if c.item != nil {
			cat = c.item.Category
		}
		if cat != "" && perCat[cat] >= r.cfg.MaxPerCategory {
			held = append(held, c)
			continue
		}
		perCat[cat]++
		picked = append(picked, c)
	}
	for _, c := range held {
		if len(picked) == k {
			break
		}
		picked = append(picked, c)
	}
	// Held-back items rejoin below, so order by score again.
	slices.SortStableFunc(picked, func(a, b *candidate) int { return cmp.Compare(b.score, a.score) })
	return picked
}

package ranker

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/stickyhq/sticky/features"
)

// reasons explains a candidate's score: its largest contributions, at most
// three, each at least 15% of the score.
func (s *scorer) reasons(c *candidate) []Reason {
	w := s.r.cfg.Weights
	weights := [numFeatures]float64{w.Cooc, w.Category, w.Context, w.Brand, w.Bucket, w.Trend, w.Popularity, w.Price}
	type contrib struct {
		f int
		v float64
	}
	var cs []contrib
	for i, v := range c.f {
		if x := weights[i] * v; x > 0 {
			cs = append(cs, contrib{i, x})
		}
	}
	slices.SortStableFunc(cs, func(a, b contrib) int { return cmp.Compare(b.v, a.v) })
	var out []Reason
	if c.boost != nil && c.boost.Reason != "" {
		out = append(out, Reason{Code: "boost", Text: c.boost.Reason})
	}
	for i, x := range cs {
		if len(out) == 3 || (i > 0 && x.v < 0.15*c.score) {
			break
		}
		if r, ok := s.reason(c, x.f); ok {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		out = append(out, Reason{Code: "popular", Text: "popular with shoppers"})
	}
	return out
}

func (s *scorer) reason(c *candidate, f int) (Reason, bool) {
	cat, brand := "", ""
	if c.item != nil {
		cat, brand = c.item.Category, c.item.Brand
	}
	switch f {
	case fCooc:
		label := c.seed
		if it := s.r.cat.Get(c.seed); it != nil && it.Title != "" {
			label = it.Title + " (" + c.seed + ")"
		}
		switch c.seedType {
		case 0:
			return Reason{"co_occurrence", "goes with " + label}, true
		case features.TypePurchase:
			return Reason{"co_occurrence", "bought with " + label}, true
		case features.TypeAddToCart:
			return Reason{"co_occurrence", "goes with " + label + " in your cart"}, true
		default:
			return Reason{"co_occurrence", "viewed with " + label}, true
		}
	case fCategory:
		return Reason{"category", "you often browse " + cat}, cat != ""
	case fContext:
		var where []string
		if _, ok := s.u.CtxCategories.Get(features.CtxDeviceKey(s.device, cat)); ok && s.device != "" {
			where = append(where, "on "+s.device)
		}
		if _, ok := s.u.CtxCategories.Get(features.CtxDaypartKey(s.daypart, cat)); ok {
			where = append(where, "in the "+s.daypart.String())
		}
		if len(where) == 0 {
			return Reason{}, false
		}
		return Reason{"context", "you browse " + cat + " " + strings.Join(where, " ")}, cat != ""
	case fBrand:
		return Reason{"brand", "you like " + brand}, brand != ""
	case fBucket:
		if c.sig.Bucket > 0 && s.region != "" {
			return Reason{"context_trend", "trending in " + s.region + " " + daypartPhrase(s.daypart)}, true
		}
		return Reason{"context_trend", "popular " + daypartPhrase(s.daypart)}, true
	case fTrend:
		return Reason{"trending", fmt.Sprintf("trending now (%.1f× its usual rate)", c.sig.Trend)}, true
	case fPopularity:
		return Reason{"popular", "popular with shoppers"}, true
	case fPrice:
		return Reason{"price", "in your usual price range"}, true
	}
	return Reason{}, false
}

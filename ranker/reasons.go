package ranker

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/stickyhq/sticky/features"
)

// reasons explains a candidate's score by the model's largest positive
// contributions (weight × feature, the bias aside), at most three, each at
// least 15% of the largest; features naming the same reason (the
// co-occurrences, the user's own history) count once.
func (s *scorer) reasons(c *candidate) []Reason {
	w := s.r.model.weights()
	type contrib struct {
		f int
		v float64
	}
	var cs []contrib
	for i, v := range c.f {
		if x := w[i] * v; x > 0 && i != fBias {
			cs = append(cs, contrib{i, x})
		}
	}
	slices.SortStableFunc(cs, func(a, b contrib) int { return cmp.Compare(b.v, a.v) })
	var out []Reason
	if c.boost != nil && c.boost.Reason != "" {
		out = append(out, Reason{Code: "boost", Text: c.boost.Reason})
	}
	for _, x := range cs {
		if len(out) == 3 || x.v < 0.15*cs[0].v {
			break
		}
		r, ok := s.reason(c, x.f)
		if ok && !slices.ContainsFunc(out, func(o Reason) bool { return o.Code == r.Code }) {
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
	case fCooc, fCosSum, fCosMax, fCosCur:
		if c.seed == "" {
			return Reason{}, false
		}
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
	case fBought, fRepeat:
		return Reason{"history", "you bought this before"}, true
	case fOwn, fOwnRecent:
		return Reason{"history", "you looked at this recently"}, true
	}
	return Reason{}, false
}

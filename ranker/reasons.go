package ranker

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/stickyhq/sticky/features"
)

// reasons appends to dst the explanation of a candidate's score: the
// model's largest positive contributions (weight × feature, the bias
// aside), at most three, each at least 15% of the largest. The features
// naming one reason add up to its contribution (featureGroup: the
// co-occurrences, the user's own history, a feature and its bins).
func (s *scorer) reasons(dst []Reason, c *candidate) []Reason {
	w := s.r.model.weights()
	type contrib struct {
		f int
		v float64
	}
	var sums [numFeatures]float64
	for i, v := range c.f {
		if i != fBias {
			sums[featureGroup[i]] += w[i] * v
		}
	}
	var buf [numFeatures]contrib
	cs := buf[:0]
	for i, x := range sums {
		if x > 0 {
			cs = append(cs, contrib{i, x})
		}
	}
	slices.SortStableFunc(cs, func(a, b contrib) int { return cmp.Compare(b.v, a.v) })
	start := len(dst)
	if c.boost != nil && c.boost.Reason != "" {
		dst = append(dst, Reason{Code: "boost", Text: c.boost.Reason})
	}
	for _, x := range cs {
		if len(dst)-start == 3 || x.v < 0.15*cs[0].v {
			break
		}
		r, ok := s.reason(c, x.f)
		if ok && !slices.ContainsFunc(dst[start:], func(o Reason) bool { return o.Code == r.Code }) {
			dst = append(dst, r)
		}
	}
	if len(dst) == start {
		dst = append(dst, Reason{Code: "popular", Text: "popular with shoppers"})
	}
	return dst
}

func (s *scorer) reason(c *candidate, f int) (Reason, bool) {
	cat, brand := "", ""
	if c.item != nil {
		cat, brand = c.item.Category, c.item.Brand
	}
	switch f {
	case fCooc:
		if c.seed == "" {
			return Reason{}, false
		}
		k := textKey{kind: textCooc, a: c.seed, n: int(c.seedType)}
		if t, ok := k.cached(); ok {
			return Reason{"co_occurrence", t}, true
		}
		label := c.seed
		if it := s.r.cat.Get(c.seed); it != nil && it.Title != "" {
			label = it.Title + " (" + c.seed + ")"
		}
		switch c.seedType {
		case 0:
			label = "goes with " + label
		case features.TypePurchase:
			label = "bought with " + label
		case features.TypeAddToCart:
			label = "goes with " + label + " in your cart"
		default:
			label = "viewed with " + label
		}
		return Reason{"co_occurrence", k.store(label)}, true
	case fCategory:
		if cat == "" {
			return Reason{}, false
		}
		k := textKey{kind: textCategory, a: cat}
		t, ok := k.cached()
		if !ok {
			t = k.store("you often browse " + cat)
		}
		return Reason{"category", t}, true
	case fContext:
		if cat == "" {
			return Reason{}, false
		}
		var onDevice, inDaypart bool
		for i := range s.u.CtxCategories {
			key := s.u.CtxCategories[i].Key
			if c, ok := features.CtxDaypartCategory(key, s.daypart); ok && c == cat {
				inDaypart = true
			} else if c, ok := features.CtxDeviceCategory(key, s.device); ok && c == cat && s.device != "" {
				onDevice = true
			}
		}
		if !onDevice && !inDaypart {
			return Reason{}, false
		}
		k := textKey{kind: textContext, a: cat, n: int(s.daypart)}
		if onDevice {
			k.b = s.device
		}
		if !inDaypart {
			k.n = -1
		}
		t, ok := k.cached()
		if !ok {
			var where []string
			if onDevice {
				where = append(where, "on "+s.device)
			}
			if inDaypart {
				where = append(where, "in the "+s.daypart.String())
			}
			t = k.store("you browse " + cat + " " + strings.Join(where, " "))
		}
		return Reason{"context", t}, true
	case fBrand:
		if brand == "" {
			return Reason{}, false
		}
		k := textKey{kind: textBrand, a: brand}
		t, ok := k.cached()
		if !ok {
			t = k.store("you like " + brand)
		}
		return Reason{"brand", t}, true
	case fBucket:
		k := textKey{kind: textBucket, n: int(s.daypart)}
		if c.sig.Bucket > 0 && s.region != "" {
			k.a = s.region
		}
		t, ok := k.cached()
		if !ok {
			if k.a != "" {
				t = k.store("trending in " + s.region + " " + daypartPhrase(s.daypart))
			} else {
				t = k.store("popular " + daypartPhrase(s.daypart))
			}
		}
		return Reason{"context_trend", t}, true
	case fTrend:
		return Reason{"trending", fmt.Sprintf("trending now (%.1f× its usual rate)", c.sig.Trend)}, true
	case fPopularity:
		return Reason{"popular", "popular with shoppers"}, true
	case fPrice:
		return Reason{"price", "in your usual price range"}, true
	case fBought:
		if c.boughtN > 0 {
			return Reason{"history", "you bought this before"}, true
		}
		return Reason{"history", "you looked at this recently"}, true
	}
	return Reason{}, false
}

// textKey names a reason's text by what it depends on, so that requests
// share the texts rather than build them each time.
type textKey struct {
	kind uint8
	n    int
	a, b string
}

const (
	textCooc = iota + 1
	textCategory
	textContext
	textBrand
	textBucket
)

// reasonTexts caches reason texts; it is dropped whole when it holds
// maxReasonTexts, which bounds it without bookkeeping per entry.
var (
	reasonTexts    atomic.Pointer[sync.Map]
	reasonTextsLen atomic.Int64
)

const maxReasonTexts = 1 << 16

func (k textKey) cached() (string, bool) {
	m := reasonTexts.Load()
	if m == nil {
		return "", false
	}
	t, ok := m.Load(k)
	if !ok {
		return "", false
	}
	return t.(string), true
}

func (k textKey) store(t string) string {
	m := reasonTexts.Load()
	if m == nil || reasonTextsLen.Load() >= maxReasonTexts {
		m = new(sync.Map)
		reasonTexts.Store(m)
		reasonTextsLen.Store(0)
	}
	if _, loaded := m.LoadOrStore(k, t); !loaded {
		reasonTextsLen.Add(1)
	}
	return t
}

package ranker

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/stickyhq/sticky/features"
)

// candidate is an item being considered for one request: where it came
// from, its signals and features, its score.
type candidate struct {
	id       string
	item     *features.Item
	cooc     float64       // raw co-occurrence, each seed's neighbours over its strongest
	cosSum   float64       // recency-weighted sum of cosine co-occurrence with the seeds
	cosMax   float64       // its largest term
	cosCur   float64       // cosine co-occurrence with the current item
	seed     string        // strongest co-occurrence seed
	seedW    float64       // its contribution
	seedType features.Type // the user's strongest action on the seed; 0 for the current item
	sig      Signals
	f        [numFeatures]float64
	score    float64
	boost    *boost // the first boost applied, for its reason
}

// admit returns the candidate for id, creating it if id passes the rules:
// not excluded, in the catalogue and available (when there is a
// catalogue), not dismissed, and not consumed unless Config.Repeat allows.
func (s *scorer) admit(id string) *candidate {
	if c, ok := s.cands[id]; ok {
		return c
	}
	if _, ok := s.exclude[id]; ok {
		return nil
	}
	it := s.r.cat.Get(id)
	if s.catalogued && (it == nil || !it.Available) || features.HasMark(s.u.Dismissed, id) || !s.repeatable(id, it) {
		s.exclude[id] = struct{}{}
		return nil
	}
	c := &candidate{id: id, item: it}
	s.cands[id] = c
	return c
}

// repeatable says whether Config.Repeat lets id be shown to the user.
func (s *scorer) repeatable(id string, it *features.Item) bool {
	switch s.r.cfg.Repeat {
	case RepeatNever:
		return !features.HasMark(s.u.Purchased, id)
	}
	return !features.HasMark(s.u.Purchased, id) || (it != nil && it.Repeatable)
}

// seedDecay is the weight of each older seed relative to the next newer one.
const seedDecay = 0.85

// gather collects candidates from every source.
func (s *scorer) gather(current string, k int) {
	cfg, hl := &s.r.cfg, s.r.f.HalfLives()
	idx := s.r.idx

	// Co-occurrence: the current item, then recent items, newest first.
	// Candidates are a seed's neighbours by raw weight (at least
	// MinNeighbour of its strongest); their cosine weights are features.
	var nb, cos []features.KV
	seed := func(id string, w float64, t features.Type) {
		var top float64
		nb, top = idx.Neighbours(nb[:0], id, s.now)
		if top <= 0 {
			return
		}
		for _, n := range nb {
			if n.Value < top*cfg.MinNeighbour {
				continue
			}
			c := s.admit(n.Key)
			if c == nil {
				continue
			}
			contrib := w * n.Value / top
			c.cooc += contrib
			if contrib > c.seedW {
				c.seed, c.seedW, c.seedType = id, contrib, t
			}
		}
		cos = idx.Cosine(cos[:0], id, s.now)
		for _, n := range cos {
			c := s.admit(n.Key)
			if c == nil {
				continue
			}
			if t == 0 {
				c.cosCur = math.Max(c.cosCur, n.Value)
				continue
			}
			v := w * n.Value
			c.cosSum += v
			c.cosMax = math.Max(c.cosMax, v)
		}
	}
	if current != "" {
		seed(current, 1.5, 0)
	}
	seeds := 0
	for i := len(s.u.Recent) - 1; i >= 0 && seeds < cfg.Seeds; i-- {
		rc := s.u.Recent[i]
		if rc.Item == current {
			continue
		}
		intent := 1 + 0.25*float64(max(rc.Type.Intent()-1, 0))
		seed(rc.Item, math.Pow(seedDecay, float64(seeds))*intent, max(rc.Type, features.TypeView))
		seeds++
	}

	// The user's own items, newest first, when they may be shown again.
	if cfg.Repeat == RepeatLearn {
		n := 0
		for i := len(s.u.Recent) - 1; i >= 0 && n < cfg.Own; i-- {
			if s.admit(s.u.Recent[i].Item) != nil {
				n++
			}
		}
		if n < cfg.Own && len(s.u.Purchased) > 0 {
			bought := slices.Clone(s.u.Purchased)
			slices.SortFunc(bought, func(a, b features.Mark) int {
				if c := cmp.Compare(b.At, a.At); c != 0 {
					return c
				}
				return strings.Compare(a.Item, b.Item)
			})
			for _, m := range bought {
				if n >= cfg.Own {
					break
				}
				if s.admit(m.Item) != nil {
					n++
				}
			}
		}
	}

	s.affinities(hl)
	// The user's top categories in this context.
	type cs struct {
		cat string
		v   float64
	}
	var cats []cs
	for cat, v := range s.catAff {
		if v > 0 {
			cats = append(cats, cs{cat, v + s.ctxAff[cat]})
		}
	}
	slices.SortFunc(cats, func(a, b cs) int {
		if c := cmp.Compare(b.v, a.v); c != 0 {
			return c
		}
		return strings.Compare(a.cat, b.cat)
	})
	for i := 0; i < len(cats) && i < cfg.Categories; i++ {
		s.topCats = append(s.topCats, cats[i].cat)
		for _, id := range idx.PopularIn(cats[i].cat, cfg.PerCategory) {
			s.admit(id)
		}
	}

	// Context, trending, popular.
	if s.region != "" {
		for _, id := range idx.PopularAt(features.Bucket(s.region, s.daypart), cfg.PerBucket) {
			s.admit(id)
		}
	}
	for _, id := range idx.PopularAt(features.Bucket(features.AnyRegion, s.daypart), cfg.PerBucket) {
		s.admit(id)
	}
	for _, id := range idx.Trending(s.now, cfg.Trending) {
		s.admit(id)
	}
	for _, id := range idx.Popular(cfg.Popular) {
		s.admit(id)
	}

	// Never an empty list: top up from the catalogue, in id order so the
	// answer is the same every time.
	if len(s.cands) < k && s.catalogued {
		want := k * 3
		for _, it := range s.r.cat.Sorted() {
			if len(s.cands) >= want {
				break
			}
			s.admit(it.ID)
		}
	}
}

// affinities computes the user's normalised category, brand and context
// affinities at the request's moment.
func (s *scorer) affinities(hl features.HalfLives) {
	s.catAff = normalised(s.u.Categories.Top(s.now, hl.Affinity, 0))
	s.brandAff = normalised(s.u.Brands.Top(s.now, hl.Affinity, 0))
	// Context affinity: how much the user favours each category at this
	// part of the day and on this device, each normalised within its own
	// context so that a habit of the morning counts fully in the morning
	// even if evenings are busier.
	s.ctxAff = make(map[string]float64)
	dk := "d:" + s.daypart.String() + "|"
	vk := "v:" + s.device + "|"
	var dpart, vpart []features.KV
	for _, kv := range s.u.CtxCategories.Top(s.now, hl.Habit, 0) {
		if cat, ok := strings.CutPrefix(kv.Key, dk); ok {
			dpart = append(dpart, features.KV{Key: cat, Value: kv.Value})
		} else if cat, ok := strings.CutPrefix(kv.Key, vk); ok && s.device != "" {
			vpart = append(vpart, features.KV{Key: cat, Value: kv.Value})
		}
	}
	for _, part := range [][]features.KV{dpart, vpart} {
		for cat, v := range normalised(part) {
			if v > 0 {
				s.ctxAff[cat] += 0.5 * v
			}
		}
	}
}

// normalised maps scores to value / max positive value.
func normalised(kvs []features.KV) map[string]float64 {
	m := make(map[string]float64, len(kvs))
	top := 0.0
	for _, kv := range kvs {
		top = math.Max(top, math.Abs(kv.Value))
	}
	if top == 0 {
		return m
	}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value / top
	}
	return m
}

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
	e        *entry // the index's entry for id; nil if it had none when admitted
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

	cat, brand int32   // the item's category and brand numbers plus one (terms); 0: look up by name
	lnPrice    float64 // log of the item's price, if above 0

	// The user's own history with the item, read once per request
	// (scorer.history) rather than by a scan per candidate.
	hist    bool          // the fields below are filled in
	ownAt   int64         // the latest interaction, Unix ms; 0 none
	ownType features.Type // its strongest type
	boughtN uint32        // times bought
}

// admit returns the candidate for id, creating it if id passes the rules:
// not excluded, in the catalogue and available (when there is a
// catalogue), not dismissed, and not consumed unless Config.Repeat allows.
func (s *scorer) admit(id string) *candidate {
	if c, ok := s.extra[id]; ok {
		return c // nil: excluded
	}
	if e := s.r.idx.find(id); e != nil {
		return s.admitEntry(e)
	}
	it := s.r.cat.Get(id)
	return s.admitNew(nil, id, &itemRef{it: it, lnPrice: logPrice(it)})
}

// admitEntry is admit for an item the index holds: candidates from the
// index's lists and neighbours are admitted without hashing their ids.
func (s *scorer) admitEntry(e *entry) *candidate {
	if c, ok := s.cands.get(e.n); ok {
		return c
	}
	if len(s.extra) > 0 { // admitted, or excluded, before the index held it
		if c, ok := s.extra[e.id]; ok {
			return c
		}
	}
	return s.admitNew(e, e.id, s.itemRef(e))
}

// admitNew applies the rules to an item seen for the first time, ref its
// catalogue entry (without numbers for an item the index does not hold).
func (s *scorer) admitNew(e *entry, id string, ref *itemRef) *candidate {
	it := ref.it
	var bought, dismissed bool
	if e != nil && !s.ownByID {
		m, _ := s.own.get(e.n)
		bought, dismissed = m.bought, m.dismissed
	} else {
		dismissed = len(s.u.Dismissed) > 0 && features.HasMark(s.u.Dismissed, id)
		bought = features.HasMark(s.u.Purchased, id)
	}
	if s.catalogued && (it == nil || !it.Available) || dismissed || !s.repeatable(bought, it) {
		s.set(e, id, nil)
		return nil
	}
	c := s.newCandidate(id, it)
	c.e, c.cat, c.brand, c.lnPrice = e, ref.cat, ref.brand, ref.lnPrice
	s.set(e, id, c)
	s.list = append(s.list, c)
	return c
}

// set records c (nil: excluded) as the candidate for id, whose entry is e.
func (s *scorer) set(e *entry, id string, c *candidate) {
	if e != nil {
		s.cands.set(e.n, c)
	} else {
		s.extra[id] = c
	}
}

// exclude keeps id out of the request's candidates.
func (s *scorer) exclude(id string) {
	if _, ok := s.extra[id]; ok {
		s.extra[id] = nil
		return
	}
	s.set(s.r.idx.find(id), id, nil)
}

// find returns the candidate admitted for id; nil if none or excluded.
func (s *scorer) find(id string) *candidate {
	if c, ok := s.extra[id]; ok {
		return c
	}
	if e := s.r.idx.find(id); e != nil {
		c, _ := s.cands.get(e.n)
		return c
	}
	return nil
}

// admitted is how many ids have been admitted or excluded.
func (s *scorer) admitted() int { return s.cands.len() + len(s.extra) }

// itemRef returns e's catalogue entry with its category and brand
// numbers, cached in e per catalogue version. The ranker's catalogue must
// be the one its index was built with.
func (s *scorer) itemRef(e *entry) *itemRef {
	if r := e.item.Load(); r != nil && r.ver == s.catVer {
		return r
	}
	r := &itemRef{it: s.r.cat.Get(e.id), ver: s.catVer}
	if r.it != nil {
		t := &s.r.idx.terms
		r.cat, r.brand, r.lnPrice = t.id(r.it.Category), t.id(r.it.Brand), logPrice(r.it)
	}
	e.item.Store(r)
	return r
}

// logPrice is the log of it's price, 0 without one.
func logPrice(it *features.Item) float64 {
	if it == nil || it.Price <= 0 {
		return 0
	}
	return math.Log(it.Price)
}

// newCandidate returns a zeroed candidate from the scorer's pool.
func (s *scorer) newCandidate(id string, it *features.Item) *candidate {
	if s.used == len(s.pool) {
		s.pool = append(s.pool, new(candidate))
	}
	c := s.pool[s.used]
	s.used++
	*c = candidate{id: id, item: it}
	return c
}

// ownMark is what the user's own history says of one item (scorer.own).
type ownMark struct {
	at                int64         // the latest interaction in Recent, Unix ms; 0 none
	typ               features.Type // its type
	boughtN           uint32        // times bought
	bought, dismissed bool
}

// resolveOwn maps the user's recent, bought and dismissed items to the
// index's entries under one read lock, so that admission and history read
// them by entry rather than by searching the user's lists per candidate.
// If one of them has no entry, ownByID is set and the per-id searches
// serve the whole request (an entry the index creates meanwhile would
// otherwise be missed).
func (s *scorer) resolveOwn() {
	u, x := s.u, s.r.idx
	s.ownByID = false
	x.mu.RLock()
	defer x.mu.RUnlock()
	for i := range u.Recent {
		rc := &u.Recent[i]
		e := x.items[rc.Item]
		if e == nil {
			s.ownByID = true
			return
		}
		m := s.own.ref(e.n)
		m.at, m.typ = rc.At, rc.Type
	}
	for i := range u.Purchased {
		pm := &u.Purchased[i]
		e := x.items[pm.Item]
		if e == nil {
			s.ownByID = true
			return
		}
		m := s.own.ref(e.n)
		m.boughtN, m.bought = pm.N, true
	}
	for i := range u.Dismissed {
		e := x.items[u.Dismissed[i].Item]
		if e == nil {
			s.ownByID = true
			return
		}
		s.own.ref(e.n).dismissed = true
	}
}

// history fills in the user's own history of every candidate admitted so
// far: from the resolved marks (resolveOwn), or by searching the user's
// lists for a candidate without an entry or when marks are not resolved.
func (s *scorer) history() {
	for _, c := range s.list {
		if c.e == nil || s.ownByID {
			s.historyOf(c)
			continue
		}
		c.hist = true
		m, _ := s.own.get(c.e.n)
		c.ownAt, c.ownType, c.boughtN = m.at, m.typ, m.boughtN
	}
}

// historyOf fills in the user's own history of one candidate by searching
// the user's lists (the latest interaction in Recent, the times bought).
func (s *scorer) historyOf(c *candidate) {
	c.hist = true
	for i := len(s.u.Recent) - 1; i >= 0; i-- {
		if rc := &s.u.Recent[i]; rc.Item == c.id {
			c.ownAt, c.ownType = rc.At, rc.Type
			break
		}
	}
	if i, ok := slices.BinarySearchFunc(s.u.Purchased, c.id, func(m features.Mark, id string) int {
		return strings.Compare(m.Item, id)
	}); ok {
		c.boughtN = s.u.Purchased[i].N
	}
}

// repeatable says whether Config.Repeat lets an item the user bought (or
// not) be shown to the user.
func (s *scorer) repeatable(bought bool, it *features.Item) bool {
	switch s.r.cfg.Repeat {
	case RepeatNever:
		return !bought
	}
	return !bought || (it != nil && it.Repeatable)
}

// seedDecay is the weight of each older seed relative to the next newer one.
const seedDecay = 0.85

// gather collects candidates from every source.
func (s *scorer) gather(current string, k int) {
	cfg, hl := &s.r.cfg, s.r.f.HalfLives()
	idx := s.r.idx
	s.resolveOwn()

	// Co-occurrence: the current item, then recent items, newest first.
	// Candidates are a seed's neighbours by raw weight (at least
	// MinNeighbour of its strongest); their cosine weights are features.
	seed := func(id string, w float64, t features.Type) {
		var top float64
		s.nbs, top = idx.neighbours(s.nbs[:0], id, s.now)
		if top <= 0 {
			return
		}
		for i := range s.nbs {
			n := &s.nbs[i]
			raw := n.raw >= top*cfg.MinNeighbour
			if !raw && !n.hasCos {
				continue
			}
			c := s.admitEntry(n.e)
			if c == nil {
				continue
			}
			if raw {
				contrib := w * n.raw / top
				c.cooc += contrib
				if contrib > c.seedW {
					c.seed, c.seedW, c.seedType = id, contrib, t
				}
			}
			if !n.hasCos {
				continue
			}
			if t == 0 {
				c.cosCur = math.Max(c.cosCur, n.cos)
				continue
			}
			v := w * n.cos
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
			s.bought = append(s.bought[:0], s.u.Purchased...)
			bought := s.bought
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
	cats := s.cats[:0]
	for cat, v := range s.catAff {
		if v > 0 {
			cats = append(cats, features.KV{Key: cat, Value: v + s.ctxAff[cat]})
		}
	}
	slices.SortFunc(cats, func(a, b features.KV) int {
		if c := cmp.Compare(b.Value, a.Value); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	s.cats = cats
	for i := 0; i < len(cats) && i < cfg.Categories; i++ {
		s.topCats = append(s.topCats, cats[i].Key)
		for _, e := range idx.popularIn(cats[i].Key, cfg.PerCategory) {
			s.admitEntry(e)
		}
	}

	// Context, trending, popular.
	if s.region != "" {
		for _, e := range idx.popularAt(s.bucket, cfg.PerBucket) {
			s.admitEntry(e)
		}
	}
	for _, e := range idx.popularAt(s.anyBucket, cfg.PerBucket) {
		s.admitEntry(e)
	}
	for _, e := range idx.trendingAt(s.now, cfg.Trending) {
		s.admitEntry(e)
	}
	for _, e := range idx.popular(cfg.Popular) {
		s.admitEntry(e)
	}

	// Never an empty list: top up from the catalogue, in id order so the
	// answer is the same every time.
	if s.admitted() < k && s.catalogued {
		want := k * 3
		for _, it := range s.r.cat.Sorted() {
			if s.admitted() >= want {
				break
			}
			s.admit(it.ID)
		}
	}
	s.history()
}

// affinities computes the user's normalised category, brand and context
// affinities at the request's moment.
func (s *scorer) affinities(hl features.HalfLives) {
	s.normalise(s.catAff, s.u.Categories, hl.Affinity)
	s.normalise(s.brandAff, s.u.Brands, hl.Affinity)
	// Context affinity: how much the user favours each category at this
	// part of the day and on this device, each normalised within its own
	// context so that a habit of the morning counts fully in the morning
	// even if evenings are busier.
	ctx := s.ctx[:0]
	var dtop, vtop float64
	for i := range s.u.CtxCategories {
		sc := &s.u.CtxCategories[i]
		if cat, ok := features.CtxDaypartCategory(sc.Key, s.daypart); ok {
			c := ctxScore{cat: cat, v: sc.Value(s.now, hl.Habit)}
			dtop = math.Max(dtop, math.Abs(c.v))
			ctx = append(ctx, c)
		} else if cat, ok := features.CtxDeviceCategory(sc.Key, s.device); ok && s.device != "" {
			c := ctxScore{cat: cat, v: sc.Value(s.now, hl.Habit), device: true}
			vtop = math.Max(vtop, math.Abs(c.v))
			ctx = append(ctx, c)
		}
	}
	for _, c := range ctx {
		top := dtop
		if c.device {
			top = vtop
		}
		if top == 0 {
			continue
		}
		if v := c.v / top; v > 0 {
			s.ctxAff[c.cat] += 0.5 * v
		}
	}
	clear(ctx)
	s.ctx = ctx[:0]
}

// ctxScore is a context affinity of the request's daypart or device.
type ctxScore struct {
	cat    string
	v      float64
	device bool
}

// normalise fills m with each score's value at now over the largest
// absolute value (negatives kept).
func (s *scorer) normalise(m map[string]float64, sc features.Scores, hl int64) {
	vals := s.vals[:0]
	top := 0.0
	for i := range sc {
		v := sc[i].Value(s.now, hl)
		top = math.Max(top, math.Abs(v))
		vals = append(vals, v)
	}
	s.vals = vals[:0]
	if top == 0 {
		return
	}
	for i := range sc {
		m[sc[i].Key] = vals[i] / top
	}
}

package ranker

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/ranker/audience"
	"github.com/stickyhq/sticky/ranker/learn"
)

// feature indexes. featureVector computes them; FeatureNames names them.
const (
	fBias       = iota
	fCooc       // raw co-occurrence with the seeds, over the candidates' largest
	fCosSum     // cosine co-occurrence with the recent items, recency-weighted sum
	fCosMax     // its largest term
	fCosCur     // cosine co-occurrence with the current item
	fCategory   // category affinity
	fContext    // category affinity at this daypart and on this device
	fBrand      // brand affinity
	fBucket     // popularity in the region × daypart, log, over the bucket's top
	fTrend      // recent rate over usual rate
	fPopularity // popularity, log, over the most popular item's
	fPrice      // fit with the user's price band, centred
	fOwn        // the user's own interaction with the item: strength × recency
	fOwnRecent  // how recent it is (1 now, 1/2 after a day)
	fBought     // the user bought it: log2(1 + times) / 4, at most 1
	fRepeat     // the item's purchases per interaction (a repeat-purchase proxy) × bought
	fBins       // the binned features: nBins indicators each of binned's
	numFeatures = fBins + nBins*len(binned)
)

const nBins = 4

// binned are the features that also have indicator features, one per bin
// of their value (binEdges), so that the linear model can give each a
// non-linear shape.
var binned = [...]int{fCooc, fCosSum, fCosMax, fPopularity, fBucket, fOwn, fOwnRecent, fBought}

var binEdges = [nBins - 1]float64{0.1, 0.3, 0.6}

// FeatureNames are the features of the model, in order.
var FeatureNames = func() (n [numFeatures]string) {
	n = [numFeatures]string{
		fBias: "bias", fCooc: "cooc", fCosSum: "cosine_sum", fCosMax: "cosine_max", fCosCur: "cosine_current",
		fCategory: "category", fContext: "context", fBrand: "brand", fBucket: "bucket", fTrend: "trend",
		fPopularity: "popularity", fPrice: "price", fOwn: "own", fOwnRecent: "own_recent", fBought: "bought",
		fRepeat: "repeat"}
	for j, f := range binned {
		for b := range nBins {
			n[fBins+j*nBins+b] = fmt.Sprintf("%s_bin%d", n[f], b)
		}
	}
	return n
}()

// featureGroup maps each feature to the one that names its reason
// (scorer.reasons): the co-occurrences to fCooc, the user's own history
// with the item to fBought, a bin to its feature's group, the others to
// themselves.
var featureGroup = func() (g [numFeatures]int) {
	for i := range g {
		g[i] = i
	}
	for _, i := range []int{fCosSum, fCosMax, fCosCur} {
		g[i] = fCooc
	}
	for _, i := range []int{fOwn, fOwnRecent, fRepeat} {
		g[i] = fBought
	}
	for j, f := range binned {
		for b := range nBins {
			g[fBins+j*nBins+b] = g[f]
		}
	}
	return g
}()

// prior maps the hand-set Weights onto the features.
func (w Weights) prior() [numFeatures]float64 {
	return [numFeatures]float64{fCooc: w.Cooc, fCategory: w.Category, fContext: w.Context, fBrand: w.Brand,
		fBucket: w.Bucket, fTrend: w.Trend, fPopularity: w.Popularity, fPrice: w.Price}
}

// scorer holds one request's working state. Scorers are pooled
// (Ranker.getScorer, putScorer): every slice and map is reused, so a
// request allocates little beyond its response.
type scorer struct {
	r          *Ranker
	u          *features.User
	now        int64
	daypart    features.Daypart
	region     string
	device     string
	catalogued bool
	catVer     uint64                // the catalogue's version (scorer.itemRef)
	cands      slots[*candidate]     // by the index's entry (entry.n); nil: excluded
	extra      map[string]*candidate // by id, items without an entry when admitted; nil: excluded
	own        slots[ownMark]        // the user's own items (resolveOwn), by entry.n
	ownByID    bool                  // one of them has no entry: search the user's lists by id
	list       []*candidate          // the admitted candidates, in admission order
	boosts     []*boost              // the boosts whose rule the user matches

	catAff, ctxAff, brandAff map[string]float64 // normalised to max 1 (negatives kept)
	topCats                  []string
	// The same by category and brand number (terms), for candidates that
	// carry theirs; filled once per request (denseAffinities).
	catVec, ctxVec, brandVec []float64
	touched                  []int32 // the numbers set in them
	dense                    bool

	maxCooc                 float64 // the largest raw co-occurrence among the candidates
	topPop, topBuck, topAny float64 // the most popular item's popularity, overall and in the buckets
	lnPop, lnBuck, lnAny    float64 // log1p of each, once per request
	bucket, anyBucket       string  // the request's context buckets; bucket "" without a region
	priceSD                 float64 // the user's PriceBand.Spread, once per request

	// Reused buffers.
	pool   []*candidate
	used   int
	user   features.User // the request's user, decoded into reused slices
	nbs    []neighbour
	es     []*entry
	cats   []features.KV
	ctx    []ctxScore
	vals   []float64
	bought []features.Mark
	sigs   []Signals
	ranked []*candidate
	sorted int // ranked[:sorted] is in order (rank, diversify)
	picked []*candidate
	held   []*candidate
	perCat map[string]int
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

// signals fills the signals of list (and the scorer's normalisers) under
// one index read.
func (s *scorer) signals(list []*candidate) {
	idx := s.r.idx
	es := s.es[:0]
	for _, c := range list {
		e := c.e
		if e == nil { // the index may hold it by now
			e = idx.find(c.id)
		}
		es = append(es, e)
	}
	// The heads of the lists normalise popularity absolutely, so that a
	// candidate's features do not depend on the other candidates.
	heads := [3]*entry{}
	if h := idx.popular(1); len(h) > 0 {
		heads[0] = h[0]
	}
	if h := idx.popularAt(s.bucket, 1); len(h) > 0 && s.bucket != "" {
		heads[1] = h[0]
	}
	if h := idx.popularAt(s.anyBucket, 1); len(h) > 0 {
		heads[2] = h[0]
	}
	es = append(es, heads[:]...)
	sig := slices.Grow(s.sigs[:0], len(es))[:len(es)]
	idx.lookup(es, s.now, s.bucket, s.anyBucket, sig)
	for i, c := range list {
		c.sig = sig[i]
		s.maxCooc = math.Max(s.maxCooc, c.cooc)
	}
	n := len(list)
	s.topPop, s.topBuck, s.topAny = sig[n].Popularity, sig[n+1].Bucket, sig[n+2].AnyBucket
	s.lnPop, s.lnBuck, s.lnAny = math.Log1p(s.topPop), math.Log1p(s.topBuck), math.Log1p(s.topAny)
	clear(es)
	s.es, s.sigs = es[:0], sig[:0]
}

// denseAffinities fills catVec, ctxVec and brandVec from the affinity maps,
// which are complete once candidates are gathered.
func (s *scorer) denseAffinities() {
	s.dense = true
	t := &s.r.idx.terms
	t.mu.RLock()
	defer t.mu.RUnlock()
	if n := len(t.ids); len(s.catVec) < n {
		s.catVec = append(s.catVec, make([]float64, n-len(s.catVec))...)
		s.ctxVec = append(s.ctxVec, make([]float64, n-len(s.ctxVec))...)
		s.brandVec = append(s.brandVec, make([]float64, n-len(s.brandVec))...)
	}
	set := func(vec []float64, m map[string]float64) {
		for name, v := range m {
			if i, ok := t.ids[name]; ok { // vec holds every number
				vec[i] = v
				s.touched = append(s.touched, i)
			}
		}
	}
	set(s.catVec, s.catAff)
	set(s.ctxVec, s.ctxAff)
	set(s.brandVec, s.brandAff)
}

// featureVector computes the features of candidate c for the scorer's user
// and context into c.f: the one function behind both serving and training.
func (s *scorer) featureVector(c *candidate) {
	f := &c.f
	*f = [numFeatures]float64{fBias: 1}
	if s.maxCooc > 0 {
		f[fCooc] = c.cooc / s.maxCooc
	}
	f[fCosSum] = squash(c.cosSum)
	f[fCosMax] = squash(c.cosMax)
	f[fCosCur] = squash(c.cosCur)
	if c.item != nil {
		if !s.dense {
			s.denseAffinities()
		}
		if i := int(c.cat) - 1; i >= 0 && i < len(s.catVec) {
			f[fCategory], f[fContext] = s.catVec[i], s.ctxVec[i]
		} else {
			f[fCategory], f[fContext] = s.catAff[c.item.Category], s.ctxAff[c.item.Category]
		}
		if i := int(c.brand) - 1; i >= 0 && i < len(s.brandVec) {
			f[fBrand] = s.brandVec[i]
		} else {
			f[fBrand] = s.brandAff[c.item.Brand]
		}
		if c.item.Price > 0 && s.u.Price.W > 0 {
			f[fPrice] = s.u.Price.FitLogSpread(c.lnPrice, s.priceSD) - 0.5
		}
	}
	if c.sig.Bucket > 0 && s.topBuck > 0 {
		f[fBucket] = math.Min(math.Log1p(c.sig.Bucket)/s.lnBuck, 1)
	} else if s.topAny > 0 {
		f[fBucket] = math.Min(math.Log1p(c.sig.AnyBucket)/s.lnAny, 1)
	}
	if c.sig.Trend > 1 {
		f[fTrend] = math.Min((c.sig.Trend-1)/4, 1)
	}
	if s.topPop > 0 {
		f[fPopularity] = math.Min(math.Log1p(c.sig.Popularity)/s.lnPop, 1)
	}
	// The user's own history with the item.
	if !c.hist {
		s.historyOf(c)
	}
	if c.ownAt != 0 {
		age := math.Max(float64(s.now-c.ownAt), 0) / float64(day)
		f[fOwnRecent] = math.Exp2(-age)
		f[fOwn] = float64(c.ownType.Intent()) / float64(features.TypePurchase.Intent()) * math.Exp2(-age/7)
	}
	if c.boughtN > 0 {
		f[fBought] = math.Min(math.Log2(1+float64(c.boughtN))/4, 1)
		if c.sig.Actions > 0 {
			f[fRepeat] = f[fBought] * c.sig.Purchases / c.sig.Actions
		}
	}
	for _, i := range s.r.model.drop {
		f[i] = 0
	}
	for j, fi := range binned {
		v := f[fi]
		if v <= 0 {
			continue
		}
		b := 0
		for b < len(binEdges) && v > binEdges[b] {
			b++
		}
		f[fBins+j*nBins+b] = 1
	}
}

const day = 24 * 60 * 60 * 1000

// squash maps a cosine weight (about 0 to 1, mostly small) to [0, 1) on a
// log scale: 0.01 → 0.15, 0.1 → 0.52, 1 → 0.96.
func squash(v float64) float64 {
	if v <= 0 {
		return 0
	}
	return math.Min(math.Log1p(100*v)/ln101*0.96, 1)
}

// ln101 is squash's scale (Go does not fold math.Log1p(100) into a
// constant).
var ln101 = math.Log1p(100)

// rank scores every candidate and returns them best first (ties by id, so
// the order does not depend on how they were gathered): the best m in
// order, the rest (all worse) in no order until diversify reaches them.
func (s *scorer) rank(m int) []*candidate {
	list := append(s.ranked[:0], s.list...)
	s.signals(list)
	w := s.r.model.weights()
	for _, c := range list {
		s.featureVector(c)
		c.score = learn.Dot(w[:], c.f[:])
		for _, b := range s.boosts {
			if b.matches(c.item) {
				c.score = boosted(c.score, b.Factor)
				if c.boost == nil && b.Factor > 1 {
					c.boost = b
				}
			}
		}
	}
	s.sorted = selectBest(list, m)
	s.ranked = list
	return list
}

// selectBest puts the best m of list first, in order (byScore), and returns
// how many are: min(m, len(list)). The rest, each worse than all of them,
// are left in no order. A list ranked for K = 10 holds about 200
// candidates of which a page shows the best dozen or so: keeping the best
// m in a heap costs about a comparison per candidate where a full sort
// costs log2(200) ≈ 8.
func selectBest(list []*candidate, m int) int {
	if m >= len(list) {
		slices.SortFunc(list, byScore)
		return len(list)
	}
	if m <= 0 {
		return 0
	}
	// A heap of the best m so far, the worst of them at the root.
	h := list[:m]
	for i := m/2 - 1; i >= 0; i-- {
		siftWorst(h, i)
	}
	for i := m; i < len(list); i++ {
		if byScore(list[i], h[0]) < 0 {
			h[0], list[i] = list[i], h[0]
			siftWorst(h, 0)
		}
	}
	slices.SortFunc(h, byScore)
	return m
}

// siftWorst restores the heap order of h below i: each node ranks at or
// below its children (byScore), so h[0] is the worst.
func siftWorst(h []*candidate, i int) {
	for {
		w, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && byScore(h[l], h[w]) > 0 {
			w = l
		}
		if r < len(h) && byScore(h[r], h[w]) > 0 {
			w = r
		}
		if w == i {
			return
		}
		h[i], h[w] = h[w], h[i]
		i = w
	}
}

// byScore orders candidates best first, ties by id.
func byScore(a, b *candidate) int {
	if c := cmp.Compare(b.score, a.score); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

// boosted applies a boost factor to a score that may be negative (a
// margin): a factor above 1 always raises it, below 1 lowers it.
func boosted(score, factor float64) float64 {
	if score >= 0 {
		return score * factor
	}
	return score / factor
}

// diversify takes the best k of list (best first) with at most
// MaxPerCategory per category, filling from the held-back items if the
// rule leaves the list short.
func (s *scorer) diversify(list []*candidate, k int) []*candidate {
	picked, held := s.picked[:0], s.held[:0]
	clear(s.perCat)
	for i, c := range list {
		if len(picked) == k {
			break
		}
		if i == s.sorted { // past the best that rank ordered: order the rest
			slices.SortFunc(list[i:], byScore)
			s.sorted, c = len(list), list[i]
		}
		cat := ""
		if c.item != nil {
			cat = c.item.Category
		}
		if cat != "" && s.r.cfg.MaxPerCategory > 0 && s.perCat[cat] >= s.r.cfg.MaxPerCategory {
			held = append(held, c)
			continue
		}
		s.perCat[cat]++
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
	s.picked, s.held = picked, held
	return picked
}

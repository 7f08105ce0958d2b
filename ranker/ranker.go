package ranker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/ranker/audience"
)

// Users reads user vectors; state.Store satisfies it.
type Users interface {
	User(id string, u *features.User) (bool, error)
}

// Catalogue is what the ranker needs of the catalogue; state.Catalogue
// satisfies it.
type Catalogue interface {
	ItemSource
	Len() int
	// Sorted returns every item ordered by id, as a shared read-only slice.
	Sorted() []*features.Item
}

// Weights are the weights of the scoring features; each feature is
// normalised to about [0, 1] before weighting.
type Weights struct {
	Cooc       float64 // co-occurrence with the user's recent items and the current item. Default 3.
	Category   float64 // the user's affinity for the item's category. Default 1.5.
	Context    float64 // that affinity at this daypart and on this device. Default 2.
	Brand      float64 // the user's affinity for the item's brand. Default 1.
	Bucket     float64 // popularity in the request's region × daypart. Default 1.
	Trend      float64 // recent rate over usual rate. Default 0.5.
	Popularity float64 // overall popularity. Default 0.5.
	Price      float64 // fit with the user's price band. Default 0.5.
}

// Config sets candidate generation, scoring and rules.
type Config struct {
	// DefaultK is K when a request gives none. Default 10.
	DefaultK int
	// MaxK caps K. Default 100.
	MaxK int
	// MaxPerCategory is the diversity rule: at most this many items of one
	// category in the top K, unless too few other items remain. Default 3.
	MaxPerCategory int
	// Seeds is how many of the user's recent items seed co-occurrence
	// candidates. Default 10.
	Seeds int
	// MinNeighbour: a seed's neighbours weaker than this fraction of its
	// strongest are not candidates. Default 0.05.
	MinNeighbour float64
	// Categories is how many of the user's top categories contribute their
	// popular items, PerCategory each. Defaults 3 and 20.
	Categories  int
	PerCategory int
	// PerBucket is how many items each of the request's context buckets
	// contributes. Default 20.
	PerBucket int
	// Trending and Popular are how many trending and globally popular
	// items are candidates. Defaults 20 and 30.
	Trending int
	Popular  int
	Weights  Weights
	// Boosts multiply the score of some items for users matching a rule
	// (see audience.Rule), e.g. items tagged "points" for users whose points
	// expire within a month. They apply once the ranker has an audience
	// (WithAudience). Default none.
	Boosts []Boost
}

// Boost multiplies the score of the items it names for users matching When.
type Boost struct {
	When     string  `json:"when"`     // audience rule, e.g. "points_expiring(30) > 0"
	Category string  `json:"category"` // items of this category; "" any
	Brand    string  `json:"brand"`    // items of this brand; "" any
	Tag      string  `json:"tag"`      // items with this tag; "" any
	Factor   float64 `json:"factor"`   // score multiplier; below 1 demotes
	Reason   string  `json:"reason"`   // shown with boosted items, e.g. "use your points before they expire"
}

type boost struct {
	Boost
	rule *audience.Rule
}

func (b *boost) matches(it *features.Item) bool {
	if it == nil {
		return b.Category == "" && b.Brand == "" && b.Tag == ""
	}
	return (b.Category == "" || it.Category == b.Category) && (b.Brand == "" || it.Brand == b.Brand) &&
		(b.Tag == "" || slices.Contains(it.Tags, b.Tag))
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		DefaultK: 10, MaxK: 100, MaxPerCategory: 3, Seeds: 10, MinNeighbour: 0.05, Categories: 3, PerCategory: 20,
		PerBucket: 20, Trending: 20, Popular: 30,
		Weights: Weights{Cooc: 3, Category: 1.5, Context: 2, Brand: 1, Bucket: 1, Trend: 0.5, Popularity: 0.5, Price: 0.5},
	}
}

// Context is the situation of a request.
type Context struct {
	Time   time.Time // zero: now
	Device string
	Region string // zero: the user's last seen region
	TZ     string // zero: the user's last seen zone
	Page   string
	ItemID string // the item on the page, if any
}

// Request asks for the top K items for a user in a context.
type Request struct {
	UserID  string
	K       int
	Context Context
	Exclude []string
	// Audience, if set, restricts the answer to users matching the rule:
	// others get no items (e.g. a loyalty slot shown only to users whose
	// points expire soon).
	Audience *audience.Rule
}

// AudienceMatch says whether the user matched the request's audience rule.
type AudienceMatch struct {
	Rule    string `json:"rule"`
	Matched bool   `json:"matched"`
}

// Reason says why an item was recommended.
type Reason struct {
	Code string `json:"code"` // co_occurrence, category, context, brand, context_trend, trending, popular, price, boost
	Text string `json:"text"`
}

// Item is one recommended item.
type Item struct {
	ItemID   string   `json:"item_id"`
	Score    float64  `json:"score"`
	Title    string   `json:"title,omitempty"`
	Category string   `json:"category,omitempty"`
	Brand    string   `json:"brand,omitempty"`
	Price    float64  `json:"price,omitempty"`
	Reasons  []Reason `json:"reasons"`
}

// Response is the ranked list.
type Response struct {
	UserID     string `json:"user_id"`
	Items      []Item `json:"items"`
	KnownUser  bool   `json:"known_user"` // false: cold start, context and popularity only
	Candidates int    `json:"candidates"` // candidates scored
	Daypart    string `json:"daypart"`    // the request's local daypart
	Region     string `json:"region,omitempty"`
	Device     string `json:"device,omitempty"`

	Audience *AudienceMatch `json:"audience,omitempty"`
}

// ErrBadRequest is wrapped by errors about the request itself.
var ErrBadRequest = errors.New("bad request")

// Ranker answers recommendation requests. It is safe for concurrent use.
type Ranker struct {
	cfg    Config
	f      *features.Folder
	users  Users
	cat    Catalogue
	idx    *Index
	aud    *audience.Table
	boosts []boost
}

// EnsureDefaults fills zero fields with their defaults; all-zero Weights
// become the default weights.
func (c *Config) EnsureDefaults() {
	def := DefaultConfig()
	for _, f := range []struct{ v, d *int }{
		{&c.DefaultK, &def.DefaultK}, {&c.MaxK, &def.MaxK}, {&c.MaxPerCategory, &def.MaxPerCategory},
		{&c.Seeds, &def.Seeds}, {&c.Categories, &def.Categories}, {&c.PerCategory, &def.PerCategory},
		{&c.PerBucket, &def.PerBucket}, {&c.Trending, &def.Trending}, {&c.Popular, &def.Popular},
	} {
		if *f.v <= 0 {
			*f.v = *f.d
		}
	}
	if c.MinNeighbour <= 0 {
		c.MinNeighbour = def.MinNeighbour
	}
	if c.Weights == (Weights{}) {
		c.Weights = def.Weights
	}
}

// New returns a Ranker; zero fields of cfg take their defaults.
func New(cfg Config, f *features.Folder, users Users, cat Catalogue, idx *Index) *Ranker {
	cfg.EnsureDefaults()
	return &Ranker{cfg: cfg, f: f, users: users, cat: cat, idx: idx}
}

// WithAudience lets the ranker read the population's value features:
// audience rules in requests and the configured Boosts. It returns an error
// naming a boost whose rule does not parse.
func (r *Ranker) WithAudience(t *audience.Table) error {
	var bs []boost
	for i, b := range r.cfg.Boosts {
		rule, err := audience.ParseRule(b.When)
		if err != nil {
			return fmt.Errorf("boost %d: %w", i, err)
		}
		if b.Factor <= 0 || math.IsNaN(b.Factor) || math.IsInf(b.Factor, 0) {
			return fmt.Errorf("boost %d: factor must be positive, got %v", i, b.Factor)
		}
		bs = append(bs, boost{b, rule})
	}
	r.aud, r.boosts = t, bs
	return nil
}

// Config returns the ranker's configuration.
func (r *Ranker) Config() Config { return r.cfg }

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

type candidate struct {
	id       string
	item     *features.Item
	cooc     float64
	seed     string        // strongest co-occurrence seed
	seedW    float64       // its contribution
	seedType features.Type // the user's strongest action on the seed; 0 for the current item
	sig      Signals
	f        [numFeatures]float64
	score    float64
	boost    *boost // the first boost applied, for its reason
}

// Recommend returns the top K items for req.
func (r *Ranker) Recommend(ctx context.Context, req Request) (Response, error) {
	if req.UserID == "" {
		return Response{}, fmt.Errorf("user_id is required: %w", ErrBadRequest)
	}
	k := req.K
	if k <= 0 {
		k = r.cfg.DefaultK
	}
	k = min(k, r.cfg.MaxK)
	if err := ctx.Err(); err != nil {
		return Response{}, err
	}
	var u features.User
	known, err := r.users.User(req.UserID, &u)
	if err != nil {
		return Response{}, fmt.Errorf("cannot rank for %q: %w", req.UserID, err)
	}
	at := req.Context.Time
	if at.IsZero() {
		at = time.Now()
	}
	now := at.UnixMilli()
	tz := req.Context.TZ
	if tz == "" {
		tz = u.TZ
	}
	loc, err := r.f.Zones().Load(tz)
	if err != nil {
		if req.Context.TZ != "" {
			return Response{}, fmt.Errorf("tz %q is not a known time zone: %w", tz, ErrBadRequest)
		}
		loc = time.UTC
	}
	daypart := features.DaypartOf(at.In(loc).Hour())
	region := req.Context.Region
	if region == "" {
		region = u.Region
	}
	device := strings.ToLower(req.Context.Device)

	if req.Audience != nil {
		if r.aud == nil {
			return Response{}, fmt.Errorf("audience rules need the population, which this ranker lacks: %w", ErrBadRequest)
		}
		if !req.Audience.Match(r.aud, &u, at) {
			return Response{UserID: req.UserID, KnownUser: known, Items: []Item{}, Daypart: daypart.String(), Region: region,
				Device: device, Audience: &AudienceMatch{Rule: req.Audience.String(), Matched: false}}, nil
		}
	}
	s := scorer{r: r, u: &u, now: now, daypart: daypart, region: region, device: device,
		cands: make(map[string]*candidate, 256), catalogued: r.cat.Len() > 0}
	for i := range r.boosts {
		if r.boosts[i].rule.Match(r.aud, &u, at) {
			s.boosts = append(s.boosts, &r.boosts[i])
		}
	}
	s.exclude = make(map[string]struct{}, len(req.Exclude)+1)
	for _, id := range req.Exclude {
		s.exclude[id] = struct{}{}
	}
	if req.Context.ItemID != "" {
		s.exclude[req.Context.ItemID] = struct{}{}
	}
	s.gather(req.Context.ItemID, k)
	list := s.rank()
	picked := r.diversify(list, k)
	resp := Response{
		UserID: req.UserID, KnownUser: known, Candidates: len(list),
		Daypart: daypart.String(), Region: region, Device: device,
		Items: make([]Item, 0, len(picked)),
	}
	if req.Audience != nil {
		resp.Audience = &AudienceMatch{Rule: req.Audience.String(), Matched: true}
	}
	for _, c := range picked {
		it := Item{ItemID: c.id, Score: round(c.score), Reasons: s.reasons(c)}
		if c.item != nil {
			it.Title, it.Category, it.Brand, it.Price = c.item.Title, c.item.Category, c.item.Brand, c.item.Price
		}
		resp.Items = append(resp.Items, it)
	}
	return resp, nil
}

func round(x float64) float64 { return math.Round(x*1e4) / 1e4 }

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

// admit returns the candidate for id, creating it if id passes the rules:
// not excluded, in the catalogue and available (when there is a
// catalogue), not dismissed, not bought unless repeatable.
func (s *scorer) admit(id string) *candidate {
	if c, ok := s.cands[id]; ok {
		return c
	}
	if _, ok := s.exclude[id]; ok {
		return nil
	}
	it := s.r.cat.Get(id)
	if s.catalogued && (it == nil || !it.Available) {
		s.exclude[id] = struct{}{}
		return nil
	}
	if features.HasMark(s.u.Dismissed, id) ||
		(features.HasMark(s.u.Purchased, id) && (it == nil || !it.Repeatable)) {
		s.exclude[id] = struct{}{}
		return nil
	}
	c := &candidate{id: id, item: it}
	s.cands[id] = c
	return c
}

// gather collects candidates from every source.
func (s *scorer) gather(current string, k int) {
	cfg, hl := &s.r.cfg, s.r.f.HalfLives()
	idx := s.r.idx

	// Co-occurrence: the current item, then recent items, newest first.
	var nb []features.KV
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
		seed(rc.Item, math.Pow(0.85, float64(seeds))*intent, rc.Type)
		seeds++
	}

	// Affinities, normalised.
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

package ranker

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/internal/num"
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
	// Version changes whenever the catalogue does.
	Version() uint64
}

// Ranker answers recommendation requests. It is safe for concurrent use.
type Ranker struct {
	cfg       Config
	f         *features.Extractor
	users     Users
	cat       Catalogue
	idx       *Index
	aud       *audience.Table
	boosts    []boost
	popBoosts bool // some boost reads the population (audience.Rule.ReadsPopulation)
	model     *Model

	scorers sync.Pool     // *scorer
	slots   chan struct{} // Config.Concurrent rankings at once
}

// New returns a Ranker; zero fields of cfg take their defaults.
func New(cfg Config, f *features.Extractor, users Users, cat Catalogue, idx *Index) *Ranker {
	cfg.EnsureDefaults()
	r := &Ranker{cfg: cfg, f: f, users: users, cat: cat, idx: idx, slots: make(chan struct{}, cfg.Concurrent)}
	r.model = newModel(r)
	return r
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
		r.popBoosts = r.popBoosts || rule.ReadsPopulation()
	}
	r.aud, r.boosts = t, bs
	return nil
}

// NeedsPopulation reports whether every recommendation reads the whole
// population (a configured boost's rule does): while the audience loads,
// Recommend then answers audience.ErrLoading.
func (r *Ranker) NeedsPopulation() bool { return r.popBoosts }

// Config returns the ranker's configuration.
func (r *Ranker) Config() Config { return r.cfg }

// Recommend returns the top K items for req. It reads req.K <= 0 as
// Config.DefaultK, caps it at Config.MaxK, then validates req
// (Request.Validate); errors about the request wrap ErrBadRequest. While
// the audience is loading (audience.Table.Loaded), a request whose audience
// rule reads the population, or any request when a boost's rule does,
// fails with an error wrapping audience.ErrLoading.
func (r *Ranker) Recommend(ctx context.Context, req Request) (Response, error) {
	if req.K <= 0 {
		req.K = r.cfg.DefaultK
	}
	req.K = min(req.K, r.cfg.MaxK)
	if err := req.Validate(r.cfg.MaxK, r.f.Zones()); err != nil {
		return Response{}, err
	}
	if r.aud != nil && !r.aud.Loaded() {
		if req.Audience != nil && req.Audience.ReadsPopulation() {
			return Response{}, fmt.Errorf("audience rule %q reads the population: %w", req.Audience, audience.ErrLoading)
		}
		if r.popBoosts {
			return Response{}, fmt.Errorf("a boost's rule reads the population: %w", audience.ErrLoading)
		}
	}
	k := req.K
	select {
	case r.slots <- struct{}{}:
		defer func() { <-r.slots }()
	case <-ctx.Done():
		return Response{}, ctx.Err()
	}
	s := r.getScorer()
	defer r.putScorer(s)
	u := &s.user
	known, err := r.users.User(req.UserID, u)
	if err != nil {
		return Response{}, fmt.Errorf("cannot rank for %q: %w", req.UserID, err)
	}
	at := req.Context.Time
	if at.IsZero() {
		at = time.Now()
	}
	s.reset(u, at, req.Context.TZ, req.Context.Region, req.Context.Device)
	daypart, region, device := s.daypart, s.region, s.device

	if req.Audience != nil {
		if r.aud == nil {
			return Response{}, fmt.Errorf("audience rules need the population, which this ranker lacks: %w", ErrBadRequest)
		}
		if !req.Audience.Match(r.aud, u, at) {
			return Response{UserID: req.UserID, KnownUser: known, Items: []Item{}, Daypart: daypart.String(), Region: region,
				Device: device, Audience: &AudienceMatch{Rule: req.Audience.String(), Matched: false}}, nil
		}
	}
	for i := range r.boosts {
		if r.boosts[i].rule.Match(r.aud, u, at) {
			s.boosts = append(s.boosts, &r.boosts[i])
		}
	}
	for _, id := range req.Exclude {
		s.exclude(id)
	}
	if req.Context.ItemID != "" {
		s.exclude(req.Context.ItemID)
	}
	s.gather(req.Context.ItemID, k)
	// The best 4K in order fill nearly every list under the diversity
	// rule; diversify orders the rest when they do not.
	list := s.rank(max(4*k, 32))
	picked := s.diversify(list, k)
	resp := Response{
		UserID: req.UserID, KnownUser: known, Candidates: len(list),
		Daypart: daypart.String(), Region: region, Device: device,
		Items: make([]Item, 0, len(picked)),
	}
	if req.Audience != nil {
		resp.Audience = &AudienceMatch{Rule: req.Audience.String(), Matched: true}
	}
	reasons := make([]Reason, 0, 4*len(picked))
	for _, c := range picked {
		n := len(reasons)
		reasons = s.reasons(reasons, c)
		it := Item{ItemID: c.id, Score: num.Round4(c.score), Reasons: reasons[n:len(reasons):len(reasons)]}
		if c.item != nil {
			it.Title, it.Category, it.Brand, it.Price = c.item.Title, c.item.Category, c.item.Brand, c.item.Price
		}
		resp.Items = append(resp.Items, it)
	}
	return resp, nil
}

// getScorer returns a pooled scorer; reset readies it for one ranking.
func (r *Ranker) getScorer() *scorer {
	if s, ok := r.scorers.Get().(*scorer); ok {
		return s
	}
	return &scorer{r: r, extra: map[string]*candidate{},
		catAff: map[string]float64{}, ctxAff: map[string]float64{}, brandAff: map[string]float64{}, perCat: map[string]int{}}
}

// putScorer returns s to the pool, dropping its references to the
// request's candidates.
func (r *Ranker) putScorer(s *scorer) {
	for _, c := range s.pool[:s.used] {
		*c = candidate{}
	}
	s.cands.reset()
	clear(s.extra)
	s.own.reset()
	clear(s.catAff)
	clear(s.ctxAff)
	clear(s.brandAff)
	for _, i := range s.touched {
		s.catVec[i], s.ctxVec[i], s.brandVec[i] = 0, 0, 0
	}
	s.touched, s.dense = s.touched[:0], false
	clear(s.list)
	clear(s.ranked)
	clear(s.picked)
	clear(s.held)
	clear(s.nbs)
	clear(s.cats)
	clear(s.ctx)
	clear(s.bought)
	clear(s.boosts)
	clear(s.topCats)
	clear(s.perCat)
	s.u, s.used = nil, 0
	s.list, s.ranked, s.picked, s.held, s.nbs, s.cats, s.bought = s.list[:0], s.ranked[:0], s.picked[:0], s.held[:0], s.nbs[:0], s.cats[:0], s.bought[:0]
	s.boosts, s.topCats = s.boosts[:0], s.topCats[:0]
	// s.user keeps its slices' capacity for the next decode (and, until
	// then, its strings).
	r.scorers.Put(s)
}

// reset readies a scorer to rank for u at a moment and context: the
// request's or a training event's. Empty tz and region read the user's
// last seen ones.
func (s *scorer) reset(u *features.User, at time.Time, tz, region, device string) {
	r := s.r
	if tz == "" {
		tz = u.TZ
	}
	loc, err := r.f.Zones().Load(tz)
	if err != nil { // the user's last seen zone: Validate has checked the request's
		loc = time.UTC
	}
	if region == "" {
		region = u.Region
	}
	s.u, s.now, s.daypart, s.region, s.device = u, at.UnixMilli(), features.DaypartOf(at.In(loc).Hour()), region, lowerASCII(device)
	s.catalogued, s.catVer = r.cat.Len() > 0, r.cat.Version()
	s.maxCooc, s.topPop, s.topBuck, s.topAny = 0, 0, 0, 0
	s.lnPop, s.lnBuck, s.lnAny = 0, 0, 0
	s.anyBucket, s.bucket = anyBuckets[s.daypart], ""
	if u.Price.W > 0 {
		s.priceSD = u.Price.Spread()
	}
	if s.region != "" {
		s.bucket = features.Bucket(s.region, s.daypart)
	}
}

// anyBuckets are the context buckets of all regions, by daypart.
var anyBuckets = func() (b [features.Evening + 1]string) {
	for d := range b {
		b[d] = features.Bucket(features.AnyRegion, features.Daypart(d))
	}
	return b
}()

// lowerASCII is strings.ToLower without an allocation when s is already
// lower case.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(s)
		}
	}
	return s
}

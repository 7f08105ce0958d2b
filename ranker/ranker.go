package ranker

import (
	"context"
	"fmt"
	"math"
	"strings"
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
}

// Ranker answers recommendation requests. It is safe for concurrent use.
type Ranker struct {
	cfg    Config
	f      *features.Extractor
	users  Users
	cat    Catalogue
	idx    *Index
	aud    *audience.Table
	boosts []boost
	model  *Model
}

// New returns a Ranker; zero fields of cfg take their defaults.
func New(cfg Config, f *features.Extractor, users Users, cat Catalogue, idx *Index) *Ranker {
	cfg.EnsureDefaults()
	r := &Ranker{cfg: cfg, f: f, users: users, cat: cat, idx: idx}
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
	}
	r.aud, r.boosts = t, bs
	return nil
}

// Config returns the ranker's configuration.
func (r *Ranker) Config() Config { return r.cfg }

// Recommend returns the top K items for req. It reads req.K <= 0 as
// Config.DefaultK, caps it at Config.MaxK, then validates req
// (Request.Validate); errors about the request wrap ErrBadRequest.
func (r *Ranker) Recommend(ctx context.Context, req Request) (Response, error) {
	if req.K <= 0 {
		req.K = r.cfg.DefaultK
	}
	req.K = min(req.K, r.cfg.MaxK)
	if err := req.Validate(r.cfg.MaxK, r.f.Zones()); err != nil {
		return Response{}, err
	}
	k := req.K
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
	s := r.newScorer(&u, at, req.Context.TZ, req.Context.Region, req.Context.Device)
	daypart, region, device := s.daypart, s.region, s.device

	if req.Audience != nil {
		if r.aud == nil {
			return Response{}, fmt.Errorf("audience rules need the population, which this ranker lacks: %w", ErrBadRequest)
		}
		if !req.Audience.Match(r.aud, &u, at) {
			return Response{UserID: req.UserID, KnownUser: known, Items: []Item{}, Daypart: daypart.String(), Region: region,
				Device: device, Audience: &AudienceMatch{Rule: req.Audience.String(), Matched: false}}, nil
		}
	}
	for i := range r.boosts {
		if r.boosts[i].rule.Match(r.aud, &u, at) {
			s.boosts = append(s.boosts, &r.boosts[i])
		}
	}
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
		it := Item{ItemID: c.id, Score: num.Round4(c.score), Reasons: s.reasons(c)}
		if c.item != nil {
			it.Title, it.Category, it.Brand, it.Price = c.item.Title, c.item.Category, c.item.Brand, c.item.Price
		}
		resp.Items = append(resp.Items, it)
	}
	return resp, nil
}

// newScorer returns the working state of one ranking for u at a moment and
// context: the request's or a training event's. Empty tz and region read
// the user's last seen ones.
func (r *Ranker) newScorer(u *features.User, at time.Time, tz, region, device string) *scorer {
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
	return &scorer{r: r, u: u, now: at.UnixMilli(), daypart: features.DaypartOf(at.In(loc).Hour()), region: region,
		device: strings.ToLower(device), cands: make(map[string]*candidate, 256), catalogued: r.cat.Len() > 0,
		exclude: make(map[string]struct{}, 8)}
}

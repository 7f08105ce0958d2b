package baseline

import (
	"cmp"
	"slices"
	"time"

	"github.com/stickyhq/sticky/features"
)

// Memory is the baseline in memory: the same updates the consumer writes to
// Redis, applied to maps, and the same ranking. Given the same events and
// catalogue it gives exactly the lists the HTTP service gives. It has the
// method set of bench/quality's Recommender. Not safe for concurrent use.
type Memory struct {
	cat            *Items
	recentMax      int
	maxPerCategory int

	users  map[string]*memUser
	popAll map[string]float64
	catPop map[string]map[string]float64
	co     map[string]map[string]float64
}

type memUser struct {
	events         int64
	lastTS         time.Time
	device, region string
	cat, brand     map[string]float64
	recent         []string // most recent first, at most recentMax
	bought         map[string]struct{}
	dismissed      map[string]struct{}
}

// NewMemory returns the baseline over a fixed catalogue, with the default
// RecentMax of Options and its diversity rule MaxPerCategory (0: none).
func NewMemory(items []features.Item, maxPerCategory int) *Memory {
	return &Memory{
		cat: NewItems(items), recentMax: DefaultRecentMax, maxPerCategory: maxPerCategory,
		users: make(map[string]*memUser), popAll: make(map[string]float64),
		catPop: make(map[string]map[string]float64), co: make(map[string]map[string]float64),
	}
}

// Name implements quality.Recommender.
func (m *Memory) Name() string { return "redis baseline rules" }

// Observe implements quality.Recommender: it folds ev as the consumer does.
func (m *Memory) Observe(ev *features.Event) {
	u := m.user(ev.UserID)
	fold(ev, m.cat, u.recent, (*memWriter)(m))
}

// Recommend implements quality.Recommender: the top k for ev's user, as
// GET /v1/recommendations would answer (ev's context is not used).
func (m *Memory) Recommend(ev *features.Event, k int) []string {
	ranked := Rank(m.Inputs(ev.UserID), m.cat, k, m.maxPerCategory)
	out := make([]string, len(ranked))
	for i, r := range ranked {
		out[i] = r.ItemID
	}
	return out
}

// Inputs returns what the service would read from Redis for user. It
// shares Memory's maps: read it before the next Observe, and do not modify
// it.
func (m *Memory) Inputs(user string) *Inputs {
	in := &Inputs{Neighbours: make(map[string][]Scored), CategoryPopular: make(map[string][]Scored),
		Popular: top(m.popAll, globalPopularRd)}
	if u := m.users[user]; u != nil {
		in.Categories, in.Brands = u.cat, u.brand
		in.Recent = u.recent[:min(coocSeeds, len(u.recent))]
		in.Bought, in.Dismissed = u.bought, u.dismissed
	}
	for _, s := range in.Seeds() {
		in.Neighbours[s] = top(m.co[s], neighboursRead)
	}
	for _, c := range in.TopCategories() {
		in.CategoryPopular[c] = top(m.catPop[c], catPopularRead)
	}
	return in
}

func (m *Memory) user(id string) *memUser {
	u := m.users[id]
	if u == nil {
		u = &memUser{cat: make(map[string]float64), brand: make(map[string]float64),
			bought: make(map[string]struct{}), dismissed: make(map[string]struct{})}
		m.users[id] = u
	}
	return u
}

// top returns the n highest of m in ZREVRANGE's order: score descending,
// then member descending. It keeps a sorted list of at most n, so that a
// large set costs one pass.
func top(m map[string]float64, n int) []Scored {
	if n <= 0 {
		return nil
	}
	before := func(a, b Scored) int { // negative when a ranks before b
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	}
	out := make([]Scored, 0, min(n, len(m)))
	for id, v := range m {
		s := Scored{id, v}
		if len(out) == n && before(s, out[n-1]) > 0 {
			continue
		}
		i, _ := slices.BinarySearchFunc(out, s, before)
		if len(out) == n {
			out = out[:n-1]
		}
		out = slices.Insert(out, i, s)
	}
	return out
}

// memWriter applies an event's updates to Memory's maps.
type memWriter Memory

func (w *memWriter) touch(user string, ts time.Time, device, region string) {
	u := (*Memory)(w).user(user)
	u.events++
	u.lastTS = ts
	if device != "" {
		u.device = device
	}
	if region != "" {
		u.region = region
	}
}

func (w *memWriter) affinity(user string, brand bool, name string, v float64) {
	u := (*Memory)(w).user(user)
	if brand {
		u.brand[name] += v
	} else {
		u.cat[name] += v
	}
}

func (w *memWriter) pushRecent(user, item string) {
	u := (*Memory)(w).user(user)
	u.recent = pushFront(u.recent, item, w.recentMax)
}

func (w *memWriter) bought(user, item string) {
	(*Memory)(w).user(user).bought[item] = struct{}{}
}

func (w *memWriter) dismissed(user, item string) {
	(*Memory)(w).user(user).dismissed[item] = struct{}{}
}

func (w *memWriter) pop(item, category string, v float64) {
	m := (*Memory)(w)
	m.popAll[item] += v
	if category != "" {
		addTo(m.catPop, category, item, v)
	}
}

func (w *memWriter) cooc(a, b string) {
	m := (*Memory)(w)
	addTo(m.co, a, b, 1)
	addTo(m.co, b, a, 1)
}

func addTo(m map[string]map[string]float64, key, member string, v float64) {
	z := m[key]
	if z == nil {
		z = make(map[string]float64)
		m[key] = z
	}
	z[member] += v
}

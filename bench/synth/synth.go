// Package synth generates a synthetic shop: a catalogue of items in
// categories and brands, with Zipf popularity and complementary items, and
// shoppers with distinct habits (home region and time zone, active hours,
// devices, category tastes that depend on the part of the day, price level).
// Their sessions are streams of Sticky events. Everything is deterministic
// for a seed. It is used by `sticky demo` and the benchmark harness.
package synth

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/stickyhq/sticky/features"
)

// Config sizes the shop.
type Config struct {
	Seed       uint64 // default 1
	Users      int    // default 500
	Items      int    // default 3000
	Categories int    // at most len(categoryNames); default 24
	// ZipfS is the Zipf exponent of item popularity within a category
	// (> 1). Default 1.2.
	ZipfS float64
	// SessionsPerDay is the mean number of sessions per shopper per day.
	// Default 1.2.
	SessionsPerDay float64
	// Regions is how many of the home regions (and their zones) shoppers
	// come from, at most len(Regions). Default all 8.
	Regions int
	// The event mix of a session: the chance that a viewed item is
	// clicked, added to the cart, dismissed, and that a session starts
	// with a search. Defaults 0.33, 0.3, 0.02, 0.2. Purchases follow carts
	// with a chance that falls with the item's price.
	ClickRate, CartRate, DismissRate, SearchRate float64
}

func (c *Config) defaults() {
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Users <= 0 {
		c.Users = 500
	}
	if c.Items <= 0 {
		c.Items = 3000
	}
	if c.Categories <= 0 || c.Categories > len(categoryNames) {
		c.Categories = len(categoryNames)
	}
	if c.ZipfS <= 1 {
		c.ZipfS = 1.2
	}
	if c.SessionsPerDay <= 0 {
		c.SessionsPerDay = 1.2
	}
	if c.Regions <= 0 || c.Regions > len(Regions) {
		c.Regions = len(Regions)
	}
	if c.ClickRate <= 0 {
		c.ClickRate = 0.33
	}
	if c.CartRate <= 0 {
		c.CartRate = 0.3
	}
	if c.DismissRate <= 0 {
		c.DismissRate = 0.02
	}
	if c.SearchRate <= 0 {
		c.SearchRate = 0.2
	}
}

var categoryNames = []string{
	"Baby", "Books", "Electronics", "Garden", "Toys", "Shoes", "Beauty", "Kitchen", "Sports", "Music",
	"Games", "Pets", "Grocery", "Fashion", "Home", "Office", "Outdoor", "Health", "Jewelry", "Automotive",
	"Crafts", "Movies", "Tools", "Travel",
}

// Categories whose items are bought again and again.
var repeatable = map[string]bool{"Baby": true, "Grocery": true, "Pets": true, "Health": true, "Beauty": true}

var basePrice = map[string]float64{
	"Electronics": 250, "Jewelry": 180, "Automotive": 90, "Travel": 120, "Tools": 60, "Garden": 45,
	"Sports": 50, "Shoes": 70, "Fashion": 40, "Home": 55, "Kitchen": 35, "Outdoor": 65,
}

var adjectives = []string{"Classic", "Smart", "Eco", "Deluxe", "Mini", "Pro", "Soft", "Travel", "Family", "Urban"}
var nouns = []string{"Set", "Kit", "Pack", "Edition", "Bundle", "Essentials", "Collection", "Series"}

// Region is a home region with its time zone.
type Region struct{ Name, TZ string }

// Regions are where shoppers live.
var Regions = []Region{
	{"CN-SH", "Asia/Shanghai"}, {"US-NY", "America/New_York"}, {"US-CA", "America/Los_Angeles"},
	{"DE-BE", "Europe/Berlin"}, {"GB-LN", "Europe/London"}, {"JP-TK", "Asia/Tokyo"},
	{"BR-SP", "America/Sao_Paulo"}, {"IN-MH", "Asia/Kolkata"},
}

// Shopper is one synthetic user with habits.
type Shopper struct {
	ID     string
	Region Region
	loc    *time.Location
	// Two routines: a morning one (commute, phone) and an evening one (home).
	MorningHour, EveningHour int    // local start hours
	MorningDevice            string // e.g. mobile
	EveningDevice            string // e.g. desktop
	MorningCats, EveningCats []int  // category indexes
	PriceLevel               float64
	EveningShare             float64 // share of sessions in the evening
}

// World is a generated shop.
type World struct {
	cfg      Config
	rng      *rand.Rand
	Items    []features.Item
	byCat    [][]int // item indexes per category, most popular first
	zipf     []*rand.Zipf
	comp     [][]int // complementary items
	Shoppers []*Shopper
	seq      uint64
}

// New generates a world.
func New(cfg Config) *World {
	cfg.defaults()
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed*7919+1))
	w := &World{cfg: cfg, rng: rng, byCat: make([][]int, cfg.Categories)}
	brands := make([][]string, cfg.Categories)
	for c := range brands {
		for b := 0; b < 4; b++ {
			brands[c] = append(brands[c], fmt.Sprintf("%s%c", categoryNames[c][:3], 'A'+b))
		}
	}
	for i := 0; i < cfg.Items; i++ {
		c := i % cfg.Categories
		cat := categoryNames[c]
		base := basePrice[cat]
		if base == 0 {
			base = 20
		}
		price := math.Round(base*math.Exp(rng.NormFloat64()*0.5)*100) / 100
		w.Items = append(w.Items, features.Item{
			ID:       fmt.Sprintf("sku-%d", i),
			Title:    fmt.Sprintf("%s %s %s %s", brands[c][i%4], adjectives[rng.IntN(len(adjectives))], cat, nouns[rng.IntN(len(nouns))]),
			Category: cat, Brand: brands[c][rng.IntN(4)], Price: max(price, 0.99),
			Tags:       []string{cat},
			Available:  rng.Float64() > 0.03,
			Repeatable: repeatable[cat] && rng.Float64() < 0.5,
		})
		w.byCat[c] = append(w.byCat[c], i)
	}
	for c := range w.byCat {
		n := uint64(len(w.byCat[c]))
		if n == 0 {
			w.zipf = append(w.zipf, nil)
			continue
		}
		w.zipf = append(w.zipf, rand.NewZipf(rng, cfg.ZipfS, 1, n-1))
	}
	// Complements: each item goes with 1-3 items of a neighbouring category.
	w.comp = make([][]int, len(w.Items))
	for i := range w.Items {
		c := (i%cfg.Categories + 1 + rng.IntN(2)) % cfg.Categories
		for k := 0; k < 1+rng.IntN(3); k++ {
			w.comp[i] = append(w.comp[i], w.pick(c))
		}
	}
	devices := []string{"mobile", "desktop", "tablet", "app"}
	for u := 0; u < cfg.Users; u++ {
		r := Regions[rng.IntN(cfg.Regions)]
		loc, err := time.LoadLocation(r.TZ)
		if err != nil {
			panic("BUG: " + err.Error())
		}
		s := &Shopper{
			ID: fmt.Sprintf("u%d", u), Region: r, loc: loc,
			MorningHour: 6 + rng.IntN(4), EveningHour: 18 + rng.IntN(5),
			MorningDevice: devices[rng.IntN(2)*3], // mobile or app
			EveningDevice: devices[1+rng.IntN(2)], // desktop or tablet
			PriceLevel:    math.Exp(rng.NormFloat64() * 0.4),
			EveningShare:  0.3 + 0.5*rng.Float64(),
		}
		s.MorningCats = w.someCats(1 + rng.IntN(2))
		s.EveningCats = w.someCats(1 + rng.IntN(2))
		w.Shoppers = append(w.Shoppers, s)
	}
	return w
}

func (w *World) someCats(n int) []int {
	var cs []int
	for len(cs) < n {
		// Popular categories are more often someone's taste.
		c := int(math.Min(float64(w.cfg.Categories-1), math.Abs(w.rng.NormFloat64())*float64(w.cfg.Categories)/2.5))
		if !slices.Contains(cs, c) {
			cs = append(cs, c)
		}
	}
	return cs
}

// CategoryName returns the name of category c.
func (w *World) CategoryName(c int) string { return categoryNames[c] }

// pick returns a Zipf-popular item of category c.
func (w *World) pick(c int) int {
	if w.zipf[c] == nil {
		return w.rng.IntN(len(w.Items))
	}
	return w.byCat[c][w.zipf[c].Uint64()]
}

func (w *World) nextID() string {
	w.seq++
	return fmt.Sprintf("e-%d-%d", w.cfg.Seed, w.seq)
}

// Session returns the events of one session of s starting at t (UTC).
func (w *World) Session(s *Shopper, t time.Time) []features.Event {
	rng := w.rng
	local := t.In(s.loc)
	cats, device := s.EveningCats, s.EveningDevice
	if local.Hour() < 15 {
		cats, device = s.MorningCats, s.MorningDevice
	}
	ctx := features.Context{Device: device, Region: s.Region.Name, TZ: s.Region.TZ, Page: "home"}
	var evs []features.Event
	add := func(typ features.Type, item int, page string) {
		t = t.Add(time.Duration(5+rng.IntN(90)) * time.Second)
		ev := features.Event{ID: w.nextID(), UserID: s.ID, Type: typ, Time: t, Context: ctx}
		ev.Context.Page = page
		if item >= 0 {
			it := &w.Items[item]
			ev.ItemID = it.ID
			if typ == features.TypePurchase {
				ev.Price, ev.Quantity = it.Price, float64(1+rng.IntN(2))
			}
		}
		evs = append(evs, ev)
	}
	if rng.Float64() < w.cfg.SearchRate {
		c := cats[rng.IntN(len(cats))]
		t = t.Add(3 * time.Second)
		evs = append(evs, features.Event{ID: w.nextID(), UserID: s.ID, Type: features.TypeSearch, Query: categoryNames[c], Time: t, Context: ctx})
	}
	for v := 0; v < 3+rng.IntN(8); v++ {
		c := cats[rng.IntN(len(cats))]
		if rng.Float64() < 0.2 {
			c = rng.IntN(w.cfg.Categories)
		}
		item := w.pick(c)
		if !w.Items[item].Available {
			continue
		}
		add(features.TypeView, item, "pdp")
		switch x := rng.Float64(); {
		case x < w.cfg.DismissRate:
			add(features.TypeDismiss, item, "pdp")
			continue
		case x < w.cfg.DismissRate+w.cfg.ClickRate:
			add(features.TypeClick, item, "pdp")
		}
		// Cheaper items than the shopper's level are bought more readily.
		buyP := 0.25 / math.Max(0.5, w.Items[item].Price/(40*s.PriceLevel))
		if rng.Float64() < w.cfg.CartRate {
			add(features.TypeAddToCart, item, "pdp")
			if rng.Float64() < math.Min(buyP*2, 0.8) {
				add(features.TypePurchase, item, "cart")
				for _, ci := range w.comp[item] {
					if rng.Float64() < 0.6 && w.Items[ci].Available {
						add(features.TypeView, ci, "pdp")
						if rng.Float64() < 0.4 {
							add(features.TypePurchase, ci, "cart")
						}
					}
				}
				if rng.Float64() < 0.1 {
					add(features.TypeReview, item, "pdp")
				}
			}
		}
	}
	return evs
}

// History returns the sessions of every shopper over the days before end,
// in time order.
func (w *World) History(days int, end time.Time) []features.Event {
	var all []features.Event
	start := end.Add(-time.Duration(days) * 24 * time.Hour)
	for d := 0; d < days; d++ {
		day := start.Add(time.Duration(d) * 24 * time.Hour)
		for _, s := range w.Shoppers {
			n := poisson(w.rng, w.cfg.SessionsPerDay)
			for i := 0; i < n; i++ {
				all = append(all, w.Session(s, w.sessionStart(s, day))...)
			}
		}
	}
	// Stable sort by time: sort small keys, then move the events once.
	type key struct {
		at  int64
		idx int
	}
	keys := make([]key, len(all))
	for i := range all {
		keys[i] = key{all[i].Time.UnixNano(), i}
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.at != b.at {
			return cmp.Compare(a.at, b.at)
		}
		return cmp.Compare(a.idx, b.idx)
	})
	sorted := make([]features.Event, 0, len(all))
	for _, k := range keys {
		if k.at >= end.UnixNano() {
			break // nothing in the future
		}
		sorted = append(sorted, all[k.idx])
	}
	return sorted
}

// sessionStart picks when s shops on the (UTC) day containing day: in the
// morning or evening routine, local time.
func (w *World) sessionStart(s *Shopper, day time.Time) time.Time {
	local := day.In(s.loc)
	base := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, s.loc)
	h := s.MorningHour
	if w.rng.Float64() < s.EveningShare {
		h = s.EveningHour
	}
	return base.Add(time.Duration(h)*time.Hour + time.Duration(w.rng.IntN(100))*time.Minute).UTC()
}

// LiveSession returns a session of a random shopper starting at now.
func (w *World) LiveSession(now time.Time) []features.Event {
	return w.Session(w.Shoppers[w.rng.IntN(len(w.Shoppers))], now)
}

func poisson(rng *rand.Rand, mean float64) int {
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= rng.Float64()
		if p < l {
			return k
		}
		k++
	}
}

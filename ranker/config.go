package ranker

import "github.com/stickyhq/sticky/internal/num"

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

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		DefaultK: 10, MaxK: 100, MaxPerCategory: 3, Seeds: 10, MinNeighbour: 0.05, Categories: 3, PerCategory: 20,
		PerBucket: 20, Trending: 20, Popular: 30,
		Weights: Weights{Cooc: 3, Category: 1.5, Context: 2, Brand: 1, Bucket: 1, Trend: 0.5, Popularity: 0.5, Price: 0.5},
	}
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
	num.Positive(&c.MinNeighbour, def.MinNeighbour)
	if c.Weights == (Weights{}) {
		c.Weights = def.Weights
	}
}

package ranker

import (
	"fmt"
	"runtime"

	"github.com/stickyhq/sticky/internal/num"
	"github.com/stickyhq/sticky/ranker/learn"
)

// Weights are the prior weights of the scoring features, each normalised to
// about [0, 1]: the score is these weights plus the learned ones (Model)
// times the features, so a model that has learned nothing ranks as the
// hand-set weights do. Features without a field here (the cosine
// co-occurrences, the user's own history, the bias) have a prior of 0.
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
	// Concurrent is how many requests are ranked at once; the others wait
	// their turn before touching the index. Ranking is CPU-bound, but the
	// Go scheduler shares the cores among runnable goroutines alike: with
	// ingest's workers, Badger's compactors and the GC runnable beside
	// them, rankings get a share of the CPU in proportion to how many run
	// at once, and a queue of waiting requests gets none. Measured in the
	// harness at 1k req/s with live ingest (docs/design.md, "The serving
	// path"): p99 414–648 ms with 2 × GOMAXPROCS, 133–217 ms with 8 to 32
	// × GOMAXPROCS. Default 8 × GOMAXPROCS.
	Concurrent int
	// MaxPerCategory is the diversity rule: at most this many items of one
	// category in the top K, unless too few other items remain. Default 0:
	// no cap. A cap is a merchandising choice with a price in hits: 3
	// cost Sticky 13% of its HR@10 on Online Retail (docs/design.md,
	// "Ranking").
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
	// Own is how many of the user's own items (recent, then purchased)
	// are candidates, when Repeat allows them. Default 30.
	Own int
	// Repeat says whether items the user already bought may be shown
	// again. Default RepeatLearn.
	Repeat  Repeat
	Weights Weights
	// Model configures the learned part of the score.
	Model ModelConfig
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
		DefaultK: 10, MaxK: 100, Seeds: 10, MinNeighbour: 0.05, Categories: 3, PerCategory: 20,
		PerBucket: 20, Trending: 20, Popular: 30, Own: 30, Repeat: RepeatLearn, Concurrent: 8 * runtime.GOMAXPROCS(0),
		Model:   DefaultModelConfig(),
		Weights: Weights{Cooc: 3, Category: 1.5, Context: 2, Brand: 1, Bucket: 1, Trend: 0.5, Popularity: 0.5, Price: 0.5},
	}
}

// EnsureDefaults fills zero fields with their defaults; all-zero Weights
// become the default weights.
func (c *Config) EnsureDefaults() {
	def := DefaultConfig()
	for _, f := range []struct{ v, d *int }{
		{&c.DefaultK, &def.DefaultK}, {&c.MaxK, &def.MaxK},
		{&c.Seeds, &def.Seeds}, {&c.Categories, &def.Categories}, {&c.PerCategory, &def.PerCategory},
		{&c.PerBucket, &def.PerBucket}, {&c.Trending, &def.Trending}, {&c.Popular, &def.Popular},
		{&c.Own, &def.Own}, {&c.Concurrent, &def.Concurrent},
	} {
		if *f.v <= 0 {
			*f.v = *f.d
		}
	}
	num.Positive(&c.MinNeighbour, def.MinNeighbour)
	if c.Weights == (Weights{}) {
		c.Weights = def.Weights
	}
	c.Model.EnsureDefaults()
}

// Repeat says whether items a user already bought are recommended again.
type Repeat int

const (
	// RepeatLearn makes the user's own items (recent, bought) candidates
	// and lets the model weigh the user's history with each (bought,
	// recency, the item's repeat rate): a catalogue where nobody buys
	// twice learns to push them down, a grocery learns the opposite. An
	// item bought already is still never shown again unless its catalogue
	// entry is Repeatable.
	RepeatLearn Repeat = iota
	// RepeatNever never shows an item the user bought, repeatable or not
	// (films, books: a rating or a purchase is a consumption); items only
	// viewed stay candidates.
	RepeatNever
)

// ParseRepeat reads "learn" or "never".
func ParseRepeat(s string) (Repeat, error) {
	for r, name := range repeatNames {
		if s == name {
			return Repeat(r), nil
		}
	}
	return 0, fmt.Errorf("unknown repeat policy %q: learn or never", s)
}

var repeatNames = [...]string{RepeatLearn: "learn", RepeatNever: "never"}

// MarshalText and UnmarshalText read and write the policy by name.
func (r Repeat) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

func (r *Repeat) UnmarshalText(b []byte) error {
	v, err := ParseRepeat(string(b))
	if err == nil {
		*r = v
	}
	return err
}

func (r Repeat) String() string {
	if int(r) < len(repeatNames) {
		return repeatNames[r]
	}
	return fmt.Sprintf("Repeat(%d)", int(r))
}

// ModelConfig configures the learned part of the score and its training.
type ModelConfig struct {
	// Frozen turns training off: the score stays the prior weights plus
	// whatever was learned before. Default false.
	Frozen bool
	// Negatives is how many of the items shown in an impression event are
	// label-0 examples, at most. Default 6.
	Negatives int
	// Purchase, Cart and Click weigh the examples of each positive event
	// type (a choice among the candidates); 0 takes the default, below 0
	// skips the type. Defaults 1, 0.5 and 0.25.
	Purchase, Cart, Click float64
	// Impression weighs the label-0 examples of items shown in an
	// impression event. Default 0.1.
	Impression float64
	// Warmup is the weight of examples (all shares) at which the learned
	// weights count in full; below, they count in proportion, so a young
	// model stays close to the prior. A positive event is one example of
	// its weight (a purchase 1). Default 1000.
	Warmup float64
	// Sample trains on one positive event in Sample (by a hash of its
	// event id, so a replay picks the same ones): a knob for ingest cost.
	// Default 1 (every event).
	Sample int
	// BacklogBatch and BacklogSample bound training while a partition
	// catches up: in a batch of at least BacklogBatch events (a backlog;
	// live batches are small), one positive event in BacklogSample trains
	// (by hash, on top of Sample). Training ranks the candidates of each
	// event it learns from, as a request would, so it is most of the
	// cost of ingest. Defaults 256 and 8; BacklogSample 1 trains on every
	// event of a backlog.
	BacklogBatch, BacklogSample int
	// TrainBudget bounds the CPU training takes in the engine, as a share
	// of one core over all partitions: past it, positive events are not
	// learned from until the budget refills (a sample that adapts to the
	// load). Ranking an event's candidates is most of the cost of live
	// ingest. It applies where the stream's worker sizes the share's
	// batches (Share.Batch), not to replays that call Train directly, so
	// that their results do not depend on the machine. Default 0.05: at
	// 5,000 events/s of the synthetic shop it trains on about one positive
	// event in four, which on online-retail cost 0.4% of HR@10 against
	// every event (`sticky-bench quality --train-sample 4`); negative: no
	// bound.
	TrainBudget float64
	// Params are FTRL-Proximal's. Default learn.DefaultParams().
	Params learn.Params
	// Drop removes features (by name, see FeatureNames) from the model:
	// for ablations. Default none.
	Drop []string
}

// DefaultModelConfig returns the documented defaults.
func DefaultModelConfig() ModelConfig {
	return ModelConfig{Negatives: 6, Purchase: 1, Cart: 0.5, Click: 0.25, Impression: 0.1, Sample: 1, Warmup: 1000,
		BacklogBatch: 256, BacklogSample: 8, TrainBudget: 0.05, Params: learn.DefaultParams()}
}

// EnsureDefaults gives zero fields their defaults.
func (c *ModelConfig) EnsureDefaults() {
	def := DefaultModelConfig()
	num.Positive(&c.Negatives, def.Negatives)
	num.Positive(&c.Sample, def.Sample)
	num.Positive(&c.BacklogBatch, def.BacklogBatch)
	num.Positive(&c.BacklogSample, def.BacklogSample)
	num.Unset(&c.TrainBudget, def.TrainBudget)
	num.Positive(&c.Warmup, def.Warmup)
	num.Unset(&c.Purchase, def.Purchase)
	num.Unset(&c.Cart, def.Cart)
	num.Unset(&c.Click, def.Click)
	num.Unset(&c.Impression, def.Impression)
	if c.Params == (learn.Params{}) {
		c.Params = def.Params
	}
}

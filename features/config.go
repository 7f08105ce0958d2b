package features

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Config sets how events fold into features. Changing it changes the meaning
// of stored state from then on (old values keep their old weights), so treat
// it like a schema: change deliberately.
//
// DefaultConfig holds every default; EnsureDefaults gives zero fields theirs.
type Config struct {
	// Weights is the affinity and popularity weight of each event type.
	// Negative weights (dismiss) push affinity down and add nothing to
	// popularity. Types absent from the map weigh 0; nil takes the default.
	// Default: view 1, click 2, add_to_cart 4, purchase 8, review 3,
	// share 3, dismiss -6, push_open 1.
	Weights Weights

	// AffinityHalfLife is the half-life of category and brand affinities.
	// Default 14 days.
	AffinityHalfLife time.Duration
	// HabitHalfLife is the half-life of habits: hour-of-week activity,
	// device mix and context affinities (category by daypart, by device).
	// Default 30 days.
	HabitHalfLife time.Duration
	// PriceHalfLife is the half-life of the price band. Default 90 days.
	PriceHalfLife time.Duration

	// RecentMax bounds the recent-items ring. Default 50.
	RecentMax int
	// PurchasedMax bounds the purchased set (oldest dropped). Default 256.
	PurchasedMax int
	// DismissedMax bounds the dismissed set (oldest dropped). Default 128.
	DismissedMax int
	// AffinityMax bounds the category and brand sets each. Default 32.
	AffinityMax int
	// CtxAffinityMax bounds the context-affinity set. Default 64.
	CtxAffinityMax int
	// DevicesMax bounds the device mix. Default 8.
	DevicesMax int

	// PopularityHalfLife is the half-life of item popularity. Default 3 days.
	PopularityHalfLife time.Duration
	// TrendShortHalfLife and TrendLongHalfLife are the two windows whose
	// ratio is an item's trend. Defaults 6 hours and 7 days.
	TrendShortHalfLife time.Duration
	TrendLongHalfLife  time.Duration
	// BucketHalfLife is the half-life of per-context popularity
	// (region × daypart). Default 14 days.
	BucketHalfLife time.Duration
	// BucketsMax bounds the context buckets kept per item. Default 24.
	BucketsMax int

	// CoocHalfLife is the half-life of co-occurrence weights; negative:
	// they never decay. Default negative (NoDecay). Co-occurrence is
	// knowledge about items, not about this week: with a half-life, a shop
	// whose pairs are weeks apart (a slow shop, a catalogue of films) loses
	// its neighbour lists to whatever co-occurred last, while popularity,
	// trends and affinities keep their own half-lives. Measured in
	// docs/design.md ("Time constants and a shop's pace").
	CoocHalfLife time.Duration
	// CoocWindow: two items acted on by one user within this time co-occur.
	// Default 24 hours.
	CoocWindow time.Duration
	// CoocMaxPairs bounds how many recent items each event pairs with.
	// Default 5 (zero takes the default).
	CoocMaxPairs int
	// NeighboursMax bounds the co-occurrence neighbours kept per item.
	// Default 30.
	NeighboursMax int

	// EarnRules are the loyalty points each event type earns; an empty
	// map earns none, nil takes the default. Default 1 per currency unit on
	// purchases (expiring after 12 months), 10 per review (3), 5 per share
	// (6): purchase=1/unit@12m,review=10@3m,share=5@6m.
	EarnRules EarnRules
	// Tiers are the loyalty tiers by points earned in the tier window,
	// lowest first; empty is no tiers, nil takes the default. Default
	// bronze from 0, silver 500, gold 2,000, platinum 5,000 points.
	Tiers Tiers
	// TierWindowMonths is the rolling window of the tiers. Default 12.
	TierWindowMonths int
	// AtRiskFactor and ChurnFactor: a customer silent for more than this
	// many times their own mean time between purchase days is at risk, or
	// churned. Defaults 2 and 4.
	AtRiskFactor, ChurnFactor float64
	// DefaultInterPurchase stands for the rhythm of a customer with a
	// single purchase day. Default 30 days.
	DefaultInterPurchase time.Duration
	// ReactivatedWindow is how long, at most, a customer who came back
	// counts as reactivated (until they buy on another day). Default 30 days
	// (zero takes the default).
	ReactivatedWindow time.Duration
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	const day = 24 * time.Hour
	return Config{
		Weights: Weights{
			TypeView: 1, TypeClick: 2, TypeAddToCart: 4, TypePurchase: 8,
			TypeReview: 3, TypeShare: 3, TypePushOpen: 1, TypeDismiss: -6,
		},
		AffinityHalfLife:   14 * day,
		HabitHalfLife:      30 * day,
		PriceHalfLife:      90 * day,
		RecentMax:          50,
		PurchasedMax:       256,
		DismissedMax:       128,
		AffinityMax:        32,
		CtxAffinityMax:     64,
		DevicesMax:         8,
		PopularityHalfLife: 3 * day,
		TrendShortHalfLife: 6 * time.Hour,
		TrendLongHalfLife:  7 * day,
		BucketHalfLife:     14 * day,
		BucketsMax:         24,
		CoocHalfLife:       NoDecay,
		CoocWindow:         day,
		CoocMaxPairs:       5,
		NeighboursMax:      30,

		EarnRules: EarnRules{
			TypePurchase: {PerUnit: 1, ExpiryMonths: 12},
			TypeReview:   {Fixed: 10, ExpiryMonths: 3},
			TypeShare:    {Fixed: 5, ExpiryMonths: 6},
		},
		Tiers:                Tiers{{"bronze", 0}, {"silver", 500}, {"gold", 2000}, {"platinum", 5000}},
		TierWindowMonths:     12,
		AtRiskFactor:         2,
		ChurnFactor:          4,
		DefaultInterPurchase: 30 * day,
		ReactivatedWindow:    30 * day,
	}
}

// EnsureDefaults gives every zero field its default (see each field; nil
// maps and slices count as zero, empty ones do not).
func (c *Config) EnsureDefaults() {
	d := DefaultConfig()
	if c.Weights == nil {
		c.Weights = d.Weights
	}
	for _, f := range []struct{ v, d *time.Duration }{
		{&c.AffinityHalfLife, &d.AffinityHalfLife}, {&c.HabitHalfLife, &d.HabitHalfLife},
		{&c.PriceHalfLife, &d.PriceHalfLife}, {&c.PopularityHalfLife, &d.PopularityHalfLife},
		{&c.TrendShortHalfLife, &d.TrendShortHalfLife}, {&c.TrendLongHalfLife, &d.TrendLongHalfLife},
		{&c.BucketHalfLife, &d.BucketHalfLife}, {&c.CoocHalfLife, &d.CoocHalfLife}, {&c.CoocWindow, &d.CoocWindow},
		{&c.DefaultInterPurchase, &d.DefaultInterPurchase}, {&c.ReactivatedWindow, &d.ReactivatedWindow},
	} {
		if *f.v == 0 {
			*f.v = *f.d
		}
	}
	for _, f := range []struct{ v, d *int }{
		{&c.RecentMax, &d.RecentMax}, {&c.PurchasedMax, &d.PurchasedMax}, {&c.DismissedMax, &d.DismissedMax},
		{&c.AffinityMax, &d.AffinityMax}, {&c.CtxAffinityMax, &d.CtxAffinityMax}, {&c.DevicesMax, &d.DevicesMax},
		{&c.BucketsMax, &d.BucketsMax}, {&c.CoocMaxPairs, &d.CoocMaxPairs}, {&c.NeighboursMax, &d.NeighboursMax},
		{&c.TierWindowMonths, &d.TierWindowMonths},
	} {
		if *f.v == 0 {
			*f.v = *f.d
		}
	}
	if c.EarnRules == nil {
		c.EarnRules = d.EarnRules
	}
	if c.Tiers == nil {
		c.Tiers = d.Tiers
	}
	if c.AtRiskFactor == 0 {
		c.AtRiskFactor = d.AtRiskFactor
	}
	if c.ChurnFactor == 0 {
		c.ChurnFactor = d.ChurnFactor
	}
}

// Validate reports the first setting that cannot work.
func (c *Config) Validate() error {
	for name, d := range map[string]time.Duration{
		"AffinityHalfLife": c.AffinityHalfLife, "HabitHalfLife": c.HabitHalfLife,
		"PriceHalfLife": c.PriceHalfLife, "PopularityHalfLife": c.PopularityHalfLife,
		"TrendShortHalfLife": c.TrendShortHalfLife, "TrendLongHalfLife": c.TrendLongHalfLife,
		"BucketHalfLife": c.BucketHalfLife, "CoocHalfLife": c.CoocHalfLife,
	} {
		if name == "CoocHalfLife" && d < 0 {
			continue // no decay
		}
		if d < time.Millisecond {
			return fmt.Errorf("features: %s must be at least 1ms, got %v", name, d)
		}
	}
	for t, w := range c.Weights {
		if math.IsNaN(w) || math.IsInf(w, 0) || math.Abs(w) > 1e6 {
			return fmt.Errorf("features: weight of %s must be a finite number within ±1e6, got %v", t, w)
		}
	}
	if c.TrendShortHalfLife >= c.TrendLongHalfLife {
		return fmt.Errorf("features: TrendShortHalfLife (%v) must be shorter than TrendLongHalfLife (%v)",
			c.TrendShortHalfLife, c.TrendLongHalfLife)
	}
	for name, n := range map[string]int{
		"RecentMax": c.RecentMax, "PurchasedMax": c.PurchasedMax, "DismissedMax": c.DismissedMax,
		"AffinityMax": c.AffinityMax, "CtxAffinityMax": c.CtxAffinityMax, "DevicesMax": c.DevicesMax,
		"BucketsMax": c.BucketsMax, "NeighboursMax": c.NeighboursMax,
	} {
		if n < 1 || n > 10000 {
			return fmt.Errorf("features: %s must be in [1, 10000], got %d", name, n)
		}
	}
	if c.TierWindowMonths < 1 || c.TierWindowMonths > 120 {
		return fmt.Errorf("features: TierWindowMonths must be in [1, 120], got %d", c.TierWindowMonths)
	}
	if !(c.AtRiskFactor > 0 && c.ChurnFactor > c.AtRiskFactor) {
		return fmt.Errorf("features: need 0 < AtRiskFactor < ChurnFactor, got %v and %v", c.AtRiskFactor, c.ChurnFactor)
	}
	if c.DefaultInterPurchase < time.Hour || c.ReactivatedWindow < 0 {
		return fmt.Errorf("features: DefaultInterPurchase must be at least 1h and ReactivatedWindow not negative")
	}
	for t, r := range c.EarnRules {
		if r.PerUnit < 0 || r.Fixed < 0 || r.ExpiryMonths < 1 || math.IsNaN(r.PerUnit+r.Fixed) || math.IsInf(r.PerUnit+r.Fixed, 0) {
			return fmt.Errorf("features: earn rule of %s must have PerUnit, Fixed >= 0 and ExpiryMonths >= 1", t)
		}
	}
	for i := 1; i < len(c.Tiers); i++ {
		if c.Tiers[i].MinPoints <= c.Tiers[i-1].MinPoints {
			return fmt.Errorf("features: tiers must be in increasing order of MinPoints")
		}
	}
	if c.CoocMaxPairs < 0 || c.CoocMaxPairs > c.RecentMax {
		return fmt.Errorf("features: CoocMaxPairs must be in [0, RecentMax], got %d", c.CoocMaxPairs)
	}
	return nil
}

// Weights are event weights by type. Their text is type=weight pairs in
// wire order of the types: "view=1,click=2,dismiss=-6".
type Weights map[Type]float64

// MarshalText writes w as type=weight pairs.
func (w Weights) MarshalText() ([]byte, error) {
	var parts []string
	for _, t := range Types() {
		if v, ok := w[t]; ok {
			parts = append(parts, t.String()+"="+strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	return []byte(strings.Join(parts, ",")), nil
}

// UnmarshalText reads type=weight pairs; "" is no weights (every type
// weighs 0).
func (w *Weights) UnmarshalText(b []byte) error {
	m := Weights{}
	err := eachListItem(b, func(kv string) error {
		name, val, ok := strings.Cut(kv, "=")
		t := ParseType(strings.TrimSpace(name))
		if !ok || t == TypeUnknown {
			return fmt.Errorf("%q is not type=weight with a known event type", kv)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			return fmt.Errorf("weight of %s: %w", name, err)
		}
		m[t] = v
		return nil
	})
	if err != nil {
		return err
	}
	*w = m
	return nil
}

// eachListItem calls fn with every non-empty, trimmed item of a
// comma-separated setting, stopping at the first error.
func eachListItem(b []byte, fn func(item string) error) error {
	for _, item := range strings.Split(string(b), ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		if err := fn(item); err != nil {
			return err
		}
	}
	return nil
}

// NoDecay is the half-life of a value that never decays (CoocHalfLife).
const NoDecay time.Duration = -1

// HalfLives are the configured half-lives in milliseconds, the unit every
// Decayed value is read with; 0 means no decay.
type HalfLives struct {
	Affinity, Habit, Price                int64
	Popularity, Short, Long, Bucket, Cooc int64
}

// params is Config resolved for the hot path: milliseconds, dense weights.
type params struct {
	HalfLives
	weights [numTypes]float32
	win     int64
}

func (c *Config) params() params {
	p := params{
		HalfLives: HalfLives{
			Affinity: ms(c.AffinityHalfLife), Habit: ms(c.HabitHalfLife), Price: ms(c.PriceHalfLife),
			Popularity: ms(c.PopularityHalfLife), Short: ms(c.TrendShortHalfLife), Long: ms(c.TrendLongHalfLife),
			Bucket: ms(c.BucketHalfLife), Cooc: ms(max(c.CoocHalfLife, 0)),
		},
		win: ms(c.CoocWindow),
	}
	for t, w := range c.Weights {
		if t < numTypes {
			p.weights[t] = float32(w)
		}
	}
	return p
}

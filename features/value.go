package features

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// EarnRule says how many loyalty points an event type earns and for how
// long: PerUnit points per currency unit spent (purchases) plus Fixed points
// per event. Points earned in a month expire at the end of the month
// ExpiryMonths later.
type EarnRule struct {
	PerUnit      float64
	Fixed        float64
	ExpiryMonths int
}

// Tier is a loyalty tier, reached with MinPoints earned within the tier
// window.
type Tier struct {
	Name      string
	MinPoints float64
}

// EarnRules are the earn rules by event type. Their text is
// type=N[/unit]@Mm rules in wire order of the types: N points per event
// (per currency unit with /unit), expiring M months later, e.g.
// "purchase=1/unit@12m,review=10@3m".
type EarnRules map[Type]EarnRule

// MarshalText writes rs as type=N[/unit]@Mm rules; a rule with PerUnit
// points writes only those.
func (rs EarnRules) MarshalText() ([]byte, error) {
	var parts []string
	for _, t := range Types() {
		r, ok := rs[t]
		if !ok {
			continue
		}
		if r.PerUnit > 0 {
			parts = append(parts, fmt.Sprintf("%s=%g/unit@%dm", t, r.PerUnit, r.ExpiryMonths))
		} else {
			parts = append(parts, fmt.Sprintf("%s=%g@%dm", t, r.Fixed, r.ExpiryMonths))
		}
	}
	return []byte(strings.Join(parts, ",")), nil
}

// UnmarshalText reads type=N[/unit]@Mm rules; "" is no rules.
func (rs *EarnRules) UnmarshalText(b []byte) error {
	rules := EarnRules{}
	err := eachListItem(b, func(kv string) error {
		name, spec, ok := strings.Cut(kv, "=")
		t := ParseType(strings.TrimSpace(name))
		pts, months, ok2 := strings.Cut(spec, "@")
		if !ok || !ok2 || t == TypeUnknown || !strings.HasSuffix(months, "m") {
			return fmt.Errorf("%q is not type=N[/unit]@Mm", kv)
		}
		m, err := strconv.Atoi(strings.TrimSuffix(months, "m"))
		if err != nil || m < 1 {
			return fmt.Errorf("%q: months must be a positive integer", kv)
		}
		per := strings.HasSuffix(pts, "/unit")
		n, err := strconv.ParseFloat(strings.TrimSuffix(pts, "/unit"), 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%q: points must be a number >= 0", kv)
		}
		r := EarnRule{ExpiryMonths: m}
		if per {
			r.PerUnit = n
		} else {
			r.Fixed = n
		}
		rules[t] = r
		return nil
	})
	if err != nil {
		return err
	}
	*rs = rules
	return nil
}

// Tiers are loyalty tiers, lowest first. Their text is name:points pairs:
// "bronze:0,silver:500".
type Tiers []Tier

// MarshalText writes ts as name:points pairs.
func (ts Tiers) MarshalText() ([]byte, error) {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = fmt.Sprintf("%s:%g", t.Name, t.MinPoints)
	}
	return []byte(strings.Join(parts, ",")), nil
}

// UnmarshalText reads name:points pairs; "" is no tiers (an empty, not a
// nil, Tiers).
func (ts *Tiers) UnmarshalText(b []byte) error {
	out := Tiers{}
	err := eachListItem(b, func(kv string) error {
		name, v, ok := strings.Cut(kv, ":")
		n, err := strconv.ParseFloat(v, 64)
		if !ok || name == "" || err != nil {
			return fmt.Errorf("%q is not name:points", kv)
		}
		out = append(out, Tier{Name: name, MinPoints: n})
		return nil
	})
	if err != nil {
		return err
	}
	*ts = out
	return nil
}

// PointsBucket holds the points one source (event type) earned in one
// calendar month (UTC).
type PointsBucket struct {
	Month  int32 // months since January 1970
	Source Type
	Points float64
}

func monthOf(ms int64) int32 {
	t := time.UnixMilli(ms).UTC()
	return int32(t.Year()-1970)*12 + int32(t.Month()-1)
}

func monthStart(m int32) int64 {
	return time.Date(1970+int(m/12), time.Month(m%12+1), 1, 0, 0, 0, 0, time.UTC).UnixMilli()
}

// expiry returns when a bucket's points expire: the end of the month
// ExpiryMonths after they were earned.
func (f *Extractor) expiry(b PointsBucket) int64 {
	months := 12
	if r, ok := f.cfg.EarnRules[b.Source]; ok && r.ExpiryMonths > 0 {
		months = r.ExpiryMonths
	}
	return monthStart(b.Month + int32(months) + 1)
}

// earn adds the points an event earns (spend: price × quantity, purchases
// only) and drops buckets that have expired and left the tier window.
func (f *Extractor) earn(u *User, t Type, spend float64, at int64) {
	r, ok := f.cfg.EarnRules[t]
	if !ok {
		return
	}
	pts := r.PerUnit*spend + r.Fixed
	if pts <= 0 {
		return
	}
	m := monthOf(at)
	i, found := slices.BinarySearchFunc(u.Points, PointsBucket{Month: m, Source: t}, cmpBucket)
	if found {
		u.Points[i].Points += pts
	} else {
		u.Points = slices.Insert(u.Points, i, PointsBucket{Month: m, Source: t, Points: pts})
	}
	window := m - int32(f.cfg.TierWindowMonths) + 1
	u.Points = slices.DeleteFunc(u.Points, func(b PointsBucket) bool {
		return b.Month < window && f.expiry(b) <= at
	})
}

func cmpBucket(a, b PointsBucket) int {
	if a.Month != b.Month {
		return int(a.Month - b.Month)
	}
	return int(a.Source) - int(b.Source)
}

// PointsSummary is a user's loyalty position at one instant.
type PointsSummary struct {
	Balance    float64    `json:"balance"`  // earned and not expired
	Expiring   float64    `json:"expiring"` // of the balance, expiring within ExpiringWithin
	Within     int        `json:"expiring_within_days"`
	NextExpiry *time.Time `json:"next_expiry,omitempty"` // when the next points expire
	Earned     float64    `json:"earned_in_window"`      // earned in the tier window
	Tier       string     `json:"tier"`
}

// Points returns u's points at now, with those expiring within the given
// duration.
func (f *Extractor) Points(u *User, now time.Time, within time.Duration) PointsSummary {
	n := now.UnixMilli()
	horizon := now.Add(within).UnixMilli()
	cur := monthOf(n)
	window := cur - int32(f.cfg.TierWindowMonths) + 1
	s := PointsSummary{Within: int(within.Hours() / 24)}
	next := int64(0)
	for _, b := range u.Points {
		exp := f.expiry(b)
		if exp > n && b.Month <= cur {
			s.Balance += b.Points
			if exp <= horizon {
				s.Expiring += b.Points
			}
			if next == 0 || exp < next {
				next = exp
			}
		}
		if b.Month >= window && b.Month <= cur {
			s.Earned += b.Points
		}
	}
	if next != 0 {
		t := msTime(next)
		s.NextExpiry = &t
	}
	for _, t := range f.cfg.Tiers {
		if s.Earned >= t.MinPoints {
			s.Tier = t.Name
		}
	}
	return s
}

// Lifecycle is where a customer stands, relative to their own rhythm.
type Lifecycle uint8

// Lifecycle stages. Thresholds are multiples of the customer's own mean
// time between purchase days (Config.AtRiskFactor, ChurnFactor; the default
// inter-purchase time for a customer with one purchase day).
const (
	Prospect    Lifecycle = iota // no purchase yet
	New                          // one purchase day, not yet overdue
	Active                       // buying at their usual rhythm
	AtRisk                       // silent for more than AtRiskFactor × their rhythm
	Churned                      // silent for more than ChurnFactor × their rhythm
	Reactivated                  // came back after an at-risk silence and has not bought on another day since (at most ReactivatedWindow)
	numLifecycles
)

var lifecycleNames = [numLifecycles]string{"prospect", "new", "active", "at_risk", "churned", "reactivated"}

func (l Lifecycle) String() string {
	if l >= numLifecycles {
		return "unknown"
	}
	return lifecycleNames[l]
}

// Lifecycles lists every stage.
func Lifecycles() []Lifecycle {
	out := make([]Lifecycle, numLifecycles)
	for i := range out {
		out[i] = Lifecycle(i)
	}
	return out
}

// Lifecycle returns the stage of o at now (Unix ms).
func (f *Extractor) Lifecycle(o *Orders, now int64) Lifecycle {
	if o.Days == 0 {
		return Prospect
	}
	gap := float64(now-o.Last) / msPerDay
	ipt := f.interPurchaseDays(o)
	switch {
	case gap > f.cfg.ChurnFactor*ipt:
		return Churned
	case gap > f.cfg.AtRiskFactor*ipt:
		return AtRisk
	case o.ReturnedAt != 0 && dayOf(o.ReturnedAt) == dayOf(o.Last) && now-o.ReturnedAt <= f.cfg.ReactivatedWindow.Milliseconds():
		return Reactivated
	case o.Days == 1:
		return New
	}
	return Active
}

// Value is the per-user part of a customer's value at one instant: the raw
// RFM figures, the BG/NBD and Gamma-Gamma summary (in days), the lifecycle
// stage and the loyalty position. Scores relative to the population and
// model predictions are added by whoever holds the population.
type Value struct {
	RecencyDays     float64       `json:"recency_days"` // since the latest purchase; 0 without purchases
	Frequency       uint32        `json:"frequency"`    // purchase days
	Monetary        float64       `json:"monetary"`     // total spend
	X               float64       `json:"x"`            // repeat purchase days
	TxDays          float64       `json:"t_x_days"`     // first to latest purchase day
	TDays           float64       `json:"T_days"`       // first purchase day to now
	MeanRepeatSpend float64       `json:"mean_repeat_spend"`
	Lifecycle       string        `json:"lifecycle"`
	Points          PointsSummary `json:"points"`
}

// Value returns u's value at now; points expiring within the given
// duration are counted.
func (f *Extractor) Value(u *User, now time.Time, within time.Duration) Value {
	n := now.UnixMilli()
	o := &u.Orders
	v := Value{Frequency: o.Days, Monetary: o.Monetary, Lifecycle: f.Lifecycle(o, n).String(), Points: f.Points(u, now, within)}
	if o.Days > 0 {
		v.RecencyDays = max(float64(n-o.Last)/msPerDay, 0)
		fd := dayOf(o.First)
		v.X = float64(o.Days - 1)
		v.TxDays = float64(dayOf(o.Last) - fd)
		v.TDays = float64(max(dayOf(n)-fd, 0))
		if o.Days > 1 {
			v.MeanRepeatSpend = o.RepeatSpend / v.X
		}
	}
	return v
}

// msTime converts Unix ms to UTC time.
func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

package features

import (
	"math"
	"testing"
	"time"
)

var day0 = time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)

func buy(days float64, price, qty float64) Event {
	return Event{UserID: "u", Type: TypePurchase, ItemID: "sku-1", Price: price, Quantity: qty,
		Time: day0.Add(time.Duration(days * 24 * float64(time.Hour)))}
}

func foldAll(f *Extractor, evs ...Event) *User {
	u := &User{ID: "u"}
	var d Deltas
	for i := range evs {
		f.FoldUser(u, &evs[i], nil, &d)
	}
	return u
}

// TestPurchaseDays: purchases group into UTC days; the BG/NBD summary and
// the repeat spend follow.
func TestPurchaseDays(t *testing.T) {
	f := NewExtractor(DefaultConfig())
	u := foldAll(f,
		buy(0, 10, 1),  // day 0 (first): 10
		buy(0.2, 5, 2), // day 0 again: +10
		buy(3, 7, 1),   // day 3: repeat 7
		buy(3.1, 3, 1), // day 3 again: +3
		buy(10, 20, 1), // day 10: repeat 20
		buy(-2, 4, 1),  // a late event two days before the first
	)
	o := u.Orders
	if o.Days != 4 || o.Count != 6 || o.FirstDaySpend != 4 || o.LastDaySpend != 20 || o.RepeatSpend != 20+10+20 {
		t.Fatalf("orders %+v", o)
	}
	v := f.Value(u, day0.Add(20*24*time.Hour), 30*24*time.Hour)
	// First day is now day -2: t_x = 12 days, T = 22 days, x = 3.
	if v.X != 3 || v.TxDays != 12 || v.TDays != 22 || v.Frequency != 4 || math.Abs(v.MeanRepeatSpend-50.0/3) > 1e-9 {
		t.Fatalf("value %+v", v)
	}
	if math.Abs(v.RecencyDays-10) > 1e-9 || v.Monetary != 54 {
		t.Fatalf("recency %v monetary %v", v.RecencyDays, v.Monetary)
	}
}

func TestLifecycle(t *testing.T) {
	f := NewExtractor(DefaultConfig()) // at risk after 2× the rhythm, churned after 4×, default rhythm 30 days
	at := func(u *User, days float64) Lifecycle {
		return f.Lifecycle(&u.Orders, day0.Add(time.Duration(days*24*float64(time.Hour))).UnixMilli())
	}
	if s := at(&User{}, 0); s != Prospect {
		t.Fatalf("no purchase: %v", s)
	}
	one := foldAll(f, buy(0, 10, 1))
	for _, c := range []struct {
		days float64
		want Lifecycle
	}{{1, New}, {59, New}, {61, AtRisk}, {121, Churned}} {
		if s := at(one, c.days); s != c.want {
			t.Errorf("one purchase, %v days later: %v, want %v", c.days, s, c.want)
		}
	}
	// Weekly buyer: rhythm 7 days.
	weekly := foldAll(f, buy(0, 10, 1), buy(7, 10, 1), buy(14, 10, 1), buy(21, 10, 1))
	for _, c := range []struct {
		days float64
		want Lifecycle
	}{{22, Active}, {34, Active}, {36, AtRisk}, {50, Churned}} {
		if s := at(weekly, c.days); s != c.want {
			t.Errorf("weekly buyer on day %v: %v, want %v", c.days, s, c.want)
		}
	}
	// Coming back after 40 days of silence (> 2 × 7): reactivated for 30 days.
	back := foldAll(f, buy(0, 10, 1), buy(7, 10, 1), buy(14, 10, 1), buy(21, 10, 1), buy(61, 10, 1))
	if back.Orders.ReturnedAt == 0 {
		t.Fatal("return not recorded")
	}
	if s := at(back, 62); s != Reactivated {
		t.Errorf("day after the return: %v", s)
	}
	if s := at(back, 95); s == Reactivated {
		t.Errorf("still reactivated 34 days after the return")
	}
}

func TestPoints(t *testing.T) {
	f := NewExtractor(DefaultConfig())
	review := func(days float64) Event {
		e := buy(days, 0, 0)
		e.Type = TypeReview
		return e
	}
	u := foldAll(f,
		buy(0, 100, 3),  // Jan 2026: 300 points, expire end of Jan 2027
		review(1),       // Jan 2026: 10 points, expire end of Apr 2026
		buy(40, 250, 1), // Feb 2026: 250 points, expire end of Feb 2027
	)
	now := time.Date(2026, 4, 20, 0, 0, 0, 0, time.UTC)
	p := f.Points(u, now, 14*24*time.Hour)
	if p.Balance != 560 || p.Expiring != 10 || p.Earned != 560 || p.Tier != "silver" {
		t.Fatalf("April: %+v", p)
	}
	if p.NextExpiry == nil || !p.NextExpiry.Equal(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("next expiry %v", p.NextExpiry)
	}
	p = f.Points(u, time.Date(2026, 5, 2, 0, 0, 0, 0, time.UTC), 24*time.Hour)
	if p.Balance != 550 {
		t.Fatalf("after the review points expired: %+v", p)
	}
	// A year on, the January purchase points are gone and outside the window.
	p = f.Points(u, time.Date(2027, 2, 15, 0, 0, 0, 0, time.UTC), 30*24*time.Hour)
	if p.Balance != 250 || p.Expiring != 250 || p.Earned != 0 || p.Tier != "bronze" {
		t.Fatalf("Feb 2027: %+v", p)
	}
	// Old buckets are dropped as new events come in.
	later := buy(800, 1, 1)
	var d Deltas
	f.FoldUser(u, &later, nil, &d)
	if len(u.Points) != 1 {
		t.Fatalf("expired buckets kept: %+v", u.Points)
	}
}

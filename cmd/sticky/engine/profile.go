package engine

import (
	"strings"
	"time"

	"github.com/stickyhq/sticky/features"
)

// Profile is a user's feature vector decayed to one instant, for people and
// for JSON: what GET /v1/users/{id}/profile returns besides its value.
type Profile struct {
	UserID      string         `json:"user_id"`
	AsOf        time.Time      `json:"as_of"`
	FirstSeen   time.Time      `json:"first_seen"`
	LastSeen    time.Time      `json:"last_seen"`
	Events      uint32         `json:"events"`
	Region      string         `json:"region,omitempty"`
	TZ          string         `json:"tz,omitempty"`
	Categories  []features.KV  `json:"categories"`
	Brands      []features.KV  `json:"brands"`
	ByDaypart   []CtxKV        `json:"categories_by_daypart"`
	ByDevice    []CtxKV        `json:"categories_by_device"`
	Devices     []features.KV  `json:"devices"`
	ActiveHours []HourKV       `json:"active_hours"`
	Recent      []RecentJSON   `json:"recent"`
	Purchased   []MarkJSON     `json:"purchased"`
	Dismissed   []MarkJSON     `json:"dismissed"`
	PriceBand   *PriceBandJSON `json:"price_band,omitempty"`
	Orders      OrdersJSON     `json:"orders"`
	Push        PushJSON       `json:"push"`
}

// CtxKV is a category affinity in one context (a daypart or a device).
type CtxKV struct {
	Context  string  `json:"context"`
	Category string  `json:"category"`
	Value    float64 `json:"value"`
}

// HourKV is the activity of one local hour of the week.
type HourKV struct {
	Day   string  `json:"day"`
	Hour  int     `json:"hour"`
	Value float64 `json:"value"`
}

// RecentJSON is an entry of the recent-items ring.
type RecentJSON struct {
	ItemID string    `json:"item_id"`
	Type   string    `json:"type"`
	At     time.Time `json:"at"`
}

// MarkJSON is an entry of the purchased or dismissed set.
type MarkJSON struct {
	ItemID string    `json:"item_id"`
	At     time.Time `json:"at"`
	Count  uint32    `json:"count"`
}

// PriceBandJSON is the user's price band.
type PriceBandJSON struct {
	Typical float64 `json:"typical"`
	Low     float64 `json:"low"`
	High    float64 `json:"high"`
}

// OrdersJSON are the purchase statistics.
type OrdersJSON struct {
	Count         uint32     `json:"count"`
	Units         float64    `json:"units"`
	Monetary      float64    `json:"monetary"`
	FirstPurchase *time.Time `json:"first_purchase,omitempty"`
	LastPurchase  *time.Time `json:"last_purchase,omitempty"`
}

// PushJSON is the push history.
type PushJSON struct {
	OptedOut bool       `json:"opted_out"`
	Sent     uint32     `json:"sent"`
	Opens    uint32     `json:"opens"`
	LastSent *time.Time `json:"last_sent,omitempty"`
	LastOpen *time.Time `json:"last_open,omitempty"`
}

// msTime converts Unix ms to UTC time.
func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func optTime(ms int64) *time.Time {
	if ms == 0 {
		return nil
	}
	t := msTime(ms)
	return &t
}

var weekdays = [7]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}

// newProfile returns u decayed to now with the half-lives hl. Lists are
// strongest or newest first.
func newProfile(u *features.User, now time.Time, hl features.HalfLives) Profile {
	n := now.UnixMilli()
	p := Profile{
		UserID: u.ID, AsOf: now.UTC(), FirstSeen: msTime(u.FirstSeen), LastSeen: msTime(u.LastSeen),
		Events: u.Events, Region: u.Region, TZ: u.TZ,
		Categories:  u.Categories.Top(n, hl.Affinity, 0),
		Brands:      u.Brands.Top(n, hl.Affinity, 0),
		Devices:     u.Devices.Top(n, hl.Habit, 0),
		ByDaypart:   []CtxKV{},
		ByDevice:    []CtxKV{},
		ActiveHours: []HourKV{},
		Recent:      make([]RecentJSON, 0, len(u.Recent)),
		Purchased:   marksJSON(u.Purchased),
		Dismissed:   marksJSON(u.Dismissed),
		Orders: OrdersJSON{
			Count: u.Orders.Count, Units: u.Orders.Units, Monetary: u.Orders.Monetary,
			FirstPurchase: optTime(u.Orders.First), LastPurchase: optTime(u.Orders.Last),
		},
		Push: PushJSON{
			OptedOut: u.Push.OptedOut, Sent: u.Push.Sent, Opens: u.Push.Opens,
			LastSent: optTime(u.Push.LastSent), LastOpen: optTime(u.Push.LastOpen),
		},
	}
	for _, kv := range u.CtxCategories.Top(n, hl.Habit, 0) {
		ctx, cat, ok := strings.Cut(kv.Key, "|")
		if !ok || len(ctx) < 2 {
			continue
		}
		e := CtxKV{Context: ctx[2:], Category: cat, Value: kv.Value}
		if ctx[0] == 'd' {
			p.ByDaypart = append(p.ByDaypart, e)
		} else {
			p.ByDevice = append(p.ByDevice, e)
		}
	}
	hf := u.Hours.Decay(n, hl.Habit)
	for i, v := range u.Hours.Bins {
		if v > 0 {
			p.ActiveHours = append(p.ActiveHours, HourKV{Day: weekdays[i/24], Hour: i % 24, Value: float64(v) * hf})
		}
	}
	for i := len(u.Recent) - 1; i >= 0; i-- {
		r := u.Recent[i]
		p.Recent = append(p.Recent, RecentJSON{ItemID: r.Item, Type: r.Type.String(), At: msTime(r.At)})
	}
	if typical, lo, hi, ok := u.Price.Band(); ok {
		p.PriceBand = &PriceBandJSON{Typical: typical, Low: lo, High: hi}
	}
	return p
}

func marksJSON(ms []features.Mark) []MarkJSON {
	out := make([]MarkJSON, 0, len(ms))
	for _, m := range ms {
		out = append(out, MarkJSON{ItemID: m.Item, At: msTime(m.At), Count: m.N})
	}
	return out
}

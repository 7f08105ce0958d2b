package features

import (
	"math"
	"time"
)

// Type is the kind of a shopper event.
type Type uint8

// Event types, as named on the wire (Type.String).
const (
	TypeUnknown Type = iota
	TypeView
	TypeClick
	TypeAddToCart
	TypePurchase
	TypeSearch
	TypeReview
	TypeShare
	TypeDismiss
	TypeImpression
	TypePushSent
	TypePushOpen
	TypePushOptOut
	numTypes
)

var typeNames = [numTypes]string{
	TypeUnknown:    "unknown",
	TypeView:       "view",
	TypeClick:      "click",
	TypeAddToCart:  "add_to_cart",
	TypePurchase:   "purchase",
	TypeSearch:     "search",
	TypeReview:     "review",
	TypeShare:      "share",
	TypeDismiss:    "dismiss",
	TypeImpression: "impression",
	TypePushSent:   "push_sent",
	TypePushOpen:   "push_open",
	TypePushOptOut: "push_opt_out",
}

// Types lists every known event type, in wire order.
func Types() []Type {
	ts := make([]Type, 0, numTypes-1)
	for t := TypeView; t < numTypes; t++ {
		ts = append(ts, t)
	}
	return ts
}

// String returns the wire name of t.
func (t Type) String() string {
	if t >= numTypes {
		return typeNames[TypeUnknown]
	}
	return typeNames[t]
}

// ParseType returns the Type named s, or TypeUnknown.
func ParseType(s string) Type {
	for t := TypeView; t < numTypes; t++ {
		if typeNames[t] == s {
			return t
		}
	}
	return TypeUnknown
}

// NeedsItem reports whether events of type t must name an item.
func (t Type) NeedsItem() bool {
	switch t {
	case TypeView, TypeClick, TypeAddToCart, TypePurchase, TypeReview, TypeShare, TypeDismiss:
		return true
	}
	return false
}

// Intent orders item interactions by how much they say about the shopper's
// wish to own the item: 1 view, 2 click, share or review, 3 add to cart,
// 4 purchase; 0 for events that are not about an item. The recent-items
// ring keeps the strongest one.
func (t Type) Intent() int {
	switch t {
	case TypeView:
		return 1
	case TypeClick, TypeShare, TypeReview:
		return 2
	case TypeAddToCart:
		return 3
	case TypePurchase:
		return 4
	}
	return 0
}

// Context is where and how an event happened or a request is made.
type Context struct {
	Device string `json:"device,omitempty"` // e.g. mobile, desktop, tablet, app
	Region string `json:"region,omitempty"` // e.g. CN-SH
	TZ     string `json:"tz,omitempty"`     // IANA zone, e.g. Asia/Shanghai
	Page   string `json:"page,omitempty"`   // e.g. home, pdp, cart
}

// Event is one shopper action, decoded and validated.
type Event struct {
	ID         string    // event_id; optional, makes re-delivery harmless
	UserID     string    // required
	Type       Type      // required
	ItemID     string    // required when Type.NeedsItem
	Items      []string  // impression: the items shown
	RequestID  string    // impression: the recommendation request
	CampaignID string    // push_sent, push_open: the campaign
	Query      string    // search
	Time       time.Time // ts; required
	Price      float64   // unit price paid or shown; 0 = unknown
	Quantity   float64   // purchase quantity; 0 means 1
	Context    Context
}

// Limits on event fields, enforced by Validate.
const (
	MaxIDLen    = 256  // user, item, event, request and campaign ids
	MaxTextLen  = 1024 // query
	MaxItems    = 200  // impression items
	MaxCtxLen   = 64   // device, region, page
	MaxPrice    = 1e9  // unit price
	MaxQuantity = 1e6
)

// Validate checks e against the event schema. zones resolves context.tz; it
// may be nil, in which case the zone is not checked. The returned error is a
// *FieldError.
func (e *Event) Validate(zones *Zones) error {
	if e.UserID == "" {
		return fieldErr("user_id", "is required")
	}
	if len(e.UserID) > MaxIDLen {
		return fieldErr("user_id", "is longer than %d bytes", MaxIDLen)
	}
	if e.Type == TypeUnknown {
		return fieldErr("type", "is missing or not one of the known event types")
	}
	if e.Time.IsZero() {
		return fieldErr("ts", "is required (RFC 3339 time)")
	}
	if y := e.Time.Year(); y < 1970 || y > 9999 {
		return fieldErr("ts", "is out of range")
	}
	if len(e.ID) > MaxIDLen {
		return fieldErr("event_id", "is longer than %d bytes", MaxIDLen)
	}
	if e.Type.NeedsItem() && e.ItemID == "" {
		return fieldErr("item_id", "is required for %s events", e.Type)
	}
	if len(e.ItemID) > MaxIDLen {
		return fieldErr("item_id", "is longer than %d bytes", MaxIDLen)
	}
	if e.Type == TypeImpression {
		if len(e.Items) == 0 {
			return fieldErr("items", "is required for impression events")
		}
		if len(e.Items) > MaxItems {
			return fieldErr("items", "has more than %d items", MaxItems)
		}
		for _, it := range e.Items {
			if it == "" || len(it) > MaxIDLen {
				return fieldErr("items", "holds an empty or too long item id")
			}
		}
	}
	if (e.Type == TypePushSent || e.Type == TypePushOpen) && e.CampaignID == "" {
		return fieldErr("campaign_id", "is required for %s events", e.Type)
	}
	if len(e.CampaignID) > MaxIDLen {
		return fieldErr("campaign_id", "is longer than %d bytes", MaxIDLen)
	}
	if len(e.RequestID) > MaxIDLen {
		return fieldErr("request_id", "is longer than %d bytes", MaxIDLen)
	}
	if len(e.Query) > MaxTextLen {
		return fieldErr("query", "is longer than %d bytes", MaxTextLen)
	}
	if math.IsNaN(e.Price) || e.Price < 0 || e.Price > MaxPrice {
		return fieldErr("price", "must be between 0 and %g", float64(MaxPrice))
	}
	if math.IsNaN(e.Quantity) || e.Quantity < 0 || e.Quantity > MaxQuantity {
		return fieldErr("quantity", "must be between 0 and %g", float64(MaxQuantity))
	}
	if len(e.Context.Device) > MaxCtxLen {
		return fieldErr("context.device", "is longer than %d bytes", MaxCtxLen)
	}
	if len(e.Context.Region) > MaxCtxLen {
		return fieldErr("context.region", "is longer than %d bytes", MaxCtxLen)
	}
	if len(e.Context.Page) > MaxCtxLen {
		return fieldErr("context.page", "is longer than %d bytes", MaxCtxLen)
	}
	if len(e.Context.TZ) > MaxZoneName {
		return fieldErr("context.tz", "is longer than %d bytes", MaxZoneName)
	}
	if e.Context.TZ != "" && zones != nil {
		if _, err := zones.Load(e.Context.TZ); err != nil {
			return fieldErr("context.tz", "is not a known IANA time zone")
		}
	}
	return nil
}

// Item is a catalogue entry, as published on the compacted items topic.
type Item struct {
	ID         string   `json:"item_id"`
	Title      string   `json:"title,omitempty"`
	Category   string   `json:"category,omitempty"`
	Brand      string   `json:"brand,omitempty"`
	Price      float64  `json:"price,omitempty"`
	Tags       []string `json:"tags,omitempty"`
	Available  bool     `json:"available"`
	Repeatable bool     `json:"repeatable,omitempty"` // may be recommended again after purchase
}

// Validate checks it against the catalogue schema; the error is a *FieldError.
func (it *Item) Validate() error {
	if it.ID == "" {
		return fieldErr("item_id", "is required")
	}
	if len(it.ID) > MaxIDLen {
		return fieldErr("item_id", "is longer than %d bytes", MaxIDLen)
	}
	if len(it.Category) > MaxIDLen {
		return fieldErr("category", "is longer than %d bytes", MaxIDLen)
	}
	if len(it.Brand) > MaxIDLen {
		return fieldErr("brand", "is longer than %d bytes", MaxIDLen)
	}
	if math.IsNaN(it.Price) || it.Price < 0 || it.Price > MaxPrice {
		return fieldErr("price", "must be between 0 and %g", float64(MaxPrice))
	}
	return nil
}

package ranker

import (
	"fmt"
	"time"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/ranker/audience"
)

// Context is the situation of a request.
type Context struct {
	Time   time.Time // zero: now
	Device string
	Region string // zero: the user's last seen region
	TZ     string // zero: the user's last seen zone
	Page   string
	ItemID string // the item on the page, if any
}

// Request asks for the top K items for a user in a context.
type Request struct {
	UserID string
	// K is how many items to return. Recommend reads K <= 0 as
	// Config.DefaultK and caps K at Config.MaxK.
	K       int
	Context Context
	Exclude []string // at most MaxExclude item ids
	// Audience, if set, restricts the answer to users matching the rule:
	// others get no items (e.g. a loyalty slot shown only to users whose
	// points expire soon).
	Audience *audience.Rule
}

// MaxExclude bounds Request.Exclude.
const MaxExclude = 1000

// Validate checks r, one field after another: UserID is given and at most
// features.MaxIDLen bytes, K is from 1 to maxK, Context.ItemID is at most
// features.MaxIDLen bytes, Context.TZ is empty or a zone zones knows,
// Context.Device, Region and Page are at most features.MaxCtxLen bytes, and
// Exclude holds at most MaxExclude items. The error, about the first bad
// field, wraps a *features.FieldError naming it by its API name, and
// ErrBadRequest.
func (r *Request) Validate(maxK int, zones *features.Zones) error {
	switch {
	case r.UserID == "":
		return badField("user_id", "is required")
	case len(r.UserID) > features.MaxIDLen:
		return badField("user_id", "is too long")
	case r.K < 1 || r.K > maxK:
		return badField("k", fmt.Sprintf("must be an integer from 1 to %d", maxK))
	case len(r.Context.ItemID) > features.MaxIDLen:
		return badField("item_id", "is too long")
	}
	if r.Context.TZ != "" {
		if _, err := zones.Load(r.Context.TZ); err != nil {
			return badField("tz", "is not a known IANA time zone")
		}
	}
	for _, f := range []struct{ name, v string }{{"device", r.Context.Device}, {"region", r.Context.Region}, {"page", r.Context.Page}} {
		if len(f.v) > features.MaxCtxLen {
			return badField(f.name, "is too long")
		}
	}
	if len(r.Exclude) > MaxExclude {
		return badField("exclude", fmt.Sprintf("holds more than %d items", MaxExclude))
	}
	return nil
}

// badField returns the error about a bad request field, "<field> <reason>:
// bad request", which wraps both a *features.FieldError and ErrBadRequest.
func badField(field, reason string) error {
	return fmt.Errorf("%w: %w", &features.FieldError{Field: field, Reason: reason}, ErrBadRequest)
}

// AudienceMatch says whether the user matched the request's audience rule.
type AudienceMatch struct {
	Rule    string `json:"rule"`
	Matched bool   `json:"matched"`
}

// Reason says why an item was recommended.
type Reason struct {
	Code string `json:"code"` // co_occurrence, category, context, brand, context_trend, trending, popular, price, history, boost
	Text string `json:"text"`
}

// Item is one recommended item.
type Item struct {
	ItemID   string   `json:"item_id"`
	Score    float64  `json:"score"`
	Title    string   `json:"title,omitempty"`
	Category string   `json:"category,omitempty"`
	Brand    string   `json:"brand,omitempty"`
	Price    float64  `json:"price,omitempty"`
	Reasons  []Reason `json:"reasons"`
}

// Response is the ranked list.
type Response struct {
	UserID     string `json:"user_id"`
	Items      []Item `json:"items"`
	KnownUser  bool   `json:"known_user"` // false: cold start, context and popularity only
	Candidates int    `json:"candidates"` // candidates scored
	Daypart    string `json:"daypart"`    // the request's local daypart
	Region     string `json:"region,omitempty"`
	Device     string `json:"device,omitempty"`

	Audience *AudienceMatch `json:"audience,omitempty"`
}

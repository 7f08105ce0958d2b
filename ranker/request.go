package ranker

import (
	"time"

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
	UserID  string
	K       int
	Context Context
	Exclude []string
	// Audience, if set, restricts the answer to users matching the rule:
	// others get no items (e.g. a loyalty slot shown only to users whose
	// points expire soon).
	Audience *audience.Rule
}

// AudienceMatch says whether the user matched the request's audience rule.
type AudienceMatch struct {
	Rule    string `json:"rule"`
	Matched bool   `json:"matched"`
}

// Reason says why an item was recommended.
type Reason struct {
	Code string `json:"code"` // co_occurrence, category, context, brand, context_trend, trending, popular, price, boost
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

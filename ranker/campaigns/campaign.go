// Package campaigns decides whom to send a push campaign to, and when, and hands
// the targets out to the push service.
//
// A Campaign names a target (an item, a category, a brand, or an audience
// rule), how many users it may reach and how good a match they must be,
// when it runs, frequency caps across campaigns, quiet hours and a send
// window in each user's own time zone. Creating a campaign scores every
// user's propensity from the population table (ranker/audience) — never
// the state store — keeps the best, and gives each a send time: the user's
// most active local hour inside the send window, outside quiet hours.
//
// The push service pulls targets page by page under a lease and
// acknowledges each send. A leased target that is not acknowledged in time
// is handed out again; a target acknowledged as sent never is, across
// restarts (campaigns, targets and acknowledgements persist). Caps and
// quiet hours are checked again at hand-out, since other campaigns send in
// between.
package campaigns

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/ranker/audience"
)

// Campaign is what a caller asks for.
type Campaign struct {
	ID       string `json:"id"`
	Title    string `json:"title,omitempty"`
	Target   Target `json:"target"`
	Audience string `json:"audience,omitempty"` // an extra audience rule every target must match
	// MaxTargets is the most users selected. Default 10,000
	// (Config.Campaigns); at most 1,000,000.
	MaxTargets int `json:"max_targets"`
	// MinScore is the lowest propensity (0..1) selected. Default 0.
	MinScore float64   `json:"min_score"`
	StartsAt time.Time `json:"starts_at"` // default: now
	EndsAt   time.Time `json:"ends_at"`   // default: StartsAt + 7 days (Config.Campaigns)
	Caps     Caps      `json:"caps"`
	// QuietHours are local times no push may be sent at. Default
	// 22:00-08:00 (Config.Campaigns); {"start": "00:00", "end": "00:00"}
	// for none.
	QuietHours *Window `json:"quiet_hours,omitempty"`
	// SendWindow are the local times pushes are sent in. Default
	// 09:00-21:00 (Config.Campaigns); equal start and end for the whole
	// day.
	SendWindow *Window   `json:"send_window,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// Target says what the campaign promotes: exactly one field is set.
type Target struct {
	ItemID   string `json:"item_id,omitempty"`
	Category string `json:"category,omitempty"`
	Brand    string `json:"brand,omitempty"`
	Rule     string `json:"rule,omitempty"` // an audience rule: users matching it are the target
}

// Caps limit pushes to a user across all campaigns, in rolling windows.
// Zero means no cap; a campaign with no caps at all takes the defaults
// (Config.Campaigns: 1 a day).
type Caps struct {
	PerDay  int `json:"per_day"`  // in any 24 hours
	PerWeek int `json:"per_week"` // in any 7 days
}

// CapsText is Caps read from and printed as text, for flags and
// environment variables: "per_day=1,per_week=0". (Caps itself stays a JSON
// object in campaigns.)
type CapsText Caps

// MarshalText writes both caps: "per_day=1,per_week=0".
func (c CapsText) MarshalText() ([]byte, error) {
	return fmt.Appendf(nil, "per_day=%d,per_week=%d", c.PerDay, c.PerWeek), nil
}

// UnmarshalText reads per_day=N and per_week=N, comma-separated; a cap left
// out keeps its value.
func (c *CapsText) UnmarshalText(b []byte) error {
	v := *c
	for _, kv := range strings.Split(string(b), ",") {
		k, n, _ := strings.Cut(strings.TrimSpace(kv), "=")
		i, err := strconv.Atoi(n)
		if err != nil || i < 0 || (k != "per_day" && k != "per_week") {
			return fmt.Errorf("%q is not per_day=N,per_week=N", b)
		}
		if k == "per_day" {
			v.PerDay = i
		} else {
			v.PerWeek = i
		}
	}
	*c = v
	return nil
}

// Window is a span of local time of day, "HH:MM" to "HH:MM"; it may cross
// midnight.
type Window struct {
	Start string `json:"start"`
	End   string `json:"end"`

	start, end int // minutes of the day
}

// contains reports whether minute m of the day is in the window; an empty
// window (start == end) contains every minute when all is true, none
// otherwise.
func (w *Window) contains(m int, all bool) bool {
	switch {
	case w.start == w.end:
		return all
	case w.start < w.end:
		return m >= w.start && m < w.end
	default:
		return m >= w.start || m < w.end
	}
}

func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 || (hh == 24 && mm != 0) || len(m) != 2 {
		return 0, fmt.Errorf("%q is not a time of day HH:MM", s)
	}
	return hh*60 + mm, nil // 24:00 is 1440, the end of the day
}

// WindowText is a Window read from and printed as text, for flags and
// environment variables: "22:00-08:00". (Window itself stays a JSON object
// in campaigns.)
type WindowText Window

// MarshalText writes the window as HH:MM-HH:MM.
func (w WindowText) MarshalText() ([]byte, error) { return []byte(w.Start + "-" + w.End), nil }

// UnmarshalText reads HH:MM-HH:MM.
func (w *WindowText) UnmarshalText(b []byte) error {
	start, end, ok := strings.Cut(string(b), "-")
	if !ok {
		return fmt.Errorf("%q is not a window HH:MM-HH:MM", b)
	}
	v := Window{Start: start, End: end}
	if err := v.parse("window"); err != nil {
		return fmt.Errorf("%q is not a window HH:MM-HH:MM: %w", b, err)
	}
	*w = WindowText{Start: start, End: end}
	return nil
}

func (w *Window) parse(field string) error {
	var err error
	if w.start, err = parseClock(w.Start); err != nil {
		return &features.FieldError{Field: field + ".start", Reason: err.Error()}
	}
	w.start %= 24 * 60 // a start at 24:00 is midnight
	if w.end, err = parseClock(w.End); err != nil {
		return &features.FieldError{Field: field + ".end", Reason: err.Error()}
	}
	return nil
}

var campaignID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// MaxMaxTargets is the most targets a campaign may ask for.
const MaxMaxTargets = 1_000_000

func fieldErr(field, format string, args ...any) error {
	return &features.FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// prepare fills defaults and validates c at now; errors are
// *features.FieldError naming the field. It returns the parsed rules.
func (c *Campaign) prepare(now time.Time, d CampaignDefaults) (target, audienceRule *audience.Rule, err error) {
	if !campaignID.MatchString(c.ID) {
		return nil, nil, fieldErr("id", "must be 1 to 128 letters, digits, '.', '_' or '-'")
	}
	if len(c.Title) > 512 {
		return nil, nil, fieldErr("title", "is longer than 512 bytes")
	}
	set := 0
	for _, v := range []string{c.Target.ItemID, c.Target.Category, c.Target.Brand, c.Target.Rule} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		return nil, nil, fieldErr("target", "must have exactly one of item_id, category, brand, rule")
	}
	if len(c.Target.ItemID) > features.MaxIDLen || len(c.Target.Category) > features.MaxIDLen || len(c.Target.Brand) > features.MaxIDLen {
		return nil, nil, fieldErr("target", "names an item, category or brand longer than %d bytes", features.MaxIDLen)
	}
	if c.Target.Rule != "" {
		if target, err = audience.ParseRule(c.Target.Rule); err != nil {
			return nil, nil, fieldErr("target.rule", "%v", err)
		}
	}
	if c.Audience != "" {
		if audienceRule, err = audience.ParseRule(c.Audience); err != nil {
			return nil, nil, fieldErr("audience", "%v", err)
		}
	}
	if c.MaxTargets == 0 {
		c.MaxTargets = d.MaxTargets
	}
	if c.MaxTargets < 1 || c.MaxTargets > MaxMaxTargets {
		return nil, nil, fieldErr("max_targets", "must be from 1 to %d", MaxMaxTargets)
	}
	if math.IsNaN(c.MinScore) || c.MinScore < 0 || c.MinScore > 1 {
		return nil, nil, fieldErr("min_score", "must be from 0 to 1")
	}
	if c.StartsAt.IsZero() {
		c.StartsAt = now
	}
	if c.EndsAt.IsZero() {
		c.EndsAt = c.StartsAt.Add(d.Duration)
	}
	if !c.EndsAt.After(c.StartsAt) {
		return nil, nil, fieldErr("ends_at", "must be after starts_at")
	}
	if !c.EndsAt.After(now) {
		return nil, nil, fieldErr("ends_at", "is in the past")
	}
	if c.EndsAt.Sub(c.StartsAt) > 366*24*time.Hour {
		return nil, nil, fieldErr("ends_at", "is more than a year after starts_at")
	}
	if c.Caps.PerDay < 0 || c.Caps.PerWeek < 0 {
		return nil, nil, fieldErr("caps", "must not be negative")
	}
	if c.Caps == (Caps{}) {
		c.Caps = Caps(d.Caps)
	}
	if c.QuietHours == nil {
		q := Window(d.QuietHours)
		c.QuietHours = &q
	}
	if err := c.QuietHours.parse("quiet_hours"); err != nil {
		return nil, nil, err
	}
	if c.SendWindow == nil {
		w := Window(d.SendWindow)
		c.SendWindow = &w
	}
	if err := c.SendWindow.parse("send_window"); err != nil {
		return nil, nil, err
	}
	allowed := false
	for m := 0; m < 24*60; m++ {
		if c.allowed(m) {
			allowed = true
			break
		}
	}
	if !allowed {
		return nil, nil, fieldErr("send_window", "leaves no time outside the quiet hours")
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	return target, audienceRule, nil
}

// allowed reports whether pushes may go out at minute m of a user's day.
func (c *Campaign) allowed(m int) bool {
	return c.SendWindow.contains(m, true) && !c.QuietHours.contains(m, false)
}

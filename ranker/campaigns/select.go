package campaigns

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/ranker/audience"
)

// ItemSource looks up catalogue entries; state.Catalogue satisfies it.
type ItemSource interface {
	Get(id string) *features.Item
}

// plan is a campaign compiled for scoring.
type plan struct {
	c          *Campaign
	target     *audience.Rule
	audience   *audience.Rule
	nameID     uint16 // category or brand target
	item       uint32 // item target, by hash
	itemCat    uint16 // the item's category and brand
	itemBrand  uint16
	repeatable bool
	now        time.Time

	first [24]int // the first allowed minute of each hour of the day, -1 if none
	order [24]int // the hours of the day from the start of the send window
}

// compile precomputes what sendAt needs of the campaign's windows.
func (p *plan) compile() {
	for h := 0; h < 24; h++ {
		p.first[h] = -1
		for m := h * 60; m < (h+1)*60; m++ {
			if p.c.allowed(m) {
				p.first[h] = m
				break
			}
		}
	}
	start := p.c.SendWindow.start / 60
	for i := range p.order {
		p.order[i] = (start + i) % 24
	}
}

// bestHour returns the allowed local hour the user is most active in (ties:
// the earliest in the send window), or -1 if no hour is allowed.
func (p *plan) bestHour(c *audience.Candidate) int {
	best, bestAct := -1, -1
	for _, h := range p.order {
		if p.first[h] < 0 {
			continue
		}
		a := 0
		if act, ok := c.HourActivity(h); ok {
			a = int(act)
		}
		if a > bestAct {
			best, bestAct = h, a
		}
	}
	return best
}

// Selected is one chosen user.
type Selected struct {
	User   string
	Score  float64
	SendAt time.Time
	TZ     string
}

// intentScore is the propensity an item target gets from the user's
// strongest recent action on it: none, view, click, cart, purchase (of a
// repeatable item).
var intentScore = [5]float64{0, 0.5, 0.65, 0.9, 0.8}

// score returns the user's propensity for the campaign, in 0..1, and
// whether the user is eligible at all. It is documented in docs/design.md:
//
//	0.6 · interest + 0.2 · activity + 0.2 · responsiveness
//
// interest: the affinity for the target category or brand (relative to the
// user's strongest, must be positive), or for an item the strongest recent
// action on it or else the affinity for its category and brand; 0.5 for a
// rule target. Affinities saturate: interest = 1 − 2^(−affinity/4), with
// affinity in event-weight units (a view is 1, a purchase 8) decayed to now,
// so a dozen recent views make a keen user and one old view a faint one.
// activity: 2^(-days since the latest event / 14).
// responsiveness: decayed opens over sends, prior one in two.
func (p *plan) score(c *audience.Candidate) (float64, bool) {
	if c.OptedOut() {
		return 0, false
	}
	now := p.now.UnixMilli()
	var interest float64
	switch {
	case p.c.Target.Rule != "":
		if !c.Match(p.target, p.now) {
			return 0, false
		}
		interest = 0.5
	case p.c.Target.ItemID != "":
		if p.nameID == 0 && p.item == 0 {
			return 0, false
		}
		if c.Dismissed(p.item) || (!p.repeatable && c.Bought(p.item)) {
			return 0, false
		}
		i := c.Intent(p.item)
		if i == 4 && !p.repeatable {
			return 0, false
		}
		interest = max(intentScore[i], 0.5*saturate(c.Affinity(p.itemCat, now))+0.25*saturate(c.Affinity(p.itemBrand, now)))
		if interest <= 0 {
			return 0, false
		}
	default:
		interest = saturate(c.Affinity(p.nameID, now))
		if interest <= 0 {
			return 0, false
		}
	}
	if p.audience != nil && !c.Match(p.audience, p.now) {
		return 0, false
	}
	if capped(c, p.c.Caps, now) {
		return 0, false
	}
	days := float64(now-c.LastSeen()) / (24 * 3600 * 1000)
	activity := math.Exp2(-max(days, 0) / 14)
	return 0.6*interest + 0.2*activity + 0.2*c.Responsiveness(now), true
}

// saturate maps an affinity (event-weight units) to 0..1; negative stays
// negative.
func saturate(a float64) float64 {
	if a <= 0 {
		return a
	}
	return 1 - math.Exp2(-a/4)
}

// capped reports whether another push now would break the caps.
func capped(c *audience.Candidate, caps Caps, now int64) bool {
	return (caps.PerDay > 0 && c.SentWithin(now, 24*time.Hour) >= caps.PerDay) ||
		(caps.PerWeek > 0 && c.SentWithin(now, 7*24*time.Hour) >= caps.PerWeek)
}

// sendAt returns when to push to the user: the next time, from from on and
// before the campaign ends, at the user's most active local hour among the
// hours the campaign allows (the first allowed minute of that hour), or
// false if there is none. Local times come from the user's zone, so
// daylight-saving changes move the instant, not the local hour; on a day
// the local time does not exist (spring forward) the push goes the next day.
func (p *plan) sendAt(c *audience.Candidate, from time.Time) (time.Time, bool) {
	return p.sendAtHour(c.Location(), p.bestHour(c), from)
}

// sendAtHour is sendAt for a zone and a preferred hour.
func (p *plan) sendAtHour(loc *time.Location, best int, from time.Time) (time.Time, bool) {
	if best < 0 {
		return time.Time{}, false
	}
	m := p.first[best]
	local := from.In(loc)
	for d := 0; d < 9; d++ {
		t := time.Date(local.Year(), local.Month(), local.Day()+d, m/60, m%60, 0, 0, loc)
		if lt := t.In(loc); lt.Hour()*60+lt.Minute() != m {
			continue // that local time does not exist on that day (daylight saving)
		}
		if t.Before(from) {
			continue
		}
		if !t.Before(p.c.EndsAt) {
			return time.Time{}, false
		}
		return t, true
	}
	return time.Time{}, false
}

// candidate is a selected user waiting for a send time.
type candidate struct {
	score float64
	user  string
	loc   *time.Location
	hour  int
}

// topK is a min-heap of the best candidates: topK[0] is the weakest kept.
type topK []candidate

// worse orders candidates: lower score, then the larger id, is worse.
func worse(a, b *candidate) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return a.user > b.user
}

// offer keeps c if it is among the k best seen.
func (h *topK) offer(c candidate, k int) {
	q := *h
	if len(q) < k {
		q = append(q, c)
		for i := len(q) - 1; i > 0; { // sift up
			parent := (i - 1) / 2
			if !worse(&q[i], &q[parent]) {
				break
			}
			q[i], q[parent] = q[parent], q[i]
			i = parent
		}
		*h = q
		return
	}
	if !worse(&q[0], &c) {
		return
	}
	q[0] = c
	for i := 0; ; { // sift down
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(q) && worse(&q[l], &q[m]) {
			m = l
		}
		if r < len(q) && worse(&q[r], &q[m]) {
			m = r
		}
		if m == i {
			break
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
}

// selectTargets scores every user with workers goroutines and returns the
// best, with their send times, best first.
func selectTargets(t *audience.Table, p *plan, workers int) []Selected {
	p.compile()
	// A margin over MaxTargets for users left without a send time.
	k := p.c.MaxTargets + p.c.MaxTargets/5 + 100
	heaps := make([]topK, max(workers, 1))
	for i := range heaps {
		heaps[i] = make(topK, 0, min(k, t.Len()/max(workers, 1)+1))
	}
	t.Each(workers, func(w int, c *audience.Candidate) {
		s, ok := p.score(c)
		if !ok || s < p.c.MinScore {
			return
		}
		h := &heaps[w]
		cand := candidate{score: s, user: c.ID}
		if len(*h) == k && !worse(&(*h)[0], &cand) {
			return // would not make it: skip the hour and zone
		}
		cand.loc, cand.hour = c.Location(), p.bestHour(c)
		h.offer(cand, k)
	})
	var all []candidate
	for _, h := range heaps {
		all = append(all, h...)
	}
	slices.SortFunc(all, func(a, b candidate) int {
		if a.score != b.score {
			if a.score > b.score {
				return -1
			}
			return 1
		}
		return strings.Compare(a.user, b.user)
	})
	from := p.now
	if p.c.StartsAt.After(from) {
		from = p.c.StartsAt
	}
	out := make([]Selected, 0, min(len(all), p.c.MaxTargets))
	for _, cand := range all {
		if len(out) == p.c.MaxTargets {
			break
		}
		if at, ok := p.sendAtHour(cand.loc, cand.hour, from); ok {
			out = append(out, Selected{User: cand.user, Score: cand.score, SendAt: at, TZ: cand.loc.String()})
		}
	}
	return out
}

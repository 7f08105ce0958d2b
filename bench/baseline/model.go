package baseline

import (
	"time"

	"github.com/stickyhq/sticky/features"
)

// Redis keys of the data model (see the package doc).
func userKey(u string) string      { return "u:" + u }
func catKey(u string) string       { return "u:" + u + ":cat" }
func brandKey(u string) string     { return "u:" + u + ":brand" }
func recentKey(u string) string    { return "u:" + u + ":recent" }
func boughtKey(u string) string    { return "u:" + u + ":bought" }
func dismissedKey(u string) string { return "u:" + u + ":dismissed" }
func coKey(item string) string     { return "co:" + item }
func catPopKey(cat string) string  { return "pop:" + cat }

const popKey = "pop"

// Co-occurrence and reading limits, shared by the consumer, the service
// and Memory so that they agree.
const (
	coocSeeds       = 3  // recent items an event pairs with, and the service reads neighbours of
	topCategories   = 3  // categories whose popular items are candidates
	neighboursRead  = 20 // ZREVRANGE co:<item> 0 19
	catPopularRead  = 20 // ZREVRANGE pop:<cat> 0 19
	globalPopularRd = 50 // ZREVRANGE pop 0 49
)

// weights are the event types' weights, as Sticky's fold uses them.
var weights = features.DefaultConfig().Weights

// writer receives the updates one event makes. The consumer turns them into
// commands of a Redis pipeline; Memory applies them to its maps.
type writer interface {
	touch(user string, ts time.Time, device, region string)
	affinity(user string, brand bool, name string, w float64) // category (brand false) or brand
	pushRecent(user, item string)
	bought(user, item string)
	dismissed(user, item string)
	pop(item, category string, w float64) // category "" when unknown
	cooc(a, b string)
}

// fold sends the updates of ev to out. prev holds the user's most recent
// items before ev, most recent first (at least the first coocSeeds entries
// of the recent list, if it has them). It reports whether ev pushed its item
// onto the recent list.
func fold(ev *features.Event, cat Catalogue, prev []string, out writer) bool {
	out.touch(ev.UserID, ev.Time, ev.Context.Device, ev.Context.Region)
	if ev.ItemID == "" {
		return false
	}
	w := weights[ev.Type]
	it, known := cat.Lookup(ev.ItemID)
	if w != 0 && known {
		if it.Category != "" {
			out.affinity(ev.UserID, false, it.Category, w)
		}
		if it.Brand != "" {
			out.affinity(ev.UserID, true, it.Brand, w)
		}
	}
	switch ev.Type {
	case features.TypePurchase:
		out.bought(ev.UserID, ev.ItemID)
	case features.TypeDismiss:
		out.dismissed(ev.UserID, ev.ItemID)
	}
	if w <= 0 {
		return false
	}
	category := ""
	if known {
		category = it.Category
	}
	out.pop(ev.ItemID, category, w)
	for _, p := range seeds(prev, ev.ItemID) {
		out.cooc(p, ev.ItemID)
	}
	out.pushRecent(ev.UserID, ev.ItemID)
	return true
}

// seeds returns the distinct items among the first coocSeeds entries of
// recent (most recent first), leaving out skip.
func seeds(recent []string, skip string) []string {
	out := make([]string, 0, coocSeeds)
	for i, id := range recent {
		if i == coocSeeds {
			break
		}
		if id == skip || contains(out, id) {
			continue
		}
		out = append(out, id)
	}
	return out
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// pushFront returns recent with item in front, at most n long, reusing
// recent's array when it can.
func pushFront(recent []string, item string, n int) []string {
	if len(recent) < n {
		recent = append(recent, "")
	}
	copy(recent[1:], recent)
	recent[0] = item
	return recent
}

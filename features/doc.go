// Package features holds Sticky's pure feature logic: the event and catalogue
// types with their validation, and the fold of one event into a user's
// feature vector (User) and, through the item deltas it yields, into item
// statistics (ItemStats).
//
// Everything here is deterministic given its inputs: no clock, no I/O, no
// goroutines. The write path takes time from the event (Event.Time); the read
// path takes it from the caller. Decay is exact at read time because every
// decayed value carries the time of its last update (see Decayed), so folding
// the same events in the same order always gives the same bytes, however the
// events were batched.
//
// A typical write path: FoldUser changes the user vector in place, appends
// the event's item deltas (popularity, co-occurrence pairs) to d and reports
// whether it applied the event (false: a duplicate event id, nothing changed);
// ApplyDeltas then applies the deltas to the item statistics.
//
//	f := features.NewExtractor(features.DefaultConfig())
//	var d features.Deltas
//	applied := f.FoldUser(&user, &ev, item, &d)
//	f.ApplyDeltas(&d, func(id string) *features.ItemStats { return stats[id] })
//
// The package must not import Kafka, Badger, Prometheus or net/http.
package features

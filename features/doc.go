// Package features holds Sticky's pure feature logic: the event and catalogue
// types with their validation, and the fold of one event into a user's
// feature vector (User) and into item statistics (ItemStats).
//
// Everything here is deterministic given its inputs: no clock, no I/O, no
// goroutines. The write path takes time from the event (Event.Time); the read
// path takes it from the caller. Decay is exact at read time because every
// decayed value carries the time of its last update (see Decayed), so folding
// the same events in the same order always gives the same bytes, however the
// events were batched.
//
// A typical write path:
//
//	f := features.NewFolder(features.DefaultConfig())
//	var d features.Deltas
//	dup := f.FoldUser(&user, &ev, item, &d) // user vector, in place
//	for _, p := range d.Pops {
//		stats[p.Item].ApplyPop(p, f) // popularity, trending, buckets
//	}
//	for _, p := range d.Pairs {
//		stats[p.A].ApplyPair(p.B, p.W, p.At, f) // co-occurrence
//		stats[p.B].ApplyPair(p.A, p.W, p.At, f)
//	}
//
// The package must not import Kafka, Badger, Prometheus or net/http.
package features

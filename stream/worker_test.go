package stream

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestGatherJoinsQueuedFetches: the records queued behind a fetch join its
// batch, in offset order, up to BatchEvents; the rest stay queued.
func TestGatherJoinsQueuedFetches(t *testing.T) {
	recs := func(from, n int) []*kgo.Record {
		out := make([]*kgo.Record, n)
		for i := range out {
			out[i] = &kgo.Record{Offset: int64(from + i)}
		}
		return out
	}
	cfg := DefaultConfig()
	cfg.BatchEvents = 10
	w := &worker{c: &Consumer{cfg: cfg}, recs: make(chan []*kgo.Record, 4)}

	if got := w.gather(recs(0, 3)); len(got) != 3 {
		t.Fatalf("nothing queued: got %d records, want the fetch's 3", len(got))
	}
	w.recs <- recs(3, 4)
	w.recs <- recs(7, 4)
	w.recs <- recs(11, 2)
	got := w.gather(recs(0, 3))
	if len(got) != 11 {
		t.Fatalf("got %d records, want 11: the fetch and two queued ones, stopping once BatchEvents (10) is reached", len(got))
	}
	for i, r := range got {
		if r.Offset != int64(i) {
			t.Fatalf("record %d has offset %d: order lost", i, r.Offset)
		}
	}
	if len(w.recs) != 1 {
		t.Fatalf("%d fetches left queued, want 1", len(w.recs))
	}
	if got := w.gather(recs(20, 12)); len(got) != 12 || len(w.recs) != 1 {
		t.Fatalf("a fetch of BatchEvents or more: got %d records with %d fetches queued, want it alone", len(got), len(w.recs))
	}

	// A queued fetch that overlaps the records before it (a re-delivery)
	// joins from where they end: no record twice in a batch.
	w = &worker{c: &Consumer{cfg: cfg}, recs: make(chan []*kgo.Record, 4)}
	w.recs <- recs(2, 5)
	got = w.gather(recs(0, 4))
	if len(got) != 7 {
		t.Fatalf("overlapping fetches 0-3 and 2-6: got %d records, want 7", len(got))
	}
	for i, r := range got {
		if r.Offset != int64(i) {
			t.Fatalf("record %d has offset %d: a record twice or out of order", i, r.Offset)
		}
	}
}

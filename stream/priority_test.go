package stream_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/internal/priority"
)

// overlapSink records how many batches were being published at once.
type overlapSink struct {
	now, most atomic.Int32
	batches   atomic.Int32
}

func (*overlapSink) Flushed([]*features.User) {}

func (s *overlapSink) Applied([]*features.User, *features.Deltas) {
	n := s.now.Add(1)
	for m := s.most.Load(); n > m && !s.most.CompareAndSwap(m, n); m = s.most.Load() {
	}
	time.Sleep(30 * time.Millisecond) // a slow batch: long enough for others to overlap it
	s.batches.Add(1)
	s.now.Add(-1)
}

// TestWorkersGiveWayToRequests holds an API request in flight while four
// partitions' events arrive: each batch waits YieldMax for it, and the
// workers apply one batch at a time. Once the request leaves, a batch is
// applied without waiting.
func TestWorkersGiveWayToRequests(t *testing.T) {
	h := newHarness(t, 4)
	const yieldMax = 300 * time.Millisecond
	h.cfg.YieldMax = yieldMax
	h.priority = &priority.Gate{}
	sink := &overlapSink{}
	h.sink = sink
	var recs []*kgo.Record
	for i := 0; i < 40; i++ {
		u := fmt.Sprintf("u%d", i)
		recs = append(recs, &kgo.Record{Key: []byte(u), Value: []byte(fmt.Sprintf(
			`{"user_id":%q,"type":"view","item_id":"i%d","ts":"2026-11-23T10:%02d:00Z"}`, u, i%7, i))})
	}
	h.priority.Enter() // a request in flight throughout
	h.produce(recs...)
	start := time.Now()
	_, stop := h.run("g")
	h.waitApplied()
	took := time.Since(start)
	if m := sink.most.Load(); m != 1 {
		t.Errorf("%d batches were applied at once while a request was in flight, want 1", m)
	}
	waited, waits := h.priority.Waited()
	if waits == 0 || waited < yieldMax {
		t.Errorf("workers waited %v in %d waits for the request in flight, want at least one wait of %v", waited, waits, yieldMax)
	}
	if took < yieldMax {
		t.Errorf("the events were applied %v after the start, before the %v a batch waits for a request", took, yieldMax)
	}

	// The request leaves: the next batch does not wait.
	h.priority.Leave()
	_, before := h.priority.Waited()
	h.produce(&kgo.Record{Key: []byte("u1"), Value: []byte(`{"user_id":"u1","type":"view","item_id":"i9","ts":"2026-11-23T11:00:00Z"}`)})
	h.waitApplied()
	if _, after := h.priority.Waited(); after != before {
		t.Errorf("a batch waited with no request in flight (%d waits, %d before)", after, before)
	}
	stop()
}

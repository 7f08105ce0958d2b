package stream_test

import (
	"fmt"
	"testing"
	"time"
)

// TestFrequentItemCheckpointsKeepStateExact runs the restart and rebalance
// of the exactly-once tests with a checkpoint of the item shares every two
// batches, so that shares and delta records alternate all through the log:
// the state still equals a single fold of it, and no delta record is left
// once the consumers have stopped (the store reads without a fold).
func TestFrequentItemCheckpointsKeepStateExact(t *testing.T) {
	h := newHarness(t, 4)
	h.cfg.CheckpointBatches = 2
	evs := shop(t, h)
	third := len(evs) / 3
	h.produce(eventRecords(evs[:third])...)

	h.obs.slow.Store(int64(10 * time.Millisecond))
	_, stop := h.run("first")
	waitFor(t, 30*time.Second, func() error {
		if n := h.obs.applied.Load(); n < 200 {
			return fmt.Errorf("%d applied", n)
		}
		return nil
	})
	stop() // mid-stream
	h.obs.slow.Store(0)

	a, stopA := h.run("group")
	h.produce(eventRecords(evs[third : 2*third])...)
	b, stopB := h.run("group")
	waitFor(t, 60*time.Second, func() error {
		na, nb := len(a.Status().Partitions), len(b.Status().Partitions)
		if na == 0 || nb == 0 || na+nb != 4 {
			return fmt.Errorf("a holds %d partitions, b %d", na, nb)
		}
		return nil
	})
	h.produce(eventRecords(evs[2*third:])...)
	h.waitApplied()
	stopA()
	stopB()
	if h.store.Stats().Checkpoints < 10 {
		t.Fatalf("only %d item checkpoints", h.store.Stats().Checkpoints)
	}
	h.assertStateEqualsReference()
}

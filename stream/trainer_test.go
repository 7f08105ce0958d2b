package stream_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/stream"
)

// countingTrainer's shares count the events they trained on: 8 bytes, the
// count, big endian.
type countingTrainer struct {
	mu        sync.Mutex
	committed map[int32]uint64
	loaded    map[int32]uint64 // the first share each partition loaded
}

// countingShare counts its learning steps too (stream.StepCounter): the
// worker keeps it from batch to batch and republishes it only when a
// batch trained it.
type countingShare struct{ n, steps uint64 }

func (s *countingShare) Steps() uint64 { return s.steps }

func (t *countingTrainer) Share(data []byte) (stream.TrainerShare, error) {
	switch len(data) {
	case 0:
		return &countingShare{}, nil
	case 8:
		return &countingShare{n: binary.BigEndian.Uint64(data)}, nil
	}
	return nil, errors.New("bad share")
}

func (t *countingTrainer) Committed(p int32, data []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var n uint64
	if len(data) == 8 {
		n = binary.BigEndian.Uint64(data)
	}
	if _, ok := t.loaded[p]; !ok {
		t.loaded[p] = n
	}
	t.committed[p] = n
}

func (s *countingShare) Train(u *features.User, ev *features.Event) {
	if !u.SeenEvent(ev.ID) {
		s.n++
		s.steps++
	}
}

func (s *countingShare) AppendBinary(dst []byte) []byte {
	return binary.BigEndian.AppendUint64(dst, s.n)
}

// TestTrainerShareCommitsWithOffset stops the consumer mid-stream and
// restarts it with a new trainer: each partition must resume from the
// share stored with its offset (not from zero), and in the end the shares
// must have trained on every applied event exactly once, re-sent event ids
// and re-deliveries included.
func TestTrainerShareCommitsWithOffset(t *testing.T) {
	h := newHarness(t, 4)
	evs := shop(t, h)
	half := len(evs) / 2
	h.produce(eventRecords(evs[:half])...)

	first := &countingTrainer{committed: map[int32]uint64{}, loaded: map[int32]uint64{}}
	h.trainer = first
	h.obs.slow.Store(int64(20 * time.Millisecond))
	_, stop := h.run("first")
	waitFor(t, 30*time.Second, func() error {
		if n := h.obs.applied.Load(); n < 200 {
			return fmt.Errorf("%d applied", n)
		}
		return nil
	})
	stop()
	h.obs.slow.Store(0)
	var stored uint64
	for p := range int32(4) {
		b, err := h.store.Model(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 8 {
			stored += binary.BigEndian.Uint64(b)
		}
	}
	if stored == 0 || stored != uint64(h.obs.applied.Load()) {
		t.Fatalf("stored shares trained on %d events, %d applied", stored, h.obs.applied.Load())
	}

	h.produce(eventRecords(evs[half:])...)
	h.produce(eventRecords(evs[half : half+50])...) // same event ids again
	second := &countingTrainer{committed: map[int32]uint64{}, loaded: map[int32]uint64{}}
	h.trainer = second
	_, stop = h.run("second")
	h.waitApplied()
	stop()
	var resumed, total uint64
	for p := range int32(4) {
		resumed += second.loaded[p]
		total += second.committed[p]
	}
	if resumed != stored {
		t.Fatalf("the restart loaded shares of %d events, %d were stored", resumed, stored)
	}
	if total != uint64(h.obs.applied.Load()) {
		t.Fatalf("shares trained on %d events, %d applied: some trained twice or not at all", total, h.obs.applied.Load())
	}
	h.assertStateEqualsReference()
}

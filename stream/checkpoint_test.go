package stream

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stickyhq/sticky/bench/synth"
	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/internal/bytesize"
	"github.com/stickyhq/sticky/state"
)

// itemsFixture is a partition's records and what the item shares must be
// after any prefix of them: one event at a time, each event's deltas
// applied at once, as the exactly-once tests' reference fold does.
type itemsFixture struct {
	recs []*kgo.Record
	f    *features.Extractor
	cat  *state.Catalogue
}

func newItemsFixture(t *testing.T, users, days int) *itemsFixture {
	t.Helper()
	w := synth.New(synth.Config{Seed: 9, Users: users, Items: 300})
	evs := w.History(days, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC))
	if len(evs) < 1000 {
		t.Fatalf("only %d events", len(evs))
	}
	fx := &itemsFixture{f: features.NewExtractor(features.DefaultConfig()), cat: state.NewCatalogue()}
	fx.cat.Apply(w.Items, nil)
	for i := range evs {
		fx.recs = append(fx.recs, &kgo.Record{Key: []byte(evs[i].UserID), Value: AppendEvent(nil, &evs[i]), Offset: int64(i)})
	}
	return fx
}

// fold returns the shares after the records up to offset last.
func (fx *itemsFixture) fold(t *testing.T, last int64) map[string]*features.ItemStats {
	t.Helper()
	users := map[string]*features.User{}
	items := map[string]*features.ItemStats{}
	for _, r := range fx.recs[:last+1] {
		ev, err := DecodeRecord(r, fx.f.Zones(), time.Hour)
		if err != nil {
			continue
		}
		u := users[ev.UserID]
		if u == nil {
			u = &features.User{ID: ev.UserID}
			users[ev.UserID] = u
		}
		var d features.Deltas
		var it *features.Item
		if ev.ItemID != "" {
			it = fx.cat.Get(ev.ItemID)
		}
		fx.f.FoldUser(u, &ev, it, &d)
		fx.f.ApplyDeltas(&d, func(id string) *features.ItemStats {
			if items[id] == nil {
				items[id] = new(features.ItemStats)
			}
			return items[id]
		})
	}
	return items
}

func (fx *itemsFixture) worker(st *state.Store, mod func(*Config)) *worker {
	cfg := DefaultConfig()
	cfg.EnsureDefaults()
	if mod != nil {
		mod(&cfg)
	}
	c := &Consumer{cfg: cfg, deps: Deps{Store: st, Extractor: fx.f, Catalogue: fx.cat, Observer: NopObserver{}}, log: cfg.Logger}
	return newWorker(c, nil, 0, -1, false)
}

func openTestStore(t *testing.T, dir string, memTable int64) *state.Store {
	t.Helper()
	st, err := state.Open(state.Config{Dir: dir, CacheBytes: 32 << 20, MemTableSize: bytesize.Size(memTable)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// sameShares compares shares byte for byte.
func sameShares(got, want map[string]*features.ItemStats) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d shares, want %d", len(got), len(want))
	}
	for id, w := range want {
		g := got[id]
		if g == nil {
			return fmt.Errorf("no share of %q", id)
		}
		if !bytes.Equal(state.AppendItemStats(nil, g), state.AppendItemStats(nil, w)) {
			return fmt.Errorf("share of %q differs", id)
		}
	}
	return nil
}

func storedShares(st *state.Store, fold state.DeltaFold) (map[string]*features.ItemStats, error) {
	out := map[string]*features.ItemStats{}
	err := st.RecoverItemParts(0, fold, func(item string, s *features.ItemStats) error {
		out[item] = s
		return nil
	})
	return out, err
}

// TestItemSharesRecoverFromCheckpointAndDeltas: a worker applies small
// batches, checkpointing every few, and dies between checkpoints (no
// release); a new worker on the reopened store recovers the shares from the
// checkpoint and the delta records since, equal byte for byte to a single
// fold, carries on, and its final checkpoint leaves no delta record.
func TestItemSharesRecoverFromCheckpointAndDeltas(t *testing.T) {
	fx := newItemsFixture(t, 60, 4)
	dir := t.TempDir()
	st := openTestStore(t, dir, 0)
	few := func(c *Config) { c.CheckpointBatches = 5 }
	w := fx.worker(st, few)
	if err := w.load(); err != nil {
		t.Fatal(err)
	}
	cut := len(fx.recs) * 3 / 5
	for i := 0; i < cut; i += 7 {
		if err := w.apply(fx.recs[i:min(i+7, cut)]); err != nil {
			t.Fatal(err)
		}
	}
	if st.Stats().Checkpoints == 0 || w.pending == 0 {
		t.Fatalf("%d checkpoints, %d batches pending: the crash must fall between checkpoints", st.Stats().Checkpoints, w.pending)
	}
	if err := sameShares(w.items, fx.fold(t, w.last)); err != nil {
		t.Fatalf("the worker's shares: %v", err)
	}
	// The crash: the worker is dropped without its release checkpoint.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openTestStore(t, dir, 0)
	if _, err := storedShares(st, nil); !errors.Is(err, state.ErrPendingDeltas) {
		t.Fatalf("reading without a fold: %v, want ErrPendingDeltas (delta records pending)", err)
	}
	w = fx.worker(st, few)
	if err := w.load(); err != nil {
		t.Fatal(err)
	}
	if w.last != int64(cut-1) {
		t.Fatalf("resumed after %d, want %d", w.last, cut-1)
	}
	if err := sameShares(w.items, fx.fold(t, w.last)); err != nil {
		t.Fatalf("recovered shares: %v", err)
	}
	if w.pending == 0 || len(w.dirty) == 0 {
		t.Fatalf("recovery replayed %d records dirtying %d items: the next checkpoint must cover them", w.pending, len(w.dirty))
	}
	for i := cut; i < len(fx.recs); i += 3 {
		if err := w.apply(fx.recs[i:min(i+3, len(fx.recs))]); err != nil {
			t.Fatal(err)
		}
	}
	want := fx.fold(t, int64(len(fx.recs)-1))
	if err := sameShares(w.items, want); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
	got, err := storedShares(st, fx.f.ApplyDeltas)
	if err != nil {
		t.Fatal(err)
	}
	if err := sameShares(got, want); err != nil {
		t.Fatalf("stored after the restart: %v", err)
	}
	if err := w.checkpoint(); err != nil {
		t.Fatal(err)
	}
	got, err = storedShares(st, nil) // no fold: fails if any record is left
	if err != nil {
		t.Fatal(err)
	}
	if err := sameShares(got, want); err != nil {
		t.Fatalf("stored after the final checkpoint: %v", err)
	}
}

// TestFailedBatchAppliesItemDeltasOnce: a batch too big for one transaction
// fails, changing nothing the worker keeps, and is split in two; each half
// commits and applies its deltas once. The run loop's release checkpoint
// then covers every record.
func TestFailedBatchAppliesItemDeltasOnce(t *testing.T) {
	fx := newItemsFixture(t, 400, 1)
	st := openTestStore(t, t.TempDir(), 1<<19) // about 80 KiB per transaction
	w := fx.worker(st, nil)
	if err := w.load(); err != nil {
		t.Fatal(err)
	}
	if err := w.apply(fx.recs[:50]); err != nil {
		t.Fatal(err)
	}
	before := map[string][]byte{}
	for id, s := range w.items {
		before[id] = state.AppendItemStats(nil, s)
	}
	pending, commits := w.pending, st.Stats().Commits
	big := fx.recs[50:]
	if err := w.apply(big); !errors.Is(err, state.ErrBatchTooBig) {
		t.Fatalf("applying %d records at once: %v, want ErrBatchTooBig", len(big), err)
	}
	if w.last != 49 || w.pending != pending || len(w.items) != len(before) {
		t.Fatalf("a failed batch changed the worker: last %d, %d pending, %d items", w.last, w.pending, len(w.items))
	}
	for id, s := range w.items {
		if !bytes.Equal(before[id], state.AppendItemStats(nil, s)) {
			t.Fatalf("a failed batch changed the share of %q", id)
		}
	}
	if !w.applyRetrying(big) {
		t.Fatal("applyRetrying gave up")
	}
	if n := st.Stats().Commits - commits; n < 2 {
		t.Fatalf("%d commits for a batch too big for one", n)
	}
	// The batches that follow are cut to what fitted, not folded twice.
	if w.batchMax <= 0 || w.batchMax >= len(big) {
		t.Fatalf("after a split of %d records the worker still batches %d", len(big), w.batchMax)
	}
	want := fx.fold(t, int64(len(fx.recs)-1))
	if err := sameShares(w.items, want); err != nil {
		t.Fatal(err)
	}
	// Stop the worker through its run loop: the release checkpoints.
	go w.run()
	close(w.quit)
	<-w.done
	got, err := storedShares(st, nil)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	if err := sameShares(got, want); err != nil {
		t.Fatalf("stored after release: %v", err)
	}
}

package stream

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
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
	_, items := fx.foldAll(t, last)
	return items
}

// foldAll returns the users and the shares after the records up to offset
// last.
func (fx *itemsFixture) foldAll(t *testing.T, last int64) (map[string]*features.User, map[string]*features.ItemStats) {
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
	return users, items
}

// sameUsers compares the stored users with want, byte for byte.
func sameUsers(st *state.Store, want map[string]*features.User) error {
	n := 0
	err := st.ScanUsers(func(u *features.User) error {
		n++
		w := want[u.ID]
		if w == nil {
			return fmt.Errorf("user %q is stored but not in the fold", u.ID)
		}
		if !bytes.Equal(state.AppendUser(nil, u), state.AppendUser(nil, w)) {
			return fmt.Errorf("user %q differs: %d events stored, %d folded", u.ID, u.Events, w.Events)
		}
		return nil
	})
	if err == nil && n != len(want) {
		err = fmt.Errorf("%d users stored, %d folded", n, len(want))
	}
	return err
}

// applyAll applies recs in batches of n, each flushed when a flush is due
// (and its checkpoint started, running beside the next batches), then waits
// for the checkpoint running, if any.
func applyAll(t *testing.T, w *worker, recs []*kgo.Record, n int) {
	t.Helper()
	for i := 0; i < len(recs); i += n {
		if err := w.apply(recs[i:min(i+n, len(recs))]); err != nil {
			t.Fatal(err)
		}
		if !w.maybeFlush(time.Now()) {
			t.Fatal("maybeFlush gave up")
		}
	}
	if err := w.checkpointed(true); err != nil {
		t.Fatal(err)
	}
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
	few := func(c *Config) { c.CheckpointBatches, c.FlushInterval = 5, -1 }
	w := fx.worker(st, few)
	if err := w.load(); err != nil {
		t.Fatal(err)
	}
	cut := len(fx.recs) * 3 / 5
	applyAll(t, w, fx.recs[:cut-7], 7)
	// The last batch flushed without maybeFlush: whenever the checkpoints
	// beside the worker ended, its records are pending at the crash.
	if err := w.apply(fx.recs[cut-7 : cut]); err != nil {
		t.Fatal(err)
	}
	if err := w.flush(); err != nil {
		t.Fatal(err)
	}
	if st.Stats().Checkpoints == 0 || w.pending == 0 {
		t.Fatalf("%d checkpoints, %d batches pending: the crash must fall between checkpoints", st.Stats().Checkpoints, w.pending)
	}
	checkShares(t, "before the crash", st, fx.f.ApplyDeltas, fx.fold(t, w.last))
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
	checkShares(t, "recovered", st, fx.f.ApplyDeltas, fx.fold(t, w.last))
	if w.pending == 0 || w.pendingN == 0 {
		t.Fatalf("the worker found %d delta records of %d deltas: the next checkpoint must cover them", w.pending, w.pendingN)
	}
	applyAll(t, w, fx.recs[cut:], 3)
	want := fx.fold(t, int64(len(fx.recs)-1))
	checkShares(t, "after the restart", st, fx.f.ApplyDeltas, want)
	if err := w.checkpoint(); err != nil {
		t.Fatal(err)
	}
	got, err := storedShares(st, nil) // no fold: fails if any record is left
	if err != nil {
		t.Fatal(err)
	}
	if err := sameShares(got, want); err != nil {
		t.Fatalf("stored after the final checkpoint: %v", err)
	}
}

// TestFlushBiggerThanOneTransaction: a flush whose item deltas do not fit
// one transaction writes them as several delta records, cut at event
// boundaries; recovery from them, and the release checkpoint that follows,
// equal a single fold.
func TestFlushBiggerThanOneTransaction(t *testing.T) {
	fx := newItemsFixture(t, 400, 1)
	st := openTestStore(t, t.TempDir(), 1<<19) // about 80 KiB per transaction
	w := fx.worker(st, func(c *Config) { c.FlushInterval, c.FlushUsers, c.FlushDeltas = time.Hour, 1<<20, 1<<30 })
	if err := w.load(); err != nil {
		t.Fatal(err)
	}
	applyAll(t, w, fx.recs, 97)
	if w.unflushed == 0 {
		t.Fatal("flushed before the end: the flush must cover the whole log")
	}
	if err := w.flush(); err != nil {
		t.Fatal(err)
	}
	users, want := fx.foldAll(t, int64(len(fx.recs)-1))
	if err := sameUsers(st, users); err != nil {
		t.Fatal(err)
	}
	// A second worker recovers the shares from the records.
	r := fx.worker(st, nil)
	if err := r.load(); err != nil {
		t.Fatal(err)
	}
	if r.pending < 2 {
		t.Fatalf("%d delta records: the flush did not cut its deltas", r.pending)
	}
	if r.last != int64(len(fx.recs)-1) {
		t.Fatalf("stored offset %d, want %d", r.last, len(fx.recs)-1)
	}
	checkShares(t, "recovered from the records", st, fx.f.ApplyDeltas, want)
	// Stop the worker through its run loop: the release checkpoints.
	go r.run()
	close(r.quit)
	<-r.done
	got, err := storedShares(st, nil)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	if err := sameShares(got, want); err != nil {
		t.Fatalf("stored after release: %v", err)
	}
}

// TestFlushCutShortResumesExactly: a crash in the middle of a flush, after
// its delta records and half of its users were written but before the
// offset, leaves the stored offset behind both. The next worker replays
// from the offset: it skips the events the written users hold and drops
// the item deltas the records hold, and ends equal to a single fold.
func TestFlushCutShortResumesExactly(t *testing.T) {
	fx := newItemsFixture(t, 60, 4)
	dir := t.TempDir()
	st := openTestStore(t, dir, 0)
	w := fx.worker(st, func(c *Config) { c.FlushInterval, c.CheckpointBatches = -1, 4 })
	if err := w.load(); err != nil {
		t.Fatal(err)
	}
	cut1, cut2 := len(fx.recs)*2/5, len(fx.recs)*3/5
	applyAll(t, w, fx.recs[:cut1], 7)
	w.c.cfg.FlushInterval, w.c.cfg.CheckpointBatches = time.Hour, 1<<20
	applyAll(t, w, fx.recs[cut1:cut2], 7)
	if w.unflushed == 0 || len(w.staged) < 4 {
		t.Fatalf("%d batches, %d users unflushed", w.unflushed, len(w.staged))
	}
	// The flush cut short: its records and half its users, and the offset
	// of another topic, not the partition's.
	ids := make([]string, 0, len(w.staged))
	for id := range w.staged {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	err := st.Flush(&state.Flush{Topic: "elsewhere", Partition: 0, Offset: w.last, Users: ids[:len(ids)/2], Deltas: &w.pend, Marks: w.marks})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openTestStore(t, dir, 0)
	// Checkpoints every few batches, while it replays too.
	w = fx.worker(st, func(c *Config) { c.FlushInterval, c.CheckpointBatches = -1, 1 })
	if err := w.load(); err != nil {
		t.Fatal(err)
	}
	if w.last != int64(cut1-1) || w.deltasUpTo <= w.last {
		t.Fatalf("resumed after %d with delta records up to %d; want %d and beyond", w.last, w.deltasUpTo, cut1-1)
	}
	obs := &countObserver{}
	w.c.deps.Observer = obs
	// A checkpoint before the replay passes the records: the shares it
	// writes hold those records, and a recovery must not apply them again.
	checkpoints := st.Stats().Checkpoints
	applyAll(t, w, fx.recs[cut1:cut1+5], 5)
	if st.Stats().Checkpoints == checkpoints || w.last >= w.deltasUpTo {
		t.Fatalf("no checkpoint while replaying below the delta records (last %d, records up to %d)", w.last, w.deltasUpTo)
	}
	// The shares and records left hold every delta the records held, up
	// to deltasUpTo.
	checkShares(t, "after a checkpoint in the replay", st, fx.f.ApplyDeltas, fx.fold(t, w.deltasUpTo))
	// A crash before the replay passes the records: the next worker must
	// still know where the stored deltas end, or it would store the
	// replayed events' deltas again.
	upTo := w.deltasUpTo
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openTestStore(t, dir, 0)
	w = fx.worker(st, func(c *Config) { c.FlushInterval, c.CheckpointBatches = -1, 1 })
	w.c.deps.Observer = obs
	if err := w.load(); err != nil {
		t.Fatal(err)
	}
	if w.deltasUpTo != upTo {
		t.Fatalf("after a second crash, delta records up to %d, want %d", w.deltasUpTo, upTo)
	}
	applyAll(t, w, fx.recs[w.last+1:], 5)
	if obs.skipped == 0 {
		t.Fatal("no event was skipped: the users written by the cut flush were folded again")
	}
	users, items := fx.foldAll(t, int64(len(fx.recs)-1))
	if err := sameUsers(st, users); err != nil {
		t.Fatal(err)
	}
	checkShares(t, "after the replay", st, fx.f.ApplyDeltas, items)
}

// checkShares compares the shares recovered from the store with fold (the
// checkpointed shares and the delta records since) with want.
func checkShares(t *testing.T, when string, st *state.Store, fold state.DeltaFold, want map[string]*features.ItemStats) {
	t.Helper()
	got, err := storedShares(st, fold)
	if err != nil {
		t.Fatal(err)
	}
	if err := sameShares(got, want); err != nil {
		t.Fatalf("%s, stored: %v", when, err)
	}
}

// countObserver counts events skipped as already applied (Duplicates is
// not one of them: it counts only event ids seen twice).
type countObserver struct {
	NopObserver
	skipped int
}

func (o *countObserver) Replayed(n int) { o.skipped += n }

// TestCheckpointCountsFlushes: Config.CheckpointBatches counts the flushes
// that wrote delta records, not the batches applied. Live, a partition
// applies a hundred small batches between two flushes; counting those
// rewrote every share the partition touched every few seconds.
func TestCheckpointCountsFlushes(t *testing.T) {
	fx := newItemsFixture(t, 60, 2)
	st := openTestStore(t, t.TempDir(), 0)
	w := fx.worker(st, func(c *Config) { c.CheckpointBatches, c.FlushInterval = 3, time.Hour })
	if err := w.load(); err != nil {
		t.Fatal(err)
	}
	applyAll(t, w, fx.recs[:40], 4)
	if s := st.Stats(); s.Flushes != 0 || s.Checkpoints != 0 {
		t.Fatalf("10 batches, no flush due: %d flushes, %d checkpoints", s.Flushes, s.Checkpoints)
	}
	for i := 1; i <= 3; i++ {
		if err := w.flush(); err != nil {
			t.Fatal(err)
		}
		applyAll(t, w, fx.recs[36+4*i:40+4*i], 4) // maybeFlush: a checkpoint once due
		want := uint64(0)
		if i == 3 {
			want = 1
		}
		if got := st.Stats().Checkpoints; got != want {
			t.Fatalf("after %d flushes: %d checkpoints, want %d", i, got, want)
		}
	}
	// The checkpoint due flushed the last batch first.
	checkShares(t, "after the checkpoint", st, fx.f.ApplyDeltas, fx.fold(t, w.last))
}

// TestFlushRetriedWritesDeltasOnce: a flush that fails after writing its
// delta records, retried once more events are applied, does not write
// those records again (cut differently, they would be stored twice): the
// next checkpoint's shares equal a single fold.
func TestFlushRetriedWritesDeltasOnce(t *testing.T) {
	fx := newItemsFixture(t, 60, 2)
	st := openTestStore(t, t.TempDir(), 0)
	w := fx.worker(st, func(c *Config) { c.FlushInterval = time.Hour })
	if err := w.load(); err != nil {
		t.Fatal(err)
	}
	applyAll(t, w, fx.recs[:200], 7)
	// A user the store was never given: the flush fails after the delta
	// records, at the users.
	w.staged["ghost"] = &userState{st: &state.Staged{User: &features.User{ID: "ghost"}}}
	if err := w.flush(); err == nil {
		t.Fatal("a flush of a user never staged succeeded")
	}
	if up, ok, err := st.DeltasUpTo(0); err != nil || !ok || up != w.last {
		t.Fatalf("the failed flush's delta records end at %d (%v, %v), want %d", up, ok, err, w.last)
	}
	delete(w.staged, "ghost")
	applyAll(t, w, fx.recs[200:400], 7)
	if err := w.flush(); err != nil {
		t.Fatal(err)
	}
	if err := w.checkpoint(); err != nil {
		t.Fatal(err)
	}
	got, err := storedShares(st, nil) // no fold: no record may be left
	if err != nil {
		t.Fatal(err)
	}
	if err := sameShares(got, fx.fold(t, w.last)); err != nil {
		t.Fatalf("after the retried flush: %v", err)
	}
}

// TestReleaseAfterFailedFlush: a worker whose flush fails as it stops
// unstages its users; the partition's next owner in the same process
// replays the events since the last flush from the stored users, and after
// a restart users and shares equal a single fold. Left staged, the users
// would make the replay skip events that nothing stored.
func TestReleaseAfterFailedFlush(t *testing.T) {
	fx := newItemsFixture(t, 60, 2)
	dir := t.TempDir()
	st := openTestStore(t, dir, 0)
	hour := func(c *Config) { c.FlushInterval = time.Hour }
	w := fx.worker(st, hour)
	if err := w.load(); err != nil {
		t.Fatal(err)
	}
	applyAll(t, w, fx.recs[:100], 7)
	if err := w.flush(); err != nil {
		t.Fatal(err)
	}
	applyAll(t, w, fx.recs[100:300], 7)
	// A user the store was never given: the release's flush fails.
	w.staged["ghost"] = &userState{st: &state.Staged{User: &features.User{ID: "ghost"}}}
	w.release()
	if st.Stats().Pinned != 0 {
		t.Fatalf("%d users still staged after the failed release", st.Stats().Pinned)
	}

	next := fx.worker(st, hour)
	if err := next.load(); err != nil {
		t.Fatal(err)
	}
	if next.last != 99 {
		t.Fatalf("the next owner resumes after %d, want 99", next.last)
	}
	// The same records again (the events after them would stage most
	// users anew and hide a user left staged).
	applyAll(t, next, fx.recs[100:300], 7)
	next.release()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openTestStore(t, dir, 0)
	users, items := fx.foldAll(t, 299)
	if err := sameUsers(st, users); err != nil {
		t.Fatal(err)
	}
	got, err := storedShares(st, nil) // the release checkpointed every record
	if err != nil {
		t.Fatal(err)
	}
	if err := sameShares(got, items); err != nil {
		t.Fatal(err)
	}
}

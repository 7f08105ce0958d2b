package state

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/stickyhq/sticky/features"
)

// deltaLog folds random events of a few users in batches and keeps the
// item deltas of each batch, and the shares a single uninterrupted fold of
// them gives.
type deltaLog struct {
	f       *features.Extractor
	batches []features.Deltas
	users   map[string]*features.User
	rng     *rand.Rand
	at      time.Time
}

func newDeltaLog(seed uint64) *deltaLog {
	return &deltaLog{f: features.NewExtractor(features.DefaultConfig()), users: map[string]*features.User{},
		rng: rand.New(rand.NewPCG(seed, seed)), at: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
}

// batch folds n random events and returns their deltas.
func (l *deltaLog) batch(n int) *features.Deltas {
	var d features.Deltas
	types := []features.Type{features.TypeView, features.TypeClick, features.TypeAddToCart, features.TypePurchase}
	for i := 0; i < n; i++ {
		uid := fmt.Sprint("u", l.rng.IntN(12))
		u := l.users[uid]
		if u == nil {
			u = &features.User{ID: uid}
			l.users[uid] = u
		}
		l.at = l.at.Add(time.Duration(l.rng.IntN(900)) * time.Second)
		item := fmt.Sprint("sku-", l.rng.IntN(40))
		ev := features.Event{ID: fmt.Sprint("e", len(l.batches), "-", i), UserID: uid, Type: types[l.rng.IntN(len(types))], ItemID: item,
			Time: l.at, Context: features.Context{Region: fmt.Sprint("R", l.rng.IntN(3)), TZ: "Europe/Berlin"}}
		l.f.FoldUser(u, &ev, &features.Item{ID: item, Category: "C", Price: 3}, &d)
	}
	l.batches = append(l.batches, d)
	return &l.batches[len(l.batches)-1]
}

// fold applies the first n batches, in order, to fresh shares.
func (l *deltaLog) fold(n int) map[string]*features.ItemStats {
	out := map[string]*features.ItemStats{}
	for i := range l.batches[:n] {
		l.f.ApplyDeltas(&l.batches[i], func(id string) *features.ItemStats {
			if out[id] == nil {
				out[id] = new(features.ItemStats)
			}
			return out[id]
		})
	}
	return out
}

func parts(m map[string]*features.ItemStats) []ItemPart {
	var ps []ItemPart
	for id, st := range m {
		ps = append(ps, ItemPart{Item: id, Stats: st})
	}
	return ps
}

// equalShares checks that the store recovers partition p's shares as want,
// byte for byte.
func equalShares(t *testing.T, s *Store, p int32, fold DeltaFold, want map[string]*features.ItemStats) {
	t.Helper()
	n := 0
	err := s.RecoverItemParts(p, fold, func(item string, st *features.ItemStats) error {
		n++
		w := want[item]
		if w == nil {
			return fmt.Errorf("item %q recovered but not in the fold", item)
		}
		if !bytes.Equal(AppendItemStats(nil, st), AppendItemStats(nil, w)) {
			return fmt.Errorf("item %q differs from the uninterrupted fold", item)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(want) {
		t.Fatalf("recovered %d shares, want %d", n, len(want))
	}
}

func deltaRecords(t *testing.T, s *Store, p int32) int {
	t.Helper()
	n := 0
	if err := s.scan(deltasPrefix(p), func(k, v []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRecoverItemPartsFromCheckpointAndDeltas: batches commit only their
// deltas, a checkpoint part way writes the shares; after a reopen without a
// later checkpoint (a crash), shares + the deltas written since equal the
// uninterrupted fold byte for byte; a final checkpoint deletes every delta
// record it covers.
func TestRecoverItemPartsFromCheckpointAndDeltas(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	l := newDeltaLog(1)
	const p = 2
	for i := 0; i < 30; i++ {
		if err := s.Commit(&Batch{Topic: "t", Partition: p, Offset: int64(10 * i), Deltas: l.batch(1 + i%7)}); err != nil {
			t.Fatal(err)
		}
		if i == 11 {
			if err := s.Checkpoint(p, int64(10*i), parts(l.fold(i+1))); err != nil {
				t.Fatal(err)
			}
			if n := deltaRecords(t, s, p); n != 0 {
				t.Fatalf("%d delta records after a checkpoint covering all", n)
			}
		}
	}
	// Another partition's full shares, written with its batch.
	other := newDeltaLog(2)
	other.batch(20)
	if err := s.Commit(&Batch{Topic: "t", Partition: 7, Offset: 3, Items: parts(other.fold(1))}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, dir)
	if n := deltaRecords(t, s, p); n != 18 {
		t.Fatalf("%d delta records, want the 18 written after the checkpoint", n)
	}
	want := l.fold(len(l.batches))
	equalShares(t, s, p, l.f.ApplyDeltas, want)
	equalShares(t, s, 7, nil, other.fold(1))
	if err := s.LoadItemParts(p, func(string, *features.ItemStats) error { return nil }); !errors.Is(err, ErrPendingDeltas) {
		t.Fatalf("LoadItemParts without Config.ApplyDeltas: %v, want ErrPendingDeltas", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, dir, func(c *Config) { c.ApplyDeltas = l.f.ApplyDeltas })
	got := map[int32]int{}
	err := s.ScanItemParts(func(part int32, item string, st *features.ItemStats) error {
		got[part]++
		w := want
		if part == 7 {
			w = other.fold(1)
		}
		if !bytes.Equal(AppendItemStats(nil, st), AppendItemStats(nil, w[item])) {
			return fmt.Errorf("partition %d item %q differs", part, item)
		}
		return nil
	})
	if err != nil || got[p] != len(want) || got[7] != len(other.fold(1)) || len(got) != 2 {
		t.Fatalf("ScanItemParts: %v, %v", got, err)
	}
	if err := s.Checkpoint(p, 290, parts(want)); err != nil {
		t.Fatal(err)
	}
	if n := deltaRecords(t, s, p); n != 0 {
		t.Fatalf("%d delta records after the final checkpoint", n)
	}
	equalShares(t, s, p, nil, want)
}

// TestCheckpointCutShort: a checkpoint that wrote some shares and crashed
// before deleting the delta records (or before writing the other shares)
// still recovers exactly: each record applies only to shares older than it.
// Shares of version 1 (before delta records existed) take every record.
func TestCheckpointCutShort(t *testing.T) {
	s := openStore(t, t.TempDir())
	l := newDeltaLog(3)
	const p = 0
	for i := 0; i < 12; i++ {
		if err := s.Commit(&Batch{Topic: "t", Partition: p, Offset: int64(i), Deltas: l.batch(5)}); err != nil {
			t.Fatal(err)
		}
	}
	// Half the shares as of offset 7, written alone; every record stays.
	writeHalf(t, s, p, 7, l.fold(8))
	equalShares(t, s, p, l.f.ApplyDeltas, l.fold(12))

	// A legacy share (version 1) of an item the deltas never touch, and
	// one of an item they do: the latter takes every record.
	legacy := newDeltaLog(4).fold(0)
	st := new(features.ItemStats)
	st.ApplyPop(features.Pop{Item: "old", At: 1.7e12, W: 2}, l.f)
	legacy["old"] = st
	if err := s.update(func(txn *badger.Txn) error {
		return txn.Set(itemPartKey(nil, p, "old"), AppendItemStats(nil, st))
	}); err != nil {
		t.Fatal(err)
	}
	want := l.fold(12)
	want["old"] = st
	equalShares(t, s, p, l.f.ApplyDeltas, want)

	// The whole checkpoint, then more batches.
	if err := s.Checkpoint(p, 11, parts(want)); err != nil {
		t.Fatal(err)
	}
	for i := 12; i < 15; i++ {
		if err := s.Commit(&Batch{Topic: "t", Partition: p, Offset: int64(i), Deltas: l.batch(5)}); err != nil {
			t.Fatal(err)
		}
	}
	if n := deltaRecords(t, s, p); n != 3 {
		t.Fatalf("%d delta records, want 3", n)
	}
	want = l.fold(15)
	want["old"] = st
	equalShares(t, s, p, l.f.ApplyDeltas, want)
}

func TestDeltasRoundTrip(t *testing.T) {
	l := newDeltaLog(5)
	for _, n := range []int{0, 1, 40} {
		d := l.batch(n)
		b := AppendDeltas(nil, d)
		var back features.Deltas
		if err := DecodeDeltas(b, &back); err != nil {
			t.Fatal(err)
		}
		if len(back.Pops) != len(d.Pops) || len(back.Pairs) != len(d.Pairs) {
			t.Fatalf("%d events: %d pops %d pairs back, want %d %d", n, len(back.Pops), len(back.Pairs), len(d.Pops), len(d.Pairs))
		}
		for i := range d.Pops {
			if back.Pops[i] != d.Pops[i] {
				t.Fatalf("pop %d: %+v, want %+v", i, back.Pops[i], d.Pops[i])
			}
		}
		for i := range d.Pairs {
			if back.Pairs[i] != d.Pairs[i] {
				t.Fatalf("pair %d: %+v, want %+v", i, back.Pairs[i], d.Pairs[i])
			}
		}
		for cut := 0; cut < len(b); cut++ {
			if err := DecodeDeltas(b[:cut], &back); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%d of %d bytes: %v, want ErrCorrupt", cut, len(b), err)
			}
		}
	}
}

// FuzzDecodeDeltas: as FuzzDecodeUser, for the delta records of batches.
func FuzzDecodeDeltas(f *testing.F) {
	l := newDeltaLog(6)
	f.Add(AppendDeltas(nil, l.batch(0)))
	f.Add(AppendDeltas(nil, l.batch(3)))
	f.Fuzz(func(t *testing.T, b []byte) {
		var d features.Deltas
		if err := DecodeDeltas(b, &d); err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		e1 := AppendDeltas(nil, &d)
		var d2 features.Deltas
		if err := DecodeDeltas(e1, &d2); err != nil {
			t.Fatalf("re-decoding an encoding failed: %v", err)
		}
		if e2 := AppendDeltas(nil, &d2); !bytes.Equal(e1, e2) {
			t.Fatalf("encoding is not a fixed point:\n%x\n%x", e1, e2)
		}
	})
}

// TestCheckpointDeltas: a checkpoint made from the store alone (the stored
// shares plus the delta records up to an offset) recovers as the
// uninterrupted fold, leaves the records above its offset for the next
// one, skips in each record the shares a checkpoint cut short already
// wrote past it, and fails without deleting a record when a share cannot
// be read.
func TestCheckpointDeltas(t *testing.T) {
	s := openStore(t, t.TempDir())
	l := newDeltaLog(6)
	const p = 3
	commit := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			if err := s.Commit(&Batch{Topic: "t", Partition: p, Offset: int64(i), Deltas: l.batch(1 + i%5)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	commit(0, 10)
	// Up to offset 5: records 6 to 9 stay, and apply on top of the shares.
	records, items, err := s.CheckpointDeltas(p, 5, l.f.ApplyDeltas)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(l.fold(6)); records != 6 || items != want {
		t.Fatalf("folded %d records into %d shares, want 6 into %d", records, items, want)
	}
	wrote := 0
	for id, st := range l.fold(6) {
		wrote += len(itemPartKey(nil, p, id)) + len(appendItemShare(nil, 5, st))
	}
	if got := s.Stats().WrittenShares; got != uint64(wrote) {
		t.Fatalf("%d bytes of shares written, want %d", got, wrote)
	}
	if n := deltaRecords(t, s, p); n != 4 {
		t.Fatalf("%d delta records left, want the 4 above the checkpoint", n)
	}
	equalShares(t, s, p, l.f.ApplyDeltas, l.fold(10))

	// A checkpoint cut short wrote half the shares as of offset 12 and no
	// more; the next folds records 10 to 12 into the other half only.
	commit(10, 16)
	writeHalf(t, s, p, 12, l.fold(13))
	// A checkpoint below them (offset 11) leaves those shares as they are:
	// rewritten as of 11, they would take record 12 again.
	if _, _, err := s.CheckpointDeltas(p, 11, l.f.ApplyDeltas); err != nil {
		t.Fatal(err)
	}
	equalShares(t, s, p, l.f.ApplyDeltas, l.fold(16))
	if _, _, err := s.CheckpointDeltas(p, 15, l.f.ApplyDeltas); err != nil {
		t.Fatal(err)
	}
	if n := deltaRecords(t, s, p); n != 0 {
		t.Fatalf("%d delta records after a checkpoint covering all", n)
	}
	equalShares(t, s, p, nil, l.fold(16))
	if r, d, err := s.PendingDeltas(p); err != nil || r != 0 || d != 0 {
		t.Fatalf("PendingDeltas after the checkpoint: %d records, %d deltas, %v", r, d, err)
	}

	// A share that cannot be read: the checkpoint fails and keeps the
	// records, which still recover once the share is repaired.
	commit(16, 18)
	var victim string
	for id := range l.batches[16].Pops {
		victim = l.batches[16].Pops[id].Item
		break
	}
	good, err := s.get(itemPartKey(nil, p, victim))
	if err != nil || good == nil {
		t.Fatalf("share of %q: %v", victim, err)
	}
	if err := s.update(func(txn *badger.Txn) error { return txn.Set(itemPartKey(nil, p, victim), []byte{0xEE}) }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CheckpointDeltas(p, 17, l.f.ApplyDeltas); err == nil {
		t.Fatal("a checkpoint over a corrupt share succeeded")
	}
	want := 0
	for _, b := range l.batches[16:] {
		want += len(b.Pops) + len(b.Pairs)
	}
	if r, d, err := s.PendingDeltas(p); err != nil || r != 2 || d != want {
		t.Fatalf("PendingDeltas after a failed checkpoint: %d records, %d deltas, %v; want 2, %d", r, d, err, want)
	}
	if err := s.update(func(txn *badger.Txn) error { return txn.Set(itemPartKey(nil, p, victim), good) }); err != nil {
		t.Fatal(err)
	}
	equalShares(t, s, p, l.f.ApplyDeltas, l.fold(18))
}

// writeHalf writes every other share of shares as current up to offset
// upTo, as a checkpoint cut short would have.
func writeHalf(t *testing.T, s *Store, p int32, upTo int64, shares map[string]*features.ItemStats) {
	t.Helper()
	wb := s.newWriteBatch()
	defer wb.Cancel()
	half := 0
	for id, st := range shares {
		if half++; half%2 == 0 {
			continue
		}
		if err := wb.Set(itemPartKey(nil, p, id), appendItemShare(nil, upTo, st)); err != nil {
			t.Fatal(err)
		}
	}
	if err := wb.Flush(); err != nil {
		t.Fatal(err)
	}
}

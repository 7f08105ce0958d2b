package state

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/stickyhq/sticky/features"
)

// userLog is a random log of events over a few users, with the fold the
// store's vectors must equal.
type userLog struct {
	f    *features.Extractor
	rng  *rand.Rand
	evs  []features.Event
	its  []*features.Item
	next int
}

func newUserLog(seed uint64) *userLog {
	return &userLog{f: features.NewExtractor(features.DefaultConfig()), rng: rand.New(rand.NewPCG(seed, 1))}
}

// batch returns the next n events as one batch's Folded, and the users it
// touches folded from fold(offset before it).
func (l *userLog) batch(n int) *Folded {
	cats := []string{"Baby", "Books", "Garden"}
	types := features.Types()
	start := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	var fo Folded
	for range n {
		l.next++
		item := fmt.Sprintf("sku-%d", l.rng.IntN(40))
		ev := features.Event{
			ID: fmt.Sprintf("e%d", l.next), UserID: fmt.Sprintf("u%d", l.rng.IntN(6)), Type: types[l.rng.IntN(len(types))],
			ItemID: item, CampaignID: "c1", Items: []string{item, "sku-0"}, Query: "q",
			Time:    start.Add(time.Duration(l.next)*time.Minute + 123456789*time.Nanosecond),
			Price:   float64(l.rng.IntN(9000)) / 100,
			Context: features.Context{Device: "mobile", Region: "CN-SH", TZ: "Asia/Shanghai", Page: "pdp"},
		}
		if l.rng.IntN(2) == 0 {
			ev.ID = "" // no de-duplication: folding it twice shows
		}
		var it *features.Item
		if l.rng.IntN(4) > 0 {
			it = &features.Item{ID: item, Category: cats[l.rng.IntN(3)], Brand: "B", Price: 9.5}
		}
		l.evs = append(l.evs, ev)
		l.its = append(l.its, it)
		fo.Add(&ev, it)
	}
	return &fo
}

// fold folds the first n events into fresh users.
func (l *userLog) fold(n int) map[string]*features.User {
	us := map[string]*features.User{}
	var d features.Deltas
	for i := range n {
		ev := &l.evs[i]
		u := us[ev.UserID]
		if u == nil {
			u = &features.User{ID: ev.UserID}
			us[ev.UserID] = u
		}
		l.f.FoldUser(u, ev, l.its[i], &d)
	}
	return us
}

func (l *userLog) recover(u *features.User, ev *features.Event, item *features.Item) {
	var d features.Deltas
	l.f.FoldUser(u, ev, item, &d)
}

// sameUsers checks that s holds exactly want, byte for byte, through
// User and through ScanUsers.
func sameUsers(t *testing.T, s *Store, want map[string]*features.User) {
	t.Helper()
	for id, w := range want {
		var u features.User
		if ok, err := s.User(id, &u); !ok || err != nil {
			t.Fatalf("user %s: %v %v", id, ok, err)
		}
		if !bytes.Equal(AppendUser(nil, &u), AppendUser(nil, w)) {
			t.Fatalf("user %s differs from the fold (%d events, want %d)", id, u.Events, w.Events)
		}
	}
	n := 0
	err := s.ScanUsers(func(u *features.User) error {
		n++
		w := want[u.ID]
		if w == nil || !bytes.Equal(AppendUser(nil, u), AppendUser(nil, w)) {
			return fmt.Errorf("scanned user %s differs from the fold", u.ID)
		}
		return nil
	})
	if err != nil || n != len(want) {
		t.Fatalf("scan: %d users of %d: %v", n, len(want), err)
	}
}

// commitLog commits batches of the log with user log records, users as the
// running fold makes them.
func commitLog(t *testing.T, s *Store, l *userLog, p int32, from, to int64, size int) {
	t.Helper()
	for off := from; off < to; off++ {
		fo := l.batch(size)
		after := l.fold(len(l.evs))
		var users []*features.User
		seen := map[string]bool{}
		for _, ev := range fo.Events {
			if !seen[ev.UserID] {
				seen[ev.UserID] = true
				users = append(users, after[ev.UserID])
			}
		}
		if err := s.Commit(&Batch{Topic: "t", Partition: p, Offset: off, Users: users, Folded: fo}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFoldedRoundTrip(t *testing.T) {
	l := newUserLog(1)
	fo := l.batch(50)
	b := AppendFolded(nil, fo)
	i := 0
	err := DecodeFolded(b, func(ev *features.Event, item *features.Item) error {
		want := fo.Events[i]
		if !ev.Time.Equal(want.Time) {
			return fmt.Errorf("event %d: time %v, want %v", i, ev.Time, want.Time)
		}
		got := *ev
		got.Time, want.Time = time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, want) {
			return fmt.Errorf("event %d: %+v, want %+v", i, got, want)
		}
		if (item == nil) != (fo.Items[i] == nil) || item != nil && !reflect.DeepEqual(*item, *fo.Items[i]) {
			return fmt.Errorf("event %d: item %+v, want %+v", i, item, fo.Items[i])
		}
		i++
		return nil
	})
	if err != nil || i != 50 {
		t.Fatalf("%d events decoded: %v", i, err)
	}
	if err := DecodeFolded(b[:len(b)-1], func(*features.Event, *features.Item) error { return nil }); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a truncated record: %v", err)
	}
}

// TestUserLogRecovery: users committed as user log records are read back
// live at once; after a crash (the store reopened without a checkpoint)
// RecoverUsers folds them again to the same bytes; a checkpoint stores them
// and deletes the records; a checkpoint cut short (some vectors written,
// every record left) still recovers exactly.
func TestUserLogRecovery(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	l := newUserLog(2)
	const p = 3
	commitLog(t, s, l, p, 0, 10, 7)
	want := l.fold(len(l.evs))
	sameUsers(t, s, want)
	if st := s.Stats(); st.LiveUsers != len(want) || st.LiveBytes <= 0 || s.LiveBytes(p) != st.LiveBytes {
		t.Fatalf("live %d users, %d bytes (%d for the partition); want %d users", st.LiveUsers, st.LiveBytes, s.LiveBytes(p), len(want))
	}

	// A crash: nothing but the records is stored.
	s.Close()
	s = openStore(t, dir)
	if n := 0; s.ScanUsers(func(*features.User) error { n++; return nil }) != nil || n != 0 {
		t.Fatalf("%d users stored before any checkpoint", n)
	}
	users, records, err := s.RecoverUsers(p, l.recover)
	if err != nil || records != 10 || len(users) != len(want) {
		t.Fatalf("recovered %d users from %d records: %v", len(users), records, err)
	}
	sameUsers(t, s, want)
	if _, records, _ := s.RecoverUsers(p+1, l.recover); records != 0 {
		t.Fatalf("%d records of another partition", records)
	}

	// A checkpoint stores the vectors and deletes the records.
	if err := s.Checkpoint(p, 9, nil); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.LiveUsers != 0 || st.LiveBytes != 0 {
		t.Fatalf("after a checkpoint: %d live users, %d bytes", st.LiveUsers, st.LiveBytes)
	}
	sameUsers(t, s, want)
	if _, records, _ := s.RecoverUsers(p, l.recover); records != 0 {
		t.Fatalf("%d records left after the checkpoint", records)
	}

	// More batches, then a checkpoint cut short: half the vectors written
	// as of offset 14, every record left.
	commitLog(t, s, l, p, 10, 20, 7)
	at14 := l.fold(15 * 7)
	wb := s.db.NewWriteBatch()
	half := 0
	for id, u := range at14 {
		if half++; half%2 == 0 {
			continue
		}
		if err := wb.Set(userKey(nil, id), appendUserRecord(nil, 14, AppendUser(nil, u))); err != nil {
			t.Fatal(err)
		}
	}
	if err := wb.Flush(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openStore(t, dir)
	if _, records, err := s.RecoverUsers(p, l.recover); err != nil || records != 10 {
		t.Fatalf("%d records: %v", records, err)
	}
	sameUsers(t, s, l.fold(len(l.evs)))
}

// TestUserLogRecordTooBig: a batch whose user log record would not fit one
// commit writes nothing and says so, so the worker splits it.
func TestUserLogRecordTooBig(t *testing.T) {
	s := openStore(t, t.TempDir(), func(c *Config) { c.MemTableSize = 1 << 20 })
	l := newUserLog(3)
	fo := l.batch(2000) // about 100 bytes each, over 15% of 1 MiB
	err := s.Commit(&Batch{Topic: "t", Partition: 0, Offset: 0, Users: []*features.User{{ID: "u0"}}, Folded: fo})
	if !errors.Is(err, ErrBatchTooBig) {
		t.Fatalf("commit: %v, want ErrBatchTooBig", err)
	}
	if off, found, _ := s.Offset("t", 0); found {
		t.Fatalf("offset %d stored", off)
	}
	if st := s.Stats(); st.LiveUsers != 0 {
		t.Fatalf("%d live users after a failed commit", st.LiveUsers)
	}
}

func FuzzDecodeFolded(f *testing.F) {
	l := newUserLog(4)
	for _, n := range []int{0, 1, 5} {
		f.Add(AppendFolded(nil, l.batch(n)))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fo Folded
		if err := DecodeFolded(b, func(ev *features.Event, item *features.Item) error {
			fo.Add(ev, item)
			return nil
		}); err != nil {
			return
		}
		e1 := AppendFolded(nil, &fo)
		var again Folded
		if err := DecodeFolded(e1, func(ev *features.Event, item *features.Item) error {
			again.Add(ev, item)
			return nil
		}); err != nil {
			t.Fatalf("re-decoding an encoding failed: %v", err)
		}
		if e2 := AppendFolded(nil, &again); !bytes.Equal(e1, e2) {
			t.Fatalf("encoding is not a fixed point:\n%x\n%x", e1, e2)
		}
	})
}

package state

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stickyhq/sticky/features"
)

// TestStagedUsersAreReadUntilFlushed: a staged user is what every reader
// reads (User, UserAt, ScanUsers) before it is durable, even when the
// cache has evicted it; after a reopen without a flush the stored vector
// is back; a flush makes the staged vector, the offset it is current up
// to and the item deltas durable.
func TestStagedUsersAreReadUntilFlushed(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	f := features.NewExtractor(features.DefaultConfig())
	rng := rand.New(rand.NewPCG(7, 7))
	old := randomUser(rng, f, 20)
	old.ID = "u-old"
	if err := s.Commit(&Batch{Topic: "events", Partition: 1, Offset: 9, Users: []*features.User{old}}); err != nil {
		t.Fatal(err)
	}
	staged, fresh := randomUser(rng, f, 30), randomUser(rng, f, 10)
	staged.ID, fresh.ID = "u-old", "u-new"
	ps := &Staged{User: staged}
	s.Stage(14, []*Staged{ps, {User: fresh}})
	s.cache.Reset() // the cache may evict staged users: the pins still hold them

	same := func(what string, got, want *features.User) {
		t.Helper()
		if !bytes.Equal(AppendUser(nil, got), AppendUser(nil, want)) {
			t.Fatalf("%s: not the vector it should be", what)
		}
	}
	var u features.User
	if ok, upTo, err := s.UserAt("u-old", &u); !ok || err != nil || upTo != 14 {
		t.Fatalf("UserAt of a staged user: %v %d %v", ok, upTo, err)
	}
	same("staged user", &u, staged)
	// The worker changes a staged user in place: readers see the change,
	// and a copy read before it does not.
	before := features.User{}
	s.User("u-old", &before)
	ps.Lock()
	staged.Events++
	staged.Recent[0].At++
	ps.Unlock()
	if s.User("u-old", &u); u.Events != staged.Events || u.Recent[0].At != staged.Recent[0].At {
		t.Fatal("a change of a staged user is not read")
	}
	if before.Events == staged.Events || before.Recent[0].At == staged.Recent[0].At {
		t.Fatal("a copy read before a change of the staged user changed with it")
	}
	scanned := map[string]*features.User{}
	if err := s.ScanUsers(func(u *features.User) error { scanned[u.ID] = u; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(scanned) != 2 || scanned["u-new"] == nil {
		t.Fatalf("scan saw %d users", len(scanned))
	}
	same("scanned staged user", scanned["u-old"], staged)
	same("scanned new user", scanned["u-new"], fresh)

	// A crash before the flush: the stored vector is back, the new user
	// unknown.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir)
	if ok, upTo, err := s.UserAt("u-old", &u); !ok || err != nil || upTo != 9 {
		t.Fatalf("after a reopen: %v %d %v", ok, upTo, err)
	}
	same("stored user", &u, old)
	if ok, _, _ := s.UserAt("u-new", &u); ok {
		t.Fatal("an unflushed new user survived a reopen")
	}

	// Staged again, then flushed with item deltas and a model share.
	s.Stage(14, []*Staged{{User: staged}, {User: fresh}})
	d := &features.Deltas{Pops: []features.Pop{{Item: "sku-1", At: 1.7e12, W: 1, Type: features.TypeView}, {Item: "sku-2", At: 1.7e12, W: 1, Type: features.TypeView}}}
	err := s.Flush(&Flush{Topic: "events", Partition: 1, Offset: 15, Users: []string{"u-new", "u-old"}, Deltas: d,
		Marks: []DeltaMark{{Offset: 12, Pops: 1}, {Offset: 14, Pops: 2}}, Model: []byte("m")})
	if err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Pinned != 0 || st.Flushes != 1 {
		t.Fatalf("after the flush: %d pinned, %d flushes", st.Pinned, st.Flushes)
	}
	// What it wrote, counted by kind: each user once, the delta record
	// (both events fit one), the model share.
	wantUsers := 0
	for _, u := range []*features.User{fresh, staged} {
		wantUsers += len(userKey(nil, u.ID)) + len(appendStoredUser(nil, 14, u))
	}
	wantDeltas := len(deltasKey(nil, 1, 14)) + len(AppendDeltas(nil, d))
	if st := s.Stats(); st.WrittenUsers != uint64(wantUsers) || st.WrittenDeltas != uint64(wantDeltas) || st.WrittenModel != 1 || st.WrittenShares != 0 {
		t.Fatalf("written: users %d deltas %d model %d shares %d; want %d %d 1 0", st.WrittenUsers, st.WrittenDeltas, st.WrittenModel, st.WrittenShares, wantUsers, wantDeltas)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir)
	for _, want := range []*features.User{staged, fresh} {
		if ok, upTo, err := s.UserAt(want.ID, &u); !ok || err != nil || upTo != 14 {
			t.Fatalf("%s after the flush: %v %d %v", want.ID, ok, upTo, err)
		}
		same(want.ID+" after the flush", &u, want)
	}
	if off, ok, err := s.Offset("events", 1); !ok || err != nil || off != 15 {
		t.Fatalf("offset after the flush: %d %v %v", off, ok, err)
	}
	if m, err := s.Model(1); err != nil || string(m) != "m" {
		t.Fatalf("model after the flush: %q %v", m, err)
	}
	if up, ok, err := s.DeltasUpTo(1); !ok || err != nil || up != 14 {
		t.Fatalf("delta records up to %d (%v %v), want 14", up, ok, err)
	}
	got := map[string]float32{}
	err = s.RecoverItemParts(1, f.ApplyDeltas, func(item string, st *features.ItemStats) error {
		got[item] = st.Pop.V
		return nil
	})
	if err != nil || len(got) != 2 || got["sku-1"] != 1 || got["sku-2"] != 1 {
		t.Fatalf("item shares from the flushed records: %v %v", got, err)
	}
}

// TestStagedUserReadWhileChanged: readers copy a staged user while its
// worker keeps folding events into it (under the race detector in
// make test): every copy is one the worker made whole.
func TestStagedUserReadWhileChanged(t *testing.T) {
	s := openStore(t, t.TempDir())
	f := features.NewExtractor(features.DefaultConfig())
	rng := rand.New(rand.NewPCG(3, 4))
	u := randomUser(rng, f, 5)
	u.ID = "u-1"
	p := &Staged{User: u}
	s.Stage(1, []*Staged{p})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var got features.User
		for range 2000 {
			if ok, _, err := s.UserAt("u-1", &got); !ok || err != nil {
				t.Errorf("read: %v %v", ok, err)
				return
			}
			if int(got.Events) < 5 || len(got.Recent) == 0 {
				t.Errorf("a torn copy: %d events, %d recent", got.Events, len(got.Recent))
				return
			}
		}
	}()
	for i := 0; ; i++ {
		select {
		case <-done:
			return
		default:
		}
		ev := features.Event{UserID: "u-1", ID: fmt.Sprint("e", i), Type: features.TypeView, ItemID: fmt.Sprint("sku-", i%50),
			Time: time.UnixMilli(u.LastSeen).Add(time.Minute)}
		var d features.Deltas
		p.Lock()
		f.FoldUser(u, &ev, nil, &d)
		p.Unlock()
		s.Stage(int64(i+2), []*Staged{p})
	}
}

package state

import (
	"math"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/stickyhq/sticky/features"
)

// Commit timestamps go on from the largest stored version after a reopen:
// a later write of a key wins over one made before the restart.
func TestStoreLaterWriteWinsAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	write := func(events int64, commits int) {
		s := openStore(t, dir)
		for i := range commits {
			u := &features.User{ID: "u-1", Events: uint32(events) + uint32(i)}
			if err := s.Commit(&Batch{Topic: "events", Partition: 0, Offset: events + int64(i), Users: []*features.User{u}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	write(10, 5) // the first run writes more versions than the second
	write(20, 1)
	s := openStore(t, dir, func(c *Config) { c.CacheBytes = 1 }) // read Badger, not the cache
	var u features.User
	if ok, err := s.User("u-1", &u); !ok || err != nil || u.Events != 20 {
		t.Fatalf("after two runs: ok=%v err=%v events=%d, want 20", ok, err, u.Events)
	}
	if off, ok, err := s.Offset("events", 0); !ok || err != nil || off != 20 {
		t.Fatalf("offset %d ok=%v err=%v, want 20", off, ok, err)
	}
}

// Old versions of a key do not outlive a compaction.
func TestStoreCompactionDropsOldVersions(t *testing.T) {
	dir := t.TempDir()
	var s *Store
	versions := func() int {
		n := 0
		txn := s.db.NewTransactionAt(math.MaxUint64, false)
		defer txn.Discard()
		it := txn.NewIterator(badger.IteratorOptions{AllVersions: true, Prefix: userKey(nil, "u-1")})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return n
	}
	// Two runs, each closed (its memtable flushed to a table of L0), so
	// that there are tables to compact.
	for run := range 2 {
		s = openStore(t, dir)
		for i := range 100 {
			u := &features.User{ID: "u-1", Events: uint32(100*run + i)}
			if err := s.Commit(&Batch{Topic: "events", Partition: 0, Offset: int64(100*run + i), Users: []*features.User{u}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// One table in L0 is enough for a compaction: the two are compacted
	// in the background, once old versions may be discarded.
	s = openStore(t, dir, func(c *Config) { c.NumLevelZeroTables = 1 })
	if n := versions(); n < 200 {
		t.Fatalf("%d versions before compaction: the test needs them all", n)
	}
	s.discardOld()
	deadline := time.Now().Add(20 * time.Second)
	for n := versions(); n != 1; n = versions() {
		if time.Now().After(deadline) {
			t.Fatalf("%d versions 20 s after old ones may be discarded, want 1", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var u features.User
	if ok, err := s.User("u-1", &u); !ok || err != nil || u.Events != 199 {
		t.Fatalf("after compaction: ok=%v err=%v events=%d, want 199", ok, err, u.Events)
	}
}

package state

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stickyhq/sticky/features"
)

// A user vector larger than a fastcache entry may hold must not leave an
// older entry behind for the next fold to start from.
func TestBigUserNeverReadStale(t *testing.T) {
	s := openStore(t, t.TempDir())
	f := features.NewExtractor(features.DefaultConfig())
	var d features.Deltas
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 300 // ids of ~253 bytes: the vector passes 64 KiB after ~200 purchases
	for i := 0; i < n; i++ {
		var u features.User
		if _, err := s.User("u1", &u); err != nil {
			t.Fatal(err)
		}
		ev := features.Event{UserID: "u1", Type: features.TypePurchase,
			ItemID: fmt.Sprintf("%03d", i) + strings.Repeat("x", 250), Time: base.Add(time.Duration(i) * time.Minute)}
		f.FoldUser(&u, &ev, nil, &d)
		if err := s.Commit(&Batch{Topic: "t", Partition: 0, Offset: int64(i), Users: []*features.User{&u}}); err != nil {
			t.Fatal(err)
		}
	}
	var u features.User
	if _, err := s.User("u1", &u); err != nil {
		t.Fatal(err)
	}
	if u.Events != n {
		t.Fatalf("%d of %d events survive", u.Events, n)
	}
	if size := len(AppendUser(nil, &u)); size < 64<<10 {
		t.Fatalf("vector is only %d bytes: the test does not cross the cache limit", size)
	}
}

// Readers filling the cache on a miss race with the writer refreshing it
// after each commit; the writer must always read back its last commit.
func TestCacheFillDoesNotResurrectOldValues(t *testing.T) {
	s := openStore(t, t.TempDir())
	key := userKey(nil, "u1")
	var stop atomic.Bool
	var wg sync.WaitGroup
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() { // readers, with the entry evicted all the time
			defer wg.Done()
			for !stop.Load() {
				s.cache.Del(key)
				var u features.User
				if _, err := s.User("u1", &u); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	const n = 3000
	for i := 0; i < n; i++ { // the partition worker: read, change, commit
		var u features.User
		if _, err := s.User("u1", &u); err != nil {
			t.Fatal(err)
		}
		u.Events++
		u.LastSeen = int64(i + 1)
		if err := s.Commit(&Batch{Topic: "t", Partition: 0, Offset: int64(i), Users: []*features.User{&u}}); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	var u features.User
	s.User("u1", &u)
	if u.Events != n {
		t.Fatalf("%d of %d updates survive", u.Events, n)
	}
}

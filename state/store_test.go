package state

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/stickyhq/sticky/features"
)

func openStore(t *testing.T, dir string, mod ...func(*Config)) *Store {
	t.Helper()
	o := Config{Dir: dir, CacheBytes: 32 << 20}
	for _, m := range mod {
		m(&o)
	}
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStoreCommitIsReadBackAfterReopen(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	f := features.NewExtractor(features.DefaultConfig())
	rng := rand.New(rand.NewPCG(1, 1))
	u := randomUser(rng, f, 30)
	u.ID = "u-1"
	var st features.ItemStats
	st.ApplyPop(features.Pop{Item: "sku-1", At: 1.7e12, W: 3, Region: "CN-SH"}, f)

	if _, ok, err := s.Offset("events", 3); ok || err != nil {
		t.Fatalf("offset before any commit: ok=%v err=%v", ok, err)
	}
	err := s.Commit(&Batch{Topic: "events", Partition: 3, Offset: 41,
		Users: []*features.User{u}, Items: []ItemPart{{Item: "sku-1", Stats: &st}}})
	if err != nil {
		t.Fatal(err)
	}
	// Served from the cache right after the commit.
	var got features.User
	if ok, err := s.User("u-1", &got); !ok || err != nil {
		t.Fatalf("user after commit: ok=%v err=%v", ok, err)
	}
	if s.Stats().CacheHits != 1 {
		t.Fatalf("stats %+v: want one cache hit", s.Stats())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	s = openStore(t, dir)
	if ok, err := s.User("u-1", &got); !ok || err != nil {
		t.Fatalf("user after reopen: ok=%v err=%v", ok, err)
	}
	if !reflect.DeepEqual(normalize(u), normalize(&got)) {
		t.Fatalf("user after reopen differs")
	}
	if st := s.Stats(); st.CacheMisses != 1 {
		t.Fatalf("stats %+v: want one miss (cold cache)", st)
	}
	if ok, _ := s.User("nobody", &got); ok || got.ID != "nobody" || got.Events != 0 {
		t.Fatalf("unknown user: ok=%v %+v", ok, got)
	}
	off, ok, err := s.Offset("events", 3)
	if !ok || err != nil || off != 41 {
		t.Fatalf("offset %d ok=%v err=%v, want 41", off, ok, err)
	}
	n := 0
	err = s.LoadItemParts(3, func(item string, got *features.ItemStats) error {
		n++
		if item != "sku-1" || !reflect.DeepEqual(got.Pop, st.Pop) {
			return fmt.Errorf("item %q %+v", item, got)
		}
		return nil
	})
	if err != nil || n != 1 {
		t.Fatalf("LoadItemParts: n=%d err=%v", n, err)
	}
	if err := s.LoadItemParts(4, func(string, *features.ItemStats) error { return errors.New("partition 4 has no items") }); err != nil {
		t.Fatal(err)
	}
}

func TestStoreBatchTooBigWritesNothing(t *testing.T) {
	s := openStore(t, t.TempDir(), func(o *Config) { o.MemTableSize = 1 << 20 }) // ~150 KiB per transaction
	f := features.NewExtractor(features.DefaultConfig())
	rng := rand.New(rand.NewPCG(2, 2))
	var users []*features.User
	for i := 0; i < 400; i++ {
		u := randomUser(rng, f, 20)
		u.ID = fmt.Sprint("u-", i)
		users = append(users, u)
	}
	err := s.Commit(&Batch{Topic: "events", Partition: 0, Offset: 399, Users: users})
	if !errors.Is(err, ErrBatchTooBig) {
		t.Fatalf("got %v, want ErrBatchTooBig", err)
	}
	if _, ok, _ := s.Offset("events", 0); ok {
		t.Fatal("offset written by a failed batch")
	}
	if ok, _ := s.User("u-0", &features.User{}); ok {
		t.Fatal("user written by a failed batch")
	}
	// Smaller pieces fit.
	for i := 0; i < len(users); i += 50 {
		if err := s.Commit(&Batch{Topic: "events", Partition: 0, Offset: int64(i + 49), Users: users[i : i+50]}); err != nil {
			t.Fatalf("users %d..: %v", i, err)
		}
	}
	n := 0
	if err := s.ScanUsers(func(*features.User) error { n++; return nil }); err != nil || n != 400 {
		t.Fatalf("scan: %d users, err %v", n, err)
	}
}

func TestCatalogue(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	puts := []features.Item{{ID: "a", Category: "Baby", Available: true}, {ID: "b", Category: "Toys"}}
	if err := s.CommitCatalogue("items", 0, 7, puts, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.CommitCatalogue("items", 0, 8, nil, []string{"b"}); err != nil {
		t.Fatal(err)
	}
	c, err := LoadCatalogue(s)
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != 1 || c.Get("a") == nil || c.Get("a").Category != "Baby" || c.Get("b") != nil {
		t.Fatalf("catalogue: len %d a=%v b=%v", c.Len(), c.Get("a"), c.Get("b"))
	}
	if off, ok, _ := s.Offset("items", 0); !ok || off != 8 {
		t.Fatalf("catalogue offset %d %v", off, ok)
	}
	c.Apply([]features.Item{{ID: "c"}}, []string{"a"})
	if c.Get("a") != nil || c.Get("c") == nil {
		t.Fatal("Apply did not upsert/delete")
	}
}

// TestStoreModelShareCommitsWithOffset: a partition's model share is
// written in its batch's transaction and read back after a reopen; a batch
// without one leaves the stored share as it was.
func TestStoreModelShareCommitsWithOffset(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	if b, err := s.Model(2); b != nil || err != nil {
		t.Fatalf("model share before any commit: %x, %v", b, err)
	}
	if err := s.Commit(&Batch{Topic: "events", Partition: 2, Offset: 7, Model: []byte{1, 2, 3}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(&Batch{Topic: "events", Partition: 2, Offset: 9}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openStore(t, dir)
	b, err := s.Model(2)
	if err != nil || string(b) != "\x01\x02\x03" {
		t.Fatalf("model share after reopen: %x, %v", b, err)
	}
	if off, ok, err := s.Offset("events", 2); !ok || err != nil || off != 9 {
		t.Fatalf("offset after reopen: %d %v %v", off, ok, err)
	}
	if b, _ := s.Model(3); b != nil {
		t.Fatalf("another partition's share: %x", b)
	}
}

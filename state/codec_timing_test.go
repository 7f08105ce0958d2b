package state

import (
	"math/rand/v2"
	"testing"

	"github.com/stickyhq/sticky/features"
)

func BenchmarkAppendUser(b *testing.B) {
	u := randomUser(rand.New(rand.NewPCG(1, 1)), features.NewExtractor(features.DefaultConfig()), 500)
	buf := AppendUser(nil, u)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf = AppendUser(buf[:0], u)
	}
}

func BenchmarkDecodeUser(b *testing.B) {
	u := randomUser(rand.New(rand.NewPCG(1, 1)), features.NewExtractor(features.DefaultConfig()), 500)
	buf := AppendUser(nil, u)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	var v features.User
	for i := 0; i < b.N; i++ {
		if err := DecodeUser(buf, &v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStoreUserCached reads a user through the store with a warm cache.
func BenchmarkStoreUserCached(b *testing.B) {
	s, err := Open(Config{Dir: b.TempDir(), CacheBytes: 32 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	u := randomUser(rand.New(rand.NewPCG(1, 1)), features.NewExtractor(features.DefaultConfig()), 500)
	u.ID = "u1"
	if err := s.Commit(&Batch{Topic: "t", Users: []*features.User{u}}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var v features.User
	for i := 0; i < b.N; i++ {
		if ok, err := s.User("u1", &v); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkDecodeUserView is BenchmarkDecodeUser the way requests decode:
// slices reused, strings sharing one copy of the input.
func BenchmarkDecodeUserView(b *testing.B) {
	u := randomUser(rand.New(rand.NewPCG(1, 1)), features.NewExtractor(features.DefaultConfig()), 500)
	buf := AppendUser(nil, u)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	var v features.User
	for i := 0; i < b.N; i++ {
		if err := DecodeUserView(buf, &v); err != nil {
			b.Fatal(err)
		}
	}
}

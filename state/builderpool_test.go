package state

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dgraph-io/ristretto/v2/z"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/internal/bytesize"
)

func TestTrimBuilderPoolFreesIdleBuffers(t *testing.T) {
	p := z.NewAllocatorPool(trimPoolSize)
	defer p.Release()
	var as []*z.Allocator
	for i := 0; i < 3; i++ {
		a := p.Get(1<<20, "test")
		a.Allocate(3 << 20) // grows past its first buffer, as a flush's does
		as = append(as, a)
	}
	var held uint64
	for _, a := range as {
		held += a.Allocated()
		p.Return(a)
	}
	if got := trimBuilderPool(p); got != held {
		t.Fatalf("trim freed %d bytes, want the %d the three idle buffers held", got, held)
	}
	if got := trimBuilderPool(p); got != 0 {
		t.Fatalf("a second trim freed %d bytes of an empty pool", got)
	}
	if got := trimBuilderPool(nil); got != 0 {
		t.Fatalf("trim of no pool freed %d bytes", got)
	}
}

// TestBadgerKeepsBuilderBuffers checks the premise of the trim against the
// Badger this module builds with: the pool is found, and after memtable
// flushes it holds the buffers the tables were built in, until the trim
// frees them. It fails when a Badger upgrade renames or retypes the pool
// (the trim would be silently off).
func TestBadgerKeepsBuilderBuffers(t *testing.T) {
	s := openStore(t, t.TempDir(), func(c *Config) {
		c.MemTableSize = bytesize.MiB
		c.BuilderTrimInterval = -1 // the test trims
	})
	p := builderPool(s.db)
	if p == nil {
		t.Fatal("Badger's table-builder pool (DB.allocPool) not found: the trim is off with this Badger")
	}
	f := features.NewExtractor(features.DefaultConfig())
	rng := rand.New(rand.NewPCG(3, 3))
	deadline := time.Now().Add(30 * time.Second)
	for off := int64(0); ; off++ {
		// 40 users of ~3 KiB a commit: a 1 MiB memtable fills, and is
		// flushed, every few commits.
		users := make([]*features.User, 40)
		for i := range users {
			users[i] = randomUser(rng, f, 20)
			users[i].ID = fmt.Sprint("u-", off, "-", i)
		}
		if err := s.Commit(&Batch{Topic: "events", Offset: off, Users: users}); err != nil {
			t.Fatal(err)
		}
		if off%10 != 9 {
			continue
		}
		if freed := trimBuilderPool(p); freed > 0 {
			if freed < 2*uint64(s.cfg.BaseTableSize) {
				t.Fatalf("trim freed %d bytes, less than one builder's first buffer (%d)", freed, 2*s.cfg.BaseTableSize)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d commits Badger's pool held no builder buffer to free", off+1)
		}
	}
}

package state

import (
	"reflect"
	"unsafe"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/ristretto/v2/z"
)

// Badger builds every table it writes (a memtable flush, each table of a
// compaction) in one buffer, a z.Allocator that doubles until it holds the
// whole table, and keeps up to eight of them in a pool of its own
// (DB.allocPool, z.NewAllocatorPool(8)), freeing one only after two
// seconds without any table being built. A flush grows its buffer to the
// memtable's contents, and the pool then hands that buffer to compactions
// too, so under a steady stream of writes the pool holds eight buffers of
// tens of MiB each: 170-336 MiB of a live heap of 430-500 MiB in the
// harness's live phase, the largest single part of Sticky's memory. Badger
// v4 offers no option for it, so the store takes the pool out of Badger's
// hands between builds: every Config.BuilderTrimInterval it takes the
// buffers waiting in the pool and frees them (pure Go builds: they become
// garbage). A table being built keeps its buffer; the next build allocates
// a fresh one, which costs a zeroed allocation of twice BaseTableSize and
// its doublings, against the memory of eight idle ones.

// builderPool returns Badger's table-builder pool, or nil if this version
// of Badger has none where it is looked for (the trim is then off; the
// tests say so). The field is written once, in badger.Open, before any
// goroutine that reads it starts, and never again: reading it afterwards
// races with nothing.
func builderPool(db *badger.DB) *z.AllocatorPool {
	f := reflect.ValueOf(db).Elem().FieldByName("allocPool")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*z.AllocatorPool]() {
		return nil
	}
	return *(**z.AllocatorPool)(unsafe.Pointer(f.UnsafeAddr()))
}

// trimPoolSize is the most buffers Badger's pool keeps (its channel's
// capacity): a trim takes at most this many.
const trimPoolSize = 8

// trimBuilderPool frees the buffers waiting in p and returns the bytes
// they held. Get hands out a waiting buffer, or a fresh one of the size
// asked (512 bytes, the least) when none waits: the first fresh one ends
// the trim.
func trimBuilderPool(p *z.AllocatorPool) (freed uint64) {
	if p == nil {
		return 0
	}
	for i := 0; i < trimPoolSize; i++ {
		a := p.Get(512, "sticky-trim")
		n := a.Allocated()
		a.Release()
		if n <= 512 {
			break
		}
		freed += n
	}
	return freed
}

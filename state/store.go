package state

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/fastcache"
	"github.com/cespare/xxhash/v2"
	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/internal/bytesize"
)

// Config configures a Store. DefaultConfig holds every default;
// EnsureDefaults gives zero fields theirs.
type Config struct {
	// Dir is the Badger directory. Required.
	Dir string

	// CacheBytes is the size of the fastcache holding encoded user vectors in
	// front of Badger. fastcache starts evicting (whole 64 KiB chunks) at
	// about 60% of this. Its memory is taken as it fills, and it fills
	// even with few users: each bucket is a ring that every update appends
	// to, so live ingest (each event rewrites its user's vector) takes it
	// to its size within seconds. Default 64 MiB (256 MiB cost 190 MiB of
	// RSS for 10k users of 3.4 KiB); minimum 32 MiB.
	CacheBytes bytesize.Size

	// SyncWrites makes every commit fsync. Default false: a killed process
	// loses nothing (the kernel has the writes); a machine crash can lose
	// the latest commits, offsets included, and those records are applied
	// again from Kafka on restart, so state stays exact either way.
	SyncWrites bool

	// GCInterval is how often the value-log garbage collector runs.
	// Default 5 minutes. Overwrite-heavy state grows without bound on disk
	// if it never runs.
	GCInterval time.Duration

	// BuilderTrimInterval is how often the buffers Badger keeps for
	// building tables are freed (see builderpool.go): each can hold a whole
	// memtable, and Badger keeps eight. Negative: never (Badger frees one
	// after two seconds without a build). Default 1s.
	BuilderTrimInterval time.Duration

	// MemTableSize is the size of one Badger memtable; a commit may hold up
	// to about 15% of it. Each memtable costs its skiplist arena (about
	// 1.3x this, on the Go heap, allocated whole; being live heap, it also
	// raises the GC's target) plus the pages written to its mmapped
	// write-ahead log, and every flush builds an L0 table of this size in
	// memory. Default 32 MiB: 64 MiB left the harness's RSS at 0.7–1.2 GiB
	// (one arena live or two), 32 MiB at 0.65–0.69; reads that miss the
	// cache measured the same once compactions settle, bulk writes and the
	// backlog's ingest about 13% slower (docs/design.md, Storage). 16 MiB
	// halves bulk writes.
	MemTableSize bytesize.Size

	// NumMemtables is how many memtables (the active one and those waiting
	// to be flushed) may exist at once; writes stall beyond. Default 2.
	NumMemtables int

	// NumLevelZeroTables is how many L0 tables trigger a compaction into
	// L1. Every read that misses the user cache and the memtables checks
	// each L0 table (bloom filter, then index): few L0 tables keep those
	// reads short, but every L0 compaction rewrites the L1 tables its keys
	// overlap, which for users (random keys) is nearly all of L1: more
	// tables per compaction rewrite L1 less often for the same writes.
	// Default 6 (at 2, compactions took the cores the harness's live
	// requests waited for: docs/design.md, Storage).
	NumLevelZeroTables int

	// NumLevelZeroTablesStall is how many L0 tables stall writes until
	// compaction catches up; at least NumLevelZeroTables+1. Default 12.
	NumLevelZeroTablesStall int

	// BaseTableSize is the size of tables in L1 (larger levels have larger
	// tables); every compaction builds its tables in memory, one buffer per
	// table being written. Default 2 MiB.
	BaseTableSize bytesize.Size

	// TableSizeMultiplier is the ratio of table sizes between a level and
	// the next below the base level. Every table being written is built in
	// a buffer of up to twice its size (pooled by Badger), so 1 keeps
	// tables, and those buffers, at BaseTableSize on every level.
	// Default 1 (Badger's is 2).
	TableSizeMultiplier int

	// NumCompactors is how many compactions may run at once (Badger needs
	// at least 2 to compact at all). Default 2.
	NumCompactors int

	// BlockCacheSize is Badger's cache of table blocks. Blocks are stored
	// uncompressed and read straight from the mmapped tables, so a cache
	// buys nothing; 0 turns it off. Default 0.
	BlockCacheSize bytesize.Size

	// IndexCacheSize bounds the memory held by table indexes and bloom
	// filters; 0 keeps every table's index and filter in memory (a few
	// dozen bytes per 4 KiB block plus about 10 bits per key), which is
	// what keeps reads that miss the user cache fast. Default 0.
	IndexCacheSize bytesize.Size

	// ValueThreshold is the largest value kept in the LSM tree; larger ones
	// go to the value log. Vectors and item shares are a few KiB: keeping
	// them in the tree means overwrites are reclaimed by compaction, not by
	// value-log GC. So are the delta records a backlog batch writes (up to
	// a few hundred KiB, deleted at the next checkpoint): in the value log
	// they stayed on disk, and in the RSS as pages of its mmapped files,
	// until value-log GC (180 MB of 270 MB on disk after the harness's
	// 1.6M-event backlog). Default 1 MiB, Badger's maximum; lowered to 15%
	// of MemTableSize (Badger's limit on one commit) when above it.
	ValueThreshold bytesize.Size

	// ValueLogFileSize is the size of one value-log file (mmapped). Default
	// 64 MiB.
	ValueLogFileSize bytesize.Size

	// Logger receives Badger's warnings and errors and the store's own.
	// Default slog.Default().
	Logger *slog.Logger

	// ApplyDeltas folds item deltas into item statistics for LoadItemParts
	// and ScanItemParts, which recover each share as checkpointed plus the
	// delta records written since: set it to the ApplyDeltas of the
	// features.Extractor the consumer folds with. Default nil: those reads
	// fail with ErrPendingDeltas while a partition has delta records no
	// checkpoint covers (RecoverItemParts takes the fold as an argument).
	ApplyDeltas DeltaFold
}

// DeltaFold applies item deltas to item statistics, asking stats for the
// statistics of each item it changes: features.Extractor.ApplyDeltas.
type DeltaFold func(d *features.Deltas, stats func(item string) *features.ItemStats)

// minCacheBytes is the smallest cache fastcache is given.
const minCacheBytes = 32 * bytesize.MiB

// DefaultConfig returns the documented defaults, without a directory.
func DefaultConfig() Config {
	return Config{
		CacheBytes: 64 * bytesize.MiB, GCInterval: 5 * time.Minute, BuilderTrimInterval: time.Second,
		MemTableSize: 32 * bytesize.MiB, NumMemtables: 2, NumLevelZeroTables: 6, NumLevelZeroTablesStall: 12,
		BaseTableSize: 2 * bytesize.MiB, TableSizeMultiplier: 1, NumCompactors: 2, ValueThreshold: bytesize.MiB, ValueLogFileSize: 64 * bytesize.MiB,
	}
}

// EnsureDefaults gives zero fields their defaults, and raises a cache
// smaller than the minimum to it.
func (c *Config) EnsureDefaults() {
	d := DefaultConfig()
	if c.CacheBytes == 0 {
		c.CacheBytes = d.CacheBytes
	}
	c.CacheBytes = max(c.CacheBytes, minCacheBytes)
	if c.GCInterval == 0 {
		c.GCInterval = d.GCInterval
	}
	if c.BuilderTrimInterval == 0 {
		c.BuilderTrimInterval = d.BuilderTrimInterval
	}
	for _, f := range []struct{ v, d *int }{
		{&c.NumMemtables, &d.NumMemtables}, {&c.NumLevelZeroTables, &d.NumLevelZeroTables},
		{&c.NumLevelZeroTablesStall, &d.NumLevelZeroTablesStall}, {&c.NumCompactors, &d.NumCompactors},
		{&c.TableSizeMultiplier, &d.TableSizeMultiplier},
	} {
		if *f.v == 0 {
			*f.v = *f.d
		}
	}
	for _, f := range []struct{ v, d *bytesize.Size }{
		{&c.MemTableSize, &d.MemTableSize}, {&c.BaseTableSize, &d.BaseTableSize},
		{&c.ValueThreshold, &d.ValueThreshold}, {&c.ValueLogFileSize, &d.ValueLogFileSize},
	} {
		if *f.v == 0 {
			*f.v = *f.d
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Store is Sticky's durable state: user vectors, per-partition item
// statistics and consumed offsets in Badger, with user vectors cached in
// fastcache. It is safe for concurrent use; each partition's keys must have
// a single writer (the partition's worker).
type Store struct {
	cfg   Config
	db    *badger.DB
	cache *fastcache.Cache
	log   *slog.Logger

	hits, misses atomic.Uint64
	commits      atomic.Uint64
	ts           atomic.Uint64 // the latest commit timestamp handed out (commitTxn)
	commitMu     sync.Mutex    // hands out commit timestamps in the order commits reach Badger
	userBytes    atomic.Int64  // an encoded user of the latest commit or flush, to size the next arena
	checkpoints  atomic.Uint64
	flushes      atomic.Uint64
	written      [writtenKinds]atomic.Uint64 // bytes of keys and values written, by writtenKind
	trimmed      atomic.Uint64               // bytes of table-builder buffers freed (trimLoop)

	// fill serialises, per key stripe, filling the cache from Badger with
	// refreshing it after a commit, so that a reader's older snapshot can
	// never overwrite a newer commit's entry.
	fill [64]sync.Mutex

	// pins hold the users staged (Stage) and not yet flushed (Flush), by
	// key stripe: readers find them before the cache, which may evict
	// them, and Badger, which holds an older version.
	pins [64]pinStripe

	bufs sync.Pool // *[]byte scratch for reads

	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// valueThreshold is the value threshold the store opens Badger with.
func valueThreshold(cfg Config) int64 {
	return min(int64(cfg.ValueThreshold), 15*int64(cfg.MemTableSize)/100)
}

// pinStripe is one stripe of Store.pins: staged users by key.
type pinStripe struct {
	mu sync.RWMutex
	m  map[string]*Staged
}

// Staged is a user vector its partition's worker keeps changing in place
// while readers of the store read it (Stage): the worker holds Lock while
// it changes User, readers hold RLock while they copy it.
type Staged struct {
	sync.RWMutex
	User *features.User
	upTo int64 // the offset User is current up to, as of the last Stage
}

// read copies the staged vector into u and returns the offset it is
// current up to.
func (p *Staged) read(u *features.User) int64 {
	p.RLock()
	defer p.RUnlock()
	p.User.CopyInto(u)
	return p.upTo
}

// encode appends the stored form of the staged vector to dst.
func (p *Staged) encode(dst []byte) []byte {
	p.RLock()
	defer p.RUnlock()
	return appendStoredUser(dst, p.upTo, p.User)
}

// Open opens (creating if needed) the store in cfg.Dir; zero fields of cfg
// take their defaults.
func Open(cfg Config) (*Store, error) {
	cfg.EnsureDefaults()
	if cfg.Dir == "" {
		return nil, errors.New("cannot open state: Config.Dir is required")
	}
	bo := badger.DefaultOptions(cfg.Dir).
		WithLogger(badgerLogger{cfg.Logger}).
		WithSyncWrites(cfg.SyncWrites).
		WithMemTableSize(int64(cfg.MemTableSize)).
		WithNumMemtables(cfg.NumMemtables).
		WithNumLevelZeroTables(cfg.NumLevelZeroTables).
		WithNumLevelZeroTablesStall(max(cfg.NumLevelZeroTablesStall, cfg.NumLevelZeroTables+1)).
		WithBaseTableSize(int64(cfg.BaseTableSize)).
		WithNumCompactors(cfg.NumCompactors).
		// One writer per key range: no conflict detection needed.
		WithDetectConflicts(false).
		// Small values stay in the LSM tree, stored uncompressed, so blocks
		// are read straight from the mmapped tables (see BlockCacheSize).
		WithCompression(options.None).
		WithBlockCacheSize(int64(cfg.BlockCacheSize)).
		WithIndexCacheSize(int64(cfg.IndexCacheSize)).
		WithValueLogFileSize(int64(cfg.ValueLogFileSize)).
		WithValueThreshold(valueThreshold(cfg)).
		WithMetricsEnabled(false)
	bo.TableSizeMultiplier = cfg.TableSizeMultiplier // no WithTableSizeMultiplier
	// Managed timestamps (see commitTxn): in Badger's own mode every
	// transaction, a read's included, first waits until every commit
	// handed a timestamp before it is written, so a request that missed
	// the cache, or a worker's commit, queued behind other partitions'
	// commits (a trace of the harness's live phase: waits of up to 120 ms).
	db, err := badger.OpenManaged(bo)
	if err != nil {
		return nil, fmt.Errorf("cannot open badger in %s: %w", cfg.Dir, err)
	}
	s := &Store{
		cfg:   cfg,
		db:    db,
		cache: fastcache.New(int(cfg.CacheBytes)),
		log:   cfg.Logger,
		stop:  make(chan struct{}),
	}
	s.ts.Store(db.MaxVersion())
	s.bufs.New = func() any { b := make([]byte, 0, 4096); return &b }
	// Every read is of the latest version (View reads at the largest
	// timestamp), so every older version may go at the next compaction.
	s.every(time.Second, s.discardOld)
	s.every(cfg.GCInterval, s.gcValueLog)
	// Badger's idle table-builder buffers (builderpool.go).
	if p := builderPool(db); p != nil && cfg.BuilderTrimInterval > 0 {
		s.every(cfg.BuilderTrimInterval, func() { s.trimmed.Add(trimBuilderPool(p)) })
	}
	return s, nil
}

// Close stops the value-log GC, then closes Badger. It is safe to call more
// than once and returns the first error.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.wg.Wait() // GC must not run on a closed DB
		s.closeErr = s.db.Close()
		s.cache.Reset()
	})
	return s.closeErr
}

// The store runs Badger with managed timestamps: reads (View) are of the
// latest version and never wait; commits take their timestamps from
// commitTxn and newWriteBatch. Readers may therefore see a transaction of
// another key range half applied, which no reader depends on: each key
// has one writer (Store), and each of its writes lands in timestamp order.

// update runs fn in a read-write transaction and commits it.
func (s *Store) update(fn func(txn *badger.Txn) error) error {
	txn := s.db.NewTransactionAt(math.MaxUint64, true)
	defer txn.Discard()
	if err := fn(txn); err != nil {
		return err
	}
	return s.commitTxn(txn)
}

// commitTxn commits txn at a new timestamp and waits until it is written.
// Timestamps are handed out in the order the commits reach Badger's write
// queue, as Badger's own oracle does, so that of two writes of one key
// the later has the larger timestamp.
func (s *Store) commitTxn(txn *badger.Txn) error {
	done := make(chan error, 1)
	s.commitMu.Lock()
	err := txn.CommitAt(s.ts.Add(1), func(err error) { done <- err })
	s.commitMu.Unlock()
	if err != nil {
		return err
	}
	return <-done
}

// newWriteBatch returns a write batch at a new timestamp. Its writes land
// when it is flushed, after writes with larger timestamps perhaps: it is
// for keys no commit writes meanwhile.
func (s *Store) newWriteBatch() *badger.WriteBatch {
	return s.db.NewWriteBatchAt(s.ts.Add(1))
}

// discardOld lets compactions drop every version but the latest of each
// key: with managed timestamps Badger keeps them all until told.
func (s *Store) discardOld() { s.db.SetDiscardTs(s.ts.Load()) }

// every runs fn every d until Close, on a goroutine the store owns.
func (s *Store) every(d time.Duration, fn func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				fn()
			}
		}
	}()
}

// gcValueLog runs Badger's value-log GC: each successful run rewrites one
// value-log file, so it repeats until there is nothing worth rewriting (or
// the store closes).
func (s *Store) gcValueLog() {
	for i := 0; i < 16; i++ {
		select {
		case <-s.stop:
			return
		default:
		}
		if err := s.db.RunValueLogGC(0.5); err != nil {
			if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
				s.log.Warn("value log GC failed", "err", err)
			}
			return
		}
	}
}

// User reads the vector of user id into u (whose ID is set). It reports
// false, leaving u zero but for its ID, when the user is unknown. A user
// staged and not yet flushed is read as staged.
func (s *Store) User(id string, u *features.User) (bool, error) {
	found, _, err := s.user(id, u, DecodeUser)
	return found, err
}

// UserAt is User that also returns the offset of the user's partition the
// vector is current up to: every event of the user at or below it is in
// the vector. It is -1 for a vector that does not say (stored before
// write-behind, or by Commit's callers that do not), which is current up to
// its partition's stored offset, and for an unknown user.
func (s *Store) UserAt(id string, u *features.User) (found bool, upTo int64, err error) {
	return s.user(id, u, DecodeUser)
}

// Views returns the store as a reader of user vectors for requests: its
// User decodes with DecodeUserView, reusing u's slices and sharing one copy
// of the stored bytes among u's strings. The ranker reads users this way.
func (s *Store) Views() Views { return Views{s} }

// Views reads user vectors for readers that drop them soon after; see
// Store.Views.
type Views struct{ s *Store }

// User is Store.User with DecodeUserView.
func (v Views) User(id string, u *features.User) (bool, error) {
	found, _, err := v.s.user(id, u, DecodeUserView)
	return found, err
}

// keepBuf keeps v's array as the pooled buffer bp if fastcache had to
// grow it past bp's (v was appended after a key of n bytes).
func keepBuf(bp *[]byte, v []byte, n int) {
	if cap(v) > cap(*bp)-n {
		*bp = v[:0]
	}
}

func (s *Store) user(id string, u *features.User, decode func([]byte, *features.User) error) (bool, int64, error) {
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	key := userKey((*bp)[:0], id)
	u.ID = id
	stripe := xxhash.Sum64(key) % uint64(len(s.fill))
	if p := s.pinned(stripe, key); p != nil {
		return true, p.read(u), nil
	}
	if v := s.cache.Get(key[len(key):], key); len(v) > 0 {
		s.hits.Add(1)
		keepBuf(bp, v, len(key))
		return true, storedUpTo(v), decode(v, u)
	}
	s.misses.Add(1)
	// Miss: read Badger and fill the cache under the key's stripe lock. A
	// commit or a flush refreshes the cache under the same lock after it
	// is durable, so whichever of the two comes second writes the newer
	// value.
	mu := &s.fill[stripe]
	mu.Lock()
	defer mu.Unlock()
	if p := s.pinned(stripe, key); p != nil {
		return true, p.read(u), nil
	}
	if v := s.cache.Get(key[len(key):], key); len(v) > 0 {
		keepBuf(bp, v, len(key))
		return true, storedUpTo(v), decode(v, u)
	}
	var found bool
	upTo := int64(-1)
	err := s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(key)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		return it.Value(func(v []byte) error {
			upTo = storedUpTo(v)
			if err := decode(v, u); err != nil {
				return err
			}
			s.cacheSet(key, v)
			return nil
		})
	})
	if err != nil {
		return false, -1, fmt.Errorf("cannot read user %q: %w", id, err)
	}
	if !found {
		*u = features.User{ID: id}
	}
	return found, upTo, nil
}

// pinned returns the staged user of key, in the given stripe; nil if
// none.
func (s *Store) pinned(stripe uint64, key []byte) *Staged {
	p := &s.pins[stripe]
	p.mu.RLock()
	v := p.m[string(key)]
	p.mu.RUnlock()
	return v
}

// maxCacheEntry is fastcache's limit on key + value; larger values would be
// silently refused, leaving an older entry in place.
const maxCacheEntry = 64<<10 - 16

// cacheSet caches k -> v, or drops k's entry when v is too big to cache, so
// that the cache never holds a stale value.
func (s *Store) cacheSet(k, v []byte) {
	if len(k)+len(v) >= maxCacheEntry {
		s.cache.Del(k)
		return
	}
	s.cache.Set(k, v)
}

// Offset returns the offset of the last record applied from topic/partition.
func (s *Store) Offset(topic string, partition int32) (int64, bool, error) {
	var off int64
	var found bool
	err := s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(offsetKey(topic, partition))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return it.Value(func(v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("offset value of %d bytes: %w", len(v), ErrCorrupt)
			}
			off, found = int64(binary.BigEndian.Uint64(v)), true
			return nil
		})
	})
	if err != nil {
		return 0, false, fmt.Errorf("cannot read offset of %s/%d: %w", topic, partition, err)
	}
	return off, found, nil
}

// Model returns a partition's model share as committed with its offset;
// nil when none is stored.
func (s *Store) Model(partition int32) ([]byte, error) {
	out, err := s.get(modelKey(partition))
	if err != nil {
		return nil, fmt.Errorf("cannot read model share of partition %d: %w", partition, err)
	}
	return out, nil
}

// ItemPart is one partition's share of an item's statistics.
type ItemPart struct {
	Item  string
	Stats *features.ItemStats
}

// Batch is everything one partition worker applied from a run of records:
// written atomically, with the offset of the last record.
type Batch struct {
	Topic     string
	Partition int32
	Offset    int64
	Users     []*features.User
	// Items, if any, are item shares as of Offset, written whole.
	Items []ItemPart
	// Deltas, if not nil and not empty, are the batch's item deltas,
	// written as one record under Partition and Offset until a Checkpoint
	// covers them; readers recover shares by applying them.
	Deltas *features.Deltas
	// Model, if not nil, is the partition's model share after the batch
	// (the ranker's encoding; the store does not read it).
	Model []byte
}

// Commit writes b in one Badger transaction, then refreshes the cache. The
// state and the offset become durable together or not at all. A batch too
// big for one transaction returns ErrBatchTooBig having written nothing.
func (s *Store) Commit(b *Batch) error {
	txn := s.db.NewTransactionAt(math.MaxUint64, true)
	defer txn.Discard()
	// One arena for every key and value: the transaction keeps references
	// until Commit, and growing the arena never moves bytes already sliced.
	// It is sized from the previous commit's users (a few KiB each), so
	// that it seldom grows: each growth allocates and copies it whole.
	per := max(s.userBytes.Load(), 256)
	arena := make([]byte, 0, (per+per/8)*int64(len(b.Users))+256*int64(len(b.Items))+64)
	set := func(k, v []byte) error {
		if err := txn.Set(k, v); err != nil {
			if errors.Is(err, badger.ErrTxnTooBig) {
				return ErrBatchTooBig
			}
			return err
		}
		return nil
	}
	type kv struct{ k, v []byte }
	users := make([]kv, 0, len(b.Users))
	var userBytes int
	for _, u := range b.Users {
		start := len(arena)
		arena = userKey(arena, u.ID)
		mid := len(arena)
		arena = appendStoredUser(arena, b.Offset, u)
		k, v := arena[start:mid:mid], arena[mid:len(arena):len(arena)]
		userBytes += len(arena) - start
		if err := set(k, v); err != nil {
			return fmt.Errorf("cannot commit partition %d: %w", b.Partition, err)
		}
		users = append(users, kv{k, v})
	}
	if len(users) > 0 {
		s.userBytes.Store(int64(userBytes / len(users)))
	}
	for _, it := range b.Items {
		start := len(arena)
		arena = itemPartKey(arena, b.Partition, it.Item)
		mid := len(arena)
		arena = appendItemShare(arena, b.Offset, it.Stats)
		if err := set(arena[start:mid:mid], arena[mid:len(arena):len(arena)]); err != nil {
			return fmt.Errorf("cannot commit partition %d: %w", b.Partition, err)
		}
	}
	if d := b.Deltas; d != nil && len(d.Pops)+len(d.Pairs) > 0 {
		start := len(arena)
		arena = deltasKey(arena, b.Partition, b.Offset)
		mid := len(arena)
		arena = AppendDeltas(arena, d)
		if err := set(arena[start:mid:mid], arena[mid:len(arena):len(arena)]); err != nil {
			return fmt.Errorf("cannot commit partition %d: %w", b.Partition, err)
		}
	}
	if b.Model != nil {
		if err := set(modelKey(b.Partition), b.Model); err != nil {
			return fmt.Errorf("cannot commit partition %d: %w", b.Partition, err)
		}
	}
	if err := set(offsetKey(b.Topic, b.Partition), binary.BigEndian.AppendUint64(nil, uint64(b.Offset))); err != nil {
		return fmt.Errorf("cannot commit partition %d: %w", b.Partition, err)
	}
	if err := s.commitTxn(txn); err != nil {
		return fmt.Errorf("cannot commit partition %d at offset %d: %w", b.Partition, b.Offset, err)
	}
	s.commits.Add(1)
	for _, e := range users {
		mu := &s.fill[xxhash.Sum64(e.k)%uint64(len(s.fill))]
		mu.Lock()
		s.cacheSet(e.k, e.v)
		mu.Unlock()
	}
	return nil
}

// Stage makes users, each current up to offset upTo of its partition,
// what readers of the store read, before they are durable: each is pinned
// in memory until a Flush that names it writes it (and caches it: a user
// changed by many batches between two flushes is encoded and enters the
// cache once). Readers copy a staged user under its read lock; only the
// partition's writer stages, changes (under the write lock) and flushes
// its users.
func (s *Store) Stage(upTo int64, users []*Staged) {
	for _, u := range users {
		u.Lock()
		u.upTo = upTo
		u.Unlock()
		var buf [64]byte
		k := userKey(buf[:0], u.User.ID)
		p := &s.pins[xxhash.Sum64(k)%uint64(len(s.fill))]
		p.mu.Lock()
		if p.m == nil {
			p.m = make(map[string]*Staged)
		}
		if p.m[string(k)] != u { // a lookup by string(k) does not copy k; an insert does
			p.m[string(k)] = u
		}
		p.mu.Unlock()
	}
}

// Unstage drops the given staged users, which a flush did not make
// durable: readers read them from the cache and Badger again, as the last
// flush left them. A partition's writer calls it when it gives the
// partition up without a flush, so that its next owner replays the
// partition's events from the stored users. A user staged since by
// another Staged is left.
func (s *Store) Unstage(users []*Staged) {
	for _, u := range users {
		var buf [64]byte
		k := userKey(buf[:0], u.User.ID)
		p := &s.pins[xxhash.Sum64(k)%uint64(len(s.fill))]
		p.mu.Lock()
		if p.m[string(k)] == u {
			delete(p.m, string(k))
		}
		p.mu.Unlock()
	}
}

// Flush is what a partition's writer makes durable at once: the users it
// staged since its last flush, the item deltas of the events it applied
// since, its model share and the offset of the last record applied.
type Flush struct {
	Topic     string
	Partition int32
	Offset    int64
	Users     []string // ids of the users staged since the last flush
	// Deltas are the item deltas of the events applied since the last
	// flush, in offset order; Marks say where each event's deltas end.
	Deltas *features.Deltas
	Marks  []DeltaMark
	Model  []byte // the partition's model share; nil: none

	// DeltasFrom is the number of Marks whose delta records an earlier,
	// failed attempt of this flush wrote (its DeltasDone): they are not
	// written again. Cut differently, they would be stored twice.
	DeltasFrom int
	// DeltasDone is set by Flush: the number of Marks whose delta records
	// are written, whether or not the flush then succeeds.
	DeltasDone int
}

// DeltaMark says where, in a Flush's Deltas, the deltas of the events up
// to Offset end.
type DeltaMark struct {
	Offset      int64
	Pops, Pairs int
}

// Flush writes f: first the item deltas, as delta records (see
// Checkpoint), each in its own transaction and in offset order, so that after a crash
// the records present are those of a prefix of the events; then the staged
// users, each as staged (current up to the offset of its last event);
// last, the model share and the offset, in one transaction. A crash part
// way leaves the records and users it wrote: recovery resumes after the
// stored offset, skipping the item deltas of events at or below the last
// record (DeltasUpTo) and every event a user's vector is already current
// up to (UserAt). The users stay pinned until the flush succeeds; a failed
// flush is done again with DeltasFrom set to its DeltasDone (and may hold
// more events by then).
func (s *Store) Flush(f *Flush) error {
	if err := s.writeDeltas(f); err != nil {
		return err
	}
	keys := make([][]byte, 0, len(f.Users))
	vals := make([][]byte, 0, len(f.Users))
	if len(f.Users) > 0 {
		w := s.newWriteBatch()
		defer w.Cancel()
		per := max(s.userBytes.Load(), 256)
		var arena []byte // grown in chunks; the write batch keeps references
		for _, id := range f.Users {
			k := userKey(nil, id)
			p := s.pinned(xxhash.Sum64(k)%uint64(len(s.fill)), k)
			if p == nil {
				return fmt.Errorf("cannot flush partition %d: user %q was not staged", f.Partition, id)
			}
			if cap(arena)-len(arena) < int(2*per) {
				arena = make([]byte, 0, max(256<<10, 4*per))
			}
			start := len(arena)
			arena = p.encode(arena)
			v := arena[start:len(arena):len(arena)]
			s.userBytes.Store(int64(len(v)))
			if err := w.SetEntry(badger.NewEntry(k, v)); err != nil {
				return fmt.Errorf("cannot flush the users of partition %d: %w", f.Partition, err)
			}
			keys = append(keys, k)
			vals = append(vals, v)
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("cannot flush the users of partition %d: %w", f.Partition, err)
		}
		n := 0
		for i := range keys {
			n += len(keys[i]) + len(vals[i])
		}
		s.written[writtenUsers].Add(uint64(n))
	}
	err := s.update(func(txn *badger.Txn) error {
		if f.Model != nil {
			if err := txn.Set(modelKey(f.Partition), f.Model); err != nil {
				return err
			}
		}
		return txn.Set(offsetKey(f.Topic, f.Partition), binary.BigEndian.AppendUint64(nil, uint64(f.Offset)))
	})
	if err != nil {
		return fmt.Errorf("cannot flush partition %d at offset %d: %w", f.Partition, f.Offset, err)
	}
	s.written[writtenModel].Add(uint64(len(f.Model)))
	// Unpinned, each user is read from the cache (refreshed here, under
	// the stripe lock readers fill it under) or Badger, both current.
	for i, k := range keys {
		stripe := xxhash.Sum64(k) % uint64(len(s.fill))
		p := &s.pins[stripe]
		mu := &s.fill[stripe]
		mu.Lock()
		p.mu.Lock()
		s.cacheSet(k, vals[i])
		delete(p.m, string(k))
		p.mu.Unlock()
		mu.Unlock()
	}
	s.flushes.Add(1)
	return nil
}

// writeDeltas writes f's item deltas as delta records keyed by the offset
// of their last event, each in one transaction, cut at event boundaries to
// at most deltaRecordBytes.
func (s *Store) writeDeltas(f *Flush) error {
	if f.Deltas == nil {
		return nil
	}
	limit := s.deltaRecordBytes()
	f.DeltasDone = min(max(f.DeltasFrom, 0), len(f.Marks))
	marks := f.Marks[f.DeltasDone:]
	var pops, pairs int // where the next record starts
	if f.DeltasDone > 0 {
		pops, pairs = f.Marks[f.DeltasDone-1].Pops, f.Marks[f.DeltasDone-1].Pairs
	}
	var buf []byte
	per := 48.0 // bytes per delta, as last encoded
	entries := func(m DeltaMark) int { return m.Pops - pops + m.Pairs - pairs }
	for len(marks) > 0 {
		// The most events whose deltas fit at per bytes each, fewer if
		// the encoding says otherwise.
		budget := min(int(float64(limit)/per), maxDeltas)
		n := max(sort.Search(len(marks), func(i int) bool { return entries(marks[i]) > budget }), 1)
		for {
			m := marks[n-1]
			d := features.Deltas{Pops: f.Deltas.Pops[pops:m.Pops], Pairs: f.Deltas.Pairs[pairs:m.Pairs]}
			if len(d.Pops)+len(d.Pairs) == 0 {
				break
			}
			buf = AppendDeltas(buf[:0], &d)
			per = max(per, float64(len(buf))/float64(len(d.Pops)+len(d.Pairs)))
			if n > 1 && len(buf) > limit {
				n = max(n*limit/len(buf), 1)
				continue
			}
			k := deltasKey(nil, f.Partition, m.Offset)
			err := s.update(func(txn *badger.Txn) error { return txn.Set(k, buf) })
			if err != nil {
				return fmt.Errorf("cannot write the delta record of partition %d at offset %d: %w", f.Partition, m.Offset, err)
			}
			s.written[writtenDeltas].Add(uint64(len(k) + len(buf)))
			break
		}
		pops, pairs = marks[n-1].Pops, marks[n-1].Pairs
		marks = marks[n:]
		f.DeltasDone = len(f.Marks) - len(marks)
	}
	return nil
}

// deltaRecordBytes is the size a flush cuts its delta records to: well
// within one transaction, and within the LSM tree's value threshold, so
// that the records, deleted at the next checkpoint, are reclaimed by
// compaction rather than kept in the value log until its GC.
func (s *Store) deltaRecordBytes() int {
	return int(min(s.db.MaxBatchSize()/2, valueThreshold(s.cfg)*3/4, 512<<10))
}

// DeltasUpTo returns the offset of the newest delta record of a partition:
// the item deltas of every event at or below it are stored (and recovered
// by RecoverItemParts). It reports false when the partition has none.
func (s *Store) DeltasUpTo(partition int32) (int64, bool, error) {
	var off int64
	var found bool
	prefix := deltasPrefix(partition)
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: true})
		defer it.Close()
		it.Seek(append(slices.Clone(prefix), 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF))
		if !it.Valid() {
			return nil
		}
		var err error
		off, err = deltasOffset(it.Item().Key(), prefix)
		found = err == nil
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("cannot read the delta records of partition %d: %w", partition, err)
	}
	return off, found, nil
}

// Checkpoint makes items, a partition's item shares as of offset upTo
// (every delta record at or below upTo applied), the stored ones, then
// deletes the partition's delta records at or below upTo. It may take
// several transactions: each share records the offset it is current up to,
// so recovery after a checkpoint cut short applies each delta record only
// to the shares it is newer than, and the records are deleted only once
// every share is written. A failed checkpoint leaves recovery exact; it may
// simply be done again later.
func (s *Store) Checkpoint(partition int32, upTo int64, items []ItemPart) error {
	w := s.newWriteBatch()
	defer w.Cancel()
	var arena []byte // grown in chunks; the write batch keeps references
	bytes := 0
	for _, it := range items {
		if cap(arena)-len(arena) < 16<<10 {
			arena = make([]byte, 0, 256<<10)
		}
		start := len(arena)
		arena = itemPartKey(arena, partition, it.Item)
		mid := len(arena)
		arena = appendItemShare(arena, upTo, it.Stats)
		k, v := arena[start:mid:mid], arena[mid:len(arena):len(arena)]
		if err := w.Set(k, v); err != nil {
			return fmt.Errorf("cannot checkpoint item shares of partition %d: %w", partition, err)
		}
		bytes += len(arena) - start
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("cannot checkpoint item shares of partition %d: %w", partition, err)
	}
	s.written[writtenShares].Add(uint64(bytes))
	var covered [][]byte
	prefix := deltasPrefix(partition)
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			off, err := deltasOffset(k, prefix)
			if err != nil {
				return err
			}
			if off > upTo {
				break
			}
			covered = append(covered, it.Item().KeyCopy(nil))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot list delta records of partition %d: %w", partition, err)
	}
	d := s.newWriteBatch()
	defer d.Cancel()
	for _, k := range covered {
		if err := d.Delete(k); err != nil {
			return fmt.Errorf("cannot delete delta records of partition %d: %w", partition, err)
		}
	}
	if err := d.Flush(); err != nil {
		return fmt.Errorf("cannot delete delta records of partition %d: %w", partition, err)
	}
	s.checkpoints.Add(1)
	return nil
}

// CheckpointDeltas checkpoints a partition's item shares from the store
// alone: it folds the partition's delta records at or below upTo, in
// offset order with fold, into the stored shares of the items they touch
// (each read once, a record skipping a share already current up to it, as
// in RecoverItemParts), then makes the result the stored shares and
// deletes those records (Checkpoint). It returns the number of records
// folded and of shares written. Records above upTo are left for the next
// checkpoint, so the partition's worker, the only writer of its shares and
// records, may write newer records meanwhile; it must not run two
// checkpoints of one partition at once.
func (s *Store) CheckpointDeltas(partition int32, upTo int64, fold DeltaFold) (records, items int, err error) {
	f := shareFold{shares: make(map[string]*coveredShare)}
	err = s.db.View(func(txn *badger.Txn) error {
		var key []byte
		f.missing = func(item string) (*coveredShare, error) {
			sh := &coveredShare{st: new(features.ItemStats), covered: -1}
			key = itemPartKey(key[:0], partition, item)
			it, err := txn.Get(key)
			if errors.Is(err, badger.ErrKeyNotFound) {
				return sh, nil
			}
			if err == nil {
				err = it.Value(func(v []byte) error {
					sh.covered, err = decodeItemShare(v, sh.st)
					return err
				})
			}
			if err != nil {
				return nil, fmt.Errorf("item %q of partition %d: %w", item, partition, err)
			}
			return sh, nil
		}
		var err error
		records, err = f.records(txn, partition, upTo, fold)
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("cannot fold the delta records of partition %d: %w", partition, err)
	}
	slices.Sort(f.ids)
	parts := make([]ItemPart, 0, len(f.ids))
	for _, id := range f.ids {
		// A share already current up to upTo (a checkpoint cut short
		// wrote it) took no record: rewritten with upTo, it could only
		// lose what it covers beyond.
		if sh := f.shares[id]; sh.covered < upTo {
			parts = append(parts, ItemPart{Item: id, Stats: sh.st})
		}
	}
	if err := s.Checkpoint(partition, upTo, parts); err != nil {
		return 0, 0, err
	}
	return records, len(parts), nil
}

// coveredShare is an item share and the offset it is current up to (-1:
// none).
type coveredShare struct {
	st      *features.ItemStats
	covered int64
}

// shareFold folds a partition's delta records into item shares, as
// recovery and checkpoints do.
type shareFold struct {
	shares map[string]*coveredShare
	ids    []string // the keys of shares, in the order added
	// missing returns the share of an item not in shares; nil: a new one,
	// current up to -1.
	missing func(item string) (*coveredShare, error)
}

// records folds the partition's delta records at or below upTo into the
// shares with fold, in offset order; a record skips a share already
// current up to it. It returns the number of records folded; with a nil
// fold, any record is ErrPendingDeltas.
func (f *shareFold) records(txn *badger.Txn, partition int32, upTo int64, fold DeltaFold) (int, error) {
	prefix := deltasPrefix(partition)
	var d features.Deltas
	var skipped features.ItemStats // where deltas a share already holds go
	var failed error               // the first share missing could not give
	records := 0
	err := scanTxnPrefetch(txn, prefix, 0, func(k, v []byte) error {
		off, err := deltasOffset(k, prefix)
		if err != nil {
			return err
		}
		if off > upTo {
			return errScanDone
		}
		if fold == nil {
			return fmt.Errorf("partition %d, offset %d: %w", partition, off, ErrPendingDeltas)
		}
		if err := DecodeDeltas(v, &d); err != nil {
			return fmt.Errorf("delta record of partition %d at offset %d: %w", partition, off, err)
		}
		fold(&d, func(item string) *features.ItemStats {
			sh := f.shares[item]
			if sh == nil {
				sh = &coveredShare{st: new(features.ItemStats), covered: -1}
				if f.missing != nil {
					got, err := f.missing(item)
					if err != nil {
						failed = cmp.Or(failed, err)
					} else {
						sh = got
					}
				}
				f.shares[item] = sh
				f.ids = append(f.ids, item)
			}
			if sh.covered >= off {
				skipped = features.ItemStats{}
				return &skipped
			}
			return sh.st
		})
		records++
		return failed
	})
	if errors.Is(err, errScanDone) {
		err = nil
	}
	return records, err
}

// errScanDone stops a scan early without an error.
var errScanDone = errors.New("scan done")

// PendingDeltas returns how many delta records a partition has (written
// since its last checkpoint) and how many item deltas they hold.
func (s *Store) PendingDeltas(partition int32) (records, deltas int, err error) {
	prefix := deltasPrefix(partition)
	var d features.Deltas
	err = s.db.View(func(txn *badger.Txn) error {
		return scanTxnPrefetch(txn, prefix, 0, func(k, v []byte) error {
			if err := DecodeDeltas(v, &d); err != nil {
				off, _ := deltasOffset(k, prefix)
				return fmt.Errorf("delta record at offset %d: %w", off, err)
			}
			records++
			deltas += len(d.Pops) + len(d.Pairs)
			return nil
		})
	})
	if err != nil {
		return 0, 0, fmt.Errorf("cannot read the delta records of partition %d: %w", partition, err)
	}
	return records, deltas, nil
}

// deltasOffset returns the offset of a delta record's key.
func deltasOffset(k, prefix []byte) (int64, error) {
	if len(k) != len(prefix)+8 {
		return 0, fmt.Errorf("delta record key %q: %w", k, ErrCorrupt)
	}
	return int64(binary.BigEndian.Uint64(k[len(prefix):])), nil
}

// RecoverItemParts calls fn, in item order, for every item share of one
// partition as the partition's worker last committed it: the share as
// checkpointed plus every delta record of the partition above the offset
// the share is current up to, applied with fold in offset order. fold may
// be nil when no delta record is pending (else ErrPendingDeltas). Shares and
// records are read at their latest versions: call it while the partition's
// worker is stopped (its only writer), so that no checkpoint runs beside it.
func (s *Store) RecoverItemParts(partition int32, fold DeltaFold, fn func(item string, st *features.ItemStats) error) error {
	err := s.db.View(func(txn *badger.Txn) error { return recoverPartition(txn, partition, fold, fn) })
	if err != nil {
		return fmt.Errorf("cannot recover item shares of partition %d: %w", partition, err)
	}
	return nil
}

func recoverPartition(txn *badger.Txn, partition int32, fold DeltaFold, fn func(item string, st *features.ItemStats) error) error {
	f := shareFold{shares: make(map[string]*coveredShare)}
	prefix := itemPartPrefix(partition)
	err := scanTxn(txn, prefix, func(k, v []byte) error {
		sh := &coveredShare{st: new(features.ItemStats)}
		var err error
		if sh.covered, err = decodeItemShare(v, sh.st); err != nil {
			return fmt.Errorf("item %q of partition %d: %w", k[len(prefix):], partition, err)
		}
		id := string(k[len(prefix):])
		f.shares[id] = sh
		f.ids = append(f.ids, id)
		return nil
	})
	if err != nil {
		return err
	}
	if _, err := f.records(txn, partition, math.MaxInt64, fold); err != nil {
		return err
	}
	ids, shares := f.ids, f.shares
	slices.Sort(ids)
	for _, id := range ids {
		if err := fn(id, shares[id].st); err != nil {
			return err
		}
	}
	return nil
}

// LoadItemParts calls fn, in item order, for every item share of one
// partition, recovered as RecoverItemParts does with Config.ApplyDeltas.
func (s *Store) LoadItemParts(partition int32, fn func(item string, st *features.ItemStats) error) error {
	return s.RecoverItemParts(partition, s.cfg.ApplyDeltas, fn)
}

// ScanItemParts calls fn for every item share of every partition, recovered
// as RecoverItemParts does with Config.ApplyDeltas, partition by partition;
// like RecoverItemParts, while no partition's worker runs (at start-up).
func (s *Store) ScanItemParts(fn func(partition int32, item string, st *features.ItemStats) error) error {
	err := s.db.View(func(txn *badger.Txn) error {
		var parts []int32
		for _, prefix := range []byte{prefixItemPart, prefixDeltas} {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefix}})
			for it.Rewind(); it.Valid(); {
				k := it.Item().Key()
				if len(k) < 5 {
					it.Close()
					return fmt.Errorf("item key of %d bytes: %w", len(k), ErrCorrupt)
				}
				p := int32(binary.BigEndian.Uint32(k[1:5]))
				parts = append(parts, p)
				if uint32(p) == math.MaxUint32 {
					break
				}
				it.Seek(binary.BigEndian.AppendUint32([]byte{prefix}, uint32(p)+1)) // the next partition
			}
			it.Close()
		}
		slices.Sort(parts)
		for _, p := range slices.Compact(parts) {
			err := recoverPartition(txn, p, s.cfg.ApplyDeltas, func(item string, st *features.ItemStats) error { return fn(p, item, st) })
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot scan item shares: %w", err)
	}
	return nil
}

// ScanUsersLenient calls fn for every stored user vector it can decode and
// corrupt for every one it cannot, going on past them.
func (s *Store) ScanUsersLenient(fn func(u *features.User) error, corrupt func(id string, err error)) error {
	return s.scanUsers(func(k, v []byte) error {
		u := &features.User{ID: string(k[1:])}
		if err := DecodeUser(v, u); err != nil {
			corrupt(u.ID, err)
			return nil
		}
		return fn(u)
	})
}

// ScanUsers calls fn for every stored user vector; a vector that cannot be
// decoded stops the scan with an error.
func (s *Store) ScanUsers(fn func(u *features.User) error) error {
	return s.scanUsers(func(k, v []byte) error {
		u := &features.User{ID: string(k[1:])}
		if err := DecodeUser(v, u); err != nil {
			return fmt.Errorf("user %q: %w", k[1:], err)
		}
		return fn(u)
	})
}

// scanUsers calls fn for every user, each once: as staged when it is
// pinned (Stage), else as stored; the users staged and not yet in Badger
// come last. A user staged while the scan runs may be seen as it was
// before, and, staged first and flushed while the scan runs, not at all.
func (s *Store) scanUsers(fn func(k, v []byte) error) error {
	var seen map[string]bool // pinned users met in Badger
	err := s.scan([]byte{prefixUser}, func(k, v []byte) error {
		if p := s.pinned(xxhash.Sum64(k)%uint64(len(s.fill)), k); p != nil {
			if seen == nil {
				seen = make(map[string]bool)
			}
			seen[string(k)], v = true, p.encode(nil)
		}
		return fn(k, v)
	})
	if err != nil {
		return err
	}
	type kv struct{ k, v []byte }
	var rest []kv
	for i := range s.pins {
		p := &s.pins[i]
		p.mu.RLock()
		for k, u := range p.m {
			if !seen[k] {
				rest = append(rest, kv{[]byte(k), u.encode(nil)})
			}
		}
		p.mu.RUnlock()
	}
	slices.SortFunc(rest, func(a, b kv) int { return bytes.Compare(a.k, b.k) })
	for _, e := range rest {
		if v, err := s.get(e.k); err != nil {
			return err
		} else if v != nil {
			continue // staged after the scan met its stored vector
		}
		if err := fn(e.k, e.v); err != nil {
			return err
		}
	}
	return nil
}

// CommitCatalogue writes catalogue changes read from topic/partition up to
// offset, atomically with that offset: puts are upserts, dels are
// tombstones.
func (s *Store) CommitCatalogue(topic string, partition int32, offset int64, puts []features.Item, dels []string) error {
	err := s.update(func(txn *badger.Txn) error {
		for i := range puts {
			v, err := json.Marshal(&puts[i])
			if err != nil {
				return fmt.Errorf("cannot encode item %q: %w", puts[i].ID, err)
			}
			if err := txn.Set(catalogueKey(puts[i].ID), v); err != nil {
				return err
			}
		}
		for _, id := range dels {
			if err := txn.Delete(catalogueKey(id)); err != nil {
				return err
			}
		}
		return txn.Set(offsetKey(topic, partition), binary.BigEndian.AppendUint64(nil, uint64(offset)))
	})
	if errors.Is(err, badger.ErrTxnTooBig) {
		return ErrBatchTooBig
	}
	if err != nil {
		return fmt.Errorf("cannot commit catalogue %s/%d at %d: %w", topic, partition, offset, err)
	}
	return nil
}

// ScanCatalogue calls fn for every catalogue item.
func (s *Store) ScanCatalogue(fn func(it *features.Item) error) error {
	return s.scan([]byte{prefixCatalogue}, func(k, v []byte) error {
		it := new(features.Item)
		if err := json.Unmarshal(v, it); err != nil {
			return fmt.Errorf("catalogue item %q: %w: %w", k[1:], ErrCorrupt, err)
		}
		return fn(it)
	})
}

func (s *Store) scan(prefix []byte, fn func(k, v []byte) error) error {
	err := s.db.View(func(txn *badger.Txn) error { return scanTxn(txn, prefix, fn) })
	if err != nil {
		return fmt.Errorf("cannot scan %q: %w", prefix, err)
	}
	return nil
}

// scanTxn calls fn for every key under prefix in txn, in key order.
func scanTxn(txn *badger.Txn, prefix []byte, fn func(k, v []byte) error) error {
	return scanTxnPrefetch(txn, prefix, 100, fn)
}

// scanTxnPrefetch is scanTxn with prefetch values copied ahead of fn (0:
// none, each value is read when fn is called, without a copy when it is
// in the LSM tree). Delta records are up to hundreds of KiB each: a
// recovery prefetching 100 of them in each of six partitions at once
// held over 100 MB.
func scanTxnPrefetch(txn *badger.Txn, prefix []byte, prefetch int, fn func(k, v []byte) error) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: prefetch > 0, PrefetchSize: prefetch})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		if err := item.Value(func(v []byte) error { return fn(item.Key(), v) }); err != nil {
			return err
		}
	}
	return nil
}

// PutMeta stores an engine metadata value under name.
func (s *Store) PutMeta(name string, v []byte) error {
	err := s.update(func(txn *badger.Txn) error { return txn.Set(append([]byte{prefixMeta}, name...), v) })
	if err != nil {
		return fmt.Errorf("cannot store %s: %w", name, err)
	}
	return nil
}

// Meta returns the metadata value stored under name, or nil.
func (s *Store) Meta(name string) ([]byte, error) {
	out, err := s.get(append([]byte{prefixMeta}, name...))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", name, err)
	}
	return out, nil
}

// get returns a copy of key's value, nil if there is none.
func (s *Store) get(key []byte) ([]byte, error) {
	var out []byte
	err := s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(key)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		out, err = it.ValueCopy(nil)
		return err
	})
	return out, err
}

// Stats is a snapshot of the store's counters.
type Stats struct {
	CacheHits     uint64 // user reads served by the cache
	CacheMisses   uint64 // user reads that went to Badger
	CacheEntries  uint64
	CacheBytes    uint64 // bytes held by live cache entries
	CacheMaxBytes uint64
	Commits       uint64 // batches committed
	Checkpoints   uint64 // item-share checkpoints written
	Flushes       uint64 // flushes of staged users and item deltas
	Pinned        int    // users staged and not yet flushed
	BuilderFreed  uint64 // bytes of Badger's table-builder buffers freed by the trim
	LSMBytes      int64  // Badger LSM tree size on disk
	VLogBytes     int64  // Badger value log size on disk
	// Bytes of keys and values written by flushes and checkpoints, by
	// what they hold (not Badger's own rewrites in compactions).
	WrittenUsers  uint64 // user vectors
	WrittenDeltas uint64 // delta records
	WrittenShares uint64 // item shares
	WrittenModel  uint64 // model shares
}

// writtenKind is what the bytes a Store writes hold.
type writtenKind int

const (
	writtenUsers  writtenKind = iota // user vectors (Flush)
	writtenDeltas                    // delta records (Flush)
	writtenShares                    // item shares (Checkpoint)
	writtenModel                     // model shares (Flush)
	writtenKinds
)

// Stats returns a snapshot of the store's counters.
func (s *Store) Stats() Stats {
	var cs fastcache.Stats
	s.cache.UpdateStats(&cs)
	lsm, vlog := s.db.Size()
	pinned := 0
	for i := range s.pins {
		p := &s.pins[i]
		p.mu.RLock()
		pinned += len(p.m)
		p.mu.RUnlock()
	}
	return Stats{Flushes: s.flushes.Load(), Pinned: pinned,
		CacheHits: s.hits.Load(), CacheMisses: s.misses.Load(),
		CacheEntries: cs.EntriesCount, CacheBytes: cs.BytesSize, CacheMaxBytes: cs.MaxBytesSize,
		Commits: s.commits.Load(), Checkpoints: s.checkpoints.Load(), BuilderFreed: s.trimmed.Load(),
		LSMBytes: lsm, VLogBytes: vlog,
		WrittenUsers: s.written[writtenUsers].Load(), WrittenDeltas: s.written[writtenDeltas].Load(),
		WrittenShares: s.written[writtenShares].Load(), WrittenModel: s.written[writtenModel].Load(),
	}
}

// badgerLogger sends Badger's warnings and errors to slog; its info and
// debug chatter is dropped.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any)   { b.l.Error("badger: " + trim(fmt.Sprintf(f, a...))) }
func (b badgerLogger) Warningf(f string, a ...any) { b.l.Warn("badger: " + trim(fmt.Sprintf(f, a...))) }
func (badgerLogger) Infof(string, ...any)          {}
func (badgerLogger) Debugf(string, ...any)         {}

func trim(s string) string {
	for len(s) > 0 && s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	return s
}

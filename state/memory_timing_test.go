package state

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/internal/bytesize"
)

// configs are the Badger settings compared by the benchmarks and the
// memory test below (STICKY_MEMORY_CONFIGS picks them; default: badger and
// default): "badger" is what the store ran with before issue 11 (Badger's
// defaults for memtables, L0, table sizes and compactors), "default" is
// DefaultConfig, the others variants of it. All get the smallest user
// cache, so that reads miss it and go to Badger.
var configs = []struct {
	name string
	cfg  func(dir string) Config
}{
	{"badger", formerConfig},
	{"default", func(dir string) Config {
		c := DefaultConfig()
		c.Dir, c.CacheBytes = dir, minCacheBytes
		return c
	}},
	// m16l2 is the default before the live-phase measurements of
	// docs/design.md, Storage: 16 MiB memtables, compactions at 2 L0
	// tables, stall at 8; m16l12 keeps the memtables and compacts at 12.
	{"m16l2", func(dir string) Config {
		c := DefaultConfig()
		c.Dir, c.CacheBytes, c.MemTableSize, c.NumLevelZeroTables, c.NumLevelZeroTablesStall = dir, minCacheBytes, 16<<20, 2, 8
		return c
	}},
	{"m16l12", func(dir string) Config {
		c := DefaultConfig()
		c.Dir, c.CacheBytes, c.MemTableSize, c.NumLevelZeroTables, c.NumLevelZeroTablesStall = dir, minCacheBytes, 16<<20, 12, 20
		return c
	}},
	// m16only is "badger" with 16 MiB memtables and nothing else changed.
	{"m16only", func(dir string) Config {
		c := formerConfig(dir)
		c.MemTableSize = 16 << 20
		return c
	}},
	// writes: L0 compactions at 4 tables, and tables doubling per level
	// (fewer table files).
	{"writes", func(dir string) Config {
		c := DefaultConfig()
		c.Dir, c.CacheBytes, c.NumLevelZeroTables, c.NumLevelZeroTablesStall, c.TableSizeMultiplier = dir, minCacheBytes, 4, 12, 2
		return c
	}},
	// m16 is the default with 16 MiB memtables: with write-behind, the
	// live phase measured the same with them (docs/design.md, Storage).
	{"m16", func(dir string) Config {
		c := DefaultConfig()
		c.Dir, c.CacheBytes, c.MemTableSize = dir, minCacheBytes, 16<<20
		return c
	}},
	// m64: the default with 64 MiB memtables (the default before 32 MiB).
	{"m64", func(dir string) Config {
		c := DefaultConfig()
		c.Dir, c.CacheBytes, c.MemTableSize = dir, minCacheBytes, 64<<20
		return c
	}},
	{"m8", func(dir string) Config {
		c := DefaultConfig()
		c.Dir, c.CacheBytes, c.MemTableSize = dir, minCacheBytes, 8<<20
		return c
	}},
}

// selected returns the configs named in STICKY_MEMORY_CONFIGS, by default
// badger and default.
func selected() []string {
	if s := os.Getenv("STICKY_MEMORY_CONFIGS"); s != "" {
		return strings.Split(s, ",")
	}
	return []string{"badger", "default"}
}

// formerConfig is what the store ran with before issue 11.
func formerConfig(dir string) Config {
	return Config{Dir: dir, CacheBytes: minCacheBytes, MemTableSize: 64 << 20, NumMemtables: 5,
		NumLevelZeroTables: 5, NumLevelZeroTablesStall: 15, BaseTableSize: 2 << 20, TableSizeMultiplier: 2, NumCompactors: 4,
		ValueLogFileSize: 256 * bytesize.MiB}
}

func benchUserID(i int) string { return "user-" + strconv.Itoa(i) }

// writeUsers commits n users, 250 a batch, each a copy of u under its own
// id.
func writeUsers(tb testing.TB, s *Store, u *features.User, n int) {
	tb.Helper()
	users := make([]features.User, 250)
	batch := make([]*features.User, 0, len(users))
	for i := 0; i < n; i += len(users) {
		batch = batch[:0]
		for j := i; j < min(i+len(users), n); j++ {
			v := &users[j-i]
			*v = *u
			v.ID = benchUserID(j)
			batch = append(batch, v)
		}
		if err := s.Commit(&Batch{Topic: "t", Offset: int64(i), Users: batch}); err != nil {
			tb.Fatal(err)
		}
	}
}

// benchUsers is how many users BenchmarkStoreUserMiss writes:
// STICKY_BENCH_USERS, default 200,000.
func benchUsers() int {
	if n, err := strconv.Atoi(os.Getenv("STICKY_BENCH_USERS")); err == nil && n > 0 {
		return n
	}
	return 200_000
}

// BenchmarkStoreUserMiss reads random users out of 200,000 written
// (STICKY_BENCH_USERS; 3.2 KB vectors) through a 32 MiB cache: nearly every read misses the cache and
// goes to Badger. It compares the store's former Badger settings with
// DefaultConfig, and reports the L0 tables and the cache's hit ratio.
// STICKY_BENCH_SETTLE (a duration, e.g. 20s) waits after the writes, so
// that the reads do not compete with the compactions the writes left
// running: without it, 32 MiB memtables measured reads 3× slower than 64
// MiB (96–100 µs/op against 30–32), with it the same (29.7 against 29.3;
// docs/design.md, Storage).
func BenchmarkStoreUserMiss(b *testing.B) {
	n := benchUsers()
	u := randomUser(rand.New(rand.NewPCG(1, 1)), features.NewExtractor(features.DefaultConfig()), 500)
	for _, c := range configs {
		if !slices.Contains(selected(), c.name) {
			continue
		}
		b.Run(c.name, func(b *testing.B) {
			s, err := Open(c.cfg(b.TempDir()))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			t0 := time.Now()
			writeUsers(b, s, u, n)
			wrote := time.Since(t0)
			if v := os.Getenv("STICKY_BENCH_SETTLE"); v != "" {
				d, err := time.ParseDuration(v)
				if err != nil {
					b.Fatalf("STICKY_BENCH_SETTLE: %v", err)
				}
				time.Sleep(d) // background compactions finish before the reads
			}
			s.cache.Reset()
			rng := rand.New(rand.NewPCG(2, 2))
			var v features.User
			b.ReportAllocs()
			for b.Loop() {
				if ok, err := s.User(benchUserID(rng.IntN(n)), &v); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
			st := s.Stats()
			b.ReportMetric(float64(st.CacheHits)/float64(st.CacheHits+st.CacheMisses), "hit-ratio")
			b.ReportMetric(float64(s.db.Levels()[0].NumTables), "L0-tables")
			b.ReportMetric(wrote.Seconds()*1e6/float64(n), "write-µs/user")
		})
	}
}

// TestMemoryFootprint writes users into a store, reads each once, and
// reports the process's resident set for each configuration, each in a
// process of its own (RSS never shrinks back for the next one). It runs
// when STICKY_MEMORY_USERS lists user counts, e.g.
//
//	STICKY_MEMORY_USERS=10000,200000 go test -run TestMemoryFootprint -v ./state/
//
// with a 256 MiB user cache (STICKY_MEMORY_CACHES=both adds 32 MiB), the
// configurations of STICKY_MEMORY_CONFIGS, the Go memory limit
// STICKY_MEMORY_LIMIT (e.g. 64MiB) and heap profiles written to the
// directory STICKY_MEMORY_PROFILE. anon_MiB is the RSS without mapped
// files' pages (Badger's tables and WAL, which the kernel can reclaim).
func TestMemoryFootprint(t *testing.T) {
	if spec := os.Getenv("sticky_memory_child"); spec != "" {
		memoryChild(t, spec)
		return
	}
	counts := os.Getenv("STICKY_MEMORY_USERS")
	if counts == "" {
		t.Skip("set STICKY_MEMORY_USERS=10000,200000 to measure")
	}
	caches := []bytesize.Size{256 * bytesize.MiB}
	if os.Getenv("STICKY_MEMORY_CACHES") == "both" {
		caches = []bytesize.Size{minCacheBytes, 256 * bytesize.MiB}
	}
	t.Logf("%-8s %-8s %9s %9s %9s %9s %9s %9s %9s", "config", "cache", "users", "rss_MiB", "anon_MiB", "peak_MiB", "heap_MiB", "sys_MiB", "write_s")
	for _, n := range strings.Split(counts, ",") {
		for _, c := range configs {
			if !slices.Contains(selected(), c.name) {
				continue
			}
			for _, cache := range caches {
				cmd := exec.Command(os.Args[0], "-test.run", "^TestMemoryFootprint$", "-test.v")
				cmd.Env = append(os.Environ(), fmt.Sprintf("sticky_memory_child=%s:%d:%s:%s", c.name, cache, n, t.TempDir()))
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%s: %v\n%s", c.name, err, out)
				}
				var r memoryReport
				sc := bufio.NewScanner(bytes.NewReader(out))
				for sc.Scan() {
					if line, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "MEMORY "); ok {
						if err := json.Unmarshal([]byte(line), &r); err != nil {
							t.Fatal(err)
						}
					}
				}
				t.Logf("%-8s %-8s %9s %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f", c.name, cache, n,
					mib(r.RSS), mib(r.Anon), mib(r.Peak), mib(r.HeapInuse), mib(r.Sys), r.Write)
			}
		}
	}
}

type memoryReport struct {
	RSS, Anon, Peak, HeapInuse, Sys int64
	Write                           float64
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// memoryChild is TestMemoryFootprint's child: config:cache:users:dir.
func memoryChild(t *testing.T, spec string) {
	parts := strings.SplitN(spec, ":", 4)
	cache, _ := strconv.Atoi(parts[1])
	n, _ := strconv.Atoi(parts[2])
	var cfg Config
	for _, c := range configs {
		if c.name == parts[0] {
			cfg = c.cfg(parts[3])
		}
	}
	cfg.CacheBytes = bytesize.Size(cache)
	if v := os.Getenv("STICKY_MEMORY_LIMIT"); v != "" {
		var l bytesize.Size
		if err := l.UnmarshalText([]byte(v)); err != nil {
			t.Fatal(err)
		}
		debug.SetMemoryLimit(int64(l))
	}
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u := randomUser(rand.New(rand.NewPCG(1, 1)), features.NewExtractor(features.DefaultConfig()), 500)
	t0 := time.Now()
	writeUsers(t, s, u, n)
	write := time.Since(t0).Seconds()
	var v features.User
	for i := 0; i < n; i++ {
		if ok, err := s.User(benchUserID(i), &v); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	if dir := os.Getenv("STICKY_MEMORY_PROFILE"); dir != "" {
		f, err := os.Create(fmt.Sprintf("%s/heap-%s-%d-%d.pprof", dir, parts[0], cache, n))
		if err != nil {
			t.Fatal(err)
		}
		pprof.WriteHeapProfile(f)
		f.Close()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, anon, peak := procStatus()
	b, _ := json.Marshal(memoryReport{RSS: rss, Anon: anon, Peak: peak, HeapInuse: int64(ms.HeapInuse), Sys: int64(ms.Sys), Write: write})
	fmt.Printf("MEMORY %s\n", b)
}

// procStatus returns VmRSS, RssAnon (without the pages of mapped files:
// Badger's tables and WAL) and VmHWM of this process.
func procStatus() (rss, anon, peak int64) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb << 10
		case "RssAnon:":
			anon = kb << 10
		case "VmHWM:":
			peak = kb << 10
		}
	}
	return rss, anon, peak
}

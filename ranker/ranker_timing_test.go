package ranker

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stickyhq/sticky/bench/synth"
	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/internal/selfcpu"
	"github.com/stickyhq/sticky/state"
)

// BenchmarkRecommend ranks for known users of a synthetic shop (3,000
// items, 2,000 shoppers, two weeks of history) with the user vectors in the
// store's warm cache: the storefront's hot path without HTTP.
func BenchmarkRecommend(b *testing.B) {
	bw := benchShop(b)
	w, r, end := bw.w, bw.r, bw.end
	ctx := context.Background()
	devices := []string{"mobile", "desktop"}
	b.ReportAllocs()
	cpu0 := selfcpu.Used()
	b.ResetTimer()
	cands := 0
	for i := 0; i < b.N; i++ {
		s := w.Shoppers[i%len(w.Shoppers)]
		resp, err := r.Recommend(ctx, Request{UserID: s.ID, K: 10, Context: Context{
			Time: end.Add(time.Duration(i%24) * time.Hour), Device: devices[i%2], Region: s.Region.Name}})
		if err != nil || len(resp.Items) != 10 {
			b.Fatalf("%v, %d items", err, len(resp.Items))
		}
		cands += resp.Candidates
	}
	b.StopTimer()
	b.ReportMetric(float64(cands)/float64(b.N), "candidates/op")
	// CPU time per ranking (the process's, GC included): steadier than
	// ns/op on a shared machine.
	b.ReportMetric(float64((selfcpu.Used()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// benchWorld is BenchmarkRecommend's shop, built once per process: the
// benchmark runs several times (b.N grows) and the build takes seconds.
type benchWorld struct {
	w   *synth.World
	r   *Ranker
	end time.Time
}

var benchOnce struct {
	sync.Once
	bw  *benchWorld
	dir string
	err error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchOnce.dir != "" {
		os.RemoveAll(benchOnce.dir)
	}
	os.Exit(code)
}

func benchShop(b *testing.B) *benchWorld {
	benchOnce.Do(func() { benchOnce.bw, benchOnce.err = buildBenchShop() })
	if benchOnce.err != nil {
		b.Fatal(benchOnce.err)
	}
	return benchOnce.bw
}

func buildBenchShop() (*benchWorld, error) {
	f := features.NewExtractor(features.DefaultConfig())
	w := synth.New(synth.Config{Seed: 2, Users: 2000, Items: 3000})
	cat := state.NewCatalogue()
	cat.Apply(w.Items, nil)
	idx := NewIndex(DefaultIndexConfig(), f, cat)
	dir, err := os.MkdirTemp("", "sticky-bench-recommend-")
	if err != nil {
		return nil, err
	}
	// The store stays open for the process's benchmarks; TestMain removes
	// the directory.
	benchOnce.dir = dir
	st, err := state.Open(state.Config{Dir: dir, CacheBytes: 64 << 20})
	if err != nil {
		return nil, err
	}
	end := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	users := map[string]*features.User{}
	var d features.Deltas
	for _, ev := range w.History(14, end) {
		u := users[ev.UserID]
		if u == nil {
			u = &features.User{ID: ev.UserID}
			users[ev.UserID] = u
		}
		f.FoldUser(u, &ev, cat.Get(ev.ItemID), &d)
		idx.Apply(&d)
		d.Reset()
	}
	batch := &state.Batch{Topic: "t"}
	for _, u := range users {
		batch.Users = append(batch.Users, u)
		if len(batch.Users) == 200 { // a commit holds at most 15% of a memtable
			if err := st.Commit(batch); err != nil {
				return nil, err
			}
			batch.Users = batch.Users[:0]
		}
	}
	if err := st.Commit(batch); err != nil {
		return nil, err
	}
	return &benchWorld{w: w, r: New(DefaultConfig(), f, st.Views(), cat, idx), end: end}, nil
}

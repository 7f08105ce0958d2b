package ranker

import (
	"context"
	"testing"
	"time"

	"github.com/stickyhq/sticky/bench/synth"
	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/state"
)

// BenchmarkRecommend ranks for known users of a synthetic shop (3,000
// items, 2,000 shoppers, two weeks of history) with the user vectors in the
// store's warm cache: the storefront's hot path without HTTP.
func BenchmarkRecommend(b *testing.B) {
	f := features.NewExtractor(features.DefaultConfig())
	w := synth.New(synth.Config{Seed: 2, Users: 2000, Items: 3000})
	cat := state.NewCatalogue()
	cat.Apply(w.Items, nil)
	idx := NewIndex(DefaultIndexConfig(), f, cat)
	st, err := state.Open(state.Config{Dir: b.TempDir(), CacheBytes: 64 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
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
				b.Fatal(err)
			}
			batch.Users = batch.Users[:0]
		}
	}
	if err := st.Commit(batch); err != nil {
		b.Fatal(err)
	}
	r := New(DefaultConfig(), f, st.Views(), cat, idx)
	ctx := context.Background()
	devices := []string{"mobile", "desktop"}
	b.ReportAllocs()
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
	b.ReportMetric(float64(cands)/float64(b.N), "candidates/op")
}

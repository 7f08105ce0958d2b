package campaigns

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/ranker/audience"
)

var (
	millionOnce sync.Once
	million     *audience.Table
)

// populate builds a population of n users, each with a few views in three
// of twelve categories, in one of eight zones, at hours of their own.
func populate(n int) *audience.Table {
	f := features.NewExtractor(features.DefaultConfig())
	t := audience.New(audience.DefaultConfig(), f)
	zones := []string{"Asia/Shanghai", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "Europe/London", "Asia/Tokyo", "America/Sao_Paulo", "Asia/Kolkata"}
	items := make([]*features.Item, 12)
	for i := range items {
		items[i] = &features.Item{ID: fmt.Sprint("item-", i), Category: fmt.Sprint("cat-", i), Brand: fmt.Sprint("brand-", i%5)}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	batch := make([]*features.User, 0, 4096)
	var d features.Deltas
	for i := 0; i < n; i++ {
		u := &features.User{ID: fmt.Sprint("user-", i)}
		tz := zones[rng.IntN(len(zones))]
		for k := 0; k < 4; k++ {
			it := items[rng.IntN(len(items))]
			ev := features.Event{UserID: u.ID, Type: features.TypeView, ItemID: it.ID,
				Time: t0.Add(-time.Duration(rng.IntN(60*24)) * time.Minute * 30), Context: features.Context{TZ: tz}}
			f.FoldUser(u, &ev, it, &d)
			d.Reset()
		}
		if batch = append(batch, u); len(batch) == cap(batch) {
			t.Update(batch)
			batch = batch[:0]
		}
	}
	t.Update(batch)
	t.Recount(t0)
	return t
}

// BenchmarkSelect100kOf1M scores a million users for a category campaign
// and keeps the best 100,000 with their send times: the selection of
// POST /v1/campaigns, without storing the targets.
func BenchmarkSelect100kOf1M(b *testing.B) {
	millionOnce.Do(func() { million = populate(1_000_000) })
	runtime.GC()
	c := Campaign{ID: "bench", Target: Target{Category: "cat-3"}, MaxTargets: 100_000}
	if _, _, err := c.prepare(t0, DefaultConfig().Campaigns); err != nil {
		b.Fatal(err)
	}
	p := &plan{c: &c, nameID: million.NameID("cat-3"), now: t0}
	// The floor, in the same run: two workers visiting every user and
	// reading one field.
	var seen [2]int
	scanStart := time.Now()
	for i := 0; i < 3; i++ {
		million.Each(2, func(w int, c *audience.Candidate) {
			if c.LastSeen() > 0 {
				seen[w]++
			}
		})
	}
	scan := time.Since(scanStart) / 3
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		n = len(selectTargets(million, p, 2))
	}
	if n != 100_000 {
		b.Fatalf("selected %d", n)
	}
	b.ReportMetric(float64(million.Len()), "users")
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(scan), "x-bare-scan")
}

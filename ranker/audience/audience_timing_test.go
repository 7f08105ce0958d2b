package audience

import (
	"fmt"
	"testing"
	"time"

	"github.com/stickyhq/sticky/features"
)

// BenchmarkUpdate is the population side of the value update: re-counting
// one user (histograms, segment, stage) after a purchase, in a table of
// 100,000 customers.
func BenchmarkUpdate(b *testing.B) {
	f := features.NewExtractor(features.DefaultConfig())
	tb := New(DefaultConfig(), f)
	end := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	users := make([]*features.User, 100_000)
	var d features.Deltas
	for i := range users {
		u := &features.User{ID: fmt.Sprint("u", i)}
		for k := 0; k <= i%7; k++ {
			ev := features.Event{UserID: u.ID, Type: features.TypePurchase, ItemID: "x", Price: float64(5 + i%50),
				Time: end.Add(-time.Duration(i%300+k*11) * 24 * time.Hour)}
			f.FoldUser(u, &ev, nil, &d)
		}
		users[i] = u
	}
	tb.Update(users)
	tb.Recount(end)
	one := make([]*features.User, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		one[0] = users[i%len(users)]
		tb.Update(one)
	}
}

package features

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// warmUser folds n varied events so that every bounded set is populated.
func warmUser(f *Extractor, n int) *User {
	u := &User{ID: "u"}
	var d Deltas
	cats := []string{"Baby", "Books", "Garden", "Toys", "Shoes", "Beauty", "Kitchen"}
	types := []Type{TypeView, TypeView, TypeClick, TypeAddToCart, TypePurchase, TypeView, TypeDismiss}
	for i := 0; i < n; i++ {
		item := fmt.Sprintf("sku-%d", i%97)
		ev := Event{ID: fmt.Sprint("e", i), UserID: "u", Type: types[i%len(types)], ItemID: item,
			Time: t0.Add(time.Duration(i) * 7 * time.Minute), Price: 12,
			Context: Context{Device: []string{"mobile", "desktop"}[i%2], Region: "CN-SH", TZ: "Asia/Shanghai"}}
		it := &Item{ID: item, Category: cats[i%len(cats)], Brand: fmt.Sprint("B", i%11), Price: 12}
		f.FoldUser(u, &ev, it, &d)
		d.Reset()
	}
	return u
}

// BenchmarkFoldUser folds one view into a user with a full history.
func BenchmarkFoldUser(b *testing.B) {
	f := NewExtractor(DefaultConfig())
	u := warmUser(f, 500)
	it := &Item{ID: "sku-3", Category: "Toys", Brand: "B3", Price: 20}
	var d Deltas
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev := Event{ID: "x", UserID: "u", Type: TypeView, ItemID: "sku-3", Time: t0.Add(time.Duration(500*7+i) * time.Minute),
			Context: Context{Device: "mobile", Region: "CN-SH", TZ: "Asia/Shanghai"}}
		ev.ID = "" // no de-dup churn: measure the fold itself
		f.FoldUser(u, &ev, it, &d)
		d.Reset()
	}
}

// BenchmarkItemDeltas applies one event's item deltas (a popularity update
// and its co-occurrence pairs, both directions) with Extractor.ApplyDeltas.
func BenchmarkItemDeltas(b *testing.B) {
	f := NewExtractor(DefaultConfig())
	u := warmUser(f, 500)
	var d Deltas
	ev := Event{UserID: "u", Type: TypeView, ItemID: "sku-3", Time: t0.Add(500 * 7 * time.Minute), Context: Context{Region: "CN-SH"}}
	f.FoldUser(u, &ev, &Item{ID: "sku-3", Category: "Toys"}, &d)
	stats := map[string]*ItemStats{}
	get := func(id string) *ItemStats {
		s := stats[id]
		if s == nil {
			s = new(ItemStats)
			stats[id] = s
		}
		return s
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.ApplyDeltas(&d, get)
	}
}

// BenchmarkFoldPurchase folds one purchase into a user with a full history:
// the view's work plus the value features (purchase days, repeat spend,
// price band, loyalty points). Compare with BenchmarkFoldUser in the same
// run for the cost of the value update.
func BenchmarkFoldPurchase(b *testing.B) {
	f := NewExtractor(DefaultConfig())
	u := warmUser(f, 500)
	it := &Item{ID: "sku-3", Category: "Toys", Brand: "B3", Price: 20}
	var d Deltas
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev := Event{UserID: "u", Type: TypePurchase, ItemID: "sku-3", Price: 20, Quantity: 1,
			Time: t0.Add(time.Duration(500*7+i) * time.Minute), Context: Context{Device: "mobile", Region: "CN-SH", TZ: "Asia/Shanghai"}}
		f.FoldUser(u, &ev, it, &d)
		d.Reset()
	}
}

// BenchmarkItemDeltasManyItems applies co-occurrence pairs among 5,000
// items whose neighbour lists are full (NeighboursMax), the pairs' ids
// freshly allocated as a decoded event's are: what a partition worker and
// the index do live, where finding a neighbour in an item's list reads
// memory no other pair has touched. Each op is one batch of 256 pairs.
func BenchmarkItemDeltasManyItems(b *testing.B) {
	f := NewExtractor(DefaultConfig())
	const items = 5000
	rng := rand.New(rand.NewPCG(9, 9))
	id := func(i int) string { return fmt.Sprintf("item-%05d", i) }
	stats := make(map[string]*ItemStats, items)
	get := func(item string) *ItemStats {
		s := stats[item]
		if s == nil {
			s = new(ItemStats)
			stats[item] = s
		}
		return s
	}
	// Neighbours near each item's own number, so that pairs meet lists
	// that hold them (an update) as often as not (an insert).
	pair := func(at int64) Pair {
		a := rng.IntN(items)
		return Pair{A: id(a), B: id((a + 1 + rng.IntN(60)) % items), W: 1, At: at}
	}
	var d Deltas
	at := t0.UnixMilli()
	for range 200 {
		d.Pairs = d.Pairs[:0]
		for range 1000 {
			d.Pairs = append(d.Pairs, pair(at))
		}
		f.ApplyDeltas(&d, get)
		at += 1000
	}
	batches := make([][]Pair, 64)
	for i := range batches {
		for range 256 {
			batches[i] = append(batches[i], pair(at))
		}
		at += 1000
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.Pairs = d.Pairs[:0]
		for _, p := range batches[i%len(batches)] {
			p.A, p.B = strings.Clone(p.A), strings.Clone(p.B) // as decoded: keys never shared
			d.Pairs = append(d.Pairs, p)
		}
		f.ApplyDeltas(&d, get)
	}
}

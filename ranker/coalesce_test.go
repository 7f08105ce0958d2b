package ranker

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/stickyhq/sticky/features"
)

// TestCoalescer: deltas handed over from several goroutines end up in the
// index exactly as if each batch had been applied directly; an idle
// Coalescer applies at once, a busy one within its interval.
func TestCoalescer(t *testing.T) {
	direct, coalesced := newWorld(t), newWorld(t)
	c := NewCoalescer(coalesced.idx, 20*time.Millisecond)
	batch := func(p, i int) features.Deltas {
		at := base.Add(time.Duration(p*1000+i) * time.Second).UnixMilli()
		a, b := fmt.Sprintf("boo-%02d", (p+i)%12), fmt.Sprintf("gar-%02d", (p*i)%12)
		return features.Deltas{
			Pops:  []features.Pop{{Item: a, W: 1, At: at, Region: "CN-SH", Type: features.TypeView}},
			Pairs: []features.Pair{{A: a, B: b, W: 1, At: at}},
		}
	}
	// Idle: applied before Apply returns.
	d := batch(9, 9)
	c.Apply(&d)
	direct.idx.Apply(&d)
	if _, ok := coalesced.idx.Stats("boo-06"); !ok {
		t.Fatal("an idle coalescer did not apply at once")
	}
	// Busy: four partitions, each in order; across partitions any order
	// gives the same sums (up to float rounding).
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				d := batch(p, i)
				c.Apply(&d)
			}
		}()
	}
	wg.Wait()
	for p := range 4 {
		for i := range 50 {
			d := batch(p, i)
			direct.idx.Apply(&d)
		}
	}
	c.Flush()
	for i := range 12 {
		for _, id := range []string{fmt.Sprintf("boo-%02d", i), fmt.Sprintf("gar-%02d", i)} {
			want, _ := direct.idx.Stats(id)
			got, _ := coalesced.idx.Stats(id)
			if want == nil {
				continue
			}
			if got == nil || got.Actions != want.Actions || len(got.Neighbours) != len(want.Neighbours) ||
				math.Abs(got.Popularity(base.UnixMilli(), coalesced.f)/want.Popularity(base.UnixMilli(), direct.f)-1) > 1e-5 {
				t.Fatalf("%s: coalesced %+v, direct %+v", id, got, want)
			}
		}
	}
	if n := coalesced.idx.Size().Changes; n >= direct.idx.Size().Changes {
		t.Fatalf("coalesced %d applies, direct %d: nothing was coalesced", n, direct.idx.Size().Changes)
	}
}

package quality

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stickyhq/sticky/bench/synth"
	"github.com/stickyhq/sticky/bench/workload"
	"github.com/stickyhq/sticky/features"
)

// sameLists replays w through the incremental daily item-kNN and the
// reference that rebuilds every list each day, and fails at the first
// request where their lists differ.
func sameLists(t *testing.T, w *workload.Workload, ks ...int) {
	t.Helper()
	inc, ref := NewItemKNN(), newRefItemKNN()
	requests := 0
	for i := range w.Events {
		ev := &w.Events[i]
		if ev.Type == features.TypePurchase {
			for _, k := range ks {
				a, b := inc.Recommend(ev, k), ref.Recommend(ev, k)
				if !slices.Equal(a, b) {
					t.Fatalf("event %d (%s, k %d): incremental %v, reference %v", i, ev.Time, k, a, b)
				}
			}
			requests++
		}
		inc.Observe(ev)
		ref.Observe(ev)
	}
	t.Logf("%d events, %d requests: same lists; %d lists recomputed over %d days", len(w.Events), requests, inc.Rescans, ref.day-w.Events[0].Time.Unix()/86400)
}

func TestItemKNNIncremental(t *testing.T) {
	t.Run("synthetic", func(t *testing.T) {
		w := workload.Synthetic(workload.SynthConfig{Config: synth.Config{Users: 150, Items: 400}, Days: 8,
			End: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)})
		sameLists(t, w, 10, 25)
	})
	t.Run("online-retail", func(t *testing.T) {
		sameLists(t, onlineRetail(t, 12_000), 10) // a week: the reference's daily rebuilds are slow under -race
	})
}

// The streaming item-kNN on a hand-checked stream.
func TestStreamingKNN(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := NewStreamingKNN()
	m.History = 2
	ev := func(user string, typ features.Type, item string) *features.Event {
		at = at.Add(time.Minute)
		return &features.Event{UserID: user, Type: typ, ItemID: item, Time: at}
	}
	for _, e := range []*features.Event{
		ev("u1", features.TypePurchase, "a"), ev("u1", features.TypeClick, "b"), // C(a,b) 1
		ev("u2", features.TypeAddToCart, "a"), ev("u2", features.TypeView, "c"), // a view is not positive
		ev("u2", features.TypePurchase, "c"),                                                                             // C(a,c) 1
		ev("u3", features.TypePurchase, "b"), ev("u3", features.TypePurchase, "c"), ev("u3", features.TypePurchase, "d"), // C(b,c), C(b,d), C(c,d); b leaves u3's last 2
		ev("u3", features.TypePurchase, "d"), // again, with c: C(c,d) 2, n_d 2
	} {
		m.Observe(e)
	}
	// n: a 2, b 2, c 2, d 2. u4 has no positives: popularity, where
	// views count (c 3; a, b, d 2 in order of arrival).
	if got := m.Recommend(ev("u4", features.TypePurchase, "x"), 4); !slices.Equal(got, []string{"c", "a", "b", "d"}) {
		t.Fatalf("cold user: %v", got)
	}
	// u1's last positives a, b: c scores C(a,c)/2 + C(b,c)/2 = 1, b gets
	// C(a,b)/2 = 0.5 from a, a gets 0.5 from b; d nothing (filled last).
	m.Observe(ev("u1", features.TypeView, "d"))
	got := m.Recommend(ev("u1", features.TypePurchase, "x"), 4)
	if !slices.Equal(got, []string{"c", "a", "b", "d"}) {
		t.Fatalf("u1: %v", got)
	}
	// u3's last positives c, d: d scores C(c,d)/2 = 1 from c, c 1 from d,
	// b 0.5 from c and 0.5 from d, a 0.5 from c.
	if got := m.Recommend(ev("u3", features.TypePurchase, "x"), 4); !slices.Equal(got, []string{"b", "c", "d", "a"}) {
		t.Fatalf("u3: %v", got)
	}
	if x := m.co.rows[m.ids.num["c"]][m.co.pos[m.ids.num["c"]][m.ids.num["d"]]].c; x != 2 || math.Abs(m.inv[m.ids.num["d"]]-1/math.Sqrt2) > 1e-12 {
		t.Fatalf("C(c,d) %v", x)
	}
}

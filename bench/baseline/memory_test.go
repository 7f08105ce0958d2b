package baseline

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stickyhq/sticky/bench/synth"
	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/stream"
)

// TestMemoryMatchesService feeds one synthetic stream to the service
// (through Kafka and Redis) and to Memory, and compares every user's list,
// scores and reasons included.
func TestMemoryMatchesService(t *testing.T) {
	w := synth.New(synth.Config{Users: 50, Items: 300})
	history := w.History(3, time.Now())
	// Memory sees the events as the consumer decodes them.
	evs := make([]features.Event, len(history))
	for i := range history {
		ev, err := stream.DecodeEvent(stream.AppendEvent(nil, &history[i]), nil)
		if err != nil {
			t.Fatalf("event %d does not decode: %v", i, err)
		}
		evs[i] = ev
	}
	mem := NewMemory(w.Items, DefaultMaxPerCategory)
	for i := range evs {
		mem.Observe(&evs[i])
	}

	e := newEnv(t, 3)
	e.produceItems(t, w.Items)
	e.produceEvents(t, evs)
	start := time.Now()
	r := e.run(t, func(o *Options) { o.Batch = 500 })
	e.waitConsumed(t, r.base, len(evs))
	took := time.Since(start)
	t.Logf("%d events through Kafka into Redis in %v (%.0f events/s, including the group join)",
		len(evs), took.Round(time.Millisecond), float64(len(evs))/took.Seconds())
	if n := e.metric(t, r.base, "sticky_baseline_events_invalid_total"); n != 0 {
		t.Fatalf("%v invalid events", n)
	}

	users := []string{"nobody"} // a cold user too
	for _, s := range w.Shoppers {
		users = append(users, s.ID)
	}
	nonEmpty := 0
	reasons := map[string]int{} // kinds of reason seen, to show every candidate source was exercised
	for _, u := range users {
		for _, k := range []int{10, 40} {
			got := e.recommend(t, r.base, u, k)
			want := Rank(mem.Inputs(u), mem.cat, k, DefaultMaxPerCategory)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("user %s, k=%d:\nservice %v\nmemory  %v", u, k, got, want)
			}
			ids := mem.Recommend(&features.Event{UserID: u}, k)
			if len(ids) != len(got) {
				t.Fatalf("Memory.Recommend gives %d items, Rank %d", len(ids), len(got))
			}
			for i := range ids {
				if ids[i] != got[i].ItemID {
					t.Fatalf("Memory.Recommend differs from Rank at %d: %v", i, ids)
				}
			}
			if len(got) > 0 {
				nonEmpty++
			}
			for _, it := range got {
				switch {
				case strings.HasPrefix(it.Reason, "often together with "):
					reasons["co-occurrence"]++
				case strings.HasPrefix(it.Reason, "popular in "):
					reasons["category"]++
				default:
					reasons[it.Reason]++
				}
			}
		}
	}
	if reasons["co-occurrence"] == 0 || reasons["category"] == 0 || reasons["popular"] == 0 || len(reasons) != 3 {
		t.Errorf("reasons seen: %v; want co-occurrence, category and popular", reasons)
	}
	if nonEmpty != 2*len(users) {
		t.Errorf("%d of %d lists are empty", 2*len(users)-nonEmpty, 2*len(users))
	}
}

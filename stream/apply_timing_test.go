package stream

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stickyhq/sticky/bench/synth"
	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/state"
)

// BenchmarkApplyBatch measures a partition worker applying batches of
// synthetic events into Badger: decode, fold, item shares, one commit per
// batch. No broker: the records are handed to the worker directly.
func BenchmarkApplyBatch(b *testing.B) {
	for _, users := range []int{1000, 20000} {
		b.Run("users="+itoa(users), func(b *testing.B) {
			w := synth.New(synth.Config{Seed: 5, Users: users, Items: 5000})
			evs := w.History(10, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC))
			recs := make([]*kgo.Record, len(evs))
			for i := range evs {
				recs[i] = &kgo.Record{Key: []byte(evs[i].UserID), Value: AppendEvent(nil, &evs[i]), Offset: int64(i)}
			}
			st, err := state.Open(state.Config{Dir: b.TempDir(), CacheBytes: 256 << 20})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			cat := state.NewCatalogue()
			cat.Apply(w.Items, nil)
			cfg := DefaultConfig()
			cfg.EnsureDefaults()
			c := &Consumer{cfg: cfg, deps: Deps{Store: st, Extractor: features.NewExtractor(features.DefaultConfig()), Catalogue: cat, Observer: NopObserver{}},
				log: cfg.Logger}
			wk := &worker{c: c, last: -1, items: map[string]*features.ItemStats{}}
			// The floor: only decoding the same records, measured in the
			// same run; the ratio apply/decode is what the fold and the
			// commit cost on top of JSON.
			decodeStart := time.Now()
			for _, r := range recs[:min(len(recs), 100000)] {
				if _, err := DecodeEvent(r.Value, c.deps.Extractor.Zones()); err != nil {
					b.Fatal(err)
				}
			}
			decodeNs := float64(time.Since(decodeStart).Nanoseconds()) / float64(min(len(recs), 100000))
			b.ReportAllocs()
			b.ResetTimer()
			n := 0
			for i := 0; i < b.N; i++ {
				j := n % len(recs)
				end := min(j+cfg.BatchEvents, len(recs))
				batch := recs[j:end]
				if err := wk.apply(batch); err != nil {
					b.Fatal(err)
				}
				n += len(batch)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
			perEvent := float64(b.Elapsed().Nanoseconds()) / float64(n)
			b.ReportMetric(perEvent, "ns/event")
			b.ReportMetric(decodeNs, "decode-ns/event")
			b.ReportMetric(perEvent/decodeNs, "apply/decode")
		})
	}
}

func itoa(n int) string {
	s := ""
	for n > 0 || s == "" {
		s = string(rune('0'+n%10)) + s
		n /= 10
	}
	return s
}

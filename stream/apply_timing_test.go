package stream

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stickyhq/sticky/bench/synth"
	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/ranker"
	"github.com/stickyhq/sticky/state"
)

// BenchmarkApplyBatch measures a partition worker applying batches of
// synthetic events into Badger: decode, fold, item shares, one commit per
// batch. No broker: the records are handed to the worker directly. The
// "index+train" case adds what the engine wires: the ranker's item index
// fed by each committed batch and the ranker's model trained on each event.
func BenchmarkApplyBatch(b *testing.B) {
	for _, bc := range []struct {
		users int
		train bool
	}{{1000, false}, {20000, false}, {20000, true}} {
		users := bc.users
		name := "users=" + itoa(users)
		if bc.train {
			name += "/index+train"
		}
		b.Run(name, func(b *testing.B) {
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
			f := features.NewExtractor(features.DefaultConfig())
			c := &Consumer{cfg: cfg, deps: Deps{Store: st, Extractor: f, Catalogue: cat, Observer: NopObserver{}},
				log: cfg.Logger}
			if bc.train {
				idx := ranker.NewIndex(ranker.DefaultIndexConfig(), f, cat)
				c.deps.Sink = indexSink{idx}
				c.deps.Trainer = modelTrainer{ranker.New(ranker.DefaultConfig(), f, st, cat, idx).Model()}
			}
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

type indexSink struct{ idx *ranker.Index }

func (s indexSink) Committed(_ []*features.User, d *features.Deltas) { s.idx.Apply(d) }

type modelTrainer struct{ m *ranker.Model }

func (t modelTrainer) Share(data []byte) (TrainerShare, error) { return t.m.NewShare(data) }
func (t modelTrainer) Committed(p int32, data []byte) {
	if err := t.m.Publish(p, data); err != nil {
		panic(err)
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

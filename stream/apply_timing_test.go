package stream

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stickyhq/sticky/bench/synth"
	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/internal/selfcpu"
	"github.com/stickyhq/sticky/ranker"
	"github.com/stickyhq/sticky/state"
)

// BenchmarkApplyBatch measures a partition worker applying batches of
// synthetic events into Badger: decode, fold, item shares, staging, and
// the flushes that fall due (Config.FlushInterval and its limits). No
// broker: the records are handed to the worker directly. The "index+train"
// case adds what the engine wires: the ranker's item index fed by each
// applied batch and the ranker's model trained on each event.
// The "batch=4" case applies 4 events per batch, as live ingest sees them,
// after the first four fifths of the history have been applied in full
// batches (untimed), so that item statistics are as large as a running
// shop's.
func BenchmarkApplyBatch(b *testing.B) {
	for _, bc := range []struct {
		users int
		train bool
		batch int // 0: Config.BatchEvents
	}{{1000, false, 0}, {20000, false, 0}, {20000, true, 0}, {20000, false, 4}, {20000, false, 32}} {
		name := "users=" + itoa(bc.users)
		if bc.train {
			name += "/index+train"
		}
		if bc.batch > 0 {
			name += "/batch=" + itoa(bc.batch)
		}
		// The small-batch case is set up (and warmed) once, and carries on
		// from round to round; the others start afresh each round.
		var live *applyBench
		parent := b
		b.Run(name, func(b *testing.B) {
			ab := live
			if ab == nil {
				dir := b.TempDir()
				if bc.batch > 0 {
					dir = parent.TempDir() // outlives the round
				}
				ab = newApplyBench(b, dir, bc.users, bc.train)
				if bc.batch > 0 {
					ab.warm(b)
					live = ab
				} else {
					defer ab.st.Close()
				}
			}
			size := ab.c.cfg.BatchEvents
			if bc.batch > 0 {
				size = bc.batch
			}
			cpu0 := selfcpu.Used()
			b.ReportAllocs()
			b.ResetTimer()
			n := 0
			for i := 0; i < b.N; i++ {
				j := ab.from + ab.next%(len(ab.recs)-ab.from)
				end := min(j+size, len(ab.recs))
				batch := ab.recs[j:end]
				if err := ab.wk.apply(batch); err != nil {
					b.Fatal(err)
				}
				if !ab.wk.maybeFlush(time.Now()) {
					b.Fatal("flush gave up")
				}
				n += len(batch)
				ab.next += len(batch)
			}
			ab.wk.checkpointed(true) // its cost is the worker's
			b.StopTimer()
			cpu := selfcpu.Used() - cpu0
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
			perEvent := float64(b.Elapsed().Nanoseconds()) / float64(n)
			b.ReportMetric(perEvent, "ns/event")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/event")
			b.ReportMetric(ab.decodeNs, "decode-ns/event")
			b.ReportMetric(perEvent/ab.decodeNs, "apply/decode")
		})
		if live != nil {
			live.st.Close()
		}
	}
}

// applyBench is a worker with its store and the records it applies.
type applyBench struct {
	recs       []*kgo.Record
	st         *state.Store
	c          *Consumer
	wk         *worker
	decodeNs   float64
	from, next int // the timed loop applies recs[from:] round and round; next counts events applied
}

func newApplyBench(b *testing.B, dir string, users int, train bool) *applyBench {
	w := synth.New(synth.Config{Seed: 5, Users: users, Items: 5000})
	evs := w.History(10, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC))
	recs := make([]*kgo.Record, len(evs))
	for i := range evs {
		recs[i] = &kgo.Record{Key: []byte(evs[i].UserID), Value: AppendEvent(nil, &evs[i]), Offset: int64(i)}
	}
	st, err := state.Open(state.Config{Dir: dir, CacheBytes: 256 << 20})
	if err != nil {
		b.Fatal(err)
	}
	cat := state.NewCatalogue()
	cat.Apply(w.Items, nil)
	cfg := DefaultConfig()
	cfg.EnsureDefaults()
	f := features.NewExtractor(features.DefaultConfig())
	c := &Consumer{cfg: cfg, deps: Deps{Store: st, Extractor: f, Catalogue: cat, Observer: NopObserver{}},
		log: cfg.Logger}
	if train {
		idx := ranker.NewIndex(ranker.DefaultIndexConfig(), f, cat)
		c.deps.Sink = indexSink{idx}
		c.deps.Trainer = modelTrainer{ranker.New(ranker.DefaultConfig(), f, st, cat, idx).Model()}
	}
	wk := newWorker(c, nil, 0, -1, true)
	if err := wk.load(); err != nil {
		b.Fatal(err)
	}
	ab := &applyBench{recs: recs, st: st, c: c, wk: wk}
	// The floor: only decoding the same records, measured in the same
	// run; the ratio apply/decode is what the fold and the commit cost on
	// top of JSON.
	decodeStart := time.Now()
	for _, r := range recs[:min(len(recs), 100000)] {
		if _, err := DecodeEvent(r.Value, f.Zones()); err != nil {
			b.Fatal(err)
		}
	}
	ab.decodeNs = float64(time.Since(decodeStart).Nanoseconds()) / float64(min(len(recs), 100000))
	return ab
}

// warm applies the first four fifths of the records in full batches, so
// that the state is a running shop's; the timed loop applies the rest.
func (ab *applyBench) warm(b *testing.B) {
	ab.from = len(ab.recs) * 4 / 5
	size := ab.c.cfg.BatchEvents
	for j := 0; j < ab.from; j += size {
		if err := ab.wk.apply(ab.recs[j:min(j+size, ab.from)]); err != nil {
			b.Fatal(err)
		}
		if !ab.wk.maybeFlush(time.Now()) {
			b.Fatal("flush gave up")
		}
	}
	ab.wk.checkpointed(true)
}

type indexSink struct{ idx *ranker.Index }

func (s indexSink) Applied(_ []*features.User, d *features.Deltas) { s.idx.Apply(d) }
func (indexSink) Flushed([]*features.User)                         {}

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

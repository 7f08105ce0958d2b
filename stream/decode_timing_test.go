package stream

import (
	"testing"
	"time"

	"github.com/stickyhq/sticky/bench/synth"
	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/internal/selfcpu"
)

// benchEvents are the generator's events (every type it makes), as
// producers send them.
func benchEvents(b *testing.B) ([]features.Event, [][]byte) {
	w := synth.New(synth.Config{Seed: 5, Users: 2000, Items: 5000})
	evs := w.History(2, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC))
	evs = evs[:min(len(evs), 20000)]
	recs := make([][]byte, len(evs))
	for i := range evs {
		recs[i] = AppendEvent(nil, &evs[i])
	}
	return evs, recs
}

// BenchmarkDecodeEvent decodes and validates one event per op, with
// DecodeEvent and with the encoding/json decoder it replaced (the
// reference of the equivalence tests). cpu-ns/op is the process's CPU time,
// steadier than ns/op on a shared machine.
func BenchmarkDecodeEvent(b *testing.B) {
	_, recs := benchEvents(b)
	zones := features.NewZones()
	size := 0
	for _, r := range recs {
		size += len(r)
	}
	for _, bc := range []struct {
		name   string
		decode func([]byte, *features.Zones) (features.Event, error)
	}{{"impl=hand", DecodeEvent}, {"impl=encoding-json", decodeEventJSON}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(size / len(recs)))
			b.ReportAllocs()
			cpu0 := selfcpu.Used()
			for i := 0; b.Loop(); i++ {
				if _, err := bc.decode(recs[i%len(recs)], zones); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(selfcpu.Used()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkAppendEvent encodes one event per op, with AppendEvent and
// with the json.Marshal encoder it replaced.
func BenchmarkAppendEvent(b *testing.B) {
	evs, _ := benchEvents(b)
	for _, bc := range []struct {
		name   string
		append func([]byte, *features.Event) []byte
	}{{"impl=hand", AppendEvent}, {"impl=encoding-json", appendEventJSON}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			cpu0 := selfcpu.Used()
			for i := 0; b.Loop(); i++ {
				buf = bc.append(buf[:0], &evs[i%len(evs)])
			}
			b.ReportMetric(float64(selfcpu.Used()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

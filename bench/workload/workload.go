// Package workload holds the benchmark harness's workloads: a catalogue and
// a stream of Sticky events in time order. They come from the synthetic
// shop (bench/synth), from a file of Sticky events (JSON lines, optionally
// gzipped) with an optional catalogue file, or from the two real data sets
// in ../shared/data, converted to Sticky's schema.
//
// File formats (what `sticky-bench convert` writes and `--events` reads):
//
//	events: one Sticky event per line, as on the events topic, in time order
//	        {"event_id":"…","user_id":"…","type":"purchase","item_id":"…","ts":"…","price":2.55,"quantity":6,"context":{…}}
//	items:  one catalogue item per line, as on the items topic
//	        {"item_id":"…","title":"…","category":"…","brand":"…","price":2.55,"available":true,"repeatable":true}
//
// A file whose name ends in .gz is gunzipped.
package workload

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/stickyhq/sticky/bench/synth"
	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/stream"
)

// Workload is a catalogue and events in time order.
type Workload struct {
	Name   string
	Items  []features.Item
	Events []features.Event
}

// Users returns the number of distinct users.
func (w *Workload) Users() int {
	seen := make(map[string]struct{})
	for i := range w.Events {
		seen[w.Events[i].UserID] = struct{}{}
	}
	return len(seen)
}

// Purchases returns the number of purchase events.
func (w *Workload) Purchases() int {
	n := 0
	for i := range w.Events {
		if w.Events[i].Type == features.TypePurchase {
			n++
		}
	}
	return n
}

// Limit keeps the first n events (n <= 0: all).
func (w *Workload) Limit(n int) {
	if n > 0 && n < len(w.Events) {
		w.Events = w.Events[:n]
	}
}

// Scale multiplies every gap between events by f, keeping the first
// event's time: f = 20 replays a year of events as twenty years, as a log
// of a slower shop would run. It tests that quality does not hang on time
// constants tuned to one shop's pace. The name says the factor; f must be
// positive and finite, and the stretched span at most 290 years.
func (w *Workload) Scale(f float64) error {
	if !(f > 0) || math.IsInf(f, 0) {
		return fmt.Errorf("time scale must be positive and finite, got %v", f)
	}
	if f == 1 || len(w.Events) == 0 {
		return nil
	}
	t0 := w.Events[0].Time
	span := w.Events[len(w.Events)-1].Time.Sub(t0)
	if float64(span)*f > 290*365*24*float64(time.Hour) {
		return fmt.Errorf("time scale %v stretches %v of events beyond 290 years", f, span)
	}
	evs := make([]features.Event, len(w.Events))
	copy(evs, w.Events)
	for i := range evs {
		evs[i].Time = t0.Add(time.Duration(float64(evs[i].Time.Sub(t0)) * f))
	}
	w.Events = evs
	w.Name = fmt.Sprintf("%s, time ×%g", w.Name, f)
	return nil
}

// FirstOnly keeps, of each user's events with an item, only the first with
// each item (events without an item stay), and makes every item not
// repeatable: the log of a shop where an item is consumed once, as films
// rated once are, made from a shop where it is not. It copies the events
// and items it keeps.
func (w *Workload) FirstOnly() {
	type pair struct{ user, item string }
	seen := make(map[pair]struct{})
	evs := make([]features.Event, 0, len(w.Events))
	for i := range w.Events {
		ev := &w.Events[i]
		if ev.ItemID != "" {
			k := pair{ev.UserID, ev.ItemID}
			if _, ok := seen[k]; ok {
				continue
			}
			seen[k] = struct{}{}
		}
		evs = append(evs, *ev)
	}
	items := slices.Clone(w.Items)
	for i := range items {
		items[i].Repeatable = false
	}
	w.Events, w.Items = evs, items
	w.Name += ", first of each item per user"
}

// SynthConfig sizes a synthetic workload.
type SynthConfig struct {
	synth.Config
	Days int       // days of history; default 14
	End  time.Time // the end of the history; default now
}

// Synthetic generates a synthetic shop's catalogue and history.
func Synthetic(c SynthConfig) *Workload {
	if c.Days <= 0 {
		c.Days = 14
	}
	if c.End.IsZero() {
		c.End = time.Now()
	}
	w := synth.New(c.Config)
	return &Workload{Name: fmt.Sprintf("synthetic (%d users, %d items, %d days)", len(w.Shoppers), len(w.Items), c.Days),
		Items: w.Items, Events: w.History(c.Days, c.End)}
}

// open opens a file, gunzipping it if its name ends in .gz.
func open(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(path, ".gz") {
		return f, nil
	}
	z, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot gunzip %s: %w", path, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{z, f}, nil
}

// ReadFiles reads a workload from an events file and an optional catalogue
// file. Events must be in time order; a malformed line is an error naming
// the line.
func ReadFiles(events, items string) (*Workload, error) {
	w := &Workload{Name: events}
	if items != "" {
		r, err := open(items)
		if err != nil {
			return nil, err
		}
		defer r.Close()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for n := 1; sc.Scan(); n++ {
			if len(strings.TrimSpace(sc.Text())) == 0 {
				continue
			}
			it, err := stream.DecodeItem(nil, sc.Bytes())
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", items, n, err)
			}
			w.Items = append(w.Items, it)
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("cannot read %s: %w", items, err)
		}
	}
	r, err := open(events)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	zones := features.NewZones()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var last time.Time
	for n := 1; sc.Scan(); n++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		ev, err := stream.DecodeEvent(sc.Bytes(), zones)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", events, n, err)
		}
		if ev.Time.Before(last) {
			return nil, fmt.Errorf("%s:%d: events must be in time order (%v after %v)", events, n, ev.Time, last)
		}
		last = ev.Time
		w.Events = append(w.Events, ev)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", events, err)
	}
	return w, nil
}

// WriteFiles writes a workload as an events file and a catalogue file
// (gzipped when the names end in .gz).
func (w *Workload) WriteFiles(events, items string) error {
	write := func(path string, fn func(bw *bufio.Writer) error) error {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		var out io.Writer = f
		var z *gzip.Writer
		if strings.HasSuffix(path, ".gz") {
			z = gzip.NewWriter(f)
			out = z
		}
		bw := bufio.NewWriterSize(out, 1<<16)
		err = fn(bw)
		if err == nil {
			err = bw.Flush()
		}
		if z != nil && err == nil {
			err = z.Close()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("cannot write %s: %w", path, err)
		}
		return nil
	}
	err := write(events, func(bw *bufio.Writer) error {
		var buf []byte
		for i := range w.Events {
			buf = stream.AppendEvent(buf[:0], &w.Events[i])
			buf = append(buf, '\n')
			if _, err := bw.Write(buf); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || items == "" {
		return err
	}
	return write(items, func(bw *bufio.Writer) error {
		enc := json.NewEncoder(bw)
		for i := range w.Items {
			if err := enc.Encode(&w.Items[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// sortByTime orders events by time, keeping the order of equal times.
func sortByTime(evs []features.Event) {
	slices.SortStableFunc(evs, func(a, b features.Event) int { return a.Time.Compare(b.Time) })
}

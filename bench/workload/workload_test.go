package workload

import (
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stickyhq/sticky/bench/synth"
	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/stream/streamtest"
)

// TestOnlineRetail: the documented counts of clean sales survive the
// conversion.
func TestOnlineRetail(t *testing.T) {
	w, err := Dataset("online-retail", streamtest.DataDir(t))
	if err != nil {
		t.Fatal(err)
	}
	var money float64
	for _, e := range w.Events {
		money += e.Price * e.Quantity
	}
	if len(w.Events) != 397884 || w.Users() != 4338 || money < 8911407 || money > 8911408.5 {
		t.Fatalf("%d sales, %d customers, £%.2f; want 397,884, 4,338, £8,911,407.90", len(w.Events), w.Users(), money)
	}
	for i := 1; i < len(w.Events); i++ {
		if w.Events[i].Time.Before(w.Events[i-1].Time) {
			t.Fatalf("event %d out of time order", i)
		}
	}
	zones := features.NewZones()
	for i := range w.Events[:1000] {
		if err := w.Events[i].Validate(zones); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	cats := map[string]bool{}
	for _, it := range w.Items {
		cats[it.Category] = true
	}
	t.Logf("%d events, %d customers, %d items in %d categories", len(w.Events), w.Users(), len(w.Items), len(cats))
	if len(cats) < 20 {
		t.Fatalf("only %d categories", len(cats))
	}
	if first := w.Events[0]; first.Time != time.Date(2010, 12, 1, 8, 26, 0, 0, time.UTC) || first.UserID != "c17850" {
		t.Fatalf("first event %+v", first)
	}
}

func TestCDNOW(t *testing.T) {
	w, err := Dataset("cdnow", streamtest.DataDir(t))
	if err != nil {
		t.Fatal(err)
	}
	if w.Users() != 23570 || len(w.Events) != 69659 {
		t.Fatalf("%d events of %d customers", len(w.Events), w.Users())
	}
}

func TestFilesRoundTrip(t *testing.T) {
	w := Synthetic(SynthConfig{Config: synth.Config{Users: 30, Items: 100}, Days: 3, End: time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)})
	dir := t.TempDir()
	ev, it := filepath.Join(dir, "events.jsonl.gz"), filepath.Join(dir, "items.jsonl")
	if err := w.WriteFiles(ev, it); err != nil {
		t.Fatal(err)
	}
	back, err := ReadFiles(ev, it)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Events) != len(w.Events) || len(back.Items) != len(w.Items) {
		t.Fatalf("%d/%d events, %d/%d items", len(back.Events), len(w.Events), len(back.Items), len(w.Items))
	}
	for i := range w.Events {
		if !reflect.DeepEqual(back.Events[i], w.Events[i]) {
			t.Fatalf("event %d: %+v vs %+v", i, back.Events[i], w.Events[i])
		}
	}
	if _, err := ReadFiles(filepath.Join(dir, "missing"), ""); err == nil {
		t.Fatal("a missing file was read")
	}
}

func TestScale(t *testing.T) {
	t0 := time.Date(2011, 1, 1, 0, 0, 0, 0, time.UTC)
	w := &Workload{Name: "w", Events: []features.Event{
		{ID: "a", Time: t0}, {ID: "b", Time: t0.Add(time.Hour)}, {ID: "c", Time: t0.Add(3 * time.Hour)},
	}}
	orig := w.Events
	if err := w.Scale(20); err != nil {
		t.Fatal(err)
	}
	for i, want := range []time.Duration{0, 20 * time.Hour, 60 * time.Hour} {
		if got := w.Events[i].Time.Sub(t0); got != want {
			t.Errorf("event %d at +%v, want +%v", i, got, want)
		}
	}
	if orig[2].Time != t0.Add(3*time.Hour) {
		t.Errorf("Scale changed the events it was given: %v", orig[2].Time)
	}
	if w.Name != "w, time ×20" {
		t.Errorf("name %q", w.Name)
	}
	for _, f := range []float64{0, -1, math.Inf(1), math.NaN(), 1e7} {
		if err := w.Scale(f); err == nil {
			t.Errorf("Scale(%v) accepted", f)
		}
	}
}

// TestFirstOnly: only each user's first event with an item stays, events
// without an item stay, items become not repeatable, and the original
// slices are untouched.
func TestFirstOnly(t *testing.T) {
	t0 := time.Date(2011, 1, 1, 0, 0, 0, 0, time.UTC)
	w := &Workload{Name: "w", Items: []features.Item{{ID: "x", Repeatable: true}, {ID: "y"}}, Events: []features.Event{
		{ID: "1", UserID: "u", ItemID: "x", Time: t0},
		{ID: "2", UserID: "u", ItemID: "x", Time: t0.Add(time.Hour)},
		{ID: "3", UserID: "v", ItemID: "x", Time: t0.Add(2 * time.Hour)},
		{ID: "4", UserID: "u", Type: features.TypeSearch, Time: t0.Add(3 * time.Hour)},
		{ID: "5", UserID: "u", Type: features.TypeSearch, Time: t0.Add(4 * time.Hour)},
		{ID: "6", UserID: "u", ItemID: "y", Time: t0.Add(5 * time.Hour)},
	}}
	orig, items := w.Events, w.Items
	w.FirstOnly()
	var ids []string
	for _, ev := range w.Events {
		ids = append(ids, ev.ID)
	}
	if strings.Join(ids, ",") != "1,3,4,5,6" {
		t.Fatalf("kept %v, want 1,3,4,5,6", ids)
	}
	if w.Items[0].Repeatable || !items[0].Repeatable || len(orig) != 6 || orig[1].ID != "2" {
		t.Fatalf("items %+v (original %+v), original events %d", w.Items, items, len(orig))
	}
	if !strings.Contains(w.Name, "first") {
		t.Fatalf("name %q does not say so", w.Name)
	}
}

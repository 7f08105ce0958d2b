package ranker

import (
	"bytes"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stickyhq/sticky/features"
)

// TestModelLearnsAndServes trains a share on a world where every shopper
// buys the item they bought before (a grocery), publishes it, and checks
// the served weights moved from the prior, the share round-trips, a
// duplicate event trains nothing, and the learned feature shows as the
// item's reason.
func TestModelLearnsAndServes(t *testing.T) {
	w := newWorld(t)
	var books []features.Item
	for i := range 12 {
		it := *w.cat.Get(fmt.Sprintf("boo-%02d", i))
		it.Repeatable = true
		books = append(books, it)
	}
	w.cat.Apply(books, nil)
	cfg := DefaultConfig()
	cfg.Model.Warmup = 1 // the learned weights count in full at once
	w.r = New(cfg, w.f, w.users, w.cat, w.idx)
	m := w.r.Model()
	sh, err := m.NewShare(nil)
	if err != nil {
		t.Fatal(err)
	}
	prior := *m.weights()
	at := base.Add(-48 * time.Hour)
	for i := range 300 {
		uid := fmt.Sprint("g-", i%30)
		item := fmt.Sprintf("boo-%02d", i%30%12)
		ev := features.Event{ID: fmt.Sprint("e-", i), UserID: uid, Type: features.TypePurchase, ItemID: item,
			Time: at.Add(time.Duration(i) * time.Minute), Context: features.Context{TZ: "UTC"}}
		u := w.users[uid]
		if u == nil {
			u = &features.User{ID: uid}
			w.users[uid] = u
		}
		sh.Train(u, &ev)
		before := sh.Examples()
		var d features.Deltas
		w.f.FoldUser(u, &ev, w.cat.Get(item), &d)
		sh.Train(u, &ev) // seen now: a duplicate trains nothing
		if sh.Examples() != before {
			t.Fatalf("a duplicate event trained the share")
		}
		w.idx.Apply(&d)
	}
	if sh.Examples() == 0 {
		t.Fatal("no examples learned")
	}
	before := sh.Examples()
	imp := features.Event{ID: "imp-1", UserID: "g-1", Type: features.TypeImpression, Items: []string{"ele-03", "gar-02"},
		Time: at.Add(301 * time.Minute)}
	sh.Train(w.users["g-1"], &imp)
	if got := sh.Examples() - before; math.Abs(got-2*DefaultModelConfig().Impression) > 1e-9 {
		t.Fatalf("an impression of two items trained %v example weight, want two label-0 examples", got)
	}
	data := sh.AppendBinary(nil)
	back, err := m.NewShare(data)
	if err != nil || !bytes.Equal(back.AppendBinary(nil), data) {
		t.Fatalf("share does not round-trip: %v", err)
	}
	if err := m.Publish(3, data); err != nil {
		t.Fatal(err)
	}
	got := *m.weights()
	if got == prior {
		t.Fatal("published share did not change the served weights")
	}
	st := m.Stats()
	if st.Shares != 1 || st.Examples != sh.Examples() || st.Learned["bought"] <= 0 {
		t.Fatalf("model stats %+v: want one share, its examples, a positive weight on bought", st)
	}
	resp := w.recommend(t, Request{UserID: "g-1", K: 5, Context: Context{Time: base}})
	if len(resp.Items) == 0 || resp.Items[0].ItemID != "boo-01" || resp.Items[0].Reasons[0].Code != "history" {
		t.Fatalf("top item %+v: want boo-01 for its history", resp.Items)
	}
	if _, err := m.NewShare([]byte{9}); err == nil {
		t.Fatal("a corrupt share decoded")
	}
}

func TestRepeatNever(t *testing.T) {
	w := newWorld(t)
	cfg := DefaultConfig()
	cfg.Repeat = RepeatNever
	w.r = New(cfg, w.f, w.users, w.cat, w.idx)
	w.fold(t, "u", features.TypePurchase, "bab-00", base.Add(-time.Hour), "mobile", "") // repeatable
	for _, it := range w.recommend(t, Request{UserID: "u", K: 40, Context: Context{Time: base}}).Items {
		if it.ItemID == "bab-00" {
			t.Fatalf("%s recommended again under RepeatNever", it.ItemID)
		}
	}
	if r, err := ParseRepeat("never"); err != nil || r != RepeatNever || r.String() != "never" {
		t.Fatalf("ParseRepeat: %v %v", r, err)
	}
}

// TestShareTrainsLessOfABacklog: told its batch is a backlog, a share
// trains on about one positive event in BacklogSample; told it is live,
// on every one; TrainBudget bounds it; and a replay (no batch size) trains
// on one positive event in Sample.
func TestShareTrainsLessOfABacklog(t *testing.T) {
	// trained counts the events a share learns from out of 800 purchases,
	// told batch (0: not told) and with the budget and sample given.
	trained := func(batch int, budget float64, sample int) int {
		w := newWorld(t)
		cfg := DefaultConfig()
		cfg.Model.TrainBudget, cfg.Model.Sample = budget, sample
		w.r = New(cfg, w.f, w.users, w.cat, w.idx)
		sh, err := w.r.Model().NewShare(nil)
		if err != nil {
			t.Fatal(err)
		}
		if batch > 0 {
			sh.Batch(batch)
		}
		n := 0
		at := base.Add(-48 * time.Hour)
		for i := range 800 {
			uid := fmt.Sprint("b-", i%40)
			item := fmt.Sprintf("boo-%02d", i%12)
			ev := features.Event{ID: fmt.Sprint("e-", i), UserID: uid, Type: features.TypePurchase, ItemID: item,
				Time: at.Add(time.Duration(i) * time.Minute), Context: features.Context{TZ: "UTC"}}
			u := w.users[uid]
			if u == nil {
				u = &features.User{ID: uid}
				w.users[uid] = u
			}
			before := sh.Examples()
			sh.Train(u, &ev)
			if sh.Examples() != before {
				n++
			}
			var d features.Deltas
			w.f.FoldUser(u, &ev, w.cat.Get(item), &d)
			w.idx.Apply(&d)
		}
		return n
	}
	live := trained(1, -1, 1)
	backlog := trained(DefaultModelConfig().BacklogBatch, -1, 1)
	k := DefaultModelConfig().BacklogSample
	if live < 100 || backlog < live/k/2 || backlog > live*2/k {
		t.Fatalf("trained on %d events live and %d of a backlog, want about 1 in %d", live, backlog, k)
	}
	// Replays (no Batch) train on one positive event in Sample.
	if sampled := trained(0, -1, 4); sampled < live/4/2 || sampled > live*2/4 {
		t.Fatalf("trained on %d events with Sample 4 and %d with 1, want about 1 in 4", sampled, live)
	}
	// A budget of a millionth of a core runs out within the first tenth
	// of a second's worth of training.
	if starved := trained(1, 1e-6, 1); starved >= live {
		t.Fatalf("trained on %d events within a tiny budget, %d without", starved, live)
	}
}

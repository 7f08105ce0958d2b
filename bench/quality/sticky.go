package quality

import (
	"context"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/ranker"
	"github.com/stickyhq/sticky/state"
)

// Sticky is Sticky's own recommender: the fold, the item index, the
// ranker and its model the engine runs, fed one event at a time in memory.
// As in a partition worker, each event trains the model's share before it
// is folded into its user (ranker.Share.Train), and the share is published
// to the ranker's model every publishEvery events, as a worker publishes
// it after each committed batch.
type Sticky struct {
	f     *features.Extractor
	cat   *state.Catalogue
	idx   *ranker.Index
	users userMap
	r     *ranker.Ranker
	share *ranker.Share
	d     features.Deltas
	name  string
	n     int
}

// publishEvery is the batch size the harness mimics (stream's default
// BatchEvents is larger; a smaller one keeps the model fresher here).
const publishEvery = 100

type userMap map[string]*features.User

func (m userMap) User(id string, u *features.User) (bool, error) {
	if v := m[id]; v != nil {
		*u = *v
		return true, nil
	}
	*u = features.User{ID: id}
	return false, nil
}

// NewSticky returns Sticky's recommender over a catalogue.
func NewSticky(name string, items []features.Item, fc features.Config, rc ranker.Config) *Sticky {
	f := features.NewExtractor(fc)
	cat := state.NewCatalogue()
	cat.Apply(items, nil)
	ic := ranker.DefaultIndexConfig()
	ic.TrendingRefresh = -1 // every window computed: figures must not depend on the machine's speed
	idx := ranker.NewIndex(ic, f, cat)
	users := userMap{}
	r := ranker.New(rc, f, users, cat, idx)
	share, err := r.Model().NewShare(nil)
	if err != nil {
		panic("BUG: a fresh model share does not decode: " + err.Error())
	}
	return &Sticky{f: f, cat: cat, idx: idx, users: users, r: r, share: share, name: name}
}

// Ranker returns the ranker, e.g. to read its model's statistics.
func (s *Sticky) Ranker() *ranker.Ranker { return s.r }

func (s *Sticky) Name() string { return s.name }

func (s *Sticky) Recommend(ev *features.Event, k int) []string {
	resp, err := s.r.Recommend(context.Background(), ranker.Request{UserID: ev.UserID, K: k,
		Context: ranker.Context{Time: ev.Time, Device: ev.Context.Device, Region: ev.Context.Region, TZ: ev.Context.TZ}})
	if err != nil {
		return nil
	}
	out := make([]string, len(resp.Items))
	for i, it := range resp.Items {
		out[i] = it.ItemID
	}
	return out
}

func (s *Sticky) Observe(ev *features.Event) {
	u := s.users[ev.UserID]
	if u == nil {
		u = &features.User{ID: ev.UserID}
		s.users[ev.UserID] = u
	}
	var it *features.Item
	if ev.ItemID != "" {
		it = s.cat.Get(ev.ItemID)
	}
	s.share.Train(u, ev)
	s.f.FoldUser(u, ev, it, &s.d)
	s.idx.Apply(&s.d)
	s.d.Reset()
	if s.n++; s.n%publishEvery == 0 {
		if err := s.r.Model().Publish(0, s.share.AppendBinary(nil)); err != nil {
			panic("BUG: a model share does not round-trip: " + err.Error())
		}
	}
}

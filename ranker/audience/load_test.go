package audience

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/state"
)

// tableState is what a table holds, comparable across tables: records by
// user with their interned names resolved (ids depend on the order users
// arrived in) and their position in the scan list left out.
type tableState struct {
	Records             map[string]recordState
	Segments            [numSegments]int64
	Stages              [8]int64
	R, F, M             map[int64]int64
	RC, FC, MC          cdf
	Loading             bool
	Early               int
	Users, ListedUsers  int
	RecountedAt         time.Time
	FitCustomers, Names int
}

type recordState struct {
	Rec            record
	Cats, Brands   [maxAff]string
	SegmentName    string
	HasSegmentName bool
}

func stateOf(t *Table) tableState {
	t.mu.RLock()
	defer t.mu.RUnlock()
	s := tableState{Records: map[string]recordState{}, Segments: t.segments, Stages: t.stages,
		R: maps.Clone(t.r.counts), F: maps.Clone(t.fr.counts), M: maps.Clone(t.m.counts), RC: t.rc, FC: t.fc, MC: t.mc,
		Loading: t.loading, Early: len(t.early), Users: len(t.users), ListedUsers: len(t.list), RecountedAt: t.recountedAt}
	name := func(id uint16) string {
		if id == 0 {
			return ""
		}
		return t.nameList[id-1]
	}
	for _, rec := range t.list {
		rs := recordState{Rec: *rec}
		rs.Rec.idx = 0
		for i := range maxAff {
			rs.Cats[i], rs.Rec.cats[i].id = name(rec.cats[i].id), 0
			rs.Brands[i], rs.Rec.brands[i].id = name(rec.brands[i].id), 0
		}
		if rec.days > 0 {
			rs.SegmentName, rs.HasSegmentName = segmentNames[rec.segment], true
		}
		s.Records[rec.id] = rs
	}
	return s
}

// cloneUser copies u through the store's codec.
func cloneUser(t *testing.T, u *features.User) *features.User {
	t.Helper()
	c := &features.User{ID: u.ID}
	if err := state.DecodeUser(state.AppendUser(nil, u), c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestLoadWhileUpdating: a table loading from a real store while Update
// feeds it (as the consumer does after a restart) keeps every live update
// over the older vector the scan read, keeps sends acknowledged for users
// the scan has not reached, answers ErrLoading and no RFM until it is done,
// and ends equal to a table loaded synchronously from the store as it is
// then.
func TestLoadWhileUpdating(t *testing.T) {
	end := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	f, us := shop(t, 1300, 6, end)
	ids := slices.Sorted(maps.Keys(us)) // the store's order
	if len(ids) < 1100 {
		t.Fatalf("%d users: the test needs two batches", len(ids))
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	sc := state.DefaultConfig()
	sc.Dir, sc.Logger = t.TempDir(), quiet
	st, err := state.Open(sc)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	offset := int64(0)
	commit := func(users ...*features.User) {
		t.Helper()
		offset++
		if err := st.Commit(&state.Batch{Topic: "events", Partition: 0, Offset: offset, Users: users}); err != nil {
			t.Fatal(err)
		}
	}
	for chunk := range slices.Chunk(ids, 500) {
		var users []*features.User
		for _, id := range chunk {
			users = append(users, us[id])
		}
		commit(users...)
	}

	// Newer vectors: a purchase an hour before end by users of the first
	// batch (which the held scan has read), of the second (which it has
	// not merged yet), and by a user the store lacks.
	var live []*features.User
	var d features.Deltas
	buy := func(u *features.User) {
		ev := features.Event{UserID: u.ID, Type: features.TypePurchase, ItemID: "newest", Price: 999, Time: end.Add(-time.Hour)}
		f.FoldUser(u, &ev, nil, &d)
		d.Reset()
		live = append(live, u)
	}
	for _, i := range []int{0, 3, 500, 1023, 1024, 1030, len(ids) - 1} {
		buy(cloneUser(t, us[ids[i]]))
	}
	buy(&features.User{ID: "zz-newcomer"})
	early := ids[1100] // acknowledged a push before the load reached them

	at, cont := make(chan int), make(chan struct{})
	cfg := DefaultConfig()
	cfg.Logger = quiet
	cfg.LoadHook = func(scanned int) {
		at <- scanned
		<-cont
	}
	tb := New(cfg, f)
	tb.now = func() time.Time { return end }
	tb.BeginLoad()
	done := make(chan error, 1)
	go func() { done <- tb.LoadUsers(context.Background(), st) }()

	if n := <-at; n != 0 {
		t.Fatalf("first batch after %d users", n)
	}
	// The consumer commits the newer vectors and hands them over.
	commit(live...)
	tb.Update(live)
	tb.RecordSend(early, end.Add(-time.Minute), "spring")
	if tb.Loaded() {
		t.Fatal("loaded before the scan is done")
	}
	if _, err := tb.Refit(end); !errors.Is(err, ErrLoading) {
		t.Fatalf("refit while loading: %v, want ErrLoading", err)
	}
	if v := tb.View(live[0], end, 0); v.RFM != nil || !v.AudienceLoading {
		t.Fatalf("a view while loading: RFM %+v, loading %v", v.RFM, v.AudienceLoading)
	}
	cont <- struct{}{}
	for waiting := true; waiting; {
		select {
		case <-at:
			cont <- struct{}{}
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			waiting = false
		}
	}
	if !tb.Loaded() || tb.LoadStats().Took <= 0 {
		t.Fatalf("after the load: %+v", tb.LoadStats())
	}

	// Every live update won over the vector the scan read.
	for _, u := range live {
		tb.User(u.ID, func(c *Candidate) {
			if c.LastSeen() != u.LastSeen || !c.Bought(ItemHash("newest")) {
				t.Errorf("%s: last seen %d, want the live %d", u.ID, c.LastSeen(), u.LastSeen)
			}
		})
	}
	tb.User(early, func(c *Candidate) {
		if c.SentWithin(end.UnixMilli(), time.Hour) != 1 {
			t.Errorf("the send acknowledged while loading is lost")
		}
	})

	// The same as a synchronous load of the store as it is now.
	rcfg := DefaultConfig()
	rcfg.Logger = quiet
	ref := New(rcfg, f)
	ref.now = tb.now
	if err := ref.Load(st); err != nil {
		t.Fatal(err)
	}
	ref.RecordSend(early, end.Add(-time.Minute), "spring")
	got, want := stateOf(tb), stateOf(ref)
	if got.Users != len(ids)+1 {
		t.Fatalf("%d users after the load, want %d", got.Users, len(ids)+1)
	}
	if !reflect.DeepEqual(got, want) {
		for id, r := range want.Records {
			if !reflect.DeepEqual(got.Records[id], r) {
				t.Errorf("%s:\n%+v\nwant\n%+v", id, got.Records[id], r)
				break
			}
		}
		t.Fatalf("the table loaded while updated differs from a synchronous load (segments %v want %v, stages %v want %v)",
			got.Segments, want.Segments, got.Stages, want.Stages)
	}
	if !reflect.DeepEqual(tb.Counts(), ref.Counts()) {
		t.Fatalf("counts %+v\nwant %+v", tb.Counts(), ref.Counts())
	}
}

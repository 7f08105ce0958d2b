package audience

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stickyhq/sticky/features"
)

// memStore is a Store in memory.
type memStore struct {
	users   map[string]*features.User
	corrupt []string
	meta    map[string][]byte
}

func (s *memStore) ScanUsersLenient(fn func(u *features.User) error, corrupt func(id string, err error)) error {
	for _, id := range slices.Sorted(maps.Keys(s.users)) {
		if err := fn(s.users[id]); err != nil {
			return err
		}
	}
	for _, id := range s.corrupt {
		corrupt(id, errors.New("bad bytes"))
	}
	return nil
}

func (s *memStore) Meta(name string) ([]byte, error) { return s.meta[name], nil }

func (s *memStore) PutMeta(name string, v []byte) error {
	s.meta[name] = v
	return nil
}

// TestLoadRestoresTheSavedFit: a table rebuilt from a store holds every
// readable user and the fit a table before it saved there, under the key
// and in the format data directories already hold.
func TestLoadRestoresTheSavedFit(t *testing.T) {
	end := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	f, us := shop(t, 250, 60, end)
	st := &memStore{users: us, corrupt: []string{"broken"}, meta: map[string][]byte{}}

	cfg := DefaultConfig()
	cfg.Store = st
	first := New(cfg, f)
	first.now = func() time.Time { return end }
	if err := first.Load(st); err != nil {
		t.Fatal(err)
	}
	if first.Len() != len(us) || first.CurrentFit() != nil {
		t.Fatalf("%d users loaded of %d, fit %v before any fit", first.Len(), len(us), first.CurrentFit())
	}
	fit, err := first.Refit(end)
	if err != nil {
		t.Fatal(err)
	}
	var saved Fit
	if err := json.Unmarshal(st.meta["value-fit"], &saved); err != nil || saved.BGNBD != fit.BGNBD || !saved.At.Equal(fit.At) {
		t.Fatalf("saved %s (%v), fitted %+v", st.meta["value-fit"], err, fit)
	}

	again := New(DefaultConfig(), f)
	again.now = func() time.Time { return end }
	if err := again.Load(st); err != nil {
		t.Fatal(err)
	}
	if got := again.CurrentFit(); got == nil || got.BGNBD != fit.BGNBD || got.Gamma != fit.Gamma || !got.At.Equal(fit.At) {
		t.Fatalf("fit after Load %+v, saved %+v", got, fit)
	}
	if c := again.Counts(); c.Users != int64(len(us)) || c.Customers != first.Counts().Customers {
		t.Fatalf("counts after Load %+v, before %+v", c, first.Counts())
	}

	// An unreadable saved fit is ignored.
	st.meta["value-fit"] = []byte("{")
	third := New(DefaultConfig(), f)
	if err := third.Load(st); err != nil || third.CurrentFit() != nil {
		t.Fatalf("unreadable fit: %v, %v", err, third.CurrentFit())
	}
}

// TestRunKeepsAFitGivenMeanwhile: Run's first fit, begun before a fit is
// given to Refit by hand, neither overwrites it in the table nor in the
// store (the engine's CDNOW test once restarted onto Run's fit instead of
// its own).
func TestRunKeepsAFitGivenMeanwhile(t *testing.T) {
	end := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	f, us := shop(t, 250, 60, end)
	st := &memStore{users: us, meta: map[string][]byte{}}
	cfg := DefaultConfig()
	cfg.Store = st
	tb := New(cfg, f)
	if err := tb.Load(st); err != nil {
		t.Fatal(err)
	}
	// Run's first attempt reads the clock, then waits until the fit by
	// hand is done.
	asked, handDone := make(chan struct{}), make(chan struct{})
	wall := end.Add(400 * 24 * time.Hour)
	var once bool
	tb.now = func() time.Time {
		if !once {
			once = true
			close(asked)
			<-handDone
		}
		return wall
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		tb.Run(ctx)
	}()
	<-asked
	fit, err := tb.Refit(end)
	close(handDone)
	if err != nil {
		t.Fatal(err)
	}
	// Run makes its first attempt before it looks at ctx: once it has
	// returned, the attempt is over.
	cancel()
	<-ran
	var saved Fit
	if err := json.Unmarshal(st.meta["value-fit"], &saved); err != nil || !saved.At.Equal(end) {
		t.Fatalf("saved %s (%v), fitted by hand at %v", st.meta["value-fit"], err, end)
	}
	if got := tb.CurrentFit(); got == nil || got.BGNBD != fit.BGNBD || !got.At.Equal(end) {
		t.Fatalf("current fit %+v, fitted by hand %+v", got, fit)
	}
}

package audience

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/stickyhq/sticky/features"
)

// Store is what a Table is rebuilt from at start-up and keeps its fit in;
// *state.Store satisfies it.
type Store interface {
	// ScanUsersLenient calls fn for every stored user and corrupt for
	// every one whose vector cannot be read.
	ScanUsersLenient(fn func(u *features.User) error, corrupt func(id string, err error)) error
	// Meta returns the value stored under name, or nil.
	Meta(name string) ([]byte, error)
	// PutMeta stores v under name.
	PutMeta(name string, v []byte) error
}

// fitKey is the name the last fit is kept under, as the JSON of Fit.
const fitKey = "value-fit"

// Load adds every user of s to the table, recounts, and makes the fit last
// saved in s current: LoadFit, BeginLoad and LoadUsers, synchronously. A
// user whose vector cannot be read is logged and left out (the consumer
// restarts them afresh at their next event); a saved fit that cannot be
// read is logged and ignored (the next refit replaces it).
func (t *Table) Load(s Store) error {
	if err := t.LoadFit(s); err != nil {
		return err
	}
	t.BeginLoad()
	return t.LoadUsers(context.Background(), s)
}

// LoadFit makes the fit last saved in s current, if there is one; one that
// cannot be read is logged and ignored (the next refit replaces it).
func (t *Table) LoadFit(s Store) error {
	b, err := s.Meta(fitKey)
	if err != nil {
		return fmt.Errorf("cannot read the saved value models: %w", err)
	}
	if b != nil {
		var f Fit
		if err := json.Unmarshal(b, &f); err != nil {
			t.cfg.Logger.Warn("ignoring an unreadable persisted fit", "err", err)
		} else {
			t.SetFit(f)
		}
	}
	return nil
}

// BeginLoad marks the table as loading: Loaded is false until LoadUsers is
// done. Call it once, before the table is shared (Update may be called
// from then on).
func (t *Table) BeginLoad() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.loading {
		panic("BUG: audience: BeginLoad called twice")
	}
	t.loading = true
	t.early = make(map[string][]features.PushSend)
	t.loaded.Store(false)
	t.loadDone = make(chan struct{})
}

// LoadUsers adds every user of s that the table does not hold yet, in
// batches, then recounts and marks the table loaded. Update may run
// meanwhile: a user it has put is newer than (or the same as) what the scan
// reads, so the scan leaves them as they are. A user whose vector cannot be
// read is logged and left out. It returns ctx's error if ctx is canceled
// first (the table then stays loading). Call BeginLoad first.
func (t *Table) LoadUsers(ctx context.Context, s Store) error {
	t.mu.RLock()
	began := t.loading
	t.mu.RUnlock()
	if !began {
		panic("BUG: audience: LoadUsers without BeginLoad")
	}
	start := time.Now()
	scanned := 0
	batch := make([]*features.User, 0, 1024)
	flush := func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if t.cfg.LoadHook != nil {
			t.cfg.LoadHook(scanned)
		}
		t.merge(batch)
		scanned += len(batch)
		batch = batch[:0]
		return nil
	}
	err := s.ScanUsersLenient(func(u *features.User) error {
		if batch = append(batch, u); len(batch) == cap(batch) {
			return flush()
		}
		return nil
	}, func(id string, err error) {
		t.cfg.Logger.Error("stored user vector is corrupt; left out of the audience", "user", id, "err", err)
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("cannot load the audience: %w", err)
	}
	t.finishLoad(time.Since(start))
	return nil
}

// merge adds the users the table does not hold yet.
func (t *Table) merge(users []*features.User) {
	now := t.now().UnixMilli()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, u := range users {
		if t.users[u.ID] == nil {
			t.put(u, now)
		}
	}
}

// finishLoad recounts the whole population and marks the table loaded.
func (t *Table) finishLoad(took time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.recount(t.now())
	t.loading = false
	t.early = nil // sends of users who are not in the store: dropped, as before a load
	t.loadTook.Store(int64(took))
	t.loaded.Store(true)
	close(t.loadDone)
}

// Loaded reports whether the table holds the whole population: false from
// BeginLoad until LoadUsers is done, true otherwise.
func (t *Table) Loaded() bool { return t.loaded.Load() }

// loadDoneChan returns a channel closed once the table is loaded.
func (t *Table) loadDoneChan() <-chan struct{} {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.loadDone
}

// LoadStats describe the table's load from the store.
type LoadStats struct {
	Loaded bool          // see Loaded
	Took   time.Duration // the last completed load (0 before one)
}

// LoadStats returns the state of the load.
func (t *Table) LoadStats() LoadStats {
	return LoadStats{Loaded: t.Loaded(), Took: time.Duration(t.loadTook.Load())}
}

func saveFit(s Store, f Fit) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return s.PutMeta(fitKey, b)
}

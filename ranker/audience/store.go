package audience

import (
	"encoding/json"

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
// saved in s current. A user whose vector cannot be read is logged and left
// out (the consumer restarts them afresh at their next event); a saved fit
// that cannot be read is logged and ignored (the next refit replaces it).
func (t *Table) Load(s Store) error {
	batch := make([]*features.User, 0, 1024)
	err := s.ScanUsersLenient(func(u *features.User) error {
		if batch = append(batch, u); len(batch) == cap(batch) {
			t.Update(batch)
			batch = batch[:0]
		}
		return nil
	}, func(id string, err error) {
		t.cfg.Logger.Error("stored user vector is corrupt; left out of the audience", "user", id, "err", err)
	})
	if err != nil {
		return err
	}
	t.Update(batch)
	t.Recount(t.now())
	b, err := s.Meta(fitKey)
	if err != nil {
		return err
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

func saveFit(s Store, f Fit) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return s.PutMeta(fitKey, b)
}

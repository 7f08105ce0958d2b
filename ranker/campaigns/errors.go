package campaigns

import "errors"

// Errors callers branch on.
var (
	ErrNotFound = errors.New("no such campaign")
	ErrExists   = errors.New("a campaign with this id exists")
)

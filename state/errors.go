package state

import "errors"

// ErrCorrupt is wrapped by every decoding error.
var ErrCorrupt = errors.New("corrupt value")

// ErrBatchTooBig is returned by Commit when a batch exceeds what one Badger
// transaction may hold; nothing was written and the caller should split it.
var ErrBatchTooBig = errors.New("batch too big for one transaction")

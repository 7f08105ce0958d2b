package state

import "errors"

// ErrCorrupt is wrapped by every decoding error.
var ErrCorrupt = errors.New("corrupt value")

// ErrBatchTooBig is returned by Commit when a batch exceeds what one Badger
// transaction may hold; nothing was written and the caller should split it.
var ErrBatchTooBig = errors.New("batch too big for one transaction")

// ErrPendingDeltas is returned by LoadItemParts and ScanItemParts when a
// partition has item delta records no checkpoint covers yet and the store
// was opened without Config.ApplyDeltas to fold them.
var ErrPendingDeltas = errors.New("item delta records pending and no Config.ApplyDeltas to fold them")

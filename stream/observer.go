package stream

import (
	"time"

	"github.com/stickyhq/sticky/features"
)

// Observer receives the stream's measurements; the command bridges them into
// metrics. Implementations must be safe for concurrent use and fast.
type Observer interface {
	// Consumed counts records of one event type taken from the events
	// topic and processed (applied, duplicate or invalid); records that
	// do not decode far enough to have a type count as TypeUnknown.
	Consumed(t features.Type, n int)
	// Applied counts events of one type folded into state.
	Applied(t features.Type, n int)
	// Duplicates counts events skipped because their event_id was seen.
	Duplicates(n int)
	// Replayed counts events skipped on recovery because their user's
	// stored vector already held them (a flush cut short by a crash
	// wrote it).
	Replayed(n int)
	// Invalid counts a malformed record of type t (TypeUnknown when the
	// type itself is missing or wrong); field is the offending field,
	// "body" or "key".
	Invalid(t features.Type, field string)
	// Batch reports one applied batch of a partition.
	Batch(partition int32, events int, took time.Duration)
	// Freshness reports the time from a record's timestamp to its state
	// being applied (what readers see).
	Freshness(d time.Duration)
}

// NopObserver ignores everything.
type NopObserver struct{}

func (NopObserver) Consumed(features.Type, int)     {}
func (NopObserver) Applied(features.Type, int)      {}
func (NopObserver) Duplicates(int)                  {}
func (NopObserver) Replayed(int)                    {}
func (NopObserver) Invalid(features.Type, string)   {}
func (NopObserver) Batch(int32, int, time.Duration) {}
func (NopObserver) Freshness(time.Duration)         {}

// Package priority lets background work step aside for the requests a
// caller is waiting on. Sticky's API requests and its ingest share the
// same cores, and the Go scheduler has no priorities: a request that
// arrives while six partition workers are folding waits for their time
// slices. A Gate counts the requests in flight (Enter, Leave); background
// work calls Wait between its steps, which returns at once when no request
// is in flight and otherwise blocks until none is or a bound passes. The
// bound keeps ingest moving (and freshness bounded) under a steady stream
// of requests; the wait lets folds, which lose little by starting a few
// milliseconds later, go after the requests that lose a lot.
//
// Background tasks that may run at once (the partition workers) also call
// Serialize around their work: while requests are in flight they run one
// at a time, leaving the other cores to the requests. It is best effort: a
// task that started while none was in flight runs on beside the one that
// takes the turn.
//
// A nil *Gate is valid: it counts nothing and never waits.
package priority

import (
	"sync"
	"sync/atomic"
	"time"
)

// Gate counts requests in flight and makes background work wait for them.
// It is safe for concurrent use.
type Gate struct {
	n      atomic.Int64 // requests in flight
	waited atomic.Int64 // nanoseconds background work spent in Wait
	waits  atomic.Int64 // Waits that blocked

	mu   sync.Mutex
	idle chan struct{} // closed when n next reaches 0; nil when nobody waits

	serial sync.Mutex // held by the background task running while requests are in flight
}

// Serialize returns at once, with a release that does nothing, when no
// request is in flight; otherwise it waits until no other background task
// holds the gate's turn and returns the release of its own. Call the
// release when the work is done.
func (g *Gate) Serialize() (release func()) {
	if g == nil || g.n.Load() == 0 {
		return func() {}
	}
	g.serial.Lock()
	return g.serial.Unlock
}

// Enter marks a request in flight; Leave must follow.
func (g *Gate) Enter() {
	if g != nil {
		g.n.Add(1)
	}
}

// Leave marks a request done, releasing the waiters when none is left.
func (g *Gate) Leave() {
	if g == nil || g.n.Add(-1) != 0 {
		return
	}
	g.mu.Lock()
	if g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
	g.mu.Unlock()
}

// InFlight returns the requests in flight.
func (g *Gate) InFlight() int64 {
	if g == nil {
		return 0
	}
	return g.n.Load()
}

// Wait returns when no request is in flight, or after max at the latest,
// and returns how long it waited. It does not block when max <= 0.
func (g *Gate) Wait(max time.Duration) time.Duration {
	if g == nil || max <= 0 || g.n.Load() == 0 {
		return 0
	}
	start := time.Now()
	g.mu.Lock()
	if g.n.Load() == 0 { // Leave ran since: it saw no waiter
		g.mu.Unlock()
		return 0
	}
	if g.idle == nil {
		g.idle = make(chan struct{})
	}
	idle := g.idle
	g.mu.Unlock()
	t := time.NewTimer(max)
	select {
	case <-idle:
	case <-t.C:
	}
	t.Stop()
	d := time.Since(start)
	g.waited.Add(int64(d))
	g.waits.Add(1)
	return d
}

// Waited returns the total time background work spent in Wait and how
// many Waits blocked.
func (g *Gate) Waited() (time.Duration, int64) {
	if g == nil {
		return 0, 0
	}
	return time.Duration(g.waited.Load()), g.waits.Load()
}

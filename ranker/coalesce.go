package ranker

import (
	"sync"
	"time"

	"github.com/stickyhq/sticky/features"
)

// Coalescer applies item deltas to an Index at most once per interval.
// Requests read the index under its read lock; each Apply takes the write
// lock, and while a writer waits, new readers wait too. With several
// partitions committing small batches live, that was thousands of writers
// a second, and requests queued behind them. Under load the Coalescer
// gathers the deltas of many batches into one Apply; when idle it applies a
// batch at once. Deltas are applied in the order they were handed over.
// It is safe for concurrent use.
type Coalescer struct {
	idx   *Index
	every time.Duration

	mu      sync.Mutex // guards the fields below; taken before applying
	pending features.Deltas
	spare   features.Deltas // the lists of the latest deltas applied, emptied, for pending to reuse
	last    time.Time       // when the latest Apply started
	timer   *time.Timer     // a flush is scheduled
	applyMu sync.Mutex      // serialises applies, taken under mu so that their order is the order of hand-over
}

// NewCoalescer returns a Coalescer of idx that applies at most once per
// every (at once when every <= 0).
func NewCoalescer(idx *Index, every time.Duration) *Coalescer {
	return &Coalescer{idx: idx, every: every}
}

// Apply hands over a committed batch's deltas, copying them: d may be
// reused once Apply returns. They are applied before Apply returns if the
// index was last written at least an interval ago, else within the
// interval.
func (c *Coalescer) Apply(d *features.Deltas) {
	if len(d.Pops) == 0 && len(d.Pairs) == 0 {
		return
	}
	c.mu.Lock()
	c.pending.Pops = append(c.pending.Pops, d.Pops...)
	c.pending.Pairs = append(c.pending.Pairs, d.Pairs...)
	if c.timer != nil {
		c.mu.Unlock()
		return
	}
	if wait := c.every - time.Since(c.last); wait > 0 {
		c.timer = time.AfterFunc(wait, c.Flush)
		c.mu.Unlock()
		return
	}
	c.applyLocked()
}

// Flush applies whatever is pending now; Close calls it.
func (c *Coalescer) Flush() {
	c.mu.Lock()
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	c.applyLocked()
}

// applyLocked takes the pending deltas and applies them; it is called with
// mu held and releases it.
func (c *Coalescer) applyLocked() {
	d := c.pending
	c.pending, c.spare = c.spare, features.Deltas{}
	c.last = time.Now()
	c.applyMu.Lock()
	c.mu.Unlock()
	c.idx.Apply(&d)
	c.applyMu.Unlock()
	// The index keeps nothing of d but its strings: its lists take the
	// next batches (appending to them was 37 of 588 MB allocated, in the
	// profile entry.spare cites).
	d.Reset()
	c.mu.Lock()
	c.spare = d
	c.mu.Unlock()
}

package ranker

import (
	"sync"
	"sync/atomic"
	"time"
)

// readerLock is a readers–writer lock that lets readers in while a writer
// waits, for a while: sync.RWMutex blocks new readers as soon as a writer
// asks, so one reader preempted inside its section (the machine's cores
// busy with ingest) held back the writer, and the waiting writer every
// request behind it. A trace of the harness's live phase showed requests
// queued for 100 ms at a time that way on the index's lock. Here a writer
// waits for a moment without readers and only blocks new readers after
// waitReaders; readers block only while a writer holds the lock or has
// waited that long. Sections on both sides must be short.
//
// The zero value is an unlocked lock.
type readerLock struct {
	state atomic.Int64 // readers in, plus writerHeld or writerWaiting
	wmu   sync.Mutex   // serialises writers
	done  atomic.Pointer[chan struct{}]
	wait  time.Duration // how long a writer lets new readers in; 0: waitReaders
}

const (
	writerHeld    = 1 << 62
	writerWaiting = 1 << 61

	// waitReaders is how long a writer lets new readers in before it
	// blocks them, so that a steady stream of readers cannot starve it.
	waitReaders = 20 * time.Millisecond
)

// RLock takes the lock for reading.
func (l *readerLock) RLock() {
	for {
		s := l.state.Load()
		if s&(writerHeld|writerWaiting) == 0 {
			if l.state.CompareAndSwap(s, s+1) {
				return
			}
			continue
		}
		// A writer holds the lock or has waited long enough: wait for
		// it. done is the writer's (or a later one's) channel, closed
		// after the bits are cleared; a channel already closed only
		// sends us round again.
		if ch := l.done.Load(); ch != nil {
			<-*ch
		}
	}
}

// RUnlock releases a read lock.
func (l *readerLock) RUnlock() { l.state.Add(-1) }

// Lock takes the lock for writing: at once when no reader is in, else
// after the readers in leave, letting new readers in for up to
// waitReaders.
func (l *readerLock) Lock() {
	l.wmu.Lock()
	ch := make(chan struct{})
	l.done.Store(&ch)
	if l.state.CompareAndSwap(0, writerHeld) {
		return
	}
	start, patience := time.Now(), l.wait
	if patience <= 0 {
		patience = waitReaders
	}
	blocking := false
	for spin := 0; ; spin++ {
		s := l.state.Load()
		if s&^writerWaiting == 0 && l.state.CompareAndSwap(s, writerHeld) {
			return
		}
		if !blocking && time.Since(start) >= patience {
			l.state.Add(writerWaiting)
			blocking = true
		}
		if spin < 4 {
			continue
		}
		time.Sleep(20 * time.Microsecond)
	}
}

// Unlock releases the write lock and wakes the readers waiting for it.
func (l *readerLock) Unlock() {
	l.state.Add(-writerHeld)
	close(*l.done.Load())
	l.wmu.Unlock()
}

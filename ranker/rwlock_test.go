package ranker

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Writers exclude readers and each other; the race detector checks the
// data the lock guards.
func TestReaderLockExcludes(t *testing.T) {
	var l readerLock
	var data [8]int
	var readers, writers atomic.Int32
	stop := make(chan struct{})
	wg := readers4(stop, func() {
		l.RLock()
		readers.Add(1)
		if writers.Load() != 0 {
			t.Error("a reader is in beside a writer")
		}
		first := data[0]
		for _, v := range data {
			if v != first {
				t.Errorf("a reader saw a write in progress: %v", data)
				break
			}
		}
		readers.Add(-1)
		l.RUnlock()
	})
	for w := range 2 {
		wg.Go(func() {
			for i := range 500 {
				l.Lock()
				if writers.Add(1) != 1 || readers.Load() != 0 {
					t.Error("a writer is in beside another writer or a reader")
				}
				for j := range data {
					data[j] = w*1000 + i
				}
				writers.Add(-1)
				l.Unlock()
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
}

// A reader gets in while a writer waits for another reader to leave (a
// sync.RWMutex would block it), until the writer has waited its patience;
// then the writer gets in.
func TestReaderLockLetsReadersPastAWaitingWriter(t *testing.T) {
	// Patience and waits with margins for a loaded machine.
	l := readerLock{wait: time.Second}
	l.RLock() // a slow reader
	locked := make(chan struct{})
	go func() {
		l.Lock()
		close(locked)
		l.Unlock()
	}()
	time.Sleep(10 * time.Millisecond) // the writer is waiting
	in := make(chan struct{})
	go func() {
		l.RLock()
		close(in)
		l.RUnlock()
	}()
	select {
	case <-in:
	case <-locked:
		t.Fatal("the writer got in beside a reader")
	case <-time.After(time.Duration(l.wait) / 2):
		t.Fatal("a reader was blocked by a writer that only waits")
	}
	select {
	case <-locked:
		t.Fatal("the writer got in beside a reader")
	case <-time.After(l.wait + 300*time.Millisecond):
	}
	// The writer has waited long enough: new readers now wait for it.
	blocked := make(chan struct{})
	go func() {
		l.RLock()
		close(blocked)
		l.RUnlock()
	}()
	select {
	case <-blocked:
		t.Fatal("a new reader got in after the writer waited waitReaders")
	case <-time.After(20 * time.Millisecond):
	}
	l.RUnlock()
	<-locked
	<-blocked
}

// A steady stream of overlapping readers does not starve a writer.
func TestReaderLockWriterNotStarved(t *testing.T) {
	var l readerLock
	stop := make(chan struct{})
	wg := readers4(stop, func() {
		l.RLock()
		time.Sleep(time.Millisecond)
		l.RUnlock()
	})
	done := make(chan struct{})
	go func() {
		l.Lock()
		l.Unlock()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the writer never got in")
	}
	close(stop)
	wg.Wait()
}

// readers4 runs read on four goroutines, over and over, until stop is
// closed; wait for them on the group returned.
func readers4(stop chan struct{}, read func()) *sync.WaitGroup {
	wg := new(sync.WaitGroup)
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				read()
			}
		})
	}
	return wg
}

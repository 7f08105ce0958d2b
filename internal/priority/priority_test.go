package priority

import (
	"sync"
	"testing"
	"time"
)

func TestWaitReturnsAtOnceWhenIdle(t *testing.T) {
	var g Gate
	if d := g.Wait(time.Hour); d != 0 {
		t.Fatalf("Wait with nothing in flight waited %v", d)
	}
	g.Enter()
	g.Leave()
	if d := g.Wait(time.Hour); d != 0 {
		t.Fatalf("Wait after Enter and Leave waited %v", d)
	}
	if _, n := g.Waited(); n != 0 {
		t.Fatalf("Waited counts %d blocked waits, want 0", n)
	}
}

func TestWaitReleasedByLastLeave(t *testing.T) {
	var g Gate
	g.Enter()
	g.Enter()
	done := make(chan time.Duration)
	go func() { done <- g.Wait(time.Hour) }()
	time.Sleep(20 * time.Millisecond)
	g.Leave()
	select {
	case d := <-done:
		t.Fatalf("Wait returned after %v with a request still in flight", d)
	case <-time.After(20 * time.Millisecond):
	}
	g.Leave()
	select {
	case d := <-done:
		if d < 20*time.Millisecond {
			t.Fatalf("Wait took %v, less than the requests were in flight", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait not released when the last request left")
	}
	if total, n := g.Waited(); n != 1 || total < 20*time.Millisecond {
		t.Fatalf("Waited = %v, %d; want one wait of at least 20ms", total, n)
	}
}

func TestWaitBounded(t *testing.T) {
	var g Gate
	g.Enter()
	defer g.Leave()
	start := time.Now()
	g.Wait(30 * time.Millisecond)
	if took := time.Since(start); took < 30*time.Millisecond || took > 5*time.Second {
		t.Fatalf("Wait(30ms) with a request in flight took %v", took)
	}
	if d := g.Wait(0); d != 0 {
		t.Fatalf("Wait(0) waited %v", d)
	}
}

// TestManyWaitersAndRequests races requests against waiters: every Wait
// returns (none is left behind by a Leave that found no waiter yet), and
// the count ends at 0.
func TestManyWaitersAndRequests(t *testing.T) {
	var g Gate
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 2000; j++ {
				g.Enter()
				g.Leave()
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 500; j++ {
				g.Wait(time.Minute)
			}
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(30 * time.Second):
		t.Fatal("a Wait was never released")
	}
	if n := g.InFlight(); n != 0 {
		t.Fatalf("InFlight = %d after every request left", n)
	}
}

func TestNilGate(t *testing.T) {
	var g *Gate
	g.Enter()
	g.Leave()
	if d := g.Wait(time.Hour); d != 0 || g.InFlight() != 0 {
		t.Fatal("a nil gate waited or counted")
	}
}

func TestSerialize(t *testing.T) {
	var g Gate
	// Nothing in flight: no turn is taken.
	r1, r2 := g.Serialize(), g.Serialize()
	r1()
	r2()
	g.Enter()
	defer g.Leave()
	release := g.Serialize()
	got := make(chan struct{})
	go func() {
		defer close(got)
		g.Serialize()()
	}()
	select {
	case <-got:
		t.Fatal("a second task took the turn while the first held it with a request in flight")
	case <-time.After(20 * time.Millisecond):
	}
	release()
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the second task did not get the turn once the first released it")
	}
	var nilGate *Gate
	nilGate.Serialize()()
}

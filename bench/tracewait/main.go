// Command tracewait reads a Go execution trace (e.g. one taken from
// sticky's /debug/pprof/trace during the harness's live phase) and says
// what the goroutines running a given function waited for: the total
// and count of each kind of wait (blocked on a channel, a lock, a
// syscall; runnable, waiting for a core), the longest single waits, and,
// for the longest waits for a core, what ran meanwhile. `go tool trace
// -pprof=sync` gives totals only; a tail is made of a few long waits.
//
//	go run . -focus 'Ranker).Recommend' -n 3 trace.out
//
// It is its own module so that the trace parser (golang.org/x/exp/trace,
// the Go team's) is not a dependency of Sticky.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/exp/trace"
)

func main() {
	focus := flag.String("focus", "Ranker).Recommend", "analyse goroutines whose stack at a wait contains this")
	n := flag.Int("n", 3, "longest waits for a core to explain with what ran meanwhile")
	top := flag.Int("top", 20, "kinds of wait and longest waits to list")
	flag.Parse()
	if flag.NArg() != 1 {
		log.Fatal("usage: tracewait [flags] trace.out")
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	r, err := trace.NewReader(f)
	if err != nil {
		log.Fatal(err)
	}
	a := analyse(r, *focus)
	a.report(*top, *n)
}

// wait is one stretch a focused goroutine spent not running.
type wait struct {
	g          trace.GoID
	start, end trace.Time
	why        string
	runnable   bool
}

// run is one stretch a goroutine ran, labelled by what it did next.
type run struct {
	start, end trace.Time
	next       string
}

type analysis struct {
	waits []wait
	runs  []run
}

func frames(s trace.Stack, n int) string {
	var out []string
	for fr := range s.Frames() {
		if strings.HasPrefix(fr.Func, "runtime.") || strings.HasPrefix(fr.Func, "internal/") || strings.HasPrefix(fr.Func, "sync.") {
			continue
		}
		out = append(out, fr.Func)
		if len(out) == n {
			break
		}
	}
	return strings.Join(out, " < ")
}

func contains(s trace.Stack, fn string) bool {
	for fr := range s.Frames() {
		if strings.Contains(fr.Func, fn) {
			return true
		}
	}
	return false
}

func analyse(r *trace.Reader, focus string) *analysis {
	type gstate struct {
		since   trace.Time
		why     string
		focused bool
		running bool
		ranAt   trace.Time
	}
	gs := map[trace.GoID]*gstate{}
	a := &analysis{}
	for {
		ev, err := r.ReadEvent()
		if err != nil {
			break
		}
		if ev.Kind() != trace.EventStateTransition {
			continue
		}
		t := ev.StateTransition()
		if t.Resource.Kind != trace.ResourceGoroutine {
			continue
		}
		from, to := t.Goroutine()
		id := t.Resource.Goroutine()
		g := gs[id]
		if g == nil {
			g = &gstate{}
			gs[id] = g
		}
		stk := ev.Stack()
		if to == trace.GoRunnable && from == trace.GoRunning {
			stk = t.Stack // where it was preempted
		}
		if from == trace.GoRunning && g.running {
			a.runs = append(a.runs, run{g.ranAt, ev.Time(), to.String() + " " + t.Reason + " @ " + frames(stk, 4)})
		}
		if g.focused && from != trace.GoRunning && from != trace.GoNotExist && from != trace.GoUndetermined {
			a.waits = append(a.waits, wait{id, g.since, ev.Time(), g.why, from == trace.GoRunnable})
		}
		wasFocused := g.focused
		g.running, g.focused = to == trace.GoRunning, false
		switch {
		case g.running:
			g.ranAt = ev.Time()
		case to == trace.GoRunnable && from != trace.GoRunning:
			// Woken (or back from a syscall): it now waits for a core.
			g.since, g.focused, g.why = ev.Time(), wasFocused, "Runnable (woken)"
		case to == trace.GoWaiting || to == trace.GoSyscall || to == trace.GoRunnable:
			g.since, g.focused = ev.Time(), contains(stk, focus)
			g.why = to.String() + " " + t.Reason + " @ " + frames(stk, 3)
		}
	}
	return a
}

func (a *analysis) report(top, n int) {
	total := map[string]time.Duration{}
	count := map[string]int{}
	for _, w := range a.waits {
		total[w.why] += time.Duration(w.end - w.start)
		count[w.why]++
	}
	kinds := make([]string, 0, len(total))
	for k := range total {
		kinds = append(kinds, k)
	}
	slices.SortFunc(kinds, func(x, y string) int { return int(total[y] - total[x]) })
	fmt.Printf("waits of the focused goroutines, by kind (total, count):\n")
	for _, k := range kinds[:min(top, len(kinds))] {
		fmt.Printf("%10v %6d  %s\n", total[k].Round(time.Millisecond), count[k], k)
	}
	slices.SortFunc(a.waits, func(x, y wait) int { return int((y.end - y.start) - (x.end - x.start)) })
	fmt.Printf("\nlongest waits:\n")
	for _, w := range a.waits[:min(top, len(a.waits))] {
		fmt.Printf("%10v  %s\n", time.Duration(w.end-w.start).Round(time.Microsecond), w.why)
	}
	shown := 0
	for _, w := range a.waits {
		if !w.runnable || shown == n {
			continue
		}
		shown++
		span := time.Duration(w.end - w.start)
		ran := map[string]time.Duration{}
		var sum time.Duration
		for _, r := range a.runs {
			s, e := max(r.start, w.start), min(r.end, w.end)
			if e > s {
				ran[r.next] += time.Duration(e - s)
				sum += time.Duration(e - s)
			}
		}
		fmt.Printf("\nwhile goroutine %d waited %v for a core, goroutines ran %v in all (2 cores: %v), before going on to:\n",
			w.g, span.Round(time.Microsecond), sum.Round(time.Microsecond), 2*span.Round(time.Microsecond))
		keys := make([]string, 0, len(ran))
		for k := range ran {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(x, y string) int { return int(ran[y] - ran[x]) })
		for _, k := range keys[:min(10, len(keys))] {
			fmt.Printf("%10v  %s\n", ran[k].Round(10*time.Microsecond), k)
		}
	}
}

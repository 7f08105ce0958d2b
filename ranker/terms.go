package ranker

import "sync"

// terms numbers the category and brand names of the items the index
// holds, so that a request reads each candidate's affinities from slices
// indexed by number (scorer.denseAffinities) rather than from maps keyed by
// name, three string hashes per candidate (featureVector 0.94 -> 0.78 s of
// a 20,000-request profile: go test -run '^$' -bench 'BenchmarkRecommend$'
// -benchtime 20000x -cpu 1 -cpuprofile cpu.out ./ranker/).
// Numbers are never reused; the table grows with the names ever seen.
type terms struct {
	mu  sync.RWMutex
	ids map[string]int32
}

// id returns name's number plus one, numbering it if new; 0 for "".
func (t *terms) id(name string) int32 {
	if name == "" {
		return 0
	}
	t.mu.RLock()
	n, ok := t.ids[name]
	t.mu.RUnlock()
	if ok {
		return n + 1
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if n, ok := t.ids[name]; ok {
		return n + 1
	}
	if t.ids == nil {
		t.ids = make(map[string]int32)
	}
	n = int32(len(t.ids))
	t.ids[name] = n
	return n + 1
}

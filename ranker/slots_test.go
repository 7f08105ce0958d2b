package ranker

import (
	"math/rand/v2"
	"testing"
)

// TestSlotsMatchAMap drives slots and a Go map with the same operations,
// across growth and resets, and compares every answer.
func TestSlotsMatchAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var s slots[int]
	for round := range 5 {
		want := map[uint32]int{}
		n := 100 << round // past several doublings of the table
		for i := range n {
			k := uint32(rng.IntN(4 * n))
			if i%3 == 0 {
				k = uint32(i) << 9 // keys that share their low bits
			}
			switch rng.IntN(3) {
			case 0:
				s.set(k, i)
				want[k] = i
			case 1:
				*s.ref(k) += 1
				want[k]++
			default:
				got, ok := s.get(k)
				w, wok := want[k]
				if got != w || ok != wok {
					t.Fatalf("round %d: get(%d) = %d, %v; want %d, %v", round, k, got, ok, w, wok)
				}
			}
		}
		if s.len() != len(want) {
			t.Fatalf("round %d: len %d, want %d", round, s.len(), len(want))
		}
		for k, w := range want {
			if got, ok := s.get(k); !ok || got != w {
				t.Fatalf("round %d: get(%d) = %d, %v; want %d", round, k, got, ok, w)
			}
		}
		s.reset()
		if s.len() != 0 {
			t.Fatalf("len %d after reset", s.len())
		}
		for k := range want {
			if _, ok := s.get(k); ok {
				t.Fatalf("round %d: %d present after reset", round, k)
			}
		}
	}
}

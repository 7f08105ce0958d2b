package num

import (
	"math"
	"testing"
	"time"
)

func TestRound4(t *testing.T) {
	f := func(x, want float64) {
		t.Helper()
		if got := Round4(x); got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Errorf("Round4(%v) = %v, want %v", x, got, want)
		}
	}
	f(0, 0)
	f(1.23456, 1.2346)
	f(-1.23456, -1.2346)
	f(0.00004, 0)
	f(0.00005, 0.0001)
	f(12345.678912, 12345.6789)
	f(math.Inf(1), math.Inf(1))
	f(math.NaN(), math.NaN())
}

func TestPositive(t *testing.T) {
	for _, c := range []struct{ in, want int }{{0, 7}, {-3, 7}, {1, 1}, {9, 9}} {
		v := c.in
		if Positive(&v, 7); v != c.want {
			t.Errorf("Positive(%d, 7) = %d, want %d", c.in, v, c.want)
		}
	}
	d := time.Duration(0)
	if Positive(&d, time.Second); d != time.Second {
		t.Errorf("duration: %v", d)
	}
}

func TestUnset(t *testing.T) {
	for _, c := range []struct{ in, want float64 }{{0, 0.2}, {-1, -1}, {0.5, 0.5}} {
		v := c.in
		if Unset(&v, 0.2); v != c.want {
			t.Errorf("Unset(%v, 0.2) = %v, want %v", c.in, v, c.want)
		}
	}
}

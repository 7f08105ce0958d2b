// Package num holds the numeric helpers that more than one layer needs, so
// that features, ranker and the API agree on them. It imports nothing of
// Sticky's.
package num

import "math"

// Round4 rounds x to four decimal places, the precision of the scores and
// figures in Sticky's JSON answers. NaN and ±Inf come back unchanged.
func Round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// Number is any signed number type, time.Duration included.
type Number interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~float32 | ~float64
}

// Positive gives *v the default def unless it is already positive: the
// EnsureDefaults rule for counts, sizes and durations, where zero (or a
// negative value) means "not set".
func Positive[T Number](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Unset gives *v the default def if it is zero: the EnsureDefaults rule
// for settings where a negative value means something ("no bound", "skip")
// and only zero means "not set".
func Unset[T Number](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

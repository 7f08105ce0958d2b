// Package num holds the numeric helpers that more than one layer needs, so
// that features, ranker and the API agree on them. It imports nothing of
// Sticky's.
package num

import "math"

// Round4 rounds x to four decimal places, the precision of the scores and
// figures in Sticky's JSON answers. NaN and ±Inf come back unchanged.
func Round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

package engine

import (
	"math"

	"github.com/cespare/xxhash/v2"
)

func xxhashSum(b []byte) uint64 { return xxhash.Sum64(b) }

// tokens reports the tokens in bucket word z at now, by the formula of the
// package documentation.
func (l *limiter) tokens(z, now int64) float64 {
	if l.interval == 0 {
		return math.Inf(1)
	}
	z = max(z, now-l.span)
	return float64(now-z) / float64(l.interval)
}

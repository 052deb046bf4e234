package engine

import "math"

// DefaultBurst is the bucket size Config.Burst <= 0 selects for rate:
// max(1, ceil(rate)), so that a client may send one second's worth at once.
func DefaultBurst(rate float64) int {
	return max(1, int(math.Min(math.Ceil(rate), math.MaxInt32)))
}

package engine

import (
	"math"
	"sync/atomic"
	"time"
)

// MaxRate is the largest Config.Rate accepted: one token per nanosecond, the
// resolution of the bucket word.
const MaxRate = 1e9

// maxSpan bounds burst × interval, the time an empty bucket takes to fill, so
// that now − span and z + interval cannot overflow an int64 for any
// nanosecond clock before the year 2116.
const maxSpan = int64(1) << 60

// limiter holds the bucket parameters shared by every client. It is immutable
// after New and read by every Admit.
//
// A client's whole bucket is one int64, z, the instant at which the bucket
// was (or will be) empty. The token count at time now is implicit:
//
//	tokens(now) = min(burst, (now − z) / interval)
//
// so refilling is free (time passing raises it) and taking one token is
// z += interval after clamping z to now − span (a full bucket holds no more
// than burst tokens). This is the token bucket written as its "theoretical
// arrival time" (GCRA); tokens and last refill time live in the same word, so
// one CompareAndSwap updates both.
//
// Precision: time is kept to the nanosecond, so a bucket resolves
// 1/interval of a token. The interval is 1e9/Rate rounded to a whole
// nanosecond, so the enforced rate differs from Rate by at most a relative
// Rate/2e9 (5e-6 at 10 000/s, 5e-4 at 1e6/s).
type limiter struct {
	interval int64 // nanoseconds per token; 0 turns limiting off
	span     int64 // burst × interval: time to fill an empty bucket
}

// newLimiter derives the bucket parameters from a validated rate and burst.
// It reports false when burst × interval exceeds maxSpan.
func newLimiter(rate float64, burst int) (limiter, bool) {
	if rate == 0 {
		return limiter{}, true
	}
	f := math.Round(1e9 / rate)
	if f > float64(maxSpan) {
		return limiter{}, false
	}
	interval := max(1, int64(f))
	if int64(burst) > maxSpan/interval {
		return limiter{}, false
	}
	return limiter{interval: interval, span: int64(burst) * interval}, true
}

// full returns the bucket word of a bucket that is full at now.
func (l *limiter) full(now int64) int64 {
	return now - l.span
}

// take tries to remove one token from the bucket word b at time now. When the
// bucket holds less than one token it returns false and the time until it
// will hold one.
//
// Any number of goroutines may call take on the same word at once, with
// clocks that disagree: a caller whose now lags behind another's sees the
// tokens that one already took and is refused until its own clock catches up.
func (l *limiter) take(b *atomic.Int64, now int64) (bool, time.Duration) {
	if l.interval == 0 {
		return true, 0
	}
	for {
		old := b.Load()
		// Refill: a bucket never holds more than burst tokens.
		z := max(old, now-l.span)
		if now-z < l.interval {
			// Fast path for refusal: no write, so a flood of refused
			// requests does not bounce the client's cache line.
			return false, time.Duration(z + l.interval - now)
		}
		if b.CompareAndSwap(old, z+l.interval) {
			return true, 0
		}
		// Another goroutine took a token between the Load and the CAS;
		// retry against the word it left.
	}
}

package forward

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Defaults of the retry schedule (SPEC §11): jittered exponential backoff from one second to one
// minute, as vmagent does.
const (
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = time.Minute
	// maxRetryAfter caps a sink's Retry-After so that a bogus value cannot park a sink for days.
	maxRetryAfter = 10 * time.Minute
)

// backoff is the delay schedule of one delivery: each failure doubles the base delay from min up
// to max; the delay waited is the base with ±20 % jitter, so that many edge hosts that lost the
// same centre do not come back in lock step. A Retry-After from the sink replaces the schedule's
// delay when it asks for longer. Owned by one worker goroutine.
type backoff struct {
	min, max time.Duration
	base     time.Duration // 0 before the first failure
}

// next returns how long to wait before the next attempt. retryAfter is the sink's Retry-After
// (0 when it sent none).
func (b *backoff) next(retryAfter time.Duration) time.Duration {
	if b.base == 0 {
		b.base = b.min
	} else {
		b.base = min(2*b.base, b.max)
	}
	d := time.Duration(float64(b.base) * (0.8 + 0.4*rand.Float64()))
	d = max(b.min, min(d, b.max))
	if retryAfter > d {
		d = min(retryAfter, maxRetryAfter)
	}
	return d
}

// reset starts the schedule over after a success.
func (b *backoff) reset() { b.base = 0 }

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date. It returns 0 when
// the header is absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// verdict is what to do with a sink's answer.
type verdict uint8

const (
	verdictDone  verdict = iota // 2xx: acknowledged
	verdictRetry                // 5xx, 429, network error: retry forever
	verdictDrop                 // any other status: the data can never be accepted
)

// classify maps an HTTP status to a verdict (SPEC §11).
func classify(status int) verdict {
	switch {
	case status >= 200 && status < 300:
		return verdictDone
	case status == http.StatusTooManyRequests || status >= 500:
		return verdictRetry
	}
	return verdictDrop
}

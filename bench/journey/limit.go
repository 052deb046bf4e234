package journey

import (
	"sync"

	"github.com/cespare/xxhash/v2"
)

// bucket is the classic token bucket of the C++ story: tokens and the time
// of the last refill, both updated under a lock.
type bucket struct {
	tokens float64
	last   int64 // nanoseconds of the caller's clock
}

// take refills b for the time since its last refill and takes one token.
// The caller holds the lock that guards b.
func (b *bucket) take(now int64, rate, burst float64) bool {
	if el := now - b.last; el > 0 {
		b.tokens = min(burst, b.tokens+float64(el)*rate/1e9)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// limiterConfig is the rate and burst of every client's bucket.
type limiterConfig struct {
	rate, burst float64
}

// GlobalLimiter is the C++ phase-4 predecessor: every client's bucket in
// one map, every decision under one mutex.
type GlobalLimiter struct {
	cfg limiterConfig
	mu  sync.Mutex // guards every bucket
	// buckets is filled by NewGlobalLimiter and only read afterwards.
	buckets map[string]*bucket
}

// NewGlobalLimiter tracks ids, known in advance so that lookups never
// insert, each with a full bucket of burst tokens refilled at rate per
// second.
func NewGlobalLimiter(rate float64, burst int, ids [][]byte) *GlobalLimiter {
	l := &GlobalLimiter{cfg: limiterConfig{rate, float64(burst)}, buckets: map[string]*bucket{}}
	for _, id := range ids {
		l.buckets[string(id)] = &bucket{tokens: float64(burst)}
	}
	return l
}

// Allow decides one request of id at now (nanoseconds); unknown ids are
// refused.
func (l *GlobalLimiter) Allow(id []byte, now int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[string(id)]
	return b != nil && b.take(now, l.cfg.rate, l.cfg.burst)
}

// poolSize is the C++ story's prime number of mutexes.
const poolSize = 10007

// PoolLimiter is the C++ phase-4 fix: the same buckets, each guarded by
// one of 10007 mutexes chosen by a hash of the client id, so that clients
// with different mutexes do not wait for each other.
type PoolLimiter struct {
	cfg limiterConfig
	mu  [poolSize]sync.Mutex // mu[h(id) % poolSize] guards id's bucket
	// buckets is filled by NewPoolLimiter and only read afterwards.
	buckets map[string]*bucket
}

// NewPoolLimiter is NewGlobalLimiter with a mutex pool.
func NewPoolLimiter(rate float64, burst int, ids [][]byte) *PoolLimiter {
	l := &PoolLimiter{cfg: limiterConfig{rate, float64(burst)}, buckets: map[string]*bucket{}}
	for _, id := range ids {
		l.buckets[string(id)] = &bucket{tokens: float64(burst)}
	}
	return l
}

// Allow decides one request of id at now (nanoseconds); unknown ids are
// refused.
func (l *PoolLimiter) Allow(id []byte, now int64) bool {
	b := l.buckets[string(id)]
	if b == nil {
		return false
	}
	mu := &l.mu[xxhash.Sum64(id)%poolSize]
	mu.Lock()
	defer mu.Unlock()
	return b.take(now, l.cfg.rate, l.cfg.burst)
}

// totals are one client's aggregated decisions.
type totals struct {
	requests, allowed, metrics int64
	last                       int64
}

// MutexTotals is the C++ phase-5 predecessor: every decision is added to
// the client's totals in a map under one mutex, on the request path.
type MutexTotals struct {
	mu  sync.Mutex         // guards ids and every totals in it
	ids map[string]*totals // client id → totals; grows under mu
}

// NewMutexTotals returns empty totals.
func NewMutexTotals() *MutexTotals { return &MutexTotals{ids: map[string]*totals{}} }

// Record adds one decision of id at now carrying metrics (0 when refused,
// as for engine.Record).
func (m *MutexTotals) Record(id []byte, now int64, allowed bool, metrics int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.ids[string(id)]
	if t == nil {
		t = &totals{}
		m.ids[string(id)] = t
	}
	t.requests++
	if allowed {
		t.allowed++
	}
	t.metrics += int64(metrics)
	t.last = now
}

// Totals returns id's requests, allowed requests and metrics.
func (m *MutexTotals) Totals(id []byte) (requests, allowed, metrics int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t := m.ids[string(id)]; t != nil {
		return t.requests, t.allowed, t.metrics
	}
	return 0, 0, 0
}

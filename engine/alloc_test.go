//go:build !race

package engine

import "testing"

// TestHotPathAllocs pins the allocation budget of the request path: zero for
// a known client's Admit, allowed or refused, and for Record.
func TestHotPathAllocs(t *testing.T) {
	e := newEngine(t, Config{Shards: 4, Rate: 1000, Burst: 10, RingSize: 1 << 10})
	id := []byte("known-client")
	c, _, _ := e.Admit(id, base)
	now := base
	cases := []struct {
		name string
		f    func()
	}{
		{"admit allowed", func() { now += 2e6; e.Admit(id, now) }},
		{"admit refused", func() { e.Admit(id, now) }},
		{"record", func() { e.Record(c, now, true, 3) }},
		{"record into a full ring", func() { e.Record(c, now, false, 0) }},
	}
	for _, tc := range cases {
		if got := testing.AllocsPerRun(500, tc.f); got != 0 {
			t.Errorf("%s: %v allocations per call; want 0", tc.name, got)
		}
	}
}

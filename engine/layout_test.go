package engine

import (
	"testing"
	"unsafe"
)

// TestLayout checks the padding that keeps hot words of different writers on
// different cache lines.
func TestLayout(t *testing.T) {
	var s shard
	if size := unsafe.Sizeof(s); size%cacheLine != 0 {
		t.Errorf("shard size %d; want a multiple of %d", size, cacheLine)
	}
	tab := unsafe.Offsetof(s.tab)
	ringAt := unsafe.Offsetof(s.ring)
	tail := ringAt + unsafe.Offsetof(s.ring.tail)
	dropped := ringAt + unsafe.Offsetof(s.ring.dropped)
	head := ringAt + unsafe.Offsetof(s.ring.head)
	mask := ringAt + unsafe.Offsetof(s.ring.mask)
	if tab < cacheLine {
		t.Errorf("table pointer at offset %d; want a full line of padding before it", tab)
	}
	apart := []struct {
		name string
		a, b uintptr
	}{
		{"ring mask / tail", mask, tail},
		{"tail / dropped", tail, dropped},
		{"dropped / head", dropped, head},
	}
	for _, p := range apart {
		if p.b-p.a < cacheLine {
			t.Errorf("%s: %d bytes apart; want at least %d", p.name, p.b-p.a, cacheLine)
		}
	}
	if size := unsafe.Sizeof(slot{}); size != 24 {
		t.Errorf("ring slot: %d bytes; want 24", size)
	}
}

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
	// seq and meta, a pointer, and the time: 24 bytes on 64-bit platforms,
	// 20 on 32-bit ones.
	if size, want := unsafe.Sizeof(slot{}), 8+unsafe.Sizeof(uintptr(0))+8; size != want {
		t.Errorf("ring slot: %d bytes; want %d", size, want)
	}
}

// TestClientLayout checks that a Client fills one line and that its 64-bit
// atomics are 8-byte aligned, which 32-bit platforms need for them.
func TestClientLayout(t *testing.T) {
	var c Client
	if size := unsafe.Sizeof(c); size != clientLine {
		t.Errorf("Client: %d bytes; want %d", size, clientLine)
	}
	if a := unsafe.Alignof(c); a < 8 {
		t.Errorf("Client aligned to %d bytes; want 8", a)
	}
	for _, f := range []struct {
		name string
		off  uintptr
	}{
		{"bucket", unsafe.Offsetof(c.bucket)},
		{"lastSeen", unsafe.Offsetof(c.lastSeen)},
	} {
		if f.off%8 != 0 {
			t.Errorf("Client.%s at offset %d; want a multiple of 8", f.name, f.off)
		}
	}
	// The allocator places 64-byte objects on 64-byte boundaries.
	for range 8 {
		clientSink = new(Client) // escapes: a heap allocation
		if p := uintptr(unsafe.Pointer(clientSink)); p%clientLine != 0 {
			t.Errorf("Client allocated at %#x; want a multiple of %d", p, clientLine)
		}
	}
}

// clientSink makes the Clients of TestClientLayout escape to the heap.
var clientSink *Client

package codec

import (
	"math/rand/v2"
	"testing"
)

// skipPlainRef is skipPlain one byte at a time.
func skipPlainRef(b []byte, i int) int {
	for i < len(b) && strSafe[b[i]] {
		i++
	}
	return i
}

// TestSkipPlain checks the eight-byte scan against the byte loop: every
// byte value at every lane, behind safe bytes and before arbitrary ones
// (which the borrow of a match may mark wrongly), and random strings.
func TestSkipPlain(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	safe := func() byte { return byte(0x20 + r.IntN(0x5f)) }
	check := func(b []byte, i int) {
		t.Helper()
		if got, want := skipPlain(b, i), skipPlainRef(b, i); got != want {
			t.Fatalf("skipPlain(%q, %d) = %d; want %d", b, i, got, want)
		}
	}
	for c := range 256 {
		for lane := range 20 {
			for range 4 {
				b := make([]byte, 24)
				for k := range b {
					if k < lane {
						b[k] = safe()
					} else {
						b[k] = byte(r.IntN(256))
					}
				}
				b[lane] = byte(c)
				check(b, 0)
				check(b, r.IntN(len(b)+1))
			}
		}
	}
	for range 20000 {
		b := make([]byte, r.IntN(40))
		for k := range b {
			b[k] = safe()
			if r.IntN(8) == 0 {
				b[k] = byte(r.IntN(256))
			}
		}
		check(b, 0)
	}
}

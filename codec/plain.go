package codec

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// strSafe reports the ASCII bytes that stand for themselves inside a JSON
// string: printable, not '"' and not '\\'.
var strSafe = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// Byte-lane constants of the eight-bytes-at-a-time scan.
const (
	lanes01 = 0x0101010101010101
	lanes80 = 0x8080808080808080
)

// plainStop returns, for the eight bytes of x read little-endian, a mask
// whose lowest set bit is the high bit of the first byte that is not
// strSafe: '"', '\\', a control byte or a byte >= 0x80. The mask is zero
// when all eight are safe.
//
// Per byte b below 0x80: b-0x20 sets the high bit when b < 0x20, and
// (b^q)-1 sets it when b == q; b itself carries it when b >= 0x80. A
// subtraction borrows out of a byte only where that byte matched, so
// bytes above the first match may be marked wrongly but never bytes
// below it: the lowest mark is exact.
func plainStop(x uint64) uint64 {
	return ((x - 0x20*lanes01) | ((x ^ '"'*lanes01) - lanes01) | ((x ^ '\\'*lanes01) - lanes01) | x) & lanes80
}

// skipPlain returns the index of the first byte of b at or after i that
// is not strSafe, or len(b). It reads eight bytes at a time.
func skipPlain(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		if m := plainStop(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(b) && strSafe[b[i]] {
		i++
	}
	return i
}

package codec

import (
	"strings"
	"testing"
)

// FuzzNumber holds the number scanner and the fast path for plain
// decimals to strconv: any text that is one JSON number must give
// strconv.ParseFloat's float64 bit for bit (see checkNumber).
func FuzzNumber(f *testing.F) {
	for _, s := range []string{"0", "-0", "75.5", "1795713606000", "9007199254740993", "0.00000000000000000000001",
		"1234567890123456789", "1e400", "2.5e-3", "-1.7976931348623157e308", "123456789.123456789"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := scanToken(s)
		if ok {
			checkNumber(t, s)
			if v, finite := n.float(); finite && canonicalNumber(n.text, v) && string(appendFloat(nil, v)) != s {
				t.Fatalf("canonicalNumber(%q) is true but appendFloat writes %s", s, appendFloat(nil, v))
			} else if finite && n.canonical(v) != canonicalNumber(n.text, v) {
				t.Fatalf("number.canonical(%q) = %v; canonicalNumber says %v", s, n.canonical(v), canonicalNumber(n.text, v))
			}
		}
		checkPlainDecimal(t, s)
		if isJSONNumber([]byte(s)) != ok {
			t.Fatalf("isJSONNumber(%q) = %v; scanNumber took it: %v", s, !ok, ok)
		}
	})
}

// checkPlainDecimal holds plainDecimal to scanNumber on s followed by
// enough room: where the fast path takes a number, both read it the same.
func checkPlainDecimal(t *testing.T, s string) {
	t.Helper()
	padded := []byte(s + strings.Repeat(" ", 20))
	var fast, ref number
	end, ok := plainDecimal(padded, 0, &fast)
	if !ok {
		return
	}
	d := JSONDecoder{buf: padded}
	if len(s) == 0 || !d.scanNumber(&ref) || d.pos != end || string(ref.text) != string(fast.text) ||
		ref.mant != fast.mant || ref.digits != fast.digits || ref.frac != fast.frac ||
		ref.neg != fast.neg || ref.dot != fast.dot || ref.exp != fast.exp {
		t.Fatalf("plainDecimal(%q) = %+v, %d; scanNumber %+v, %d", s, fast, end, ref, d.pos)
	}
}

package codec

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// scanToken runs scanNumber on s alone; ok is false unless s is exactly
// one JSON number.
func scanToken(s string) (number, bool) {
	d := JSONDecoder{buf: []byte(s)}
	var n number
	if len(s) == 0 || !d.scanNumber(&n) || d.pos != len(s) {
		return n, false
	}
	return n, true
}

// checkNumber holds a number token to strconv: its float64 bit for bit
// (or overflow as strconv's range error), its integer milliseconds, and
// its text.
func checkNumber(t *testing.T, s string) {
	t.Helper()
	n, ok := scanToken(s)
	if !ok {
		t.Fatalf("scanNumber(%q) rejected a JSON number", s)
	}
	if string(n.text) != s {
		t.Fatalf("scanNumber(%q): text %q", s, n.text)
	}
	want, err := strconv.ParseFloat(s, 64)
	got, finite := n.float()
	if finite != (err == nil) || (finite && math.Float64bits(got) != math.Float64bits(want)) {
		t.Fatalf("float(%q) = %v, %v; strconv.ParseFloat: %v, %v", s, got, finite, want, err)
	}
	ms, isInt := n.ms()
	if isInt != !strings.ContainsAny(s, ".eE") {
		t.Fatalf("ms(%q): integer %v", s, isInt)
	}
	if v, err := strconv.ParseInt(s, 10, 64); isInt && err == nil && v >= MinTimestampMs && v <= MaxTimestampMs && ms != v {
		t.Fatalf("ms(%q) = %d; want %d", s, ms, v)
	}
	if v, err := strconv.ParseInt(s, 10, 64); isInt && (err != nil || v < MinTimestampMs || v > MaxTimestampMs) && ms >= MinTimestampMs && ms <= MaxTimestampMs {
		t.Fatalf("ms(%q) = %d in range; want out of range", s, ms)
	}
}

// randDecimal returns a random JSON number: up to intDigits digits, a
// fraction of up to fracDigits digits half the time, an exponent within
// ±expRange one time in expOdds, a minus sign one time in negOdds.
func randDecimal(r *rand.Rand, intDigits, fracDigits, expOdds, expRange, negOdds int) string {
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + r.IntN(10))
		}
		return string(b)
	}
	s := digits(1 + r.IntN(intDigits))
	if s[0] == '0' {
		s = "0" // JSON allows no other leading zero; "0.000…" reaches tiny values
	}
	if r.IntN(2) == 0 {
		s += "." + digits(1+r.IntN(fracDigits))
	}
	if r.IntN(expOdds) == 0 {
		s += "e" + strconv.Itoa(r.IntN(2*expRange)-expRange)
	}
	if r.IntN(negOdds) == 0 {
		s = "-" + s
	}
	return s
}

// TestNumberFloat checks the fast path for plain decimals, and the
// general path behind it, against strconv at the edges of the fast path
// (19 digits, 2^53, 22 fraction digits, eight-digit runs) and on random
// decimals.
func TestNumberFloat(t *testing.T) {
	for _, s := range []string{
		"0", "-0", "0.0", "-0.0", "1", "-1", "75.5", "1000.5", "0.1", "0.3", "1.7976931348623157", "123456789",
		"12345678", "1234567", "123456789012345678", "1234567890123456789", "12345678901234567890",
		"9007199254740991", "9007199254740992", "9007199254740993", "-9007199254740993", "90071992547409.93",
		"0.0000000000000000000001", "0.00000000000000000000001", "1.0000000000000000000001",
		"4.9406564584124654e-324", "1e-400", "1e400", "-1e400", "1E2", "1e+2", "2.5e-3", "1e22", "1e23",
		"179769313486231570000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000.5",
		"1795713606000", "-62167219200000", "253402300799999", "999999999999999999", "-999999999999999999", "1000000000000000000",
	} {
		checkNumber(t, s)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 200000 {
		s := randDecimal(r, 20, 24, 8, 40, 2)
		checkNumber(t, s)
	}
}

// TestEightDigits checks the eight-byte digit test and conversion, and the
// run of leading digits and its value, against the byte loop.
func TestEightDigits(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 100000 {
		var b [8]byte
		for i := range b {
			b[i] = byte('0' + r.IntN(10))
			if r.IntN(16) == 0 {
				b[i] = byte(r.IntN(256))
			}
		}
		x := uint64(0)
		for i := 7; i >= 0; i-- {
			x = x<<8 | uint64(b[i])
		}
		v, err := strconv.ParseUint(string(b[:]), 10, 64)
		if eightDigits(x) != (err == nil) {
			t.Fatalf("eightDigits(%q) = %v", b, eightDigits(x))
		}
		if err == nil && eightDigitsValue(x) != v {
			t.Fatalf("eightDigitsValue(%q) = %d; want %d", b, eightDigitsValue(x), v)
		}
		k := 0
		for k < 8 && b[k] >= '0' && b[k] <= '9' {
			k++
		}
		if got := leadingDigits(x); got != k {
			t.Fatalf("leadingDigits(%q) = %d; want %d", b, got, k)
		}
		want, _ := strconv.ParseUint("0"+string(b[:k]), 10, 64)
		if got := digitsValue(x, k); got != want {
			t.Fatalf("digitsValue(%q, %d) = %d; want %d", b, k, got, want)
		}
	}
}

// TestCanonicalNumber checks that a number text canonicalNumber lets the
// line copy is byte for byte what appendFloat writes for its value, over
// random decimals of every shape.
func TestCanonicalNumber(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	copied := 0
	for range 300000 {
		s := randDecimal(r, 17, 17, 10, 20, 3)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || !isJSONNumber([]byte(s)) {
			t.Fatalf("bad test number %q: %v", s, err)
		}
		n, _ := scanToken(s)
		if n.canonical(v) != canonicalNumber([]byte(s), v) {
			t.Fatalf("number.canonical(%q) = %v; canonicalNumber disagrees", s, n.canonical(v))
		}
		if !canonicalNumber([]byte(s), v) {
			continue
		}
		copied++
		if got := appendFloat(nil, v); string(got) != s {
			t.Fatalf("canonicalNumber(%q) is true but appendFloat writes %s", s, got)
		}
	}
	if copied < 10000 {
		t.Fatalf("only %d of the numbers are copied", copied)
	}
}

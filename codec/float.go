package codec

import (
	"math"
	"strconv"
	"unsafe"
)

// float64pow10 holds the powers of ten that float64 represents exactly.
var float64pow10 = [...]float64{
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
}

// float returns the float64 of n as strconv.ParseFloat (and so
// encoding/json) gives it; ok is false when the value overflows float64.
//
// Fast path for plain decimals, those without an exponent (Clinger): when
// the digits scanNumber gathered fit in 2^53 and there are at most 22 of
// them after the '.', the significand and the power of ten are exact
// float64s and one IEEE division rounds correctly. Anything else goes to
// parseFloat.
func (n *number) float() (float64, bool) {
	if !n.exp && n.digits <= 19 && n.mant < 1<<53 && n.frac <= 22 {
		f := float64(n.mant)
		if n.frac > 0 {
			f /= float64pow10[n.frac]
		}
		if n.neg {
			f = -f
		}
		return f, true
	}
	return parseFloat(n.text)
}

// canonicalNumber reports whether text, a JSON number that reads back as
// v, is exactly what appendFloat writes for v, so that a storage line may
// copy it instead of formatting v: a plain decimal (no exponent) of at
// most 15 digits, without trailing zeros after a '.', and not below 1e-6
// in magnitude (where appendFloat switches to the exponent form).
//
// Why that is enough: any two decimals of at most 15 significant digits
// read as different float64s (15 is float64's decimal precision), so no
// shorter decimal reads as v and the shortest form appendFloat writes has
// text's digits; below 1e21 it writes them without an exponent, an
// integer without a fraction. TestCanonicalNumber and the fuzz targets
// compare the copy with appendFloat.
func canonicalNumber(text []byte, v float64) bool {
	digits, dot := 0, false
	for _, c := range text {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			dot = true
		case c != '-':
			return false // an exponent
		}
	}
	if digits > 15 || (dot && text[len(text)-1] == '0') {
		return false
	}
	return v == 0 || math.Abs(v) >= 1e-6
}

// canonical is canonicalNumber(n.text, v) from what scanNumber gathered,
// without reading the text again: n.digits counts every digit of the
// text, a leading zero included.
func (n *number) canonical(v float64) bool {
	if n.exp || n.digits > 15 || (n.dot && n.text[len(n.text)-1] == '0') {
		return false
	}
	return v == 0 || math.Abs(v) >= 1e-6
}

// parseFloat converts a number token, valid by the JSON grammar, to the
// float64 that strconv.ParseFloat (and so encoding/json) gives. ok is
// false when the value overflows float64.
//
// Fast path (Clinger): when the decimal significand fits in 2^53 and the
// power of ten is at most 22, both are exact float64s and one IEEE
// multiplication or division rounds correctly. Anything else goes to
// strconv.ParseFloat.
func parseFloat(tok []byte) (float64, bool) {
	i, neg := 0, false
	if tok[0] == '-' {
		neg, i = true, 1
	}
	var mant uint64
	nd, exp := 0, 0
	for ; i < len(tok) && tok[i] >= '0' && tok[i] <= '9'; i++ {
		mant = mant*10 + uint64(tok[i]-'0')
		nd++
	}
	if i < len(tok) && tok[i] == '.' {
		for i++; i < len(tok) && tok[i] >= '0' && tok[i] <= '9'; i++ {
			mant = mant*10 + uint64(tok[i]-'0')
			nd++
			exp--
		}
	}
	if i < len(tok) { // exponent
		i++
		eneg := false
		if tok[i] == '+' || tok[i] == '-' {
			eneg = tok[i] == '-'
			i++
		}
		e := 0
		for ; i < len(tok) && e < 10000; i++ {
			e = e*10 + int(tok[i]-'0')
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if nd <= 15 && mant < 1<<53 && exp >= -22 && exp <= 22 {
		f := float64(mant)
		if exp >= 0 {
			f *= float64pow10[exp]
		} else {
			f /= float64pow10[-exp]
		}
		if neg {
			f = -f
		}
		return f, true
	}
	f, err := strconv.ParseFloat(bytesView(tok), 64)
	return f, err == nil
}

// bytesView returns a string that shares b's memory, for passing bytes to
// strconv without copying. It is the package's only unsafe conversion. The
// string must not outlive b nor be used after b changes; callers use it
// only for the duration of one call that does not retain it.
func bytesView(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// appendFloat formats v as encoding/json formats a float64: the shortest
// representation that reads back as v, in 'f' form for 1e-6 <= |v| < 1e21
// and otherwise in 'e' form with a one- or two-digit negative exponent
// written without padding ("1e-07" becomes "1e-7").
func appendFloat(dst []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(dst, "null"...)
	}
	abs := math.Abs(v)
	// Fast path: an integral value below 2^53 prints as its integer digits
	// in the 'f' format, exactly as AppendInt prints them (counters are
	// mostly such). -0 keeps the slow path, which prints its sign.
	if abs < 1<<53 && v == math.Trunc(v) && (v != 0 || !math.Signbit(v)) {
		return strconv.AppendInt(dst, int64(v), 10)
	}
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, v, format, -1, 64)
	if format == 'e' {
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

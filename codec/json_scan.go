package codec

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// Messages of JSON syntax errors, prefixed "invalid JSON at byte N: ".
const (
	msgEOF        = "unexpected end of input"
	msgTrailing   = "unexpected data after top-level value"
	msgValue      = "expected value"
	msgKey        = "expected string"
	msgKeyOrEnd   = "expected string or '}'"
	msgColon      = "expected ':'"
	msgObjectNext = "expected ',' or '}'"
	msgArrayNext  = "expected ',' or ']'"
	msgStringChar = "control character in string"
	msgEscape     = "invalid escape in string"
	msgHex        = "invalid hexadecimal digit in \\u escape"
	msgNumber     = "invalid number"
	msgLiteral    = "invalid literal"
	msgDepth      = "nesting exceeds 10000 levels"
)

// ws skips JSON whitespace from d.pos. Compact JSON has none, so the
// common case is one comparison, inlined at the call site.
func (d *JSONDecoder) ws() {
	if d.pos < len(d.buf) && d.buf[d.pos] > ' ' {
		return
	}
	d.wsSlow()
}

func (d *JSONDecoder) wsSlow() {
	buf, i := d.buf, d.pos
	for i < len(buf) && isSpace(buf[i]) {
		i++
	}
	d.pos = i
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// memberKey reads the key of the next object member and the ':' after
// it; the object's '{' (first) or the ',' before the member was consumed.
// empty reports (and consumes) the '}' of an empty object. The key is a
// view as readString returns it.
func (d *JSONDecoder) memberKey(first bool) (key []byte, empty, ok bool) {
	d.ws()
	if d.pos >= len(d.buf) {
		return nil, false, d.syntax(d.pos, msgEOF)
	}
	if first && d.buf[d.pos] == '}' {
		d.pos++
		return nil, true, true
	}
	if d.buf[d.pos] != '"' {
		if first {
			return nil, false, d.syntax(d.pos, msgKeyOrEnd)
		}
		return nil, false, d.syntax(d.pos, msgKey)
	}
	key, ok = d.readString()
	if !ok || !d.colon() {
		return nil, false, false
	}
	return key, false, true
}

// plainPair is the fast path of an object member whose key and value are
// strings: at d.pos, "key":"value" written without whitespace, both plain
// (strSafe bytes only, so each holds exactly its value). It returns the
// two views and moves past the value; plain is false, with d.pos
// unchanged, for anything else.
func (d *JSONDecoder) plainPair() (key, val []byte, plain bool) {
	key, val, next, plain := plainPairAt(d.buf, d.pos)
	if plain {
		d.pos = next
	}
	return key, val, plain
}

// memberEnd consumes whitespace and the ',' or '}' after an object member;
// last reports the '}'.
func (d *JSONDecoder) memberEnd() (last, ok bool) {
	d.ws()
	if d.pos >= len(d.buf) {
		return false, d.syntax(d.pos, msgEOF)
	}
	switch d.buf[d.pos] {
	case '}':
		d.pos++
		return true, true
	case ',':
		d.pos++
		return false, true
	}
	return false, d.syntax(d.pos, msgObjectNext)
}

// end checks that only whitespace follows the top-level value.
func (d *JSONDecoder) end() bool {
	d.ws()
	if d.pos != len(d.buf) {
		return d.syntax(d.pos, msgTrailing)
	}
	return true
}

// colon consumes whitespace, ':' and whitespace after an object key.
func (d *JSONDecoder) colon() bool {
	d.ws()
	if d.pos >= len(d.buf) {
		return d.syntax(d.pos, msgEOF)
	}
	if d.buf[d.pos] != ':' {
		return d.syntax(d.pos, msgColon)
	}
	d.pos++
	d.ws()
	return true
}

// readString reads the string whose opening quote is at d.pos and returns
// its unescaped value: a view into the body when the string holds neither
// escapes nor invalid UTF-8, else a view into d.scratch, capped so that
// appending to it cannot touch later scratch bytes.
func (d *JSONDecoder) readString() ([]byte, bool) {
	buf := d.buf
	start := d.pos + 1
	for i := start; ; {
		i = skipPlain(buf, i)
		if i >= len(buf) {
			return nil, d.syntax(len(buf), msgEOF)
		}
		switch c := buf[i]; {
		case c == '"':
			d.pos = i + 1
			return buf[start:i:i], true
		case c == '\\':
			return d.readStringSlow(start, i)
		case c < 0x20:
			return nil, d.syntax(i, msgStringChar)
		}
		r, size := utf8.DecodeRune(buf[i:])
		if r == utf8.RuneError && size == 1 {
			return d.readStringSlow(start, i)
		}
		i += size
	}
}

// readStringSlow continues readString at buf[i], the first byte that needs
// rewriting, unescaping the string into d.scratch the way encoding/json
// does.
func (d *JSONDecoder) readStringSlow(start, i int) ([]byte, bool) {
	buf := d.buf
	mark := len(d.scratch)
	out := append(d.scratch, buf[start:i]...)
	for i < len(buf) {
		c := buf[i]
		if strSafe[c] {
			j := skipPlain(buf, i+1)
			out = append(out, buf[i:j]...)
			i = j
			continue
		}
		switch {
		case c == '"':
			d.scratch = out
			d.pos = i + 1
			return out[mark:len(out):len(out)], true
		case c == '\\':
			var ok bool
			if out, i, ok = d.unescape(out, i); !ok {
				return nil, false
			}
		case c < 0x20:
			d.scratch = out
			return nil, d.syntax(i, msgStringChar)
		default:
			r, size := utf8.DecodeRune(buf[i:])
			if r == utf8.RuneError && size == 1 {
				out = append(out, "\uFFFD"...)
			} else {
				out = append(out, buf[i:i+size]...)
			}
			i += size
		}
	}
	d.scratch = out
	return nil, d.syntax(len(buf), msgEOF)
}

// unescape appends the character of the escape sequence at buf[i] (a
// '\\') to out and returns the offset after the sequence. A \u escape of
// a UTF-16 surrogate pairs with the \u escape that follows when that one
// completes it; otherwise it becomes U+FFFD and the next escape is read on
// its own, as encoding/json does. On error out is kept in d.scratch.
func (d *JSONDecoder) unescape(out []byte, i int) ([]byte, int, bool) {
	buf := d.buf
	if i+1 >= len(buf) {
		d.scratch = out
		return nil, i, d.syntax(len(buf), msgEOF)
	}
	switch e := buf[i+1]; e {
	case '"', '\\', '/':
		return append(out, e), i + 2, true
	case 'b':
		return append(out, '\b'), i + 2, true
	case 'f':
		return append(out, '\f'), i + 2, true
	case 'n':
		return append(out, '\n'), i + 2, true
	case 'r':
		return append(out, '\r'), i + 2, true
	case 't':
		return append(out, '\t'), i + 2, true
	case 'u':
	default:
		d.scratch = out
		return nil, i, d.syntax(i+1, msgEscape)
	}
	r, bad := hex4(buf, i+2)
	if bad >= 0 {
		d.scratch = out
		if bad >= len(buf) {
			return nil, i, d.syntax(len(buf), msgEOF)
		}
		return nil, i, d.syntax(bad, msgHex)
	}
	i += 6
	if utf16.IsSurrogate(r) {
		r2 := rune(-1)
		if i+1 < len(buf) && buf[i] == '\\' && buf[i+1] == 'u' {
			if v, bad := hex4(buf, i+2); bad < 0 {
				r2 = v
			}
		}
		if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
			r = dec
			i += 6
		} else {
			r = utf8.RuneError
		}
	}
	return utf8.AppendRune(out, r), i, true
}

// hex4 decodes the four hex digits at buf[i:]. bad is -1 on success, else
// the offset of the first byte that is not a hex digit (len(buf) when the
// input ends).
func hex4(buf []byte, i int) (r rune, bad int) {
	for k := i; k < i+4; k++ {
		if k >= len(buf) {
			return 0, len(buf)
		}
		c := buf[k]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, k
		}
		r = r<<4 | rune(c)
	}
	return r, -1
}

// skipString validates the string whose opening quote is at pos without
// unescaping it and returns the offset after its closing quote.
func (d *JSONDecoder) skipString(pos int) (int, bool) {
	buf := d.buf
	for i := pos + 1; i < len(buf); {
		c := buf[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			if i = skipPlain(buf, i+1); i < len(buf) && buf[i] >= utf8.RuneSelf {
				i++ // any byte >= 0x80 stands for itself here
			}
			continue
		}
		switch {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return 0, d.syntax(i, msgStringChar)
		}
		if i+1 >= len(buf) {
			break
		}
		switch buf[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i += 2
		case 'u':
			if _, bad := hex4(buf, i+2); bad >= 0 {
				if bad >= len(buf) {
					return 0, d.syntax(len(buf), msgEOF)
				}
				return 0, d.syntax(bad, msgHex)
			}
			i += 6
		default:
			return 0, d.syntax(i+1, msgEscape)
		}
	}
	return 0, d.syntax(len(buf), msgEOF)
}

// number is a JSON number token as scanNumber read it. Besides the text,
// it carries the decimal digits read on the way, so that the common plain
// decimal needs no second pass to become a float64 or an integer.
type number struct {
	text   []byte
	mant   uint64 // the digits of the integer and fraction parts; exact when digits <= 19
	digits int    // number of digits in mant, leading zeros included
	frac   int    // digits after the '.'
	neg    bool   // leading '-'
	dot    bool   // has a fraction part
	exp    bool   // has an exponent part
}

// scanNumber validates the number at d.pos by the JSON grammar
//
//	-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
//
// and moves past it. What follows the number is the caller's to check, so
// "01" fails there, at the '1'.
func (d *JSONDecoder) scanNumber(n *number) bool {
	*n = number{}
	buf := d.buf
	ok := false
	i := d.pos
	if buf[i] == '-' {
		n.neg = true
		i++
	}
	if i < len(buf) && buf[i] == '0' {
		i++
		n.digits = 1
	} else if i, ok = d.digits(i, n); !ok {
		return false
	}
	if i < len(buf) && buf[i] == '.' {
		n.dot = true
		intDigits := n.digits
		if i, ok = d.digits(i+1, n); !ok {
			return false
		}
		n.frac = n.digits - intDigits
	}
	if i < len(buf) && (buf[i] == 'e' || buf[i] == 'E') {
		n.exp = true
		i++
		if i < len(buf) && (buf[i] == '+' || buf[i] == '-') {
			i++
		}
		var e number // the exponent's digits are parsed again by parseFloat
		if i, ok = d.digits(i, &e); !ok {
			return false
		}
	}
	n.text = buf[d.pos:i]
	d.pos = i
	return true
}

// digits reads a run of one or more decimal digits at buf[i:] into n and
// returns the offset after it.
func (d *JSONDecoder) digits(i int, n *number) (int, bool) {
	buf := d.buf
	if i >= len(buf) {
		return i, d.syntax(i, msgEOF)
	}
	if buf[i] < '0' || buf[i] > '9' {
		return i, d.syntax(i, msgNumber)
	}
	mant, start := n.mant, i
	for i+8 <= len(buf) {
		x := binary.LittleEndian.Uint64(buf[i:])
		k := leadingDigits(x)
		mant = mant*uint64pow10[k] + digitsValue(x, k)
		i += k
		if k < 8 {
			n.mant = mant
			n.digits += i - start
			return i, true
		}
	}
	for ; i < len(buf) && buf[i] >= '0' && buf[i] <= '9'; i++ {
		mant = mant*10 + uint64(buf[i]-'0')
	}
	n.mant = mant
	n.digits += i - start
	return i, true
}

// isJSONNumber reports whether b is exactly one number by the JSON
// grammar that scanNumber checks, for text that did not come through it.
func isJSONNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if i = skipDigits(b, i); i < 0 {
		return false
	}
	if i < len(b) && b[i] == '.' {
		if i = skipDigits(b, i+1); i < 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i = skipDigits(b, i); i < 0 {
			return false
		}
	}
	return i == len(b)
}

// skipDigits returns the offset after the run of one or more digits at
// b[i:], or -1 when there is none.
func skipDigits(b []byte, i int) int {
	j := i
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// eightDigits reports whether the eight bytes of x are all ASCII digits.
// Adding 6 to a digit byte keeps its high nibble 3 and cannot carry.
func eightDigits(x uint64) bool {
	return x&0xF0F0F0F0F0F0F0F0|(x+0x0606060606060606)&0xF0F0F0F0F0F0F0F0>>4 == 0x3333333333333333
}

// leadingDigits returns how many of the eight bytes of x, read
// little-endian, are ASCII digits before the first byte that is not one.
// A byte is a digit when its high nibble is 3 and stays 3 after adding 6;
// the addition carries out of a byte only when that byte is 0xFA or more,
// not a digit, so it cannot disturb the bytes before the first non-digit.
func leadingDigits(x uint64) int {
	const hi = 0xF0F0F0F0F0F0F0F0
	nonDigit := (x&hi ^ 0x3030303030303030) | ((x+0x0606060606060606)&hi ^ 0x3030303030303030)
	return bits.TrailingZeros64(nonDigit) >> 3
}

// digitsValue returns the number that the first k (0 to 8) bytes of x,
// ASCII digits read little-endian, write: shifted to the top of the word
// behind leading '0's, they are eight digits of the same value.
func digitsValue(x uint64, k int) uint64 {
	s := uint(8-k) * 8
	return eightDigitsValue(x<<s | 0x3030303030303030>>(64-s))
}

// uint64pow10 holds 10^k for the digit counts digitsValue takes.
var uint64pow10 = [9]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8}

// eightDigitsValue returns the number that the eight ASCII digits of x,
// read little-endian (the first digit in the low byte), write: pairs of
// digits, then pairs of pairs, combined by multiplication.
func eightDigitsValue(x uint64) uint64 {
	x -= 0x3030303030303030
	x = x*10 + x>>8
	return ((x&0x000000FF000000FF)*(100+1000000<<32) + (x>>16&0x000000FF000000FF)*(1+10000<<32)) >> 32
}

// literal consumes the literal lit (true, false or null) at d.pos.
func (d *JSONDecoder) literal(lit string) bool {
	buf := d.buf
	for k := 0; k < len(lit); k++ {
		i := d.pos + k
		if i >= len(buf) {
			return d.syntax(i, msgEOF)
		}
		if buf[i] != lit[k] {
			return d.syntax(i, msgLiteral)
		}
	}
	d.pos += len(lit)
	return true
}

// skipValue validates and skips the value at d.pos (after whitespace);
// depth is the number of arrays and objects that enclose it. It walks
// nested values with an explicit stack of container kinds instead of
// recursion, so neither stack use nor time depends on the nesting beyond
// a linear pass.
func (d *JSONDecoder) skipValue(depth int) bool {
	base := depth
	for {
		// A value is expected at d.pos.
		d.ws()
		if d.pos >= len(d.buf) {
			return d.syntax(d.pos, msgEOF)
		}
		switch c := d.buf[d.pos]; {
		case c == '{' || c == '[':
			depth++
			if depth > MaxJSONDepth {
				return d.syntax(d.pos, msgDepth)
			}
			word, bit := depth/64, uint64(1)<<(depth%64)
			d.pos++
			d.ws()
			if c == '{' {
				d.kinds[word] |= bit
				if d.pos < len(d.buf) && d.buf[d.pos] == '}' {
					d.pos++
					depth--
					break
				}
				if !d.skipKey(msgKeyOrEnd) {
					return false
				}
				continue
			}
			d.kinds[word] &^= bit
			if d.pos < len(d.buf) && d.buf[d.pos] == ']' {
				d.pos++
				depth--
				break
			}
			continue
		case c == '"':
			end, ok := d.skipString(d.pos)
			if !ok {
				return false
			}
			d.pos = end
		case c == '-' || (c >= '0' && c <= '9'):
			var n number
			if !d.scanNumber(&n) {
				return false
			}
		case c == 't':
			if !d.literal("true") {
				return false
			}
		case c == 'f':
			if !d.literal("false") {
				return false
			}
		case c == 'n':
			if !d.literal("null") {
				return false
			}
		default:
			return d.syntax(d.pos, msgValue)
		}
		// A value is complete: close containers until another value is due.
		var more, ok bool
		if depth, more, ok = d.closeValues(depth, base); !ok || !more {
			return ok
		}
	}
}

// closeValues is skipValue after a complete value at the given depth: it
// consumes the ',' (and the next key, in an object) or the closing
// brackets that follow, until another value is due (more) or the value
// that skipValue was asked to skip, at depth base, is complete.
func (d *JSONDecoder) closeValues(depth, base int) (newDepth int, more, ok bool) {
	for depth > base {
		d.ws()
		if d.pos >= len(d.buf) {
			return depth, false, d.syntax(d.pos, msgEOF)
		}
		c := d.buf[d.pos]
		inObject := d.kinds[depth/64]&(uint64(1)<<(depth%64)) != 0
		switch {
		case inObject && c == '}', !inObject && c == ']':
			d.pos++
			depth--
		case c != ',' && inObject:
			return depth, false, d.syntax(d.pos, msgObjectNext)
		case c != ',':
			return depth, false, d.syntax(d.pos, msgArrayNext)
		case inObject:
			d.pos++
			d.ws()
			return depth, true, d.skipKey(msgKey)
		default:
			d.pos++
			return depth, true, true
		}
	}
	return depth, false, true
}

// skipKey skips an object key and the ':' after it; d.pos is after
// whitespace. msg is the error when no key is there.
func (d *JSONDecoder) skipKey(msg string) bool {
	if d.pos >= len(d.buf) {
		return d.syntax(d.pos, msgEOF)
	}
	if d.buf[d.pos] != '"' {
		return d.syntax(d.pos, msg)
	}
	end, ok := d.skipString(d.pos)
	if !ok {
		return false
	}
	d.pos = end
	return d.colon()
}

package codec

import (
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

// ws skips JSON whitespace from d.pos.
func (d *JSONDecoder) ws() {
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

// strSafe reports the ASCII bytes that stand for themselves inside a JSON
// string: printable, not '"' and not '\\'.
var strSafe = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// readString reads the string whose opening quote is at d.pos and returns
// its unescaped value: a view into the body when the string holds neither
// escapes nor invalid UTF-8, else a view into d.scratch, capped so that
// appending to it cannot touch later scratch bytes.
func (d *JSONDecoder) readString() ([]byte, bool) {
	buf := d.buf
	start := d.pos + 1
	for i := start; i < len(buf); {
		c := buf[i]
		if strSafe[c] {
			i++
			continue
		}
		switch {
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
	return nil, d.syntax(len(buf), msgEOF)
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
			j := i + 1
			for j < len(buf) && strSafe[buf[j]] {
				j++
			}
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
			if i+1 >= len(buf) {
				d.scratch = out
				return nil, d.syntax(len(buf), msgEOF)
			}
			switch e := buf[i+1]; e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, bad := hex4(buf, i+2)
				if bad >= 0 {
					d.scratch = out
					if bad >= len(buf) {
						return nil, d.syntax(len(buf), msgEOF)
					}
					return nil, d.syntax(bad, msgHex)
				}
				i += 6
				if utf16.IsSurrogate(r) {
					// A pair only when a valid \u escape follows that
					// completes it; otherwise U+FFFD and the next escape is
					// read on its own, as encoding/json does.
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
				out = utf8.AppendRune(out, r)
				continue
			default:
				d.scratch = out
				return nil, d.syntax(i+1, msgEscape)
			}
			i += 2
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
			i++
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

// scanNumber validates the number at d.pos by the JSON grammar
//
//	-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
//
// and moves past it. simple reports that it has neither fraction nor
// exponent. What follows the number is the caller's to check, so "01"
// fails there, at the '1'.
func (d *JSONDecoder) scanNumber() (tok []byte, simple, ok bool) {
	buf := d.buf
	start, i := d.pos, d.pos
	digits := func() bool {
		if i >= len(buf) {
			return d.syntax(i, msgEOF)
		}
		if buf[i] < '0' || buf[i] > '9' {
			return d.syntax(i, msgNumber)
		}
		for i < len(buf) && buf[i] >= '0' && buf[i] <= '9' {
			i++
		}
		return true
	}
	if buf[i] == '-' {
		i++
	}
	if i < len(buf) && buf[i] == '0' {
		i++
	} else if !digits() {
		return nil, false, false
	}
	simple = true
	if i < len(buf) && buf[i] == '.' {
		i++
		simple = false
		if !digits() {
			return nil, false, false
		}
	}
	if i < len(buf) && (buf[i] == 'e' || buf[i] == 'E') {
		i++
		simple = false
		if i < len(buf) && (buf[i] == '+' || buf[i] == '-') {
			i++
		}
		if !digits() {
			return nil, false, false
		}
	}
	d.pos = i
	return buf[start:i], simple, true
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
			if _, _, ok := d.scanNumber(); !ok {
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
		for {
			if depth == base {
				return true
			}
			d.ws()
			if d.pos >= len(d.buf) {
				return d.syntax(d.pos, msgEOF)
			}
			c := d.buf[d.pos]
			if d.kinds[depth/64]&(uint64(1)<<(depth%64)) != 0 {
				if c == '}' {
					d.pos++
					depth--
					continue
				}
				if c != ',' {
					return d.syntax(d.pos, msgObjectNext)
				}
				d.pos++
				d.ws()
				if !d.skipKey(msgKey) {
					return false
				}
				break
			}
			if c == ']' {
				d.pos++
				depth--
				continue
			}
			if c != ',' {
				return d.syntax(d.pos, msgArrayNext)
			}
			d.pos++
			break
		}
	}
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

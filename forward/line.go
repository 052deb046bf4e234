package forward

import (
	"errors"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// A stored line (SPEC §9) is one JSON object with its members in a fixed order, written by
// codec's line encoder:
//
//	{"timestamp":"2026-11-26T17:20:06.123Z","client":"client-1","name":"cpu_usage","value":75.5,"type":"gauge","tags":{"host":"server1"}}
//
// lineParser reads exactly that shape (tags may be absent) without encoding/json: it walks the
// fixed member keys, slices strings that need no unescaping straight out of the line and
// unescapes the others into a scratch buffer. Anything else is an error naming the byte offset.

// Sample is one stored metric as the sinks need it. Its byte slices point into the parsed line
// or into the parser's scratch buffer: valid until the parser's next parse call.
type Sample struct {
	TimestampMs int64 // Unix milliseconds
	Client      []byte
	Name        []byte
	Value       float64
	Type        []byte
	Tags        []Tag // in stored order
}

// Tag is one key/value pair of a Sample; same lifetime as the Sample.
type Tag struct {
	Key, Value []byte
}

// errLine is the cause of every malformed stored line; lineError adds where.
var errLine = errors.New("forward: malformed stored line")

// lineError reports a malformed stored line: what was expected, at which byte.
type lineError struct {
	Offset int    // 0-based byte offset in the line
	Want   string // what the parser expected there
}

func (e *lineError) Error() string {
	return "forward: malformed stored line at byte " + strconv.Itoa(e.Offset) + ": want " + e.Want
}

func (e *lineError) Unwrap() error { return errLine }

// lineParser parses stored lines. Not safe for concurrent use; reuse one per goroutine.
type lineParser struct {
	scratch []byte // unescaped strings; grown before a parse so that it never moves during one
	tags    []Tag
	line    []byte
	pos     int
}

// parse fills s from line (without its '\n'). s's slices are valid until the next parse.
func (p *lineParser) parse(line []byte, s *Sample) error {
	p.line, p.pos = line, 0
	if cap(p.scratch) < len(line) {
		p.scratch = make([]byte, 0, 2*len(line))
	}
	p.scratch = p.scratch[:0]
	p.tags = p.tags[:0]
	var err error
	if !p.lit(`{"timestamp":"`) {
		return p.fail(`{"timestamp":"`)
	}
	if s.TimestampMs, err = p.timestamp(); err != nil {
		return err
	}
	if !p.lit(`","client":`) {
		return p.fail(`","client":`)
	}
	if s.Client, err = p.str(); err != nil {
		return err
	}
	if !p.lit(`,"name":`) {
		return p.fail(`,"name":`)
	}
	nameAt := p.pos
	if s.Name, err = p.str(); err != nil {
		return err
	}
	if len(s.Name) == 0 {
		p.pos = nameAt
		return p.fail("a non-empty name")
	}
	if !p.lit(`,"value":`) {
		return p.fail(`,"value":`)
	}
	if s.Value, err = p.number(); err != nil {
		return err
	}
	if !p.lit(`,"type":`) {
		return p.fail(`,"type":`)
	}
	if s.Type, err = p.str(); err != nil {
		return err
	}
	if p.lit(`,"tags":{`) {
		if err := p.tagMembers(); err != nil {
			return err
		}
	}
	if !p.lit("}") || p.pos != len(p.line) {
		return p.fail("the end of the object")
	}
	s.Tags = p.tags
	return nil
}

// tagMembers parses `"k":"v",...}` after the tags' opening brace.
func (p *lineParser) tagMembers() error {
	if p.lit("}") {
		return nil
	}
	for {
		k, err := p.str()
		if err != nil {
			return err
		}
		if !p.lit(":") {
			return p.fail(`":"`)
		}
		v, err := p.str()
		if err != nil {
			return err
		}
		p.tags = append(p.tags, Tag{Key: k, Value: v})
		if p.lit("}") {
			return nil
		}
		if !p.lit(",") {
			return p.fail(`"," or "}"`)
		}
	}
}

func (p *lineParser) fail(want string) error { return &lineError{Offset: p.pos, Want: want} }

// lit consumes s when the line continues with it.
func (p *lineParser) lit(s string) bool {
	if len(p.line)-p.pos < len(s) || string(p.line[p.pos:p.pos+len(s)]) != s {
		return false
	}
	p.pos += len(s)
	return true
}

// timestampLen is the length of a stored timestamp, "2026-11-26T17:20:06.123Z".
const timestampLen = len("2006-01-02T15:04:05.000Z")

// timestamp parses the stored RFC 3339 UTC time with exactly three fraction digits.
func (p *lineParser) timestamp() (int64, error) {
	if len(p.line)-p.pos < timestampLen {
		return 0, p.fail("a timestamp")
	}
	b := p.line[p.pos : p.pos+timestampLen]
	day, ok := storedDay(b[:dateLen])
	if !ok || b[dateLen] != 'T' {
		return 0, p.fail("a timestamp like 2026-11-26T17:20:06.123Z")
	}
	clock, ok := storedClock(b[dateLen+1:])
	if !ok {
		return 0, p.fail("a timestamp like 2026-11-26T17:20:06.123Z")
	}
	p.pos += timestampLen
	return day + clock, nil
}

// dateLen is the length of the date in a stored timestamp, "2026-11-26".
const dateLen = len("2006-01-02")

// storedDay converts the date of a stored timestamp to the Unix milliseconds of its midnight.
func storedDay(b []byte) (int64, bool) {
	if b[4] != '-' || b[7] != '-' {
		return 0, false
	}
	y, ok1 := digitsOf(b[0:4])
	mo, ok2 := digitsOf(b[5:7])
	d, ok3 := digitsOf(b[8:10])
	if !ok1 || !ok2 || !ok3 || mo < 1 || mo > 12 || d < 1 || d > 31 {
		return 0, false
	}
	return daysFromCivil(y, mo, d) * 86_400_000, true
}

// storedClock converts the clock of a stored timestamp, "17:20:06.123Z", to milliseconds.
func storedClock(b []byte) (int64, bool) {
	if b[2] != ':' || b[5] != ':' || b[8] != '.' || b[12] != 'Z' {
		return 0, false
	}
	h, ok1 := digitsOf(b[0:2])
	mi, ok2 := digitsOf(b[3:5])
	sec, ok3 := digitsOf(b[6:8])
	ms, ok4 := digitsOf(b[9:12])
	if !ok1 || !ok2 || !ok3 || !ok4 || h > 23 || mi > 59 || sec > 60 {
		return 0, false
	}
	return ((h*60+mi)*60+sec)*1000 + ms, true
}

// digitsOf reads the decimal digits b.
func digitsOf(b []byte) (int64, bool) {
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// daysFromCivil returns the days from 1970-01-01 to the proleptic Gregorian date y-m-d.
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// number parses a JSON number. The stored form is what codec writes: integers and
// strconv-formatted floats, never null for a sample that a decoder produced.
func (p *lineParser) number() (float64, error) {
	start := p.pos
	for p.pos < len(p.line) {
		c := p.line[p.pos]
		if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			p.pos++
			continue
		}
		break
	}
	v, ok := parseNumber(p.line[start:p.pos])
	if !ok {
		p.pos = start
		return 0, p.fail("a finite number")
	}
	return v, nil
}

// parseNumber converts the text of a stored number; false when it is not a finite number.
func parseNumber(b []byte) (float64, bool) {
	if v, ok := plainDecimal(b); ok {
		return v, true
	}
	v, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(b), len(b)), 64)
	if err != nil || len(b) == 0 || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// plainDecimal converts -?digits[.digits] with at most 15 digits in all, the form codec writes
// for most values, exactly as strconv.ParseFloat does: the digits make an integer below 2^53 and
// the fraction a power of ten of at most 10^15, both exact float64s, so the one division rounds
// correctly (Clinger's fast path). Anything else reports false.
func plainDecimal(b []byte) (float64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	var n uint64
	digits, frac, dot := 0, 0, false
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			n = n*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
		case c == '.' && !dot && digits > 0:
			dot = true
		default:
			return 0, false
		}
	}
	if digits == 0 || digits > 15 || (dot && frac == 0) {
		return 0, false
	}
	v := float64(n)
	if frac > 0 {
		v /= pow10[frac]
	}
	if neg {
		v = -v
	}
	return v, true
}

// pow10 holds the exact float64 powers of ten plainDecimal divides by.
var pow10 = [16]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// str parses a JSON string. Without escapes it returns a slice of the line; otherwise the
// unescaped bytes, appended to the scratch buffer (which parse sized so that it never moves).
func (p *lineParser) str() ([]byte, error) {
	if p.pos >= len(p.line) || p.line[p.pos] != '"' {
		return nil, p.fail("a string")
	}
	start := p.pos + 1
	for i := start; i < len(p.line); i++ {
		switch c := p.line[i]; {
		case c == '"':
			p.pos = i + 1
			return p.line[start:i], nil
		case c == '\\':
			return p.unescape(start, i)
		case c < 0x20:
			p.pos = i
			return nil, p.fail("no control character in a string")
		}
	}
	p.pos = len(p.line)
	return nil, p.fail("the end of a string")
}

// unescape finishes a string that has an escape at esc; the bytes from start to esc are plain.
func (p *lineParser) unescape(start, esc int) ([]byte, error) {
	from := len(p.scratch)
	p.scratch = append(p.scratch, p.line[start:esc]...)
	i := esc
	for i < len(p.line) {
		c := p.line[i]
		switch {
		case c == '"':
			p.pos = i + 1
			return p.scratch[from:len(p.scratch):len(p.scratch)], nil
		case c < 0x20:
			p.pos = i
			return nil, p.fail("no control character in a string")
		case c != '\\':
			p.scratch = append(p.scratch, c)
			i++
			continue
		}
		if i+1 >= len(p.line) {
			break
		}
		n, ok := p.escape(i)
		if !ok {
			p.pos = i
			return nil, p.fail("a valid escape sequence")
		}
		i += n
	}
	p.pos = len(p.line)
	return nil, p.fail("the end of a string")
}

// escape appends the unescaped form of the escape sequence at line[i] ('\\') to the scratch
// buffer and returns its length in the line.
func (p *lineParser) escape(i int) (int, bool) {
	switch p.line[i+1] {
	case '"', '\\', '/':
		p.scratch = append(p.scratch, p.line[i+1])
	case 'b':
		p.scratch = append(p.scratch, '\b')
	case 'f':
		p.scratch = append(p.scratch, '\f')
	case 'n':
		p.scratch = append(p.scratch, '\n')
	case 'r':
		p.scratch = append(p.scratch, '\r')
	case 't':
		p.scratch = append(p.scratch, '\t')
	case 'u':
		r, ok := hex4(p.line, i+2)
		if !ok {
			return 0, false
		}
		if utf16.IsSurrogate(r) {
			if r2, ok2 := hex4(p.line, i+8); ok2 && i+7 < len(p.line) && p.line[i+6] == '\\' && p.line[i+7] == 'u' {
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					p.scratch = utf8.AppendRune(p.scratch, dec)
					return 12, true
				}
			}
			r = utf8.RuneError
		}
		p.scratch = utf8.AppendRune(p.scratch, r)
		return 6, true
	default:
		return 0, false
	}
	return 2, true
}

// hex4 reads four hexadecimal digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

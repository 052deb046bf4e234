package codec

import (
	"hash/maphash"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Limits of the JSON batch decoder.
const (
	// DefaultMaxBatch is the number of metrics a batch may hold when
	// Decode is given a maxBatch of zero or less.
	DefaultMaxBatch = 1000
	// MaxNameBytes is the longest metric name accepted, in bytes after
	// unescaping.
	MaxNameBytes = 255
	// MaxJSONDepth is the deepest nesting of arrays and objects accepted,
	// counting the top-level object as one. It is the limit encoding/json
	// applies, so both accept the same documents.
	MaxJSONDepth = 10000
)

// Timestamps the storage line can carry: years 0000 to 9999 in UTC.
// Decode rejects timestamps outside this range and AppendTimestamp clamps
// to it.
const (
	MinTimestampMs int64 = -62167219200000 // 0000-01-01T00:00:00.000Z
	MaxTimestampMs int64 = 253402300799999 // 9999-12-31T23:59:59.999Z
)

// DecodeError reports why a body was rejected. Its text is meant for the
// client: it says what was wrong and where, and never contains bytes of
// the input.
//
// The messages are the client-facing texts of SPEC §5, so unlike the
// package's other errors they carry no "codec:" prefix.
//
// There are three kinds, told apart by the fields:
//   - invalid JSON: Metric is -1 and Offset is the 0-based byte offset of
//     the offending byte (len(body) when the body ends too early);
//   - a metric breaking a batch rule: Metric is the 0-based index of the
//     metric in the "metrics" array and Offset is where the offending
//     value (or, for a missing field, the metric) starts;
//   - a batch-level rule (empty batch, too many metrics, top level not an
//     object): Metric and Offset are both -1.
type DecodeError struct {
	Offset int
	Metric int
	Msg    string
}

// Error returns the client-facing message, for instance
// "invalid JSON at byte 57: expected ',' or '}'", "metric 3: name is empty"
// or "Batch cannot be empty".
func (e *DecodeError) Error() string {
	switch {
	case e.Metric >= 0:
		return "metric " + strconv.Itoa(e.Metric) + ": " + e.Msg
	case e.Offset >= 0:
		return "invalid JSON at byte " + strconv.Itoa(e.Offset) + ": " + e.Msg
	}
	return e.Msg
}

// Messages of the batch rules. Metric rules are prefixed "metric N: " by
// DecodeError.Error.
const (
	msgEmpty          = "Batch cannot be empty"
	msgNotObject      = "Batch must be a JSON object"
	msgMetricsArray   = "metrics must be an array"
	msgMetricObject   = "must be an object"
	msgNameMissing    = "name is missing"
	msgNameString     = "name must be a string"
	msgNameEmpty      = "name is empty"
	msgNameLong       = "name exceeds 255 bytes"
	msgValueMissing   = "value is missing"
	msgValueNumber    = "value must be a number"
	msgValueFinite    = "value is not finite"
	msgType           = "type must be one of counter, gauge, histogram, summary"
	msgTagsObject     = "tags must be an object"
	msgTagValue       = "tag values must be strings"
	msgTimestamp      = "timestamp must be integer Unix milliseconds or an RFC 3339 string"
	msgTimestampRange = "timestamp is outside the years 0000 to 9999"
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

// JSONDecoder decodes a JSON batch body (SPEC §5) into a Batch in one pass
// over the bytes, validating the whole document against RFC 8259 and the
// batch rules as it goes.
//
// Semantics, chosen to match what encoding/json reports for the same
// document decoded into a map:
//   - keys are compared exactly (case-sensitive) after unescaping;
//   - a duplicate key replaces the earlier one: the last "metrics", the last
//     "name" of a metric, the last value of a tag key wins; a replaced
//     value only has to be valid JSON, not to obey the batch rules;
//   - an invalid UTF-8 byte in a string becomes U+FFFD, one per byte, and
//     so does a \u escape of a lone or mismatched UTF-16 surrogate;
//   - null for "type", "tags" or "timestamp" means the field is absent;
//   - nesting deeper than MaxJSONDepth is rejected;
//   - a timestamp number must be written as an integer (no fraction or
//     exponent); an RFC 3339 string may use 't' and 'z' in lower case and
//     fractions beyond milliseconds are truncated toward the past.
//
// Errors come in document order: the first JSON syntax error wins over any
// batch-rule error, and among rule errors the first in the final "metrics"
// array wins; within one metric the fields are checked in the order name,
// value, type, tags, timestamp.
//
// The zero value is ready to use. A JSONDecoder is not safe for concurrent
// use; each event loop owns its own. It keeps a scratch buffer for strings
// that contain escapes, so a warmed-up decoder does not allocate.
type JSONDecoder struct {
	// scratch holds unescaped strings of the batch being decoded. Views into
	// it are handed out in the Batch, so it is only ever appended to while
	// a Decode runs and is truncated at the start of the next Decode. When
	// an append reallocates it, earlier views keep the old array alive.
	scratch []byte

	// State of the current Decode call; buf and b are cleared on return so
	// the decoder does not retain the caller's body.
	buf      []byte
	pos      int
	b        *Batch
	maxBatch int
	fail     DecodeError // first syntax error
	rule     DecodeError // first batch-rule error of the current "metrics"
	ruleSet  bool

	// kinds records, for each nesting depth, whether the container skipped
	// there is an object (bit set) or an array.
	kinds [MaxJSONDepth/64 + 1]uint64

	tags tagSet
}

// Decode resets b and fills it with the metrics of body. It returns a
// *DecodeError when the body is not valid JSON or breaks a batch rule;
// b is then left empty. maxBatch limits the number of metrics; zero or
// less selects DefaultMaxBatch.
//
// The byte slices in b point into body or into d's scratch space: they
// stay valid while body is unchanged and until the next call of Decode.
func (d *JSONDecoder) Decode(body []byte, maxBatch int, b *Batch) error {
	b.Reset()
	if maxBatch <= 0 {
		maxBatch = DefaultMaxBatch
	}
	d.scratch = d.scratch[:0]
	d.buf, d.pos, d.b, d.maxBatch = body, 0, b, maxBatch
	d.ruleSet = false
	ok := d.decodeTop()
	d.buf, d.b = nil, nil
	if !ok {
		b.Reset()
		e := d.fail
		return &e
	}
	if d.ruleSet {
		b.Reset()
		e := d.rule
		return &e
	}
	return nil
}

// syntax records a JSON syntax error at off and returns false, so callers
// can write "return d.syntax(...)".
func (d *JSONDecoder) syntax(off int, msg string) bool {
	d.fail = DecodeError{Offset: off, Metric: -1, Msg: msg}
	return false
}

// breakRule records a batch-rule error unless an earlier one is pending.
func (d *JSONDecoder) breakRule(off, metric int, msg string) {
	if !d.ruleSet {
		d.rule = DecodeError{Offset: off, Metric: metric, Msg: msg}
		d.ruleSet = true
	}
}

// ws skips JSON whitespace from d.pos.
func (d *JSONDecoder) ws() {
	buf, i := d.buf, d.pos
	for i < len(buf) && isSpace(buf[i]) {
		i++
	}
	d.pos = i
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// decodeTop decodes the top-level object. It returns false on a syntax
// error (in d.fail); rule errors are left in d.rule.
func (d *JSONDecoder) decodeTop() bool {
	d.ws()
	if d.pos >= len(d.buf) {
		return d.syntax(d.pos, msgEOF)
	}
	if d.buf[d.pos] != '{' {
		if !d.skipValue(0) {
			return false
		}
		if !d.end() {
			return false
		}
		d.breakRule(-1, -1, msgNotObject)
		return true
	}
	d.pos++
	seen := false
	first := true
	for {
		mark := len(d.scratch)
		key, empty, ok := d.memberKey(first)
		if !ok {
			return false
		}
		if empty {
			break
		}
		first = false
		isMetrics := string(key) == "metrics"
		d.scratch = d.scratch[:mark]
		if isMetrics {
			// Last wins: forget what an earlier "metrics" produced.
			seen = true
			d.b.Reset()
			d.ruleSet = false
			if !d.decodeMetrics() {
				return false
			}
		} else if !d.skipValue(1) {
			return false
		}
		last, ok := d.memberEnd()
		if !ok {
			return false
		}
		if last {
			break
		}
	}
	if !d.end() {
		return false
	}
	if !seen {
		d.breakRule(-1, -1, msgEmpty)
	}
	return true
}

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

// decodeMetrics decodes the value of the top-level "metrics" key; d.pos is
// at its first byte.
func (d *JSONDecoder) decodeMetrics() bool {
	if d.pos >= len(d.buf) {
		return d.syntax(d.pos, msgEOF)
	}
	if d.buf[d.pos] != '[' {
		if !d.skipValue(1) {
			return false
		}
		d.breakRule(-1, -1, msgMetricsArray)
		return true
	}
	d.pos++
	d.ws()
	if d.pos < len(d.buf) && d.buf[d.pos] == ']' {
		d.pos++
		d.breakRule(-1, -1, msgEmpty)
		return true
	}
	for i := 0; ; i++ {
		d.ws()
		if d.pos >= len(d.buf) {
			return d.syntax(d.pos, msgEOF)
		}
		switch {
		case d.ruleSet:
			// The batch is rejected already: validate the rest only.
			if !d.skipValue(2) {
				return false
			}
		case i >= d.maxBatch:
			d.breakRule(-1, -1, "Batch size exceeds maximum ("+strconv.Itoa(d.maxBatch)+" metrics)")
			if !d.skipValue(2) {
				return false
			}
		case d.buf[d.pos] != '{':
			off := d.pos
			if !d.skipValue(2) {
				return false
			}
			d.breakRule(off, i, msgMetricObject)
		default:
			if !d.decodeMetric(i) {
				return false
			}
		}
		d.ws()
		if d.pos >= len(d.buf) {
			return d.syntax(d.pos, msgEOF)
		}
		if c := d.buf[d.pos]; c == ']' {
			d.pos++
			return true
		} else if c != ',' {
			return d.syntax(d.pos, msgArrayNext)
		}
		d.pos++
	}
}

// Outcome of a metric field, kept until the metric's '}' because a later
// duplicate key may replace it.
const (
	fieldMissing uint8 = iota
	fieldOK
	fieldBad // msg says why
)

// metricFields collects the fields of one metric object.
type metricFields struct {
	name, value, typ, tags, ts        uint8
	nameMsg, valueMsg, tagsMsg, tsMsg string
	nameOff, valueOff, typOff         int
	tagsOff, tsOff                    int
}

// decodeMetric decodes the metric object at d.pos (a '{') as metric i and
// appends it to the batch, or records why it breaks the rules.
func (d *JSONDecoder) decodeMetric(i int) bool {
	start := d.pos
	d.pos++
	b := d.b
	m := Metric{TagStart: int32(len(b.Tags))}
	var f metricFields
	first := true
	for {
		mark := len(d.scratch)
		key, empty, ok := d.memberKey(first)
		if !ok {
			return false
		}
		if empty {
			break
		}
		first = false
		if d.pos >= len(d.buf) {
			return d.syntax(d.pos, msgEOF)
		}
		off := d.pos
		c := d.buf[off]
		switch string(key) {
		case "name":
			d.scratch = d.scratch[:mark]
			f.nameOff = off
			if c == '"' {
				if m.Name, ok = d.readString(); !ok {
					return false
				}
				switch {
				case len(m.Name) == 0:
					f.name, f.nameMsg = fieldBad, msgNameEmpty
				case len(m.Name) > MaxNameBytes:
					f.name, f.nameMsg = fieldBad, msgNameLong
				default:
					f.name = fieldOK
				}
			} else {
				if !d.skipValue(3) {
					return false
				}
				f.name, f.nameMsg = fieldBad, msgNameString
			}
		case "value":
			d.scratch = d.scratch[:mark]
			f.valueOff = off
			if c == '-' || (c >= '0' && c <= '9') {
				tok, simple, ok := d.scanNumber()
				if !ok {
					return false
				}
				if v, ok := parseFloat(tok, simple); ok {
					m.Value, f.value = v, fieldOK
				} else {
					f.value, f.valueMsg = fieldBad, msgValueFinite
				}
			} else {
				if !d.skipValue(3) {
					return false
				}
				f.value, f.valueMsg = fieldBad, msgValueNumber
			}
		case "type":
			d.scratch = d.scratch[:mark]
			f.typOff = off
			switch c {
			case '"':
				s, ok := d.readString()
				if !ok {
					return false
				}
				t, known := ParseMetricType(s)
				d.scratch = d.scratch[:mark]
				if known {
					m.Type, f.typ = t, fieldOK
				} else {
					f.typ = fieldBad
				}
			case 'n':
				if !d.literal("null") {
					return false
				}
				m.Type, f.typ = Gauge, fieldMissing
			default:
				if !d.skipValue(3) {
					return false
				}
				f.typ = fieldBad
			}
		case "tags":
			d.scratch = d.scratch[:mark]
			f.tagsOff = off
			b.Tags = b.Tags[:m.TagStart] // last wins
			switch c {
			case '{':
				if !d.decodeTags(&f) {
					return false
				}
			case 'n':
				if !d.literal("null") {
					return false
				}
				f.tags = fieldMissing
			default:
				if !d.skipValue(3) {
					return false
				}
				f.tags, f.tagsMsg = fieldBad, msgTagsObject
			}
		case "timestamp":
			d.scratch = d.scratch[:mark]
			f.tsOff = off
			m.HasTimestamp = false
			switch {
			case c == '"':
				s, ok := d.readString()
				if !ok {
					return false
				}
				ms, ok := parseRFC3339(s)
				d.scratch = d.scratch[:mark]
				f.setTimestamp(&m, ms, ok)
			case c == '-' || (c >= '0' && c <= '9'):
				tok, simple, ok := d.scanNumber()
				if !ok {
					return false
				}
				ms, ok := parseIntMs(tok, simple)
				f.setTimestamp(&m, ms, ok)
			case c == 'n':
				if !d.literal("null") {
					return false
				}
				f.ts = fieldMissing
			default:
				if !d.skipValue(3) {
					return false
				}
				f.ts, f.tsMsg = fieldBad, msgTimestamp
			}
		default:
			d.scratch = d.scratch[:mark]
			if !d.skipValue(3) {
				return false
			}
		}
		last, ok := d.memberEnd()
		if !ok {
			return false
		}
		if last {
			break
		}
	}
	switch {
	case f.name == fieldMissing:
		d.breakRule(start, i, msgNameMissing)
	case f.name == fieldBad:
		d.breakRule(f.nameOff, i, f.nameMsg)
	case f.value == fieldMissing:
		d.breakRule(start, i, msgValueMissing)
	case f.value == fieldBad:
		d.breakRule(f.valueOff, i, f.valueMsg)
	case f.typ == fieldBad:
		d.breakRule(f.typOff, i, msgType)
	case f.tags == fieldBad:
		d.breakRule(f.tagsOff, i, f.tagsMsg)
	case f.ts == fieldBad:
		d.breakRule(f.tsOff, i, f.tsMsg)
	default:
		m.TagEnd = int32(len(b.Tags))
		b.Metrics = append(b.Metrics, m)
	}
	return true
}

// setTimestamp records the outcome of parsing a timestamp.
func (f *metricFields) setTimestamp(m *Metric, ms int64, ok bool) {
	switch {
	case !ok:
		f.ts, f.tsMsg = fieldBad, msgTimestamp
	case ms < MinTimestampMs || ms > MaxTimestampMs:
		f.ts, f.tsMsg = fieldBad, msgTimestampRange
	default:
		f.ts = fieldOK
		m.TimestampMs, m.HasTimestamp = ms, true
	}
}

// decodeTags decodes the tags object at d.pos (a '{'), appending to d.b.Tags.
func (d *JSONDecoder) decodeTags(f *metricFields) bool {
	b := d.b
	tagStart := len(b.Tags)
	d.tags.reset()
	f.tags = fieldOK
	d.pos++
	first := true
	for {
		key, empty, ok := d.memberKey(first)
		if !ok {
			return false
		}
		if empty {
			return true
		}
		first = false
		if d.pos >= len(d.buf) {
			return d.syntax(d.pos, msgEOF)
		}
		if f.tags == fieldOK && d.buf[d.pos] == '"' {
			val, ok := d.readString()
			if !ok {
				return false
			}
			d.tags.put(b, tagStart, key, val)
		} else {
			if f.tags == fieldOK {
				f.tags, f.tagsMsg, f.tagsOff = fieldBad, msgTagValue, d.pos
			}
			if !d.skipValue(4) {
				return false
			}
		}
		last, ok := d.memberEnd()
		if !ok {
			return false
		}
		if last {
			return true
		}
	}
}

// tagSet finds an earlier tag with the same key among the tags of the
// metric being decoded, so that the last value of a duplicate key wins
// in place. Few tags are searched linearly; past linearTags it switches to
// an open-addressing table keyed by a seeded hash, keeping a hostile
// body with many tags linear in time. Owned by one JSONDecoder.
type tagSet struct {
	slots  []int32 // index+1 into Batch.Tags; 0 is empty; len is a power of two
	n      int     // tags in slots
	active bool    // slots describe the current metric
	seeded bool
	seed   maphash.Seed
}

const linearTags = 16

func (s *tagSet) reset() { s.active = false }

// put adds key=val to b.Tags, whose tags from index start on belong to the
// current metric, or replaces the value of an earlier equal key.
func (s *tagSet) put(b *Batch, start int, key, val []byte) {
	cur := b.Tags[start:]
	if !s.active {
		for i := range cur {
			if string(cur[i].Key) == string(key) {
				cur[i].Value = val
				return
			}
		}
		b.Tags = append(b.Tags, Tag{Key: key, Value: val})
		if len(cur)+1 >= linearTags {
			s.build(b, start)
		}
		return
	}
	mask := len(s.slots) - 1
	for h := s.hash(key) & mask; ; h = (h + 1) & mask {
		j := s.slots[h]
		if j == 0 {
			s.slots[h] = int32(len(b.Tags) + 1)
			b.Tags = append(b.Tags, Tag{Key: key, Value: val})
			s.n++
			if 2*s.n > len(s.slots) {
				s.build(b, start)
			}
			return
		}
		if t := &b.Tags[j-1]; string(t.Key) == string(key) {
			t.Value = val
			return
		}
	}
}

// build (re)hashes the current metric's tags, whose keys are distinct,
// into a table at most half full.
func (s *tagSet) build(b *Batch, start int) {
	if !s.seeded {
		s.seed, s.seeded = maphash.MakeSeed(), true
	}
	n := len(b.Tags) - start
	size := 4 * linearTags
	for size < 4*n {
		size *= 2
	}
	if cap(s.slots) >= size {
		s.slots = s.slots[:size]
		clear(s.slots)
	} else {
		s.slots = make([]int32, size)
	}
	mask := size - 1
	for i := start; i < len(b.Tags); i++ {
		h := s.hash(b.Tags[i].Key) & mask
		for s.slots[h] != 0 {
			h = (h + 1) & mask
		}
		s.slots[h] = int32(i + 1)
	}
	s.n, s.active = n, true
}

func (s *tagSet) hash(key []byte) int { return int(maphash.Bytes(s.seed, key) >> 1) }

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

// float64pow10 holds the powers of ten that float64 represents exactly.
var float64pow10 = [...]float64{
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
}

// parseFloat converts a number token, valid by the JSON grammar, to the
// float64 that strconv.ParseFloat (and so encoding/json) gives. ok is
// false when the value overflows float64.
//
// Fast path (Clinger): when the decimal significand fits in 2^53 and the
// power of ten is at most 22, both are exact float64s and one IEEE
// multiplication or division rounds correctly. Anything else goes to
// strconv.ParseFloat.
func parseFloat(tok []byte, simple bool) (float64, bool) {
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
	if !simple {
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

// parseIntMs converts an integer number token to Unix milliseconds. ok is
// false when the token has a fraction or exponent or does not fit; the
// range of storable timestamps is checked by the caller.
func parseIntMs(tok []byte, simple bool) (int64, bool) {
	if !simple {
		return 0, false
	}
	i, neg := 0, false
	if tok[0] == '-' {
		neg, i = true, 1
	}
	if len(tok)-i > 18 {
		// Beyond ±10^18, far outside the storable years.
		if neg {
			return MinTimestampMs - 1, true
		}
		return MaxTimestampMs + 1, true
	}
	var v int64
	for ; i < len(tok); i++ {
		v = v*10 + int64(tok[i]-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// parseRFC3339 parses an RFC 3339 date-time,
//
//	YYYY-MM-DD ('T'|'t') hh:mm:ss ('.' digits)? ('Z'|'z'|('+'|'-') hh:mm)
//
// into Unix milliseconds (UTC), truncating fractions beyond milliseconds.
// Seconds run 00 to 59: a leap second is rejected, as time.Parse does.
func parseRFC3339(s []byte) (int64, bool) {
	const fixed = len("2006-01-02T15:04:05")
	if len(s) < fixed+1 {
		return 0, false
	}
	if s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	year, ok1 := num(s[0:4], 0, 9999)
	month, ok2 := num(s[5:7], 1, 12)
	day, ok3 := num(s[8:10], 1, 31)
	hour, ok4 := num(s[11:13], 0, 23)
	minute, ok5 := num(s[14:16], 0, 59)
	sec, ok6 := num(s[17:19], 0, 59)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || day > daysIn(month, year) {
		return 0, false
	}
	s = s[fixed:]
	var frac int64
	if s[0] == '.' {
		i := 1
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if i <= 3 {
				frac = frac*10 + int64(s[i]-'0')
			}
		}
		if i == 1 {
			return 0, false
		}
		for k := i; k <= 3; k++ {
			frac *= 10
		}
		s = s[i:]
	}
	var offset int64 // minutes east of UTC
	switch {
	case len(s) == 1 && (s[0] == 'Z' || s[0] == 'z'):
	case len(s) == 6 && (s[0] == '+' || s[0] == '-') && s[3] == ':':
		oh, ok1 := num(s[1:3], 0, 23)
		om, ok2 := num(s[4:6], 0, 59)
		if !ok1 || !ok2 {
			return 0, false
		}
		offset = int64(oh*60 + om)
		if s[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}
	days := daysFromCivil(int64(year), month, day)
	secs := days*86400 + int64(hour*3600+minute*60+sec) - offset*60
	return secs*1000 + frac, true
}

// num parses a fixed-width run of decimal digits within [lo, hi].
func num(s []byte, lo, hi int) (int, bool) {
	v := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, v >= lo && v <= hi
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(month, year int) int {
	switch month {
	case 2:
		if isLeap(year) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (the era-based algorithm of H. Hinnant's "chrono-compatible
// low-level date algorithms").
func daysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := int64(m + 9)
	if m > 2 {
		mp = int64(m - 3)
	}
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

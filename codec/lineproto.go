package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Precision is the unit of line-protocol timestamps, named by the write
// request's "precision" query parameter. The zero value is PrecisionNS, the
// InfluxDB default.
type Precision uint8

// Timestamp precisions. PrecisionM and PrecisionH exist only in the v1 API.
const (
	PrecisionNS Precision = iota // nanoseconds: "ns" or "n"
	PrecisionUS                  // microseconds: "us" or "u"
	PrecisionMS                  // milliseconds: "ms"
	PrecisionS                   // seconds: "s"
	PrecisionM                   // minutes: "m" (v1 only)
	PrecisionH                   // hours: "h" (v1 only)
)

var precisionNames = [...]string{
	PrecisionNS: "ns", PrecisionUS: "us", PrecisionMS: "ms",
	PrecisionS: "s", PrecisionM: "m", PrecisionH: "h",
}

// String returns the canonical query-parameter spelling of p ("ns", "us", ...).
func (p Precision) String() string {
	if int(p) < len(precisionNames) {
		return precisionNames[p]
	}
	return fmt.Sprintf("Precision(%d)", uint8(p))
}

// ParsePrecision maps a "precision" query parameter to a Precision. It
// accepts the v2 names "ns", "us", "ms" and "s" and the v1 names "n", "u",
// "ms", "s", "m" and "h". An empty value selects PrecisionNS, as InfluxDB
// does when the parameter is absent. ok is false for anything else.
func ParsePrecision(s []byte) (p Precision, ok bool) {
	switch string(s) {
	case "", "ns", "n":
		return PrecisionNS, true
	case "us", "u":
		return PrecisionUS, true
	case "ms":
		return PrecisionMS, true
	case "s":
		return PrecisionS, true
	case "m":
		return PrecisionM, true
	case "h":
		return PrecisionH, true
	}
	return 0, false
}

// LineError reports the first malformed line of a line-protocol body. Its
// text names the place and the problem but never echoes input bytes, so it
// can be returned to the client as is.
type LineError struct {
	Line   int    // 1-based line number (counting every '\n' before Offset)
	Offset int    // 0-based byte offset in the body where the problem was found
	Msg    string // what is wrong, lowercase, without input bytes
}

// Error returns e as "line 3 (byte 57): invalid field value".
func (e *LineError) Error() string {
	return fmt.Sprintf("line %d (byte %d): %s", e.Line, e.Offset, e.Msg)
}

var (
	// errLPPrecision reports a Precision value outside the declared
	// constants: a caller bug, since ParsePrecision never returns one.
	errLPPrecision = errors.New("codec: unknown line-protocol precision")
	// lpErrEmptyBatch is the batch-level error for a body that yields no
	// metric, shared in form and text with the JSON decoder.
	lpErrEmptyBatch = &DecodeError{Offset: -1, Metric: -1, Msg: msgEmpty}
)

// lpBatchTooLarge returns the batch-level error for a body with more than
// max metrics, in the JSON decoder's form and SPEC §5 text.
func lpBatchTooLarge(max int) error {
	return &DecodeError{Offset: -1, Metric: -1, Msg: "Batch size exceeds maximum (" + strconv.Itoa(max) + " metrics)"}
}

// Messages of LineError. They are fixed so that replies never carry input.
const (
	lpMsgMissingMeasurement = "missing measurement"
	lpMsgMissingFields      = "missing fields"
	lpMsgMissingTagKey      = "missing tag key"
	lpMsgMissingTagEquals   = "invalid tag: missing '='"
	lpMsgMissingTagValue    = "missing tag value"
	lpMsgMissingFieldKey    = "missing field key"
	lpMsgMissingFieldEquals = "invalid field: missing '='"
	lpMsgMissingFieldValue  = "missing field value"
	lpMsgInvalidFieldValue  = "invalid field value"
	lpMsgFloatRange         = "float field value out of range"
	lpMsgIntRange           = "integer field value out of range"
	lpMsgUintRange          = "unsigned field value out of range"
	lpMsgUnterminatedString = "unterminated string field value"
	lpMsgAfterString        = "invalid character after string field value"
	lpMsgInvalidTimestamp   = "invalid timestamp"
	lpMsgTimestampRange     = msgTimestampRange // same text as the JSON decoder
	lpMsgAfterTimestamp     = "unexpected data after timestamp"
	lpMsgNameTooLong        = msgNameLong // same text as the JSON decoder
)

// Byte classes of the tokenizer, one bit per token kind. A byte with the
// kind's stop bit ends a token of that kind unless escaped; a byte with the
// kind's escape bit may follow a backslash to stand for itself.
const (
	lpKindMeasurement = 1 << iota
	lpKindTagKey
	lpKindTagValue
	lpKindFieldKey
	lpKindFieldValue // unquoted field values and timestamps
)

// The tokenizer's tables, indexed by byte, holding lpKind bits: lpStop and
// lpEscapable as described above, and lpSpecial, which is lpStop plus the
// backslash for the kinds that have escapes: the bytes that end scan's fast
// path. Written once by init.
var lpStop, lpEscapable, lpSpecial [256]uint8

func init() {
	const names = lpKindMeasurement | lpKindTagKey | lpKindTagValue | lpKindFieldKey
	for _, c := range []byte{',', ' ', '\n', '\r'} {
		lpStop[c] |= names
	}
	lpStop['='] |= lpKindTagKey | lpKindFieldKey
	for _, c := range []byte{',', ' ', '\t', '\n', '\r'} {
		lpStop[c] |= lpKindFieldValue
	}
	lpEscapable[','] = names
	lpEscapable[' '] = names
	lpEscapable['='] = lpKindTagKey | lpKindTagValue | lpKindFieldKey
	lpSpecial = lpStop
	lpSpecial['\\'] |= names
}

// LineProtocolDecoder decodes InfluxDB line-protocol bodies (v1 /write and
// v2 /api/v2/write) into a Batch, in one pass and without recursion. It
// keeps unescaped names and tags in its own scratch space and otherwise
// hands out views into the body, so a warmed-up decoder does not allocate.
//
// The zero value is ready to use. A decoder is owned by one goroutine at a
// time; it may be reused for any number of bodies.
//
// One line is
//
//	measurement[,tagkey=tagvalue...] fieldkey=fieldvalue[,fieldkey=fieldvalue...] [timestamp]
//
// Lines end with "\n" or "\r\n". Blank lines, and lines whose first byte
// after leading spaces or tabs is '#', are skipped. Sections are separated
// by one or more spaces (tabs are also accepted between the field set and the
// timestamp, and at both ends of a line).
//
// Escapes, each a backslash before one byte:
//
//	measurement                        \,  \ (space)
//	tag keys, tag values, field keys   \,  \=  \ (space)
//	string field values                \"  \\
//
// A backslash before any other byte is a literal backslash. A raw newline
// always ends a line, except inside a quoted string field value.
//
// Field values:
//
//	float     1  -1.5  1e3  .5  2.  (NaN and ±Inf are rejected, as is overflow)
//	integer   12i  -12i             (int64 range)
//	unsigned  12u                   (uint64 range)
//	boolean   t T true True TRUE f F false False FALSE  (stored as 1 or 0)
//	string    "any text"            (skipped: not stored)
//
// Each numeric or boolean field becomes one Metric. A field named "value"
// yields Name = measurement; any other field yields Name = measurement + "_" +
// fieldkey. Every such Metric is a Gauge: line protocol carries no metric
// type, and integer fields are not assumed to be counters. Integer and
// unsigned values are converted to float64 and lose precision beyond 2^53.
// A metric name longer than MaxNameBytes is an error. A line whose fields
// are all strings yields no metric and is still valid.
//
// Tag keys and values must be non-empty. The tags of a line apply to every
// metric of that line and are passed on in input order; duplicate keys are
// not detected (that would cost quadratic time on hostile input).
//
// The optional timestamp is a signed integer in the request's Precision; it is
// converted to Unix milliseconds rounding toward negative infinity (so
// -1ns is -1ms, like time.Time.Truncate) and must fall in the years 0000 to
// 9999 like a JSON timestamp (MinTimestampMs..MaxTimestampMs). Without a
// timestamp HasTimestamp is false and the server's receive time applies.
type LineProtocolDecoder struct {
	// scratch holds the unescaped measurements, tags and built metric names
	// of the batch being decoded. Views into it are stored in the Batch, so
	// it is only truncated (never written over) until the next Decode. When
	// append moves it, earlier views keep the old array alive and unchanged.
	scratch []byte

	// State of the Decode in progress; buf is cleared when Decode returns so
	// the decoder does not pin the caller's body.
	buf  []byte
	pos  int
	line int
}

// Decode parses body, a whole line-protocol request, into b, which it resets
// first. Timestamps are read in precision p. maxBatch bounds the number of
// metrics produced; a non-positive maxBatch selects DefaultMaxBatch.
//
// The batch is accepted whole or rejected whole. On success b holds at least
// one metric; its byte slices are views into body and into d, valid until the
// next Decode on d and as long as body is neither modified nor released. On
// error b is empty and the error is one of:
//
//   - *LineError for the first malformed line;
//   - *DecodeError with Offset and Metric -1 (a batch-level rule, as the
//     JSON decoder reports it): "Batch size exceeds maximum (N metrics)"
//     when the body yields more than maxBatch metrics, "Batch cannot be
//     empty" when it yields none (empty body, or only comments, blank lines
//     and string fields).
//
// Error texts carry no input bytes and may be sent to the client.
func (d *LineProtocolDecoder) Decode(body []byte, p Precision, maxBatch int, b *Batch) error {
	b.Reset()
	d.scratch = d.scratch[:0]
	if maxBatch <= 0 {
		maxBatch = DefaultMaxBatch
	}
	if p > PrecisionH {
		return errLPPrecision
	}
	d.buf, d.pos, d.line = body, 0, 1
	err := d.decode(p, maxBatch, b)
	d.buf = nil
	if err == nil && len(b.Metrics) == 0 {
		err = lpErrEmptyBatch
	}
	if err != nil {
		b.Reset()
	}
	return err
}

// decode runs the line loop; each iteration starts at the beginning of a line.
func (d *LineProtocolDecoder) decode(p Precision, maxBatch int, b *Batch) error {
	buf := d.buf
	for d.pos < len(buf) {
		d.skipBlanks()
		if d.atEOL() {
			d.consumeEOL()
			continue
		}
		if buf[d.pos] == '#' {
			for d.pos < len(buf) && buf[d.pos] != '\n' {
				d.pos++
			}
			d.consumeEOL()
			continue
		}
		if err := d.parseLine(p, maxBatch, b); err != nil {
			return err
		}
	}
	return nil
}

// parseLine decodes one non-blank, non-comment line starting at d.pos and
// consumes its end of line.
func (d *LineProtocolDecoder) parseLine(p Precision, maxBatch int, b *Batch) error {
	measStart := d.pos
	meas, ok := d.token(lpKindMeasurement)
	if !ok {
		return d.fail(measStart, lpMsgMissingMeasurement)
	}
	tagStart := int32(len(b.Tags))
	if err := d.parseTags(b); err != nil {
		return err
	}
	firstMetric := len(b.Metrics)
	if err := d.parseFields(meas, tagStart, int32(len(b.Tags)), maxBatch, b); err != nil {
		return err
	}
	d.skipBlanks()
	if !d.atEOL() {
		ms, err := d.parseTimestamp(p)
		if err != nil {
			return err
		}
		for i := firstMetric; i < len(b.Metrics); i++ {
			b.Metrics[i].HasTimestamp = true
			b.Metrics[i].TimestampMs = ms
		}
	}
	d.consumeEOL()
	return nil
}

// parseTags reads the tag set, ",key=value" repeated, and the blanks that
// end it, appending to b.Tags.
func (d *LineProtocolDecoder) parseTags(b *Batch) error {
	buf := d.buf
	for d.pos < len(buf) && buf[d.pos] == ',' {
		d.pos++
		keyStart := d.pos
		key, ok := d.token(lpKindTagKey)
		if !ok {
			return d.fail(keyStart, lpMsgMissingTagKey)
		}
		if d.pos >= len(buf) || buf[d.pos] != '=' {
			return d.fail(d.pos, lpMsgMissingTagEquals)
		}
		d.pos++
		valStart := d.pos
		val, ok := d.token(lpKindTagValue)
		if !ok {
			return d.fail(valStart, lpMsgMissingTagValue)
		}
		appendTag(b, key, val)
	}
	if d.pos >= len(buf) || buf[d.pos] != ' ' {
		// Only a line end can stop a measurement or tag value here.
		return d.fail(d.pos, lpMsgMissingFields)
	}
	d.skipBlanks()
	if d.atEOL() {
		return d.fail(d.pos, lpMsgMissingFields)
	}
	return nil
}

// parseFields reads the field set, "key=value" separated by commas, and
// appends a metric for each numeric or boolean field; string fields are
// validated and skipped. The metrics share the tags b.Tags[tagStart:tagEnd].
func (d *LineProtocolDecoder) parseFields(meas []byte, tagStart, tagEnd int32, maxBatch int, b *Batch) error {
	buf := d.buf
	for {
		keyStart := d.pos
		keyRaw, keyEsc := d.scan(lpKindFieldKey)
		if len(keyRaw) == 0 {
			return d.fail(keyStart, lpMsgMissingFieldKey)
		}
		if d.pos >= len(buf) || buf[d.pos] != '=' {
			return d.fail(d.pos, lpMsgMissingFieldEquals)
		}
		d.pos++
		if d.pos < len(buf) && buf[d.pos] == '"' {
			if err := d.skipString(); err != nil {
				return err
			}
			if !d.atEOL() && buf[d.pos] != ',' && buf[d.pos] != ' ' && buf[d.pos] != '\t' {
				return d.fail(d.pos, lpMsgAfterString)
			}
		} else {
			v, text, err := d.parseFieldValue()
			if err != nil {
				return err
			}
			name := d.metricName(meas, keyRaw, keyEsc)
			if len(name) > MaxNameBytes {
				return d.fail(keyStart, lpMsgNameTooLong)
			}
			if len(b.Metrics) >= maxBatch {
				return lpBatchTooLarge(maxBatch)
			}
			b.Metrics = append(b.Metrics, Metric{
				Name: name, Value: v, ValueText: text, Type: Gauge,
				TagStart: tagStart, TagEnd: tagEnd,
			})
		}
		if d.pos >= len(buf) || buf[d.pos] != ',' {
			return nil
		}
		d.pos++
	}
}

// parseFieldValue reads a numeric or boolean field value at d.pos. text
// is the value as a JSON number for the storage line to copy (see
// Metric.ValueText), or nil when the value must be formatted: a boolean,
// text that JSON does not allow ("1.", ".5", "+1", "007i"), an integer
// written "-0", which JSON reads as -0 where the integer is 0, or text
// longer than maxValueText.
func (d *LineProtocolDecoder) parseFieldValue() (v float64, text []byte, err error) {
	buf := d.buf
	valStart := d.pos
	raw, _ := d.scan(lpKindFieldValue)
	if len(raw) == 0 {
		return 0, nil, d.fail(valStart, lpMsgMissingFieldValue)
	}
	if !d.atEOL() && buf[d.pos] != ',' && buf[d.pos] != ' ' && buf[d.pos] != '\t' {
		// A lone '\r' inside the value.
		return 0, nil, d.fail(valStart, lpMsgInvalidFieldValue)
	}
	v, msg := lpParseFieldValue(raw)
	if msg != "" {
		return 0, nil, d.fail(valStart, msg)
	}
	text = raw
	if c := raw[len(raw)-1]; c == 'i' || c == 'u' {
		text = raw[:len(raw)-1]
		if len(text) >= 2 && text[0] == '-' && text[1] == '0' {
			return v, nil, nil
		}
	}
	if len(text) > maxValueText || !isJSONNumber(text) {
		return v, nil, nil
	}
	return v, text, nil
}

// parseTimestamp reads the timestamp at d.pos, in precision p, and the
// blanks after it, and returns it in Unix milliseconds.
func (d *LineProtocolDecoder) parseTimestamp(p Precision) (int64, error) {
	buf := d.buf
	tsStart := d.pos
	raw, _ := d.scan(lpKindFieldValue)
	if len(raw) == 0 || (!d.atEOL() && buf[d.pos] != ' ' && buf[d.pos] != '\t') {
		return 0, d.fail(tsStart, lpMsgInvalidTimestamp)
	}
	ts, ok := lpParseInt(raw)
	if !ok {
		return 0, d.fail(tsStart, lpMsgInvalidTimestamp)
	}
	ms, ok := lpToMillis(ts, p)
	if !ok || ms < MinTimestampMs || ms > MaxTimestampMs {
		return 0, d.fail(tsStart, lpMsgTimestampRange)
	}
	d.skipBlanks()
	if !d.atEOL() {
		return 0, d.fail(d.pos, lpMsgAfterTimestamp)
	}
	return ms, nil
}

// fail returns the LineError for offset off on the current line.
func (d *LineProtocolDecoder) fail(off int, msg string) error {
	return &LineError{Line: d.line, Offset: off, Msg: msg}
}

// skipBlanks advances over spaces and tabs.
func (d *LineProtocolDecoder) skipBlanks() {
	for d.pos < len(d.buf) && (d.buf[d.pos] == ' ' || d.buf[d.pos] == '\t') {
		d.pos++
	}
}

// atEOL reports whether d.pos is at a line end: the end of the body, '\n',
// or a '\r' that is followed by '\n' or ends the body.
func (d *LineProtocolDecoder) atEOL() bool {
	buf, i := d.buf, d.pos
	if i >= len(buf) || buf[i] == '\n' {
		return true
	}
	return buf[i] == '\r' && (i+1 == len(buf) || buf[i+1] == '\n')
}

// consumeEOL advances past the line end at d.pos (see atEOL).
func (d *LineProtocolDecoder) consumeEOL() {
	if d.pos < len(d.buf) && d.buf[d.pos] == '\r' {
		d.pos++
	}
	if d.pos < len(d.buf) && d.buf[d.pos] == '\n' {
		d.pos++
		d.line++
	}
}

// scan advances over a token of the given kind and returns its raw bytes
// and whether it holds escapes. It stops at the first unescaped stop byte;
// a '\r' stops it only where it starts a line end.
func (d *LineProtocolDecoder) scan(kind uint8) (raw []byte, escaped bool) {
	buf, i := d.buf, d.pos
	start := i
	for {
		// Fast path: ordinary bytes.
		for i < len(buf) && lpSpecial[buf[i]]&kind == 0 {
			i++
		}
		if i >= len(buf) {
			break
		}
		c := buf[i]
		if c == '\\' {
			if i+1 < len(buf) && lpEscapable[buf[i+1]]&kind != 0 {
				escaped = true
				i += 2
			} else {
				i++
			}
			continue
		}
		if c == '\r' && i+1 < len(buf) && buf[i+1] != '\n' {
			i++ // a lone '\r' is an ordinary byte
			continue
		}
		break
	}
	d.pos = i
	return buf[start:i], escaped
}

// token scans a name token (measurement, tag key or value) and returns it
// unescaped: a view into the body, or into scratch when it held escapes. ok
// is false when the token is empty.
func (d *LineProtocolDecoder) token(kind uint8) (tok []byte, ok bool) {
	raw, esc := d.scan(kind)
	if len(raw) == 0 {
		return nil, false
	}
	if !esc {
		return raw, true
	}
	start := len(d.scratch)
	d.scratch = lpAppendUnescaped(d.scratch, raw, kind)
	return d.scratch[start:len(d.scratch):len(d.scratch)], true
}

// metricName returns the name of the metric for field keyRaw of measurement
// meas: meas itself for the field "value", else meas + "_" + key built in
// scratch.
func (d *LineProtocolDecoder) metricName(meas, keyRaw []byte, keyEsc bool) []byte {
	if !keyEsc && string(keyRaw) == "value" {
		return meas
	}
	start := len(d.scratch)
	d.scratch = append(d.scratch, meas...)
	d.scratch = append(d.scratch, '_')
	if keyEsc {
		d.scratch = lpAppendUnescaped(d.scratch, keyRaw, lpKindFieldKey)
	} else {
		d.scratch = append(d.scratch, keyRaw...)
	}
	return d.scratch[start:len(d.scratch):len(d.scratch)]
}

// lpAppendUnescaped appends raw to dst with the escapes of kind resolved.
func lpAppendUnescaped(dst, raw []byte, kind uint8) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '\\' && i+1 < len(raw) && lpEscapable[raw[i+1]]&kind != 0 {
			i++
			c = raw[i]
		}
		dst = append(dst, c)
	}
	return dst
}

// skipString advances over the quoted string field value at d.pos, counting
// the newlines it holds. Only \" and \\ are escapes; any other backslash is
// literal.
func (d *LineProtocolDecoder) skipString() error {
	buf := d.buf
	start, startLine := d.pos, d.line
	i := start + 1
	for i < len(buf) {
		switch buf[i] {
		case '"':
			d.pos = i + 1
			return nil
		case '\\':
			if i+1 < len(buf) && (buf[i+1] == '"' || buf[i+1] == '\\') {
				i++
			}
		case '\n':
			d.line++
		}
		i++
	}
	d.line = startLine
	return d.fail(start, lpMsgUnterminatedString)
}

// lpParseFieldValue parses an unquoted field value: float, integer (i),
// unsigned (u) or boolean. msg is empty on success, else the LineError text.
func lpParseFieldValue(raw []byte) (v float64, msg string) {
	switch raw[0] {
	case 't', 'T', 'f', 'F':
		switch string(raw) {
		case "t", "T", "true", "True", "TRUE":
			return 1, ""
		case "f", "F", "false", "False", "FALSE":
			return 0, ""
		}
		return 0, lpMsgInvalidFieldValue
	}
	switch raw[len(raw)-1] {
	case 'i':
		n, ok := lpParseInt(raw[:len(raw)-1])
		if !ok {
			if lpAllDigits(lpTrimMinus(raw[:len(raw)-1])) {
				return 0, lpMsgIntRange
			}
			return 0, lpMsgInvalidFieldValue
		}
		return float64(n), ""
	case 'u':
		n, ok := lpParseUint(raw[:len(raw)-1])
		if !ok {
			if lpAllDigits(raw[:len(raw)-1]) {
				return 0, lpMsgUintRange
			}
			return 0, lpMsgInvalidFieldValue
		}
		return float64(n), ""
	}
	if !lpIsFloat(raw) {
		return 0, lpMsgInvalidFieldValue
	}
	if f, ok := lpFloatExact(raw); ok {
		return f, ""
	}
	f, err := strconv.ParseFloat(bytesView(raw), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, lpMsgFloatRange
	}
	return f, ""
}

// lpIsFloat reports whether b is a decimal float in the line-protocol
// grammar: [-] digits [. digits] [(e|E) [+|-] digits], with at least one
// mantissa digit on either side of the point. It rules out everything else
// strconv.ParseFloat would accept (inf, nan, hex, underscores, a leading +).
func lpIsFloat(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
		digits++
	}
	if i < len(b) && b[i] == '.' {
		i++
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		exp := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == exp {
			return false
		}
	}
	return i == len(b)
}

// lpPow10 holds the powers of ten that a float64 represents exactly.
var lpPow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// lpFloatExact is the fast path for the common shapes "123" and "-12.75",
// already validated by lpIsFloat. When the digits form an integer below
// 2^53 and there are at most 22 fraction digits, both operands of the
// division are exact float64s, so IEEE division rounds the quotient
// correctly, just as strconv.ParseFloat would. ok is false for anything else
// (exponents, long mantissas), which goes to strconv.
func lpFloatExact(b []byte) (f float64, ok bool) {
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) > 16 { // up to 15 digits and a point: below 2^53
		return 0, false
	}
	var mant uint64
	frac := -1
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
			mant = mant*10 + uint64(c-'0')
		case c == '.':
			frac = len(b) - i - 1
		default:
			return 0, false // exponent
		}
	}
	f = float64(mant)
	if frac > 0 {
		f /= lpPow10[frac]
	}
	if neg {
		f = -f
	}
	return f, true
}

// lpParseInt parses [-]digits into an int64; ok is false on bad syntax or
// overflow.
func lpParseInt(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	u, ok := lpParseUint(b)
	if !ok {
		return 0, false
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true // -(1<<63) wraps to itself, as wanted
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// lpParseUint parses digits (at least one, no sign) into a uint64; ok is
// false on bad syntax or overflow.
func lpParseUint(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	if len(b) <= 19 { // fast path: 19 digits cannot overflow a uint64
		for len(b) >= 8 {
			x := binary.LittleEndian.Uint64(b)
			if !eightDigits(x) {
				return 0, false
			}
			n = n*1e8 + eightDigitsValue(x)
			b = b[8:]
		}
		for _, c := range b {
			c -= '0'
			if c > 9 {
				return 0, false
			}
			n = n*10 + uint64(c)
		}
		return n, true
	}
	for _, c := range b {
		c -= '0'
		if c > 9 {
			return 0, false
		}
		if n > (math.MaxUint64-uint64(c))/10 {
			return 0, false
		}
		n = n*10 + uint64(c)
	}
	return n, true
}

func lpTrimMinus(b []byte) []byte {
	if len(b) > 0 && b[0] == '-' {
		return b[1:]
	}
	return b
}

func lpAllDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// lpToMillis converts timestamp ts in precision p to Unix milliseconds,
// rounding toward negative infinity; ok is false when the result does not
// fit an int64 or p is unknown.
func lpToMillis(ts int64, p Precision) (int64, bool) {
	var mul int64
	switch p {
	case PrecisionNS:
		return lpFloorDiv(ts, 1_000_000), true
	case PrecisionUS:
		return lpFloorDiv(ts, 1_000), true
	case PrecisionMS:
		return ts, true
	case PrecisionS:
		mul = 1_000
	case PrecisionM:
		mul = 60_000
	case PrecisionH:
		mul = 3_600_000
	default:
		return 0, false
	}
	if ts > math.MaxInt64/mul || ts < math.MinInt64/mul {
		return 0, false
	}
	return ts * mul, true
}

// lpFloorDiv returns a/b rounded toward negative infinity, for b > 0.
func lpFloorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

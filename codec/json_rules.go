package codec

import (
	"encoding/binary"
	"math"
	"strconv"
)

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
		case d.decodeMetricFast():
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

// The fields of a metric, in the order their rules are checked.
const (
	fieldName = iota
	fieldValue
	fieldType
	fieldTags
	fieldTimestamp
	numFields
)

// missingMsg is the rule a missing field breaks; "" for optional fields.
var missingMsg = [numFields]string{fieldName: msgNameMissing, fieldValue: msgValueMissing}

// fieldOutcome is what the last occurrence of one field of a metric gave.
type fieldOutcome struct {
	state uint8
	off   int    // where the field's value starts
	msg   string // why, when state is fieldBad
}

func (f *fieldOutcome) bad(msg string) { f.state, f.msg = fieldBad, msg }

// metricFields collects the outcomes of the fields of one metric.
type metricFields [numFields]fieldOutcome

// at starts a new occurrence of field k, whose value is at off.
func (f *metricFields) at(k, off int) *fieldOutcome {
	f[k] = fieldOutcome{off: off}
	return &f[k]
}

// decodeMetric decodes the metric object at d.pos (a '{') as metric i and
// appends it to the batch, or records why it breaks the rules.
func (d *JSONDecoder) decodeMetric(i int) bool {
	start := d.pos
	d.pos++
	// The metric is decoded in place and dropped again if it breaks a rule.
	d.b.Metrics = append(d.b.Metrics, Metric{TagStart: int32(len(d.b.Tags))})
	m := &d.b.Metrics[len(d.b.Metrics)-1]
	var f metricFields
	for first := true; ; first = false {
		k, empty, ok := d.metricKey(first)
		if !ok {
			return false
		}
		if empty {
			break
		}
		if d.pos >= len(d.buf) {
			return d.syntax(d.pos, msgEOF)
		}
		switch off := d.pos; k {
		case fieldName:
			ok = d.metricName(m, f.at(fieldName, off))
		case fieldValue:
			ok = d.metricValue(m, f.at(fieldValue, off))
		case fieldType:
			ok = d.metricType(m, f.at(fieldType, off))
		case fieldTags:
			d.b.Tags = d.b.Tags[:m.TagStart] // last wins
			m.TagsText = nil
			ok = d.metricTags(m, f.at(fieldTags, off))
		case fieldTimestamp:
			ok = d.metricTimestamp(m, f.at(fieldTimestamp, off))
		default:
			ok = d.skipValue(3)
		}
		if !ok {
			return false
		}
		if d.pos < len(d.buf) && d.buf[d.pos] == ',' {
			d.pos++ // compact JSON: the next member follows
			continue
		}
		last, ok := d.memberEnd()
		if !ok {
			return false
		}
		if last {
			break
		}
	}
	m.TagEnd = int32(len(d.b.Tags))
	for k := range f {
		switch {
		case f[k].state == fieldBad:
			d.breakRule(f[k].off, i, f[k].msg)
		case f[k].state == fieldMissing && missingMsg[k] != "":
			d.breakRule(start, i, missingMsg[k])
		default:
			continue
		}
		*m = Metric{}
		d.b.Metrics = d.b.Metrics[:len(d.b.Metrics)-1]
		return true
	}
	return true
}

// metricKey reads the key of the next member of a metric object and the
// ':' after it, as memberKey does, and returns which field it names, or
// -1 for a key the batch rules ignore.
func (d *JSONDecoder) metricKey(first bool) (field int, empty, ok bool) {
	d.ws()
	if k, n := knownKey(d.buf, d.pos); n > 0 {
		if p := d.pos + n; p < len(d.buf) && d.buf[p] == ':' {
			d.pos = p + 1 // compact JSON: the ':' right after the key
			d.ws()
			return k, false, true
		}
		d.pos += n
		return k, false, d.colon()
	}
	mark := len(d.scratch)
	key, empty, ok := d.memberKey(first)
	// The key is compared before the value can overwrite its scratch.
	d.scratch = d.scratch[:mark]
	if !ok || empty {
		return -1, empty, ok
	}
	switch string(key) {
	case "name":
		return fieldName, false, true
	case "value":
		return fieldValue, false, true
	case "type":
		return fieldType, false, true
	case "tags":
		return fieldTags, false, true
	case "timestamp":
		return fieldTimestamp, false, true
	}
	return -1, false, true
}

// Little-endian images of the field keys as a body writes them without
// escapes, quotes included, for knownKey (TestRawKeys checks them).
const (
	rawName    = 0x22656d616e22     // "name"
	rawValue   = 0x2265756c617622   // "value"
	rawType    = 0x226570797422     // "type"
	rawTags    = 0x227367617422     // "tags"
	rawTimesta = 0x617473656d697422 // "timesta
	rawMP      = 0x22706d           // mp"
	rawMask6   = 1<<48 - 1
	rawMask7   = 1<<56 - 1
	// rawKeyBytes is the length of the longest key, "timestamp" quoted.
	rawKeyBytes = 11
)

// knownKey is the fast path of metricKey: when buf[pos:] starts with one
// of the field keys written plainly, it returns the field and the length
// of the key with its quotes; else n is 0. A key written so holds exactly
// those bytes, so the match is exact; anything else (escapes, other keys)
// takes the general path.
func knownKey(buf []byte, pos int) (field, n int) {
	if pos < 0 || pos+rawKeyBytes > len(buf) {
		return 0, 0
	}
	x := binary.LittleEndian.Uint64(buf[pos:])
	switch {
	case x&rawMask6 == rawName:
		return fieldName, 6
	case x&rawMask7 == rawValue:
		return fieldValue, 7
	case x&rawMask6 == rawType:
		return fieldType, 6
	case x&rawMask6 == rawTags:
		return fieldTags, 6
	case x == rawTimesta && binary.LittleEndian.Uint32(buf[pos+7:])>>8 == rawMP:
		return fieldTimestamp, 11
	}
	return 0, 0
}

// Little-endian images of the first eight bytes of the type names as a
// body writes them without escapes, quotes included, for knownType.
const (
	rawGauge    = 0x22656775616722   // "gauge"
	rawCounter  = 0x7265746e756f6322 // "counter
	rawHistogr  = 0x72676f7473696822 // "histogr
	rawSummary  = 0x7972616d6d757322 // "summary
	rawTypeLong = len(`"histogram"`)
)

// knownType is the fast path of metricType: when buf[pos:] starts with a
// type name written plainly, it returns the type and the length of the
// name with its quotes; else n is 0.
func knownType(buf []byte, pos int) (t MetricType, n int) {
	if pos < 0 || pos+rawTypeLong > len(buf) {
		return 0, 0
	}
	x := binary.LittleEndian.Uint64(buf[pos:])
	switch {
	case x&rawMask7 == rawGauge:
		return Gauge, 7
	case x == rawCounter && buf[pos+8] == '"':
		return Counter, 9
	case x == rawSummary && buf[pos+8] == '"':
		return Summary, 9
	case x == rawHistogr && buf[pos+8] == 'a' && buf[pos+9] == 'm' && buf[pos+10] == '"':
		return Histogram, 11
	}
	return 0, 0
}

// metricName reads the value of "name": a string of 1 to MaxNameBytes.
func (d *JSONDecoder) metricName(m *Metric, f *fieldOutcome) bool {
	if d.buf[d.pos] != '"' {
		f.bad(msgNameString)
		return d.skipValue(3)
	}
	var ok bool
	if m.Name, ok = d.readString(); !ok {
		return false
	}
	switch {
	case len(m.Name) == 0:
		f.bad(msgNameEmpty)
	case len(m.Name) > MaxNameBytes:
		f.bad(msgNameLong)
	default:
		f.state = fieldOK
	}
	return true
}

// metricValue reads the value of "value": a finite number.
func (d *JSONDecoder) metricValue(m *Metric, f *fieldOutcome) bool {
	if c := d.buf[d.pos]; c != '-' && (c < '0' || c > '9') {
		f.bad(msgValueNumber)
		return d.skipValue(3)
	}
	var n number
	if !d.scanNumber(&n) {
		return false
	}
	v, finite := n.float()
	if !finite {
		f.bad(msgValueFinite)
		return true
	}
	m.Value, m.ValueText, f.state = v, nil, fieldOK
	if n.canonical(v) {
		m.ValueText = n.text
	}
	return true
}

// metricType reads the value of "type": a known type name, or null for
// the default.
func (d *JSONDecoder) metricType(m *Metric, f *fieldOutcome) bool {
	if t, n := knownType(d.buf, d.pos); n > 0 {
		d.pos += n
		m.Type, f.state = t, fieldOK
		return true
	}
	switch d.buf[d.pos] {
	case '"':
		mark := len(d.scratch)
		s, ok := d.readString()
		if !ok {
			return false
		}
		t, known := ParseMetricType(s)
		d.scratch = d.scratch[:mark]
		if !known {
			f.bad(msgType)
			return true
		}
		m.Type, f.state = t, fieldOK
		return true
	case 'n':
		m.Type = Gauge
		return d.literal("null")
	}
	f.bad(msgType)
	return d.skipValue(3)
}

// metricTags reads the value of "tags": an object of strings, or null for
// none.
func (d *JSONDecoder) metricTags(m *Metric, f *fieldOutcome) bool {
	switch d.buf[d.pos] {
	case '{':
		return d.decodeTags(m, f)
	case 'n':
		return d.literal("null")
	}
	f.bad(msgTagsObject)
	return d.skipValue(3)
}

// metricTimestamp reads the value of "timestamp": integer Unix
// milliseconds or an RFC 3339 string within the storable years, or null
// for the receive time.
func (d *JSONDecoder) metricTimestamp(m *Metric, f *fieldOutcome) bool {
	m.HasTimestamp = false
	var ms int64
	var valid bool
	switch c := d.buf[d.pos]; {
	case c == '"':
		mark := len(d.scratch)
		s, ok := d.readString()
		if !ok {
			return false
		}
		ms, valid = parseRFC3339(s)
		d.scratch = d.scratch[:mark]
	case c == '-' || (c >= '0' && c <= '9'):
		var n number
		if !d.scanNumber(&n) {
			return false
		}
		ms, valid = n.ms()
	case c == 'n':
		return d.literal("null")
	default:
		f.bad(msgTimestamp)
		return d.skipValue(3)
	}
	switch {
	case !valid:
		f.bad(msgTimestamp)
	case ms < MinTimestampMs || ms > MaxTimestampMs:
		f.bad(msgTimestampRange)
	default:
		f.state = fieldOK
		m.TimestampMs, m.HasTimestamp = ms, true
	}
	return true
}

// decodeTags decodes the tags object at d.pos (a '{'), appending to
// d.b.Tags. When every member is a plain pair (see plainPair) with a key
// of its own and the object holds nothing else, not even whitespace, its
// text is what the line encoder writes, and m.TagsText is set to it.
func (d *JSONDecoder) decodeTags(m *Metric, f *fieldOutcome) bool {
	tagStart := len(d.b.Tags)
	d.tags.reset()
	f.state = fieldOK
	open := d.pos
	d.pos++
	// verbatim counts the bytes of the plain pairs and the commas between
	// them; it goes negative for good once a member is anything else.
	verbatim := -1
	for first := true; ; first = false {
		d.ws()
		if key, val, plain := d.plainPair(); plain {
			if f.state == fieldOK && !d.tags.put(d.b, tagStart, key, val) {
				verbatim = math.MinInt
			}
			verbatim += len(key) + len(val) + len(`"":"",`)
		} else if empty, ok := d.decodeTag(first, f, tagStart); !ok || empty {
			return ok
		} else {
			verbatim = math.MinInt
		}
		if d.pos < len(d.buf) && d.buf[d.pos] == ',' {
			d.pos++ // compact JSON: the next member follows
			continue
		}
		last, ok := d.memberEnd()
		if !ok || last {
			if ok && f.state == fieldOK && verbatim == d.pos-open-2 {
				m.TagsText = d.buf[open+1 : d.pos-1 : d.pos-1]
			}
			return ok
		}
	}
}

// decodeTag decodes one member of a tags object on the general path: any
// key, any value. empty reports the '}' of an empty object.
func (d *JSONDecoder) decodeTag(first bool, f *fieldOutcome, tagStart int) (empty, ok bool) {
	key, empty, ok := d.memberKey(first)
	if !ok || empty {
		return empty, ok
	}
	if d.pos >= len(d.buf) {
		return false, d.syntax(d.pos, msgEOF)
	}
	if f.state == fieldOK && d.buf[d.pos] == '"' {
		val, ok := d.readString()
		if ok {
			d.tags.put(d.b, tagStart, key, val)
		}
		return false, ok
	}
	if f.state == fieldOK {
		f.state, f.msg, f.off = fieldBad, msgTagValue, d.pos
	}
	return false, d.skipValue(4)
}

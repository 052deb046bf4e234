package codec

import (
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

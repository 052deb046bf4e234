package codec

// The fast path of a metric. Most clients write every metric the same way:
// compact, the fields in the order of SPEC §5 and each in its plainest
// form, as in
//
//	{"name":"cpu_usage","value":75.5,"type":"gauge","tags":{"host":"server1"},"timestamp":1764172800123}
//
// decodeMetricFast reads exactly that shape (type, tags and timestamp may
// be left out) in one pass with the position in a local, without the
// per-field bookkeeping that duplicate keys, whitespace and rule errors
// need. Whatever it does not recognise sends the metric back to
// decodeMetric, which decodes it from its '{' again; so the fast path
// accepts only metrics that decodeMetric would accept with the same
// result, and a body it does not fit costs at most one partial extra pass
// per metric.

// decodeMetricFast decodes the metric object at d.pos (a '{') if it has the
// shape described above and obeys every batch rule: it appends the metric,
// moves d.pos past the '}' and reports true. Otherwise it reports false
// and leaves the batch and d.pos as they were (d.fail may hold an error
// that decodeMetric will find again).
func (d *JSONDecoder) decodeMetricFast() bool {
	buf, start := d.buf, d.pos
	p, b := start+1, d.b
	tagStart := len(b.Tags)
	b.Metrics = append(b.Metrics, Metric{TagStart: int32(tagStart), TagEnd: int32(tagStart)})
	m := &b.Metrics[len(b.Metrics)-1]
	ok := false
	if p, ok = fastName(buf, p, m); ok {
		p, ok = d.fastValue(p, m)
	}
	if ok && expectKey(buf, p, fieldType) {
		if t, n := knownType(buf, p+len(`,"type":`)); n > 0 {
			m.Type = t
			p += len(`,"type":`) + n
		} else {
			ok = false
		}
	}
	if ok && expectKey(buf, p, fieldTags) {
		p, ok = d.fastTags(p+len(`,"tags":`), m)
	}
	if ok && expectKey(buf, p, fieldTimestamp) {
		p, ok = d.fastTimestamp(p+len(`,"timestamp":`), m)
	}
	if ok && p < len(buf) && buf[p] == '}' {
		d.pos = p + 1
		return true
	}
	*m = Metric{}
	b.Metrics = b.Metrics[:len(b.Metrics)-1]
	clear(b.Tags[tagStart:])
	b.Tags = b.Tags[:tagStart]
	d.pos = start
	return false
}

// keyLen holds the length of each field's key with its quotes.
var keyLen = [numFields]int{
	fieldName:      len(`"name"`),
	fieldValue:     len(`"value"`),
	fieldType:      len(`"type"`),
	fieldTags:      len(`"tags"`),
	fieldTimestamp: len(`"timestamp"`),
}

// expectKey reports whether buf[p:] starts with ',', the key of field k
// written plainly, and ':'.
func expectKey(buf []byte, p, k int) bool {
	if p >= len(buf) || buf[p] != ',' {
		return false
	}
	f, n := knownKey(buf, p+1)
	return n > 0 && f == k && p+1+n < len(buf) && buf[p+1+n] == ':'
}

// fastName reads `"name":"…"` at buf[p:], a plain name of 1 to MaxNameBytes,
// into m and returns the offset after it.
func fastName(buf []byte, p int, m *Metric) (int, bool) {
	f, n := knownKey(buf, p)
	start := p + n + 2 // after `"name":"`
	if n == 0 || f != fieldName || start > len(buf) || buf[start-2] != ':' || buf[start-1] != '"' {
		return p, false
	}
	end := skipPlain(buf, start)
	if end >= len(buf) || buf[end] != '"' || end == start || end-start > MaxNameBytes {
		return p, false
	}
	m.Name = buf[start:end:end]
	return end + 1, true
}

// fastValue reads `,"value":` and a finite number at buf[p:] into m and
// returns the offset after it.
func (d *JSONDecoder) fastValue(p int, m *Metric) (int, bool) {
	buf := d.buf
	if !expectKey(buf, p, fieldValue) {
		return p, false
	}
	p += len(`,"value":`)
	if p >= len(buf) || (buf[p] != '-' && (buf[p] < '0' || buf[p] > '9')) {
		return p, false
	}
	var n number
	d.pos = p
	if !d.scanNumber(&n) {
		return p, false
	}
	v, finite := n.float()
	if !finite {
		return p, false
	}
	m.Value = v
	if n.canonical(v) {
		m.ValueText = n.text
	}
	return d.pos, true
}

// fastTags reads a tags object of plain pairs at buf[p:], compact and
// without a repeated key, into the batch and returns the offset after it.
func (d *JSONDecoder) fastTags(p int, m *Metric) (int, bool) {
	buf := d.buf
	if p >= len(buf) || buf[p] != '{' {
		return p, false
	}
	open := p
	p++
	if p < len(buf) && buf[p] == '}' {
		return p + 1, true
	}
	tagStart := int(m.TagStart)
	d.tags.reset()
	for {
		d.pos = p
		key, val, plain := d.plainPair()
		if !plain || !d.tags.put(d.b, tagStart, key, val) {
			return p, false
		}
		p = d.pos
		if p >= len(buf) {
			return p, false
		}
		if buf[p] == '}' {
			m.TagEnd = int32(len(d.b.Tags))
			m.TagsText = buf[open+1 : p : p]
			return p + 1, true
		}
		if buf[p] != ',' {
			return p, false
		}
		p++
	}
}

// fastTimestamp reads integer Unix milliseconds within the storable years
// at buf[p:] into m and returns the offset after them.
func (d *JSONDecoder) fastTimestamp(p int, m *Metric) (int, bool) {
	buf := d.buf
	if p >= len(buf) || (buf[p] != '-' && (buf[p] < '0' || buf[p] > '9')) {
		return p, false
	}
	var n number
	d.pos = p
	if !d.scanNumber(&n) {
		return p, false
	}
	ms, valid := n.ms()
	if !valid || ms < MinTimestampMs || ms > MaxTimestampMs {
		return p, false
	}
	m.TimestampMs, m.HasTimestamp = ms, true
	return d.pos, true
}

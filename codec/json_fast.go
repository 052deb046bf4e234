package codec

import "encoding/binary"

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
	// The name first: a body that does not fit (escaped names) most often
	// shows it there, before the metric is appended.
	name, p, ok := fastName(buf, start)
	if !ok {
		return false
	}
	b := d.b
	tagStart := len(b.Tags)
	b.Metrics = append(b.Metrics, Metric{TagStart: int32(tagStart), TagEnd: int32(tagStart)})
	m := &b.Metrics[len(b.Metrics)-1]
	m.Name, m.NamePlain = name, true
	p, ok = d.fastValue(p, m)
	if ok && hasImage(buf, p, rawNextType) {
		if t, n := knownType(buf, p+len(`,"type":`)); n > 0 {
			m.Type = t
			p += len(`,"type":`) + n
		} else {
			ok = false
		}
	}
	if ok && hasImage(buf, p, rawNextTags) {
		p, ok = d.fastTags(p+len(`,"tags":`), m)
	}
	if ok && hasImage(buf, p, rawNextTimes) && hasImage(buf, p+5, rawEstamp) {
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

// Little-endian images of the eight bytes that start (or, for the
// timestamp, also end) each member of the fast path's shape, for
// hasImage; TestRawKeys checks them.
const (
	rawOpenName  = 0x3a22656d616e227b // {"name":
	rawNextValue = 0x2265756c6176222c // ,"value" (then ':')
	rawNextType  = 0x3a2265707974222c // ,"type":
	rawNextTags  = 0x3a2273676174222c // ,"tags":
	rawNextTimes = 0x7473656d6974222c // ,"timest
	rawEstamp    = 0x3a22706d61747365 // estamp":, the last eight bytes of ,"timestamp":
)

// hasImage reports whether the eight bytes at buf[p:] are those of image.
func hasImage(buf []byte, p int, image uint64) bool {
	return p >= 0 && p+8 <= len(buf) && binary.LittleEndian.Uint64(buf[p:]) == image
}

// fastName reads `{"name":"…"` at buf[p:], a plain name of 1 to
// MaxNameBytes, and returns it and the offset after it.
func fastName(buf []byte, p int) (name []byte, next int, ok bool) {
	start := p + len(`{"name":"`)
	if !hasImage(buf, p, rawOpenName) || start > len(buf) || buf[start-1] != '"' {
		return nil, p, false
	}
	end := skipPlain(buf, start)
	if end >= len(buf) || buf[end] != '"' || end == start || end-start > MaxNameBytes {
		return nil, p, false
	}
	return buf[start:end:end], end + 1, true
}

// fastValue reads `,"value":` and a finite number at buf[p:] into m and
// returns the offset after it.
func (d *JSONDecoder) fastValue(p int, m *Metric) (int, bool) {
	buf := d.buf
	if !hasImage(buf, p, rawNextValue) || p+8 >= len(buf) || buf[p+8] != ':' {
		return p, false
	}
	p += len(`,"value":`)
	if p >= len(buf) || (buf[p] != '-' && (buf[p] < '0' || buf[p] > '9')) {
		return p, false
	}
	var n number
	end, ok := plainDecimal(buf, p, &n)
	if !ok {
		d.pos = p
		if !d.scanNumber(&n) {
			return p, false
		}
		end = d.pos
	}
	v, finite := n.float()
	if !finite {
		return p, false
	}
	m.Value = v
	if n.canonical(v) {
		m.ValueText = n.text
	}
	return end, true
}

// plainDecimal is the fast path of scanNumber for the common value: a
// JSON number -?(0|[1-9][0-9]*)(\.[0-9]+)? with at most 7 digits before
// and after the '.', each part read as one eight-byte word, when the body
// has room for both words. It fills n as scanNumber does and returns the
// offset after the number; ok is false for anything else (an exponent,
// more digits, less room), which scanNumber then reads.
func plainDecimal(buf []byte, p int, n *number) (end int, ok bool) {
	i := p
	if i < len(buf) && buf[i] == '-' {
		n.neg = true
		i++
	}
	if i < 0 || i+16 > len(buf) { // both words and the byte after the number

		return p, false
	}
	x := binary.LittleEndian.Uint64(buf[i:])
	k := leadingDigits(x)
	if k == 0 || k == 8 || (k > 1 && buf[i] == '0') {
		return p, false
	}
	n.mant, n.digits = digitsValue(x, k), k
	if i += k; buf[i] == '.' {
		y := binary.LittleEndian.Uint64(buf[i+1:])
		f := leadingDigits(y)
		if f == 0 || f == 8 {
			return p, false
		}
		n.mant = n.mant*uint64pow10[f] + digitsValue(y, f)
		n.digits += f
		n.frac, n.dot = f, true
		i += 1 + f
	}
	if buf[i] == 'e' || buf[i] == 'E' {
		return p, false
	}
	n.text = buf[p:i]
	return i, true
}

// fastTags reads a tags object of fewer than linearTags plain pairs at
// buf[p:], compact and without a repeated key, into the batch and returns
// the offset after it. More tags go to the general path, whose tagSet
// keeps the duplicate search linear.
func (d *JSONDecoder) fastTags(p int, m *Metric) (int, bool) {
	buf, b := d.buf, d.b
	if p+1 >= len(buf) || buf[p] != '{' {
		return p, false
	}
	open := p
	if buf[p+1] == '}' {
		return p + 2, true
	}
	for p++; ; p++ {
		key, val, next, plain := plainPairAt(buf, p)
		if !plain || next >= len(buf) || len(b.Tags)-int(m.TagStart) >= linearTags-1 {
			return p, false
		}
		for _, t := range b.Tags[m.TagStart:] {
			if string(t.Key) == string(key) {
				return p, false
			}
		}
		appendTag(b, key, val)
		if p = next; buf[p] == '}' {
			m.TagEnd = int32(len(b.Tags))
			m.TagsText = buf[open+1 : p : p]
			return p + 1, true
		}
		if buf[p] != ',' {
			return p, false
		}
	}
}

// plainPairAt is plainPair at buf[p:] without the decoder: it returns the
// two views and the offset after the pair, or plain false.
func plainPairAt(buf []byte, p int) (key, val []byte, next int, plain bool) {
	if p >= len(buf) || buf[p] != '"' {
		return nil, nil, p, false
	}
	k := skipPlain(buf, p+1)
	if k+2 >= len(buf) || buf[k] != '"' || buf[k+1] != ':' || buf[k+2] != '"' {
		return nil, nil, p, false
	}
	v := skipPlain(buf, k+3)
	if v >= len(buf) || buf[v] != '"' {
		return nil, nil, p, false
	}
	return buf[p+1 : k : k], buf[k+3 : v : v], v + 1, true
}

// fastTimestamp reads integer Unix milliseconds within the storable years
// at buf[p:] into m and returns the offset after them.
func (d *JSONDecoder) fastTimestamp(p int, m *Metric) (int, bool) {
	buf := d.buf
	ms, end, ok := positiveMs(buf, p)
	if !ok {
		if p >= len(buf) || (buf[p] != '-' && (buf[p] < '0' || buf[p] > '9')) {
			return p, false
		}
		var n number
		d.pos = p
		if !d.scanNumber(&n) {
			return p, false
		}
		ms, ok = n.ms()
		end = d.pos
	}
	if !ok || ms < MinTimestampMs || ms > MaxTimestampMs {
		return p, false
	}
	m.TimestampMs, m.HasTimestamp = ms, true
	return end, true
}

// positiveMs is the fast path of fastTimestamp: a JSON integer of 1 to 15
// digits at buf[p:], not followed by a fraction or exponent, read as two
// eight-byte words when the body has room for both. ok is false for
// anything else (a '-', a leading zero, more digits, less room), which
// scanNumber then reads.
func positiveMs(buf []byte, p int) (ms int64, end int, ok bool) {
	if p < 0 || p+16 > len(buf) || buf[p] == '0' {
		return 0, p, false
	}
	x := binary.LittleEndian.Uint64(buf[p:])
	k := leadingDigits(x)
	v := digitsValue(x, k)
	end = p + k
	if k == 8 {
		y := binary.LittleEndian.Uint64(buf[end:])
		k2 := leadingDigits(y)
		if k2 == 8 {
			return 0, p, false
		}
		v = v*uint64pow10[k2] + digitsValue(y, k2)
		end += k2
	}
	if k == 0 || end >= len(buf) || buf[end] == '.' || buf[end] == 'e' || buf[end] == 'E' {
		return 0, p, false
	}
	return int64(v), end, true
}

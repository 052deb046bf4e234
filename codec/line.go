package codec

import (
	"encoding/binary"
	"slices"
	"unicode/utf8"
)

// The storage line (SPEC §9) is one JSON object per metric, fields in this
// fixed order, ending in '\n':
//
//	{"timestamp":"2026-11-26T17:20:06.123Z","client":"client-1","name":"cpu_usage","value":75.5,"type":"gauge","tags":{"host":"server1"}}
//
// Every string goes through AppendJSONString, so whatever bytes a name,
// tag or client id holds, the line is valid JSON and contains no raw
// newline. The encoders append to dst and allocate only when dst must grow.

// AppendBatch appends the storage lines of every metric of b, in order.
// It is AppendLine for each metric, but shares work between the lines:
// the client id is escaped once, and the timestamp text is reused within
// a millisecond and its date within a day.
func AppendBatch(dst []byte, b *Batch, client []byte, receivedMs int64) []byte {
	var ts timestampCache
	// Every line holds the same text from the end of the timestamp to the
	// name: the first line writes it, the others copy it from there.
	shared, sharedEnd := 0, 0
	for i := range b.Metrics {
		m := &b.Metrics[i]
		ms := receivedMs
		if m.HasTimestamp {
			ms = m.TimestampMs
		}
		dst = append(dst, ts.lineHead(ms)...)
		if i == 0 {
			shared = len(dst)
			dst = appendClient(dst, client)
			sharedEnd = len(dst)
		} else {
			dst = append(dst, dst[shared:sharedEnd]...)
		}
		dst = appendMetric(dst, m, b.Tags[m.TagStart:m.TagEnd])
	}
	return dst
}

// AppendLine appends the storage line of m, with its tags, including the
// trailing '\n'. The timestamp is m.TimestampMs when m.HasTimestamp, else
// receivedMs, clamped by AppendTimestamp. The value is m.ValueText when
// set, else m.Value formatted as encoding/json formats it; a non-finite
// value, which no decoder of this package produces, is written as null so
// that the line stays valid JSON. The tags are m.TagsText when set, else
// tags. A name marked m.NamePlain is copied without escaping.
func AppendLine(dst []byte, m *Metric, tags []Tag, client []byte, receivedMs int64) []byte {
	ms := receivedMs
	if m.HasTimestamp {
		ms = m.TimestampMs
	}
	var ts timestampCache
	dst = append(dst, ts.lineHead(ms)...)
	dst = appendClient(dst, client)
	return appendMetric(dst, m, tags)
}

// appendClient appends the part of a line between the timestamp and the
// name, which holds the client id.
func appendClient(dst, client []byte) []byte {
	dst = append(dst, `","client":`...)
	dst = AppendJSONString(dst, client)
	return append(dst, `,"name":`...)
}

// typeAndTags holds, for each known type, the constant text from the end
// of the value to the first tag.
var typeAndTags = [...]string{
	Gauge:     `,"type":"gauge","tags":{`,
	Counter:   `,"type":"counter","tags":{`,
	Histogram: `,"type":"histogram","tags":{`,
	Summary:   `,"type":"summary","tags":{`,
}

// appendMetric appends the rest of a line from the name on.
func appendMetric(dst []byte, m *Metric, tags []Tag) []byte {
	if m.NamePlain {
		dst = append(dst, '"')
		dst = append(dst, m.Name...)
		dst = append(dst, '"')
	} else {
		dst = AppendJSONString(dst, m.Name)
	}
	dst = append(dst, `,"value":`...)
	if len(m.ValueText) > 0 {
		dst = append(dst, m.ValueText...)
	} else {
		dst = appendFloat(dst, m.Value)
	}
	if int(m.Type) < len(typeAndTags) {
		dst = append(dst, typeAndTags[m.Type]...)
	} else {
		dst = append(dst, `,"type":`...)
		dst = AppendJSONString(dst, []byte(m.Type.String()))
		dst = append(dst, `,"tags":{`...)
	}
	if len(m.TagsText) > 0 {
		dst = append(dst, m.TagsText...)
	} else {
		for i := range tags {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendTagText(dst, &tags[i])
		}
	}
	return append(dst, "}}\n"...)
}

// appendTagText appends "key":"value"; plain strings, the common case, are
// copied with the punctuation between them in one piece.
func appendTagText(dst []byte, t *Tag) []byte {
	mark := len(dst)
	dst = append(dst, '"')
	dst, plain := appendPlain(dst, t.Key)
	if plain {
		dst = append(dst, `":"`...)
		if dst, plain = appendPlain(dst, t.Value); plain {
			return append(dst, '"')
		}
	}
	dst = AppendJSONString(dst[:mark], t.Key)
	dst = append(dst, ':')
	return AppendJSONString(dst, t.Value)
}

// appendPlain appends s when all its bytes are strSafe and so stand for
// themselves in a JSON string, copying and checking eight bytes at a time
// in one pass. Otherwise it reports false and dst has its old length,
// though maybe a new array.
func appendPlain(dst, s []byte) ([]byte, bool) {
	n := len(dst)
	if cap(dst)-n < len(s)+8 {
		dst = slices.Grow(dst, len(s)+8)
	}
	w := dst[n:cap(dst)] // room for s and an eight-byte store past it
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := binary.LittleEndian.Uint64(s[i:])
		if plainStop(x) != 0 {
			return dst, false
		}
		binary.LittleEndian.PutUint64(w[i:], x)
	}
	if i < len(s) && len(s) >= 8 {
		// The last word, overlapping what was already copied.
		i = len(s) - 8
		x := binary.LittleEndian.Uint64(s[i:])
		if plainStop(x) != 0 {
			return dst, false
		}
		binary.LittleEndian.PutUint64(w[i:], x)
		i = len(s)
	}
	for ; i < len(s); i++ {
		c := s[i]
		if !strSafe[c] {
			return dst, false
		}
		w[i] = c
	}
	return dst[:n+len(s)], true
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a quoted JSON string. '"', '\\' and
// control characters are escaped (\b \f \n \r \t in short form, the rest as
// \u00XX), each byte that is not part of valid UTF-8 becomes \ufffd, and
// U+2028 and U+2029 are escaped so the output is also safe JavaScript.
// The result is what encoding/json produces with HTML escaping off.
func AppendJSONString(dst []byte, s []byte) []byte {
	dst = append(dst, '"')
	dst, plain := appendPlain(dst, s)
	if plain {
		return append(dst, '"')
	}
	start := 0
	for i := 0; ; {
		if i = skipPlain(s, i); i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

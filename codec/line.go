package codec

import (
	"math"
	"strconv"
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
// It is AppendLine for each metric, but formats a timestamp shared by
// consecutive metrics (typically the receive time) only once.
func AppendBatch(dst []byte, b *Batch, client []byte, receivedMs int64) []byte {
	var tsBuf [timestampLen]byte
	lastMs, ts := int64(0), []byte(nil)
	for i := range b.Metrics {
		m := &b.Metrics[i]
		ms := receivedMs
		if m.HasTimestamp {
			ms = m.TimestampMs
		}
		if ts == nil || ms != lastMs {
			lastMs, ts = ms, AppendTimestamp(tsBuf[:0], ms)
		}
		dst = appendLine(dst, m, b.Tags[m.TagStart:m.TagEnd], client, ts)
	}
	return dst
}

// AppendLine appends the storage line of m, with its tags, including the
// trailing '\n'. The timestamp is m.TimestampMs when m.HasTimestamp, else
// receivedMs, clamped by AppendTimestamp. A non-finite value, which no
// decoder of this package produces, is written as null so that the line
// stays valid JSON.
func AppendLine(dst []byte, m *Metric, tags []Tag, client []byte, receivedMs int64) []byte {
	ms := receivedMs
	if m.HasTimestamp {
		ms = m.TimestampMs
	}
	var tsBuf [timestampLen]byte
	return appendLine(dst, m, tags, client, AppendTimestamp(tsBuf[:0], ms))
}

// appendLine is AppendLine with the timestamp already formatted.
func appendLine(dst []byte, m *Metric, tags []Tag, client, ts []byte) []byte {
	dst = append(dst, `{"timestamp":"`...)
	dst = append(dst, ts...)
	dst = append(dst, `","client":`...)
	dst = AppendJSONString(dst, client)
	dst = append(dst, `,"name":`...)
	dst = AppendJSONString(dst, m.Name)
	dst = append(dst, `,"value":`...)
	dst = appendFloat(dst, m.Value)
	dst = append(dst, `,"type":`...)
	if int(m.Type) < len(metricTypeNames) {
		dst = append(dst, '"')
		dst = append(dst, metricTypeNames[m.Type]...)
		dst = append(dst, '"')
	} else {
		dst = AppendJSONString(dst, []byte(m.Type.String()))
	}
	dst = append(dst, `,"tags":{`...)
	for i := range tags {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendJSONString(dst, tags[i].Key)
		dst = append(dst, ':')
		dst = AppendJSONString(dst, tags[i].Value)
	}
	return append(dst, "}}\n"...)
}

// appendFloat formats v as encoding/json formats a float64: the shortest
// representation that reads back as v, in 'f' form for 1e-6 <= |v| < 1e21
// and otherwise in 'e' form with a one- or two-digit negative exponent
// written without padding ("1e-07" becomes "1e-7").
func appendFloat(dst []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(dst, "null"...)
	}
	abs := math.Abs(v)
	// Fast path: an integral value below 2^53 prints as its integer digits
	// in the 'f' format, exactly as AppendInt prints them (counters are
	// mostly such). -0 keeps the slow path, which prints its sign.
	if abs < 1<<53 && v == math.Trunc(v) && (v != 0 || !math.Signbit(v)) {
		return strconv.AppendInt(dst, int64(v), 10)
	}
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, v, format, -1, 64)
	if format == 'e' {
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// timestampLen is the length of a timestamp AppendTimestamp writes.
const timestampLen = len("2006-01-02T15:04:05.000Z")

// AppendTimestamp appends ms, Unix milliseconds, as an RFC 3339 UTC time
// with exactly three fraction digits: "2026-11-26T17:20:06.123Z". A value
// outside [MinTimestampMs, MaxTimestampMs] is clamped to it, so that the
// year always has four digits.
func AppendTimestamp(dst []byte, ms int64) []byte {
	// Shifted to count from MinTimestampMs, everything is unsigned.
	u := uint64(max(MinTimestampMs, min(ms, MaxTimestampMs)) - MinTimestampMs)
	y, mo, d := civilFromDays(u / 86400000)
	rem := u % 86400000
	sec := rem / 1000
	frac := rem % 1000
	dst = append(dst, twoDigits[2*(y/100):2*(y/100)+2]...)
	dst = append(dst, twoDigits[2*(y%100):2*(y%100)+2]...)
	dst = append(dst, '-', twoDigits[2*mo], twoDigits[2*mo+1], '-', twoDigits[2*d], twoDigits[2*d+1], 'T')
	h, mi, s := sec/3600, sec/60%60, sec%60
	dst = append(dst, twoDigits[2*h], twoDigits[2*h+1], ':', twoDigits[2*mi], twoDigits[2*mi+1], ':', twoDigits[2*s], twoDigits[2*s+1], '.')
	return append(dst, byte('0'+frac/100), twoDigits[2*(frac%100)], twoDigits[2*(frac%100)+1], 'Z')
}

// twoDigits holds "00" to "99" back to back.
const twoDigits = "0001020304050607080910111213141516171819" +
	"2021222324252627282930313233343536373839" +
	"4041424344454647484950515253545556575859" +
	"6061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// civilFromDays converts days since 0000-01-01 to a proleptic Gregorian
// date, the inverse of daysFromCivil (which counts from 1970) written for
// unsigned arithmetic: the day is counted in 400-year eras that start on
// 0000-03-01, and the 60 days of 0000-01-01 to 0000-02-29 are brought
// into range by counting from one era earlier.
func civilFromDays(days uint64) (y, m, d uint64) {
	const daysBeforeMarch = 31 + 29 // in year 0000, a leap year
	z := days + 146097 - daysBeforeMarch
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400 - 400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
		y++
	}
	return y, m, d
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a quoted JSON string. '"', '\\' and
// control characters are escaped (\b \f \n \r \t in short form, the rest as
// \u00XX), each byte that is not part of valid UTF-8 becomes \ufffd, and
// U+2028 and U+2029 are escaped so the output is also safe JavaScript.
// The result is what encoding/json produces with HTML escaping off.
func AppendJSONString(dst []byte, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if strSafe[c] {
				i++
				continue
			}
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

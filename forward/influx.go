package forward

import (
	"bytes"
	"math"
	"slices"
	"strconv"

	"github.com/klauspost/compress/gzip"
)

// InfluxDB line protocol, one line per stored metric, gzip-compressed:
//
//	cpu_usage,client=client-1,host=server1 value=75.5 1795713606123
//
// The name is the measurement and "value" the only field, which is how MetricStream's own
// /write reads a line back (a field named "value" keeps the measurement as the name);
// VictoriaMetrics does the same with -influxSkipSingleField, else it names the metric
// cpu_usage_value. The client id is the tag "client" (left out when empty), then the tags sorted
// by key; a tag with an empty key or value is left out (line protocol cannot carry one), and a
// tag named "client" loses to the client id. Timestamps are milliseconds, so the URL gets
// precision=ms. Measurement, tag keys and values are escaped (comma, space, '=' in tags); a
// newline or carriage return, which line protocol cannot escape, becomes a space. The type is
// not sent.

// influxEncoder encodes batches as gzip-compressed line protocol. Owned by one worker.
type influxEncoder struct {
	parser lineParser
	sample Sample
	tags   []Tag
	text   []byte
	out    bytes.Buffer
	gz     *gzip.Writer
}

func newInfluxEncoder() *influxEncoder {
	gz, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // a valid level: never fails
	return &influxEncoder{gz: gz}
}

// encode implements encoder.
func (e *influxEncoder) encode(lines []byte) ([]byte, encodeResult) {
	e.text = e.text[:0]
	var r encodeResult
	eachLine(lines, func(line []byte, off int) {
		if err := e.parser.parse(line, &e.sample); err != nil {
			r.noteInvalid(line, off, err)
			return
		}
		e.text = e.appendLine(e.text, &e.sample)
		r.samples++
	})
	if r.samples == 0 {
		return nil, r
	}
	e.out.Reset()
	e.gz.Reset(&e.out)
	e.gz.Write(e.text) // writes to a bytes.Buffer: cannot fail
	e.gz.Close()
	return e.out.Bytes(), r
}

// appendLine appends one line-protocol line for s.
func (e *influxEncoder) appendLine(dst []byte, s *Sample) []byte {
	dst = appendInfluxEscaped(dst, s.Name, false)
	if len(s.Client) > 0 {
		dst = append(dst, ",client="...)
		dst = appendInfluxEscaped(dst, s.Client, true)
	}
	e.tags = append(e.tags[:0], s.Tags...)
	slices.SortStableFunc(e.tags, func(a, b Tag) int { return bytes.Compare(a.Key, b.Key) })
	for i, t := range e.tags {
		if len(t.Key) == 0 || len(t.Value) == 0 || (i > 0 && bytes.Equal(t.Key, e.tags[i-1].Key)) ||
			(len(s.Client) > 0 && string(t.Key) == "client") {
			continue
		}
		dst = append(dst, ',')
		dst = appendInfluxEscaped(dst, t.Key, true)
		dst = append(dst, '=')
		dst = appendInfluxEscaped(dst, t.Value, true)
	}
	dst = append(dst, " value="...)
	if v := s.Value; v == math.Trunc(v) && math.Abs(v) < 1e15 && !(v == 0 && math.Signbit(v)) {
		dst = strconv.AppendInt(dst, int64(v), 10) // a float in line protocol: no "i" suffix
	} else {
		dst = strconv.AppendFloat(dst, v, 'g', -1, 64)
	}
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, s.TimestampMs, 10)
	return append(dst, '\n')
}

// appendInfluxEscaped appends s escaped for a measurement (comma, space) or a tag key or value
// (comma, space, '='); newlines become spaces.
func appendInfluxEscaped(dst, s []byte, tag bool) []byte {
	for _, c := range s {
		switch c {
		case ',', ' ':
			dst = append(dst, '\\', c)
		case '=':
			if tag {
				dst = append(dst, '\\')
			}
			dst = append(dst, c)
		case '\n', '\r':
			dst = append(dst, '\\', ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

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
//
// A line's head (measurement, client and tags, escaped and sorted) depends only on its series
// part (series.go): it is built once per series part and copied for every later sample.
type influxEncoder struct {
	parser lineParser
	sample Sample
	times  timeCache
	ids    seriesIDs
	heads  []byte  // every series part's head, back to back
	headAt []int32 // series-part id → the end of its head in heads (it starts at the previous end)
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
	if e.ids.full() || len(e.heads) >= maxSeriesBytes {
		e.ids.reset()
		e.heads, e.headAt = e.heads[:0], e.headAt[:0]
	}
	e.text = e.text[:0]
	var r encodeResult
	eachLine(lines, func(line []byte, off int) {
		if err := e.add(line); err != nil {
			r.noteInvalid(line, off, err)
			return
		}
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

// add appends the line-protocol line of one stored line to e.text.
func (e *influxEncoder) add(line []byte) error {
	k := e.ids.see(line, &e.times)
	if k.hit {
		e.text = append(e.text, e.head(k.id)...)
		e.text = appendInfluxTail(e.text, k.value, k.ts)
		return nil
	}
	if err := e.parser.parse(line, &e.sample); err != nil {
		return err
	}
	start := len(e.text)
	e.text = e.appendHead(e.text, &e.sample)
	if e.ids.learn(&k) {
		e.heads = append(e.heads, e.text[start:]...)
		e.headAt = append(e.headAt, int32(len(e.heads)))
	}
	e.text = appendInfluxTail(e.text, e.sample.Value, e.sample.TimestampMs)
	return nil
}

// head returns the head of series-part id.
func (e *influxEncoder) head(id int32) []byte {
	var start int32
	if id > 0 {
		start = e.headAt[id-1]
	}
	return e.heads[start:e.headAt[id]]
}

// appendHead appends the measurement and the tags of s's line-protocol line.
func (e *influxEncoder) appendHead(dst []byte, s *Sample) []byte {
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
	return dst
}

// appendInfluxTail appends the field, the timestamp and the newline of a line-protocol line.
func appendInfluxTail(dst []byte, v float64, ts int64) []byte {
	dst = append(dst, " value="...)
	if v == math.Trunc(v) && math.Abs(v) < 1e15 && !(v == 0 && math.Signbit(v)) {
		dst = strconv.AppendInt(dst, int64(v), 10) // a float in line protocol: no "i" suffix
	} else {
		dst = strconv.AppendFloat(dst, v, 'g', -1, 64)
	}
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, ts, 10)
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

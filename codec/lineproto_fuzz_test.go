package codec

import (
	"bytes"
	"math"
	"strconv"
	"testing"
)

// FuzzDecodeLineProtocol checks, for any body, precision and limit:
//   - Decode does not panic and is deterministic (a reused and a fresh
//     decoder agree);
//   - an accepted batch holds 1..maxBatch metrics, each a Gauge with a name
//     of 1..255 bytes, a finite value and a valid, non-empty tag range;
//   - round trip: re-encoding the batch as line protocol (one "value" field
//     per metric, millisecond timestamps) and decoding it again yields the
//     same batch, so escaping and unescaping agree.
func FuzzDecodeLineProtocol(f *testing.F) {
	for _, s := range []string{
		"cpu value=1",
		"cpu,host=a,region=eu value=2 1764172800123000000\n",
		"cpu,host=a a=1,b=2i,value=3u,ok=t,s=\"x y\" 1764172800123456789\r\n",
		`my\ cpu\,x,ho\ st=a\,b\=c\ d f\ o\,o\=x=1`,
		`c\\pu,k=a\\,j=b value=-1e3`,
		"# comment\n\n  cpu value=.5 \t 7  \n",
		"cpu s=\"two\nlines \\\" \\\\\",value=1 5\nnext value=2",
		"m value=9223372036854775807i -9223372036854775808",
		"m value=18446744073709551615u,x=FALSE,y=True",
		"m value=1e400",
		"cpu,host= value=1",
		"cpu\r\r\n value=1\r",
	} {
		for p := range uint8(PrecisionH + 2) {
			f.Add([]byte(s), p, uint8(0))
		}
		f.Add([]byte(s), uint8(PrecisionMS), uint8(2))
	}
	f.Fuzz(func(t *testing.T, body []byte, prec, max uint8) {
		p := Precision(prec)
		maxBatch := int(max)
		limit := maxBatch
		if limit == 0 {
			limit = DefaultMaxBatch
		}
		orig := bytes.Clone(body)

		var d1, d2 LineProtocolDecoder
		var b1, b2 Batch
		err1 := d1.Decode(body, p, maxBatch, &b1)
		// Decode once more on the same decoder with a dirty batch, then
		// compare with a fresh decoder.
		err1 = d1.Decode(body, p, maxBatch, &b1)
		err2 := d2.Decode(body, p, maxBatch, &b2)
		if !bytes.Equal(body, orig) {
			t.Fatal("Decode modified its input")
		}
		if (err1 == nil) != (err2 == nil) || (err1 != nil && err1.Error() != err2.Error()) {
			t.Fatalf("not deterministic: %v vs %v", err1, err2)
		}
		if err1 != nil {
			if b1.Len() != 0 || len(b1.Tags) != 0 {
				t.Fatalf("batch not empty after error %v", err1)
			}
			if le, ok := err1.(*LineError); ok && (le.Offset < 0 || le.Offset > len(body) || le.Line < 1) {
				t.Fatalf("error position out of range: %+v (body %d bytes)", *le, len(body))
			}
			return
		}
		if !lpSameBatch(&b1, &b2) {
			t.Fatal("not deterministic: batches differ")
		}
		if n := b1.Len(); n < 1 || n > limit {
			t.Fatalf("accepted %d metrics; want 1..%d", n, limit)
		}
		for i := range b1.Metrics {
			m := &b1.Metrics[i]
			if len(m.Name) < 1 || len(m.Name) > 255 {
				t.Fatalf("metric %d: name of %d bytes", i, len(m.Name))
			}
			if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
				t.Fatalf("metric %d: non-finite value %v", i, m.Value)
			}
			if m.Type != Gauge {
				t.Fatalf("metric %d: type %v", i, m.Type)
			}
			if m.TagStart < 0 || m.TagStart > m.TagEnd || int(m.TagEnd) > len(b1.Tags) {
				t.Fatalf("metric %d: tag range [%d,%d) of %d", i, m.TagStart, m.TagEnd, len(b1.Tags))
			}
			for _, tag := range b1.MetricTags(i) {
				if len(tag.Key) == 0 || len(tag.Value) == 0 {
					t.Fatalf("metric %d: empty tag key or value", i)
				}
			}
		}

		checkStoredLines(t, &b1)

		// Round trip.
		enc := lpEncodeBatch(nil, &b1)
		var d3 LineProtocolDecoder
		var b3 Batch
		if err := d3.Decode(enc, PrecisionMS, b1.Len(), &b3); err != nil {
			t.Fatalf("re-encoded batch rejected: %v\n%q", err, enc)
		}
		if !lpSameBatch(&b1, &b3) {
			t.Fatalf("round trip differs:\n%v\n%v\n%q", lpRender(&b1), lpRender(&b3), enc)
		}
	})
}

// lpSameBatch compares two batches metric by metric, tags by value.
func lpSameBatch(a, b *Batch) bool {
	if a.Len() != b.Len() {
		return false
	}
	for i := range a.Metrics {
		x, y := &a.Metrics[i], &b.Metrics[i]
		if !bytes.Equal(x.Name, y.Name) || math.Float64bits(x.Value) != math.Float64bits(y.Value) ||
			x.Type != y.Type || x.HasTimestamp != y.HasTimestamp || x.TimestampMs != y.TimestampMs {
			return false
		}
		tx, ty := a.MetricTags(i), b.MetricTags(i)
		if len(tx) != len(ty) {
			return false
		}
		for j := range tx {
			if !bytes.Equal(tx[j].Key, ty[j].Key) || !bytes.Equal(tx[j].Value, ty[j].Value) {
				return false
			}
		}
	}
	return true
}

// lpEncodeBatch writes b as line protocol, one line per metric with the name
// as measurement and a single "value" field, timestamps in milliseconds.
func lpEncodeBatch(dst []byte, b *Batch) []byte {
	for i := range b.Metrics {
		m := &b.Metrics[i]
		dst = lpAppendEscaped(dst, m.Name, ", ")
		for _, t := range b.MetricTags(i) {
			dst = append(dst, ',')
			dst = lpAppendEscaped(dst, t.Key, ",= ")
			dst = append(dst, '=')
			dst = lpAppendEscaped(dst, t.Value, ",= ")
		}
		dst = append(dst, " value="...)
		dst = strconv.AppendFloat(dst, m.Value, 'g', -1, 64)
		if m.HasTimestamp {
			dst = append(dst, ' ')
			dst = strconv.AppendInt(dst, m.TimestampMs, 10)
		}
		dst = append(dst, '\n')
	}
	return dst
}

func lpAppendEscaped(dst, s []byte, special string) []byte {
	for _, c := range s {
		if bytes.IndexByte([]byte(special), c) >= 0 {
			dst = append(dst, '\\')
		}
		dst = append(dst, c)
	}
	return dst
}

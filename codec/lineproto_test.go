package codec

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"unsafe"
)

// lpMetric is a comparable rendering of one decoded metric.
type lpMetric struct {
	name  string
	value float64
	tags  string // "k=v,k=v"
	ts    int64  // -1 when absent
}

func lpRender(b *Batch) []lpMetric {
	out := make([]lpMetric, 0, b.Len())
	for i := range b.Metrics {
		m := &b.Metrics[i]
		if m.Type != Gauge {
			panic("line protocol produced a non-gauge metric")
		}
		var tags []string
		for _, t := range b.MetricTags(i) {
			tags = append(tags, string(t.Key)+"="+string(t.Value))
		}
		ts := int64(-1)
		if m.HasTimestamp {
			ts = m.TimestampMs
		}
		out = append(out, lpMetric{string(m.Name), m.Value, strings.Join(tags, ","), ts})
	}
	return out
}

func TestDecodeLineProtocol(t *testing.T) {
	var d LineProtocolDecoder
	var b Batch
	f := func(body string, p Precision, want ...lpMetric) {
		t.Helper()
		if err := d.Decode([]byte(body), p, 1000, &b); err != nil {
			t.Fatalf("Decode(%q): unexpected error %v", body, err)
		}
		got := lpRender(&b)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("Decode(%q):\ngot  %v\nwant %v", body, got, want)
		}
	}
	ns := PrecisionNS

	// Shapes of a line.
	f("cpu value=1", ns, lpMetric{"cpu", 1, "", -1})
	f("cpu value=1\n", ns, lpMetric{"cpu", 1, "", -1})
	f("cpu usage=75.5", ns, lpMetric{"cpu_usage", 75.5, "", -1})
	f("cpu,host=a,region=eu value=2 1764172800123000000", ns, lpMetric{"cpu", 2, "host=a,region=eu", 1764172800123})
	f("cpu,host=a a=1,b=2i,value=3u 1764172800123456789", ns,
		lpMetric{"cpu_a", 1, "host=a", 1764172800123},
		lpMetric{"cpu_b", 2, "host=a", 1764172800123},
		lpMetric{"cpu", 3, "host=a", 1764172800123})
	f("a value=1\nb value=2\r\nc value=3\r\n", ns,
		lpMetric{"a", 1, "", -1}, lpMetric{"b", 2, "", -1}, lpMetric{"c", 3, "", -1})
	f("a value=1 5\r\nb,t=x value=2 6\r", PrecisionMS,
		lpMetric{"a", 1, "", 5}, lpMetric{"b", 2, "t=x", 6})

	// Blank lines, comments, surrounding blanks.
	f("\n\n# comment value=9\n  # indented comment\n\t\ncpu value=1\n\n", ns, lpMetric{"cpu", 1, "", -1})
	f("  cpu value=1  \t", ns, lpMetric{"cpu", 1, "", -1})
	f("cpu   value=1 \t 7  ", PrecisionMS, lpMetric{"cpu", 1, "", 7})
	f("cpu value=1\t7", PrecisionMS, lpMetric{"cpu", 1, "", 7})
	f("cpu#1 value=1", ns, lpMetric{"cpu#1", 1, "", -1})

	// Escapes.
	f(`my\ cpu\,x value=1`, ns, lpMetric{"my cpu,x", 1, "", -1})
	f(`cpu\=x value=1`, ns, lpMetric{`cpu\=x`, 1, "", -1}) // '=' is not escapable in a measurement
	f(`cpu=x value=1`, ns, lpMetric{"cpu=x", 1, "", -1})
	f(`cpu,ho\ st=a\,b\=c\ d value=1`, ns, lpMetric{"cpu", 1, "ho st=a,b=c d", -1})
	f(`cpu,k=a=b value=1`, ns, lpMetric{"cpu", 1, "k=a=b", -1})
	f(`cpu,k\=1=v value=1`, ns, lpMetric{"cpu", 1, "k=1=v", -1})
	f(`cpu f\ o\,o\=x=1`, ns, lpMetric{"cpu_f o,o=x", 1, "", -1})
	f(`cpu\n value=1`, ns, lpMetric{`cpu\n`, 1, "", -1}) // unknown escape: literal backslash
	f(`c\\pu value=1`, ns, lpMetric{`c\\pu`, 1, "", -1})
	f(`cpu,k=a\\,j=b value=1`, ns, lpMetric{"cpu", 1, `k=a\,j=b`, -1})

	// Strings are skipped, whatever they hold.
	f(`cpu s="a b,c=d",value=1`, ns, lpMetric{"cpu", 1, "", -1})
	f(`cpu s="say \"hi\" \\",value=1`, ns, lpMetric{"cpu", 1, "", -1})
	f(`cpu s="back\slash",value=1`, ns, lpMetric{"cpu", 1, "", -1})
	f("cpu s=\"two\nlines\",value=1 5\nnext value=2", PrecisionMS,
		lpMetric{"cpu", 1, "", 5}, lpMetric{"next", 2, "", -1})
	f(`cpu s="" 5`+"\ncpu value=4", PrecisionMS, lpMetric{"cpu", 4, "", -1})
	f(`cpu value=1,s="x"`, ns, lpMetric{"cpu", 1, "", -1})

	// Field value types.
	for in, want := range map[string]float64{
		"1": 1, "-1": -1, "1.5": 1.5, "-1e3": -1000, "1E3": 1000, "1e+3": 1000, "1e-3": 0.001,
		".5": 0.5, "2.": 2, "-0": math.Copysign(0, -1), "0.1": 0.1, "1e-400": 0, "1.7976931348623157e308": math.MaxFloat64,
		"12i": 12, "-12i": -12, "0i": 0, "9223372036854775807i": math.MaxInt64, "-9223372036854775808i": math.MinInt64,
		"12u": 12, "0u": 0, "18446744073709551615u": math.MaxUint64,
		"t": 1, "T": 1, "true": 1, "True": 1, "TRUE": 1,
		"f": 0, "F": 0, "false": 0, "False": 0, "FALSE": 0,
	} {
		f("m value="+in, ns, lpMetric{"m", want, "", -1})
	}

	// Timestamps in every precision.
	f("m value=1 1764172800123999999", PrecisionNS, lpMetric{"m", 1, "", 1764172800123})
	f("m value=1 1764172800123999", PrecisionUS, lpMetric{"m", 1, "", 1764172800123})
	f("m value=1 1764172800123", PrecisionMS, lpMetric{"m", 1, "", 1764172800123})
	f("m value=1 1764172800", PrecisionS, lpMetric{"m", 1, "", 1764172800000})
	f("m value=1 29402880", PrecisionM, lpMetric{"m", 1, "", 1764172800000})
	f("m value=1 490048", PrecisionH, lpMetric{"m", 1, "", 1764172800000})
	f("m value=1 -1", PrecisionNS, lpMetric{"m", 1, "", -1}.withTS(-1))
	f("m value=1 -1000001", PrecisionNS, lpMetric{"m", 1, "", -1}.withTS(-2))
	f("m value=1 -1000000", PrecisionNS, lpMetric{"m", 1, "", -1}.withTS(-1))
	f("m value=1 0", PrecisionNS, lpMetric{"m", 1, "", 0})
	f("m value=1 -62167219200000", PrecisionMS, lpMetric{"m", 1, "", MinTimestampMs})
	f("m value=1 253402300799999", PrecisionMS, lpMetric{"m", 1, "", MaxTimestampMs})
	f("m value=1 253402300799999999", PrecisionUS, lpMetric{"m", 1, "", MaxTimestampMs}) // truncated into range
	f("m value=1 -62167219200", PrecisionS, lpMetric{"m", 1, "", MinTimestampMs})
	f("m value=1 -9223372036854775808", PrecisionNS, lpMetric{"m", 1, "", -9223372036855}) // year 1677

	// Name length limit: 255 bytes is fine.
	m255 := strings.Repeat("m", 255)
	f(m255+" value=1", ns, lpMetric{m255, 1, "", -1})
	f(strings.Repeat("m", 253)+" x=1", ns, lpMetric{strings.Repeat("m", 253) + "_x", 1, "", -1})
}

func (m lpMetric) withTS(ts int64) lpMetric { m.ts = ts; return m }

func TestDecodeLineProtocolErrors(t *testing.T) {
	var d LineProtocolDecoder
	var b Batch
	f := func(body string, p Precision, line, off int, msg string) {
		t.Helper()
		b.Metrics = append(b.Metrics, Metric{Name: []byte("stale")})
		err := d.Decode([]byte(body), p, 1000, &b)
		var le *LineError
		if !errors.As(err, &le) {
			t.Fatalf("Decode(%q): got %v; want a *LineError", body, err)
		}
		if le.Line != line || le.Offset != off || le.Msg != msg {
			t.Fatalf("Decode(%q): got %+v; want line %d offset %d msg %q", body, *le, line, off, msg)
		}
		if want := fmt.Sprintf("line %d (byte %d): %s", line, off, msg); err.Error() != want {
			t.Fatalf("Error() = %q; want %q", err.Error(), want)
		}
		if b.Len() != 0 || len(b.Tags) != 0 {
			t.Fatalf("Decode(%q): batch not empty after error", body)
		}
	}
	ns := PrecisionNS
	f(",host=a value=1", ns, 1, 0, lpMsgMissingMeasurement)
	f("ok value=1\n value=1", ns, 2, 19, lpMsgMissingFields) // leading blanks are skipped
	f("cpu", ns, 1, 3, lpMsgMissingFields)
	f("cpu\r\n", ns, 1, 3, lpMsgMissingFields)
	f("cpu ", ns, 1, 4, lpMsgMissingFields)
	f("cpu \t\n", ns, 1, 5, lpMsgMissingFields)
	f("cpu,host=a", ns, 1, 10, lpMsgMissingFields)
	f("cpu,host=a\n", ns, 1, 10, lpMsgMissingFields)
	f(`cpu,k=\ value=1`, ns, 1, 15, lpMsgMissingFields) // escaped space does not end the tag set
	f("cpu,=a value=1", ns, 1, 4, lpMsgMissingTagKey)
	f("cpu, value=1", ns, 1, 4, lpMsgMissingTagKey)
	f("cpu,host value=1", ns, 1, 8, lpMsgMissingTagEquals)
	f("cpu,host,x=y value=1", ns, 1, 8, lpMsgMissingTagEquals)
	f("cpu,host= value=1", ns, 1, 9, lpMsgMissingTagValue)
	f("cpu,host=,a=b value=1", ns, 1, 9, lpMsgMissingTagValue)
	f("cpu =1", ns, 1, 4, lpMsgMissingFieldKey)
	f("cpu value=1,", ns, 1, 12, lpMsgMissingFieldKey)
	f("cpu value=1,,a=1", ns, 1, 12, lpMsgMissingFieldKey)
	f("cpu value", ns, 1, 9, lpMsgMissingFieldEquals)
	f("cpu value 1", ns, 1, 9, lpMsgMissingFieldEquals)
	f("cpu value=", ns, 1, 10, lpMsgMissingFieldValue)
	f("cpu value= 1", ns, 1, 10, lpMsgMissingFieldValue)
	f("cpu value=,a=1", ns, 1, 10, lpMsgMissingFieldValue)
	for _, v := range []string{"abc", "1x", "1.2.3", "--1", "+1", "1e", "1e+", ".", "-", "e5", "0x10", "1_000",
		"NaN", "nan", "Inf", "+Inf", "-Inf", "inf", "Infinity", "tru", "yes", "1.5i", "-i", "i", "1ii",
		"-1u", "u", "1.5u", "1e3i", "1\r2", `1"`, "truee"} {
		f("m value="+v, ns, 1, 8, lpMsgInvalidFieldValue)
	}
	f("m value=1e400", ns, 1, 8, lpMsgFloatRange)
	f("m value=-1e400", ns, 1, 8, lpMsgFloatRange)
	f("m value=9223372036854775808i", ns, 1, 8, lpMsgIntRange)
	f("m value=-9223372036854775809i", ns, 1, 8, lpMsgIntRange)
	f("m value=99999999999999999999999i", ns, 1, 8, lpMsgIntRange)
	f("m value=18446744073709551616u", ns, 1, 8, lpMsgUintRange)
	f(`m s="abc`, ns, 1, 4, lpMsgUnterminatedString)
	f("a value=1\nm s=\"abc\nd\ne", ns, 2, 14, lpMsgUnterminatedString)
	f(`m s="a\"`, ns, 1, 4, lpMsgUnterminatedString)
	f(`m s="a"x`, ns, 1, 7, lpMsgAfterString)
	f(`m s="a""b"`, ns, 1, 7, lpMsgAfterString)
	f("m value=1 abc", ns, 1, 10, lpMsgInvalidTimestamp)
	f("m value=1 1.5", ns, 1, 10, lpMsgInvalidTimestamp)
	f("m value=1 12i", ns, 1, 10, lpMsgInvalidTimestamp)
	f("m value=1 12,3", ns, 1, 10, lpMsgInvalidTimestamp)
	f("m value=1 ,b=2", ns, 1, 10, lpMsgInvalidTimestamp)
	f("m value=1 b=2", ns, 1, 10, lpMsgInvalidTimestamp)
	f("m value=1 1\r2", ns, 1, 10, lpMsgInvalidTimestamp)
	f("m value=1 9223372036854775808", ns, 1, 10, lpMsgInvalidTimestamp)
	f("m value=1 9223372036854776", PrecisionS, 1, 10, lpMsgTimestampRange)
	f("m value=1 -9223372036854776", PrecisionS, 1, 10, lpMsgTimestampRange)
	f("m value=1 153722867280913", PrecisionM, 1, 10, lpMsgTimestampRange)
	f("m value=1 -62167219200001", PrecisionMS, 1, 10, lpMsgTimestampRange)
	f("m value=1 253402300800000", PrecisionMS, 1, 10, lpMsgTimestampRange)
	f("m value=1 253402300800", PrecisionS, 1, 10, lpMsgTimestampRange)

	f("m value=1 2562047788015216", PrecisionH, 1, 10, lpMsgTimestampRange)
	f("m value=1 1 2", ns, 1, 12, lpMsgAfterTimestamp)
	f(strings.Repeat("m", 256)+" value=1", ns, 1, 257, lpMsgNameTooLong)
	f(strings.Repeat("m", 254)+" x=1", ns, 1, 255, lpMsgNameTooLong)
	// The first bad line wins, and a valid line before it is not kept.
	f("a value=1\r\nb value=x\nc value=y", ns, 2, 19, lpMsgInvalidFieldValue)
	// Lines are counted through comments, blank lines and strings.
	f("# c\n\n\r\na s=\"\n\n\" 1\nb value=", ns, 7, 26, lpMsgMissingFieldValue)
}

func TestDecodeLineProtocolBatchErrors(t *testing.T) {
	var d LineProtocolDecoder
	var b Batch
	f := func(body string, maxBatch int, want string) {
		t.Helper()
		err := d.Decode([]byte(body), PrecisionNS, maxBatch, &b)
		if err == nil || err.Error() != want {
			t.Fatalf("Decode(%q, max %d): got %v; want %q", body, maxBatch, err, want)
		}
		var de *DecodeError
		if !errors.As(err, &de) || de.Offset != -1 || de.Metric != -1 {
			t.Fatalf("Decode(%q): got %#v; want a batch-level *DecodeError", body, err)
		}
		if b.Len() != 0 {
			t.Fatalf("Decode(%q): batch not empty after error", body)
		}
	}
	f("", 10, "Batch cannot be empty")
	f("\n\r\n  \n", 10, "Batch cannot be empty")
	f("# only a comment\n", 10, "Batch cannot be empty")
	f(`cpu s="a",t="b" 5`, 10, "Batch cannot be empty")
	f("a value=1\nb value=2\nc value=3", 2, "Batch size exceeds maximum (2 metrics)")
	f("a x=1,y=2,z=3", 2, "Batch size exceeds maximum (2 metrics)")
	f(strings.Repeat("a value=1\n", 1001), 0, "Batch size exceeds maximum (1000 metrics)")
	f(strings.Repeat("a value=1\n", 1001), -5, "Batch size exceeds maximum (1000 metrics)")

	// Exactly maxBatch is fine.
	if err := d.Decode([]byte("a value=1\nb value=2"), PrecisionNS, 2, &b); err != nil || b.Len() != 2 {
		t.Fatalf("got %v, %d metrics; want nil, 2", err, b.Len())
	}
	// An unknown precision is a caller error, not a line error.
	if err := d.Decode([]byte("a value=1"), Precision(200), 2, &b); !errors.Is(err, errLPPrecision) {
		t.Fatalf("got %v; want %v", err, errLPPrecision)
	}
}

func TestParsePrecision(t *testing.T) {
	for in, want := range map[string]Precision{
		"": PrecisionNS, "ns": PrecisionNS, "n": PrecisionNS, "us": PrecisionUS, "u": PrecisionUS,
		"ms": PrecisionMS, "s": PrecisionS, "m": PrecisionM, "h": PrecisionH,
	} {
		got, ok := ParsePrecision([]byte(in))
		if !ok || got != want {
			t.Errorf("ParsePrecision(%q) = %v, %v; want %v, true", in, got, ok, want)
		}
	}
	for _, in := range []string{"NS", "mu", "µs", "sec", "1", " ms", "d"} {
		if _, ok := ParsePrecision([]byte(in)); ok {
			t.Errorf("ParsePrecision(%q) accepted", in)
		}
	}
	for p, want := range map[Precision]string{PrecisionNS: "ns", PrecisionUS: "us", PrecisionMS: "ms",
		PrecisionS: "s", PrecisionM: "m", PrecisionH: "h", Precision(9): "Precision(9)"} {
		if got := p.String(); got != want {
			t.Errorf("Precision(%d).String() = %q; want %q", p, got, want)
		}
	}
}

// TestDecodeLineProtocolViews checks where decoded bytes live: unescaped
// tokens are views into the body, escaped ones and built names are in the
// decoder's scratch, and tags are shared by every metric of their line.
func TestDecodeLineProtocolViews(t *testing.T) {
	var d LineProtocolDecoder
	var b Batch
	body := []byte(`cpu,host=a,k\ y=v x=1,value=2` + "\nmem used=3")
	if err := d.Decode(body, PrecisionNS, 10, &b); err != nil {
		t.Fatal(err)
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(body)))
	inBody := func(p []byte) bool {
		a := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
		return len(p) > 0 && a >= base && a < base+uintptr(len(body))
	}
	if !inBody(b.Metrics[1].Name) || !inBody(b.Tags[0].Key) || !inBody(b.Tags[1].Value) {
		t.Fatal("unescaped tokens should be views into the body")
	}
	if inBody(b.Metrics[0].Name) || inBody(b.Tags[1].Key) {
		t.Fatal("built names and unescaped tokens should live in scratch")
	}
	if b.Metrics[0].TagStart != 0 || b.Metrics[0].TagEnd != 2 || b.Metrics[1].TagStart != 0 || b.Metrics[1].TagEnd != 2 {
		t.Fatalf("line 1 metrics should share tags [0,2): %+v", b.Metrics[:2])
	}
	if m := b.Metrics[2]; m.TagStart != 2 || m.TagEnd != 2 {
		t.Fatalf("line 2 metric should have no tags: %+v", m)
	}
	// Views stay intact while the decoder's scratch grows past its capacity.
	var big strings.Builder
	for i := range 300 {
		fmt.Fprintf(&big, "m\\ %d,t\\ %d=v\\ %d f%d=%d\n", i, i, i, i, i)
	}
	if err := d.Decode([]byte(big.String()), PrecisionNS, 1000, &b); err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		m := &b.Metrics[i]
		tags := b.MetricTags(i)
		if got, want := string(m.Name), fmt.Sprintf("m %d_f%d", i, i); got != want || m.Value != float64(i) {
			t.Fatalf("metric %d: got %q=%v; want %q=%d", i, got, m.Value, want, i)
		}
		if string(tags[0].Key) != fmt.Sprintf("t %d", i) || string(tags[0].Value) != fmt.Sprintf("v %d", i) {
			t.Fatalf("metric %d: got tag %q=%q", i, tags[0].Key, tags[0].Value)
		}
	}
}

// TestDecodeLineProtocolNoAllocs checks the steady-state budget: a warmed-up
// decoder and batch decode without allocating.
func TestDecodeLineProtocolNoAllocs(t *testing.T) {
	var d LineProtocolDecoder
	var b Batch
	for _, body := range [][]byte{
		lpBody(10, "value=75.5"),
		lpBody(10, `user=12.25,system=3i,idle=84u,ok=true,note="fine, thanks"`),
		[]byte("disk\\ io,path=/var/lib\\ data value=1i 1764172800123000000\n# c\r\n"),
	} {
		allocs := testing.AllocsPerRun(100, func() {
			if err := d.Decode(body, PrecisionNS, 1000, &b); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("Decode(%q...) allocated %v times per run; want 0", body[:20], allocs)
		}
	}
}

// TestLineProtocolValueText checks which field values the storage line
// copies as they came: those that are JSON numbers reading back as the
// decoded value.
func TestLineProtocolValueText(t *testing.T) {
	f := func(field, want string, copied bool) {
		t.Helper()
		var d LineProtocolDecoder
		var b Batch
		if err := d.Decode([]byte("m "+field), PrecisionNS, 0, &b); err != nil {
			t.Fatalf("Decode(%q): %v", field, err)
		}
		m := &b.Metrics[0]
		if got := string(m.ValueText); got != want || (m.ValueText != nil) != copied {
			t.Fatalf("Decode(%q): ValueText %q (nil %v); want %q", field, got, m.ValueText == nil, want)
		}
		checkStoredLines(t, &b)
	}
	f("value=75.5", "75.5", true)
	f("value=-1e3", "-1e3", true)
	f("value=3i", "3", true)
	f("value=18446744073709551615u", "18446744073709551615", true)
	f("value=-0.0", "-0.0", true)
	f("value=-0i", "", false) // JSON reads -0 as -0.0; the integer is 0
	f("value=007i", "", false)
	f("value=1.", "", false)
	f("value=.5", "", false)
	f("value=t", "", false)
	f("value=0.00000000000000000000000000000000001", "", false) // longer than maxValueText
}

func TestIsJSONNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"0": true, "-0": true, "1.5": true, "1e5": true, "1E+5": true, "-2.5e-3": true, "10": true,
		"": false, "-": false, "01": false, "1.": false, ".5": false, "+1": false, "1e": false, "1e+": false,
		"0x1": false, "1_0": false, "Inf": false, "NaN": false, "1.5.": false, " 1": false,
	} {
		if got := isJSONNumber([]byte(s)); got != want {
			t.Fatalf("isJSONNumber(%q) = %v; want %v", s, got, want)
		}
	}
}

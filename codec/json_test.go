package codec

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// render prints a batch compactly for comparison: one metric per "|",
// name=value:type, then @timestamp and {tags} when present.
func render(b *Batch) string {
	var sb strings.Builder
	for i := range b.Metrics {
		m := &b.Metrics[i]
		if i > 0 {
			sb.WriteString(" | ")
		}
		fmt.Fprintf(&sb, "%q=%v:%v", m.Name, m.Value, m.Type)
		if m.HasTimestamp {
			fmt.Fprintf(&sb, "@%d", m.TimestampMs)
		}
		if tags := b.MetricTags(i); len(tags) > 0 {
			sb.WriteString("{")
			for j, t := range tags {
				if j > 0 {
					sb.WriteString(",")
				}
				fmt.Fprintf(&sb, "%q=%q", t.Key, t.Value)
			}
			sb.WriteString("}")
		}
	}
	return sb.String()
}

func TestDecodeValid(t *testing.T) {
	var d JSONDecoder
	var b Batch
	f := func(input, want string) {
		t.Helper()
		if err := d.Decode([]byte(input), 0, &b); err != nil {
			t.Fatalf("Decode(%q): unexpected error %v", input, err)
		}
		if got := render(&b); got != want {
			t.Fatalf("Decode(%q):\ngot  %s\nwant %s", input, got, want)
		}
	}
	f(`{"metrics":[{"name":"cpu_usage","value":75.5,"type":"gauge","tags":{"host":"server1"},"timestamp":1764172800123}]}`,
		`"cpu_usage"=75.5:gauge@1764172800123{"host"="server1"}`)
	f(" \t\r\n{ \"metrics\" : [ { \"name\" : \"a\" , \"value\" : 1 } ] } \n", `"a"=1:gauge`)
	f(`{"metrics":[{"name":"a","value":1,"type":"counter"},{"name":"b","value":-2.5e3,"type":"histogram"},{"name":"c","value":0,"type":"summary"}]}`,
		`"a"=1:counter | "b"=-2500:histogram | "c"=0:summary`)
	// Unknown fields at every level, of every type, are skipped.
	f(`{"v":1,"x":{"a":[1,{"b":null}],"c":"\u0041"},"metrics":[{"extra":[[],{}],"name":"a","value":1,"z":true,"tags":{}}],"y":false}`,
		`"a"=1:gauge`)
	// Escapes in keys and values.
	f(`{"metr\u0069cs":[{"n\u0061me":"a\"b\\c\/\n\u00e9\ud83d\ude00","value":1,"type":"c\u006funter","tags":{"k\tk":"v\u0000"}}]}`,
		`"a\"b\\c/\né😀"=1:counter{"k\tk"="v\x00"}`)
	// Duplicate keys: the last wins, and a replaced value need not obey the rules.
	f(`{"metrics":5,"metrics":[{"name":"","name":"b","value":"x","value":2,"type":"bad","type":"counter","tags":7,"tags":{"k":"1","j":"2","k":"3"}}]}`,
		`"b"=2:counter{"k"="3","j"="2"}`)
	f(`{"metrics":[{"name":"a","value":1}],"metrics":[{"name":"b","value":2}]}`, `"b"=2:gauge`)
	f(`{"metrics":[{"value":1}],"metrics":[{"name":"b","value":2}]}`, `"b"=2:gauge`)
	// null means absent for type, tags and timestamp.
	f(`{"metrics":[{"name":"a","value":1,"type":"counter","type":null,"tags":{"k":"v"},"tags":null,"timestamp":5,"timestamp":null}]}`,
		`"a"=1:gauge`)
	// Timestamps.
	f(`{"metrics":[{"name":"a","value":1,"timestamp":-1},{"name":"b","value":1,"timestamp":"2026-11-26T17:20:06.123456Z"},{"name":"c","value":1,"timestamp":"2026-11-26t18:20:06+01:00"}]}`,
		`"a"=1:gauge@-1 | "b"=1:gauge@1795713606123 | "c"=1:gauge@1795713606000`)
	f(`{"metrics":[{"name":"a","value":1,"timestamp":"2026\u002d11-26T17:20:06Z"}]}`, `"a"=1:gauge@1795713606000`)
	// Invalid UTF-8 becomes U+FFFD per byte, as in encoding/json.
	f("{\"metrics\":[{\"name\":\"a\xffb\xed\xa0\x80\",\"value\":1}]}", "\"a\ufffdb\ufffd\ufffd\ufffd\"=1:gauge")
	// Lone and mismatched surrogates become U+FFFD.
	f(`{"metrics":[{"name":"\ud800|\udc00|\ud800\u0041|\ud800\ud800\udc00","value":1}]}`,
		"\"\ufffd|\ufffd|\ufffdA|\ufffd𐀀\"=1:gauge")
	// A 255-byte name is the longest allowed.
	f(`{"metrics":[{"name":"`+strings.Repeat("x", 255)+`","value":1}]}`, `"`+strings.Repeat("x", 255)+`"=1:gauge`)
	// Deep nesting up to encoding/json's limit is skipped.
	f(`{"x":`+strings.Repeat("[", MaxJSONDepth-1)+strings.Repeat("]", MaxJSONDepth-1)+`,"metrics":[{"name":"a","value":1}]}`, `"a"=1:gauge`)
	f(`{"metrics":[{"name":"a","value":-0}]}`, `"a"=-0:gauge`)
}

func TestDecodeErrors(t *testing.T) {
	var d JSONDecoder
	var b Batch
	f := func(input string, maxBatch int, want string) {
		t.Helper()
		err := d.Decode([]byte(input), maxBatch, &b)
		if err == nil {
			t.Fatalf("Decode(%q): got no error, batch %s; want %q", input, render(&b), want)
		}
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Fatalf("Decode(%q): got %T; want *DecodeError", input, err)
		}
		if got := err.Error(); got != want {
			t.Fatalf("Decode(%q):\ngot  %q\nwant %q", input, got, want)
		}
		if b.Len() != 0 || len(b.Tags) != 0 {
			t.Fatalf("Decode(%q): batch not empty after error: %s", input, render(&b))
		}
	}
	one := `{"name":"a","value":1}`
	// Batch rules.
	f(`{}`, 0, "Batch cannot be empty")
	f(`{"other":[1]}`, 0, "Batch cannot be empty")
	f(`{"metrics":[]}`, 0, "Batch cannot be empty")
	f(`{"metrics":[`+one+`],"metrics":[]}`, 0, "Batch cannot be empty")
	f(`{"metrics":null}`, 0, "metrics must be an array")
	f(`{"metrics":{"name":"a","value":1}}`, 0, "metrics must be an array")
	f(`[]`, 0, "Batch must be a JSON object")
	f(`"metrics"`, 0, "Batch must be a JSON object")
	f(`{"metrics":[`+strings.Repeat(one+",", 1000)+one+`]}`, 0, "Batch size exceeds maximum (1000 metrics)")
	f(`{"metrics":[`+one+`,`+one+`,`+one+`]}`, 2, "Batch size exceeds maximum (2 metrics)")
	f(`{"metrics":[1]}`, 0, "metric 0: must be an object")
	f(`{"metrics":[`+one+`,null]}`, 0, "metric 1: must be an object")
	f(`{"metrics":[`+one+`,{"value":1}]}`, 0, "metric 1: name is missing")
	f(`{"metrics":[`+one+`,`+one+`,`+one+`,{"name":"","value":1}]}`, 0, "metric 3: name is empty")
	f(`{"metrics":[{"name":null,"value":1}]}`, 0, "metric 0: name must be a string")
	f(`{"metrics":[{"name":"`+strings.Repeat("x", 256)+`","value":1}]}`, 0, "metric 0: name exceeds 255 bytes")
	f(`{"metrics":[{"name":"\u00e9`+strings.Repeat("x", 254)+`","value":1}]}`, 0, "metric 0: name exceeds 255 bytes")
	f(`{"metrics":[{"name":"a"}]}`, 0, "metric 0: value is missing")
	f(`{"metrics":[{"name":"a","value":"1"}]}`, 0, "metric 0: value must be a number")
	f(`{"metrics":[{"name":"a","value":null}]}`, 0, "metric 0: value must be a number")
	f(`{"metrics":[{"name":"a","value":1e400}]}`, 0, "metric 0: value is not finite")
	f(`{"metrics":[{"name":"a","value":-1e400}]}`, 0, "metric 0: value is not finite")
	f(`{"metrics":[{"name":"a","value":1,"type":"Gauge"}]}`, 0, "metric 0: type must be one of counter, gauge, histogram, summary")
	f(`{"metrics":[{"name":"a","value":1,"type":1}]}`, 0, "metric 0: type must be one of counter, gauge, histogram, summary")
	f(`{"metrics":[{"name":"a","value":1,"tags":[]}]}`, 0, "metric 0: tags must be an object")
	f(`{"metrics":[{"name":"a","value":1,"tags":{"k":"v","n":1}}]}`, 0, "metric 0: tag values must be strings")
	f(`{"metrics":[{"name":"a","value":1,"tags":{"k":null}}]}`, 0, "metric 0: tag values must be strings")
	f(`{"metrics":[{"name":"a","value":1,"timestamp":1.5}]}`, 0, "metric 0: timestamp must be integer Unix milliseconds or an RFC 3339 string")
	f(`{"metrics":[{"name":"a","value":1,"timestamp":1e3}]}`, 0, "metric 0: timestamp must be integer Unix milliseconds or an RFC 3339 string")
	f(`{"metrics":[{"name":"a","value":1,"timestamp":true}]}`, 0, "metric 0: timestamp must be integer Unix milliseconds or an RFC 3339 string")
	f(`{"metrics":[{"name":"a","value":1,"timestamp":"2026-02-30T00:00:00Z"}]}`, 0, "metric 0: timestamp must be integer Unix milliseconds or an RFC 3339 string")
	f(`{"metrics":[{"name":"a","value":1,"timestamp":253402300800000}]}`, 0, "metric 0: timestamp is outside the years 0000 to 9999")
	f(`{"metrics":[{"name":"a","value":1,"timestamp":-62167219200001}]}`, 0, "metric 0: timestamp is outside the years 0000 to 9999")
	f(`{"metrics":[{"name":"a","value":1,"timestamp":99999999999999999999999}]}`, 0, "metric 0: timestamp is outside the years 0000 to 9999")
	f(`{"metrics":[{"name":"a","value":1,"timestamp":"0000-01-01T00:00:00+00:01"}]}`, 0, "metric 0: timestamp is outside the years 0000 to 9999")
	// Fields are checked in the order name, value, type, tags, timestamp.
	f(`{"metrics":[{"timestamp":"x","tags":1,"type":"x","value":"x","name":""}]}`, 0, "metric 0: name is empty")
	f(`{"metrics":[{"timestamp":"x","tags":1,"type":"x","name":"a"}]}`, 0, "metric 0: value is missing")
	// The first rule error wins; a syntax error anywhere wins over it.
	f(`{"metrics":[{"name":""},{"value":1}]}`, 0, "metric 0: name is empty")
	f(`{"metrics":[{"name":""}],"x":[1 2]}`, 0, "invalid JSON at byte 32: expected ',' or ']'")
	f(`{"metrics":[{"name":"","value":1}], x}`, 0, "invalid JSON at byte 36: expected string")

	// JSON syntax: offsets are 0-based and point at the offending byte.
	f(``, 0, "invalid JSON at byte 0: unexpected end of input")
	f(`   `, 0, "invalid JSON at byte 3: unexpected end of input")
	f(`[`, 0, "invalid JSON at byte 1: unexpected end of input")
	f(`{`, 0, "invalid JSON at byte 1: unexpected end of input")
	f(`{"metrics":[`+one+`]`, 0, "invalid JSON at byte 35: unexpected end of input")
	f(`{"metrics":[`+one+`]} x`, 0, "invalid JSON at byte 37: unexpected data after top-level value")
	f(`{"metrics":[`+one+`]}{}`, 0, "invalid JSON at byte 36: unexpected data after top-level value")
	f(`{,}`, 0, "invalid JSON at byte 1: expected string or '}'")
	f(`{"a":1,}`, 0, "invalid JSON at byte 7: expected string")
	f(`{"a" 1}`, 0, "invalid JSON at byte 5: expected ':'")
	f(`{"a":1 "b":2}`, 0, "invalid JSON at byte 7: expected ',' or '}'")
	f(`{"a":01}`, 0, "invalid JSON at byte 6: expected ',' or '}'")
	f(`{"a":-}`, 0, "invalid JSON at byte 6: invalid number")
	f(`{"a":-01}`, 0, "invalid JSON at byte 7: expected ',' or '}'")
	f(`{"a":1.}`, 0, "invalid JSON at byte 7: invalid number")
	f(`{"a":1.e5}`, 0, "invalid JSON at byte 7: invalid number")
	f(`{"a":1e}`, 0, "invalid JSON at byte 7: invalid number")
	f(`{"a":1e+}`, 0, "invalid JSON at byte 8: invalid number")
	f(`{"a":.5}`, 0, "invalid JSON at byte 5: expected value")
	f(`{"a":+1}`, 0, "invalid JSON at byte 5: expected value")
	f(`{"a":NaN}`, 0, "invalid JSON at byte 5: expected value")
	f(`{"a":Infinity}`, 0, "invalid JSON at byte 5: expected value")
	f(`{"a":tru}`, 0, "invalid JSON at byte 8: invalid literal")
	f(`{"a":nul`, 0, "invalid JSON at byte 8: unexpected end of input")
	f(`{"a":True}`, 0, "invalid JSON at byte 5: expected value")
	f(`{"a":[1,]}`, 0, "invalid JSON at byte 8: expected value")
	f(`{"a":[1 2]}`, 0, "invalid JSON at byte 8: expected ',' or ']'")
	f(`{"a":[}`, 0, "invalid JSON at byte 6: expected value")
	f(`{"a":{"b":1]}`, 0, "invalid JSON at byte 11: expected ',' or '}'")
	f("{\"a\":\"x\x01\"}", 0, "invalid JSON at byte 7: control character in string")
	f("{\"metrics\":[{\"name\":\"x\ny\",\"value\":1}]}", 0, "invalid JSON at byte 22: control character in string")
	f(`{"a":"\q"}`, 0, "invalid JSON at byte 7: invalid escape in string")
	f(`{"metrics":[{"name":"\x41","value":1}]}`, 0, "invalid JSON at byte 22: invalid escape in string")
	f(`{"a":"\u12G4"}`, 0, "invalid JSON at byte 10: invalid hexadecimal digit in \\u escape")
	f(`{"metrics":[{"name":"\u12G4","value":1}]}`, 0, "invalid JSON at byte 25: invalid hexadecimal digit in \\u escape")
	f(`{"metrics":[{"name":"\ud800\u12G4","value":1}]}`, 0, "invalid JSON at byte 31: invalid hexadecimal digit in \\u escape")
	f(`{"a":"abc`, 0, "invalid JSON at byte 9: unexpected end of input")
	f(`{"a":"\u12`, 0, "invalid JSON at byte 10: unexpected end of input")
	f(`{"metrics":[{"name":"a\`, 0, "invalid JSON at byte 23: unexpected end of input")
	f(`{"metrics":[{"name":"a","value":1}`, 0, "invalid JSON at byte 34: unexpected end of input")
	f(`{"metrics":[{"name":"a","value":1,"tags":{"k":"v" "j":"w"}}]}`, 0, "invalid JSON at byte 50: expected ',' or '}'")
	f(`{"metrics":[{"name":"a","value":1,"tags":{"k":"v",}}]}`, 0, "invalid JSON at byte 50: expected string")
	f(`{"metrics":[{"name":"a","value":1,"tags":{1:"v"}}]}`, 0, "invalid JSON at byte 42: expected string or '}'")
	f(`{"metrics":[{"name":"a","value":1,"type":nul}]}`, 0, "invalid JSON at byte 44: invalid literal")
	// Nesting beyond encoding/json's limit, at the first '[' too many.
	deep := `{"x":` + strings.Repeat("[", MaxJSONDepth) + strings.Repeat("]", MaxJSONDepth) + `}`
	f(deep, 0, "invalid JSON at byte "+strconv.Itoa(5+MaxJSONDepth-1)+": nesting exceeds 10000 levels")
	f(strings.Repeat("[", 1<<20), 0, "invalid JSON at byte 10000: nesting exceeds 10000 levels")
	f(`{"x":`+strings.Repeat(`{"a":`, 1<<18), 0, "invalid JSON at byte "+strconv.Itoa(5+5*(MaxJSONDepth-1))+": nesting exceeds 10000 levels")
}

// TestDecodeErrorFields checks what Offset and Metric hold for each kind
// of error.
func TestDecodeErrorFields(t *testing.T) {
	var d JSONDecoder
	var b Batch
	f := func(input string, wantOffset, wantMetric int) {
		t.Helper()
		err := d.Decode([]byte(input), 3, &b)
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Fatalf("Decode(%q): got %v; want a *DecodeError", input, err)
		}
		if de.Offset != wantOffset || de.Metric != wantMetric {
			t.Fatalf("Decode(%q): got Offset %d Metric %d (%v); want %d, %d", input, de.Offset, de.Metric, err, wantOffset, wantMetric)
		}
	}
	one := `{"name":"a","value":1}`
	f(`{"metrics":[]}`, -1, -1)
	f(`{}`, -1, -1)
	f(`[1]`, -1, -1)
	f(`{"metrics":7}`, -1, -1)
	f(`{"metrics":[`+one+`,`+one+`,`+one+`,`+one+`]}`, -1, -1)
	f(`{"metrics":[`+one+`, 5]}`, 36, 1)                            // the element
	f(`{"metrics":[`+one+`,{"name":"a"}]}`, 35, 1)                  // the metric, for a missing field
	f(`{"metrics":[{"name":"a","value":true}]}`, 32, 0)             // the offending value
	f(`{"metrics":[{"name":"a","value":1,"tags":{"k":1}}]}`, 46, 0) // the offending tag value
	f(`{"metrics":[{"name":"a","value":1 x]}`, 34, -1)              // syntax
	f(`{"metrics":[{"name":"a","value":1`, 33, -1)                  // end of input
}

// TestDecodeLongSkip runs the iterative skipper over a 1 MB nest that
// stays within the depth limit, and over long flat arrays, which must be
// linear; a recursive or quadratic skipper would time the test out.
func TestDecodeLongSkip(t *testing.T) {
	var body bytes.Buffer
	body.WriteString(`{"x":[`)
	unit := strings.Repeat("[", 1000) + `{"k":"v","n":[1,2.5e3,true,false,null]}` + strings.Repeat("]", 1000)
	for body.Len() < 1<<20 {
		body.WriteString(unit)
		body.WriteString(",")
	}
	body.WriteString(`0],"metrics":[{"name":"a","value":1}]}`)
	var d JSONDecoder
	var b Batch
	if err := d.Decode(body.Bytes(), 0, &b); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if !json.Valid(body.Bytes()) || b.Len() != 1 {
		t.Fatalf("got %d metrics; want 1", b.Len())
	}
}

func TestDecodeNumbers(t *testing.T) {
	var d JSONDecoder
	var b Batch
	f := func(num string) {
		t.Helper()
		body := `{"metrics":[{"name":"a","value":` + num + `}]}`
		var want float64
		wantErr := json.Unmarshal([]byte(num), &want)
		err := d.Decode([]byte(body), 0, &b)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("value %s: got error %v; encoding/json error %v", num, err, wantErr)
		}
		if err == nil && math.Float64bits(b.Metrics[0].Value) != math.Float64bits(want) {
			t.Fatalf("value %s: got %v (%#x); want %v (%#x)", num, b.Metrics[0].Value,
				math.Float64bits(b.Metrics[0].Value), want, math.Float64bits(want))
		}
	}
	for _, s := range []string{
		"0", "-0", "1", "-1", "75.5", "0.1", "0.3", "-0.0", "0e0", "-0e-5", "1e22", "1e23", "1e-22", "1e-23",
		"9007199254740992", "9007199254740993", "123456789012345", "1234567890123456", "123456789012345678",
		"99999999999999999999", "1.7976931348623157e308", "1.7976931348623159e308", "5e-324", "2e-324",
		"1e-400", "2.2250738585072011e-308", "0.000001", "1E+2", "1e-0", "123.456e-7", "4.35", "0.1e1",
		"1.00000000000000011102230246251565404236316680908203125", "100000000000000000000000e-2",
		"0.00000000000000000000000000000000000000000000001", "1e00000000000000000000000000000001",
		"12345678901234.5", "1234567890123.45e10", "1e400", "-1e400",
	} {
		f(s)
	}
	// Random decimals around the fast path's limits, and random float64s.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		digits := strconv.FormatUint(rng.Uint64()%1e17, 10)
		point := rng.IntN(len(digits) + 1)
		s := digits[:point]
		if s == "" {
			s = "0"
		}
		s = strings.TrimLeft(s, "0")
		if s == "" {
			s = "0"
		}
		if point < len(digits) {
			s += "." + digits[point:]
		}
		if rng.IntN(2) == 0 {
			s += "e" + strconv.Itoa(rng.IntN(60)-30)
		}
		if rng.IntN(2) == 0 {
			s = "-" + s
		}
		f(s)
		v := math.Float64frombits(rng.Uint64())
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			f(strconv.FormatFloat(v, 'g', -1, 64))
			f(strconv.FormatFloat(v, 'e', 15, 64))
		}
	}
}

func TestParseRFC3339(t *testing.T) {
	f := func(s string, wantOK bool) {
		t.Helper()
		got, ok := parseRFC3339([]byte(s))
		if ok != wantOK {
			t.Fatalf("parseRFC3339(%q): got ok=%v; want %v", s, ok, wantOK)
		}
		if !ok {
			return
		}
		tm, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s))
		if err != nil {
			t.Fatalf("time.Parse(%q): %v", s, err)
		}
		if want := tm.UnixMilli(); got != want {
			t.Fatalf("parseRFC3339(%q) = %d; want %d", s, got, want)
		}
	}
	f("2026-11-26T17:20:06Z", true)
	f("2026-11-26T17:20:06.1Z", true)
	f("2026-11-26T17:20:06.12Z", true)
	f("2026-11-26T17:20:06.123Z", true)
	f("2026-11-26T17:20:06.123999999Z", true)
	f("2026-11-26T17:20:06.12399999999999Z", true)
	f("2026-11-26t17:20:06.5z", true)
	f("2026-11-26T17:20:06+05:30", true)
	f("2026-11-26T17:20:06.999-23:59", true)
	f("2026-11-26T17:20:06-00:00", true)
	f("1969-12-31T23:59:59.999Z", true)
	f("1900-01-01T00:00:00.001Z", true)
	f("0000-01-01T00:00:00Z", true)
	f("0000-02-29T00:00:00Z", true)
	f("9999-12-31T23:59:59.999999Z", true)
	f("2024-02-29T00:00:00Z", true)
	f("2000-02-29T00:00:00Z", true)
	f("1900-02-29T00:00:00Z", false)
	f("2023-02-29T00:00:00Z", false)
	f("2026-04-31T00:00:00Z", false)
	f("2026-13-01T00:00:00Z", false)
	f("2026-00-01T00:00:00Z", false)
	f("2026-01-00T00:00:00Z", false)
	f("2026-01-01T24:00:00Z", false)
	f("2026-01-01T00:60:00Z", false)
	f("2026-01-01T00:00:60Z", false)
	f("2026-01-01T00:00:00", false)
	f("2026-01-01T00:00:00.Z", false)
	f("2026-01-01T00:00:00,5Z", false)
	f("2026-01-01 00:00:00Z", false)
	f("2026-01-01T00:00:00+0100", false)
	f("2026-01-01T00:00:00+24:00", false)
	f("2026-01-01T00:00:00+01:60", false)
	f("2026-01-01T00:00:00ZZ", false)
	f("2026-1-01T00:00:00Z", false)
	f("+2026-01-01T00:00:00Z", false)
	f("2026-01-01T00:00:0xZ", false)
	f("", false)
	f("2026-01-01", false)
}

func TestDecodeStrings(t *testing.T) {
	var d JSONDecoder
	var b Batch
	f := func(quoted string) {
		t.Helper()
		var want string
		if err := json.Unmarshal([]byte(quoted), &want); err != nil {
			t.Fatalf("encoding/json rejects %q: %v", quoted, err)
		}
		body := `{"metrics":[{"name":"n","value":1,"tags":{` + quoted + `:` + quoted + `}}]}`
		if err := d.Decode([]byte(body), 0, &b); err != nil {
			t.Fatalf("Decode(%q): %v", body, err)
		}
		tag := b.Tags[0]
		if string(tag.Key) != want || string(tag.Value) != want {
			t.Fatalf("string %q: got key %q value %q; want %q", quoted, tag.Key, tag.Value, want)
		}
	}
	for _, s := range []string{
		`""`, `"plain"`, `"\"\\\/\b\f\n\r\t"`, `"\u0000\u001f\u007f"`, `"\u00e9\u20ac\uFFFF"`,
		`"\ud83d\ude00"`, `"\uD83D\uDE00"`, `"\ud800"`, `"\udc00"`, `"\udbff\udfff"`, `"\ud800\ud800"`,
		`"\ud800\u0041"`, `"\ud800\ud800\udc00"`, `"\udc00\ud800\udc00"`, `"\ud800\n"`, `"\ud800x"`, `"\ud800\\u0041"`,
		"\"\xff\"", "\"a\xc3\"", "\"\xc3\x28\"", "\"\xed\xa0\x80\"", "\"\xf0\x9f\x98\"", "\"\xf4\x90\x80\x80\"",
		"\"\xef\xbf\xbd\"", "\"é😀\u2028\"", "\"\xc0\xaf\"", "\"x\xff\\n\xfe\"",
		`"` + strings.Repeat(`ab\n`, 1000) + `"`,
	} {
		f(s)
	}
}

// TestDecodeReuse decodes with one decoder and batch in turn, including a
// body whose escaped strings make the scratch buffer grow several times:
// every earlier view must survive the growth.
func TestDecodeReuse(t *testing.T) {
	var d JSONDecoder
	var b Batch
	var body strings.Builder
	body.WriteString(`{"metrics":[`)
	for i := range 500 {
		if i > 0 {
			body.WriteString(",")
		}
		fmt.Fprintf(&body, `{"name":"m\u00e9%d%s","value":%d,"tags":{"k\n%d":"v\t%d","plain":"x"}}`, i, strings.Repeat(`\"`, i%50), i, i, i)
	}
	body.WriteString(`]}`)
	check := func() {
		t.Helper()
		if b.Len() != 500 {
			t.Fatalf("got %d metrics; want 500", b.Len())
		}
		for i := range b.Metrics {
			m := &b.Metrics[i]
			want := fmt.Sprintf("mé%d%s", i, strings.Repeat(`"`, i%50))
			tags := b.MetricTags(i)
			if string(m.Name) != want || m.Value != float64(i) || len(tags) != 2 ||
				string(tags[0].Key) != fmt.Sprintf("k\n%d", i) || string(tags[0].Value) != fmt.Sprintf("v\t%d", i) {
				t.Fatalf("metric %d: got %q=%v %v", i, m.Name, m.Value, tags)
			}
		}
	}
	for range 2 {
		if err := d.Decode([]byte(body.String()), 500, &b); err != nil {
			t.Fatalf("Decode: %v", err)
		}
		check()
		if err := d.Decode([]byte(`{"metrics":[{"name":"z","value":9}]}`), 0, &b); err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if got := render(&b); got != `"z"=9:gauge` {
			t.Fatalf("got %s", got)
		}
		if err := d.Decode([]byte(`{"metrics":[{"name":"z"}]}`), 0, &b); err == nil {
			t.Fatal("Decode: got no error")
		}
	}
}

// TestDecodeManyTags exercises the hashed duplicate detection used past a
// few tags: the last value of a key wins, in the key's first position.
func TestDecodeManyTags(t *testing.T) {
	var d JSONDecoder
	var b Batch
	for _, n := range []int{3, 15, 16, 17, 40, 1000, 20000} {
		var body strings.Builder
		body.WriteString(`{"metrics":[{"name":"a","value":1,"tags":{"pre":"x"}},{"name":"b","value":2,"tags":{`)
		for i := range 2 * n {
			if i > 0 {
				body.WriteString(",")
			}
			fmt.Fprintf(&body, `"k%d":"v%d"`, i%n, i)
		}
		body.WriteString(`,"k0":"last"}}]}`)
		if err := d.Decode([]byte(body.String()), 0, &b); err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		tags := b.MetricTags(1)
		if len(tags) != n {
			t.Fatalf("n=%d: got %d tags", n, len(tags))
		}
		for i, tag := range tags {
			want := fmt.Sprintf("v%d", i+n)
			if i == 0 {
				want = "last"
			}
			if string(tag.Key) != fmt.Sprintf("k%d", i) || string(tag.Value) != want {
				t.Fatalf("n=%d: tag %d is %q=%q; want k%d=%s", n, i, tag.Key, tag.Value, i, want)
			}
		}
		if got := b.MetricTags(0); len(got) != 1 || string(got[0].Key) != "pre" {
			t.Fatalf("n=%d: first metric's tags %v", n, got)
		}
	}
}

// TestTagsText checks when the decoder hands the body's tags object to the
// line encoder to copy (the lines themselves are checked by
// checkStoredLines): only a compact object of plain, distinct pairs.
func TestTagsText(t *testing.T) {
	f := func(tags, want string) {
		t.Helper()
		var d JSONDecoder
		var b Batch
		body := `{"metrics":[{"name":"a","value":1,"tags":` + tags + `}]}`
		if err := d.Decode([]byte(body), 0, &b); err != nil {
			t.Fatalf("Decode(%s): %v", body, err)
		}
		if got := string(b.Metrics[0].TagsText); got != want {
			t.Fatalf("tags %s: got TagsText %q; want %q", tags, got, want)
		}
		checkStoredLines(t, &b)
	}
	f(`{"host":"s1"}`, `"host":"s1"`)
	f(`{"host":"s1","region":"eu-west-1"}`, `"host":"s1","region":"eu-west-1"`)
	f(`{"":""}`, `"":""`)
	f(`{}`, ``)
	f(`null`, ``)
	f(`{"host":"s1", "region":"eu"}`, ``)
	f(`{"host":"s1" ,"region":"eu"}`, ``)
	f(`{ "host":"s1"}`, ``)
	f(`{"host":"s1" }`, ``)
	f(`{"host" :"s1"}`, ``)
	f(`{"host":"s1","host":"s2"}`, ``)
	f(`{"h\u006fst":"s1"}`, ``)
	f(`{"host":"caf\u00e9"}`, ``)
	f("{\"host\":\"caf\xc3\xa9\"}", ``)
	f(`{"a":"1"},"tags":{"b":"2"}`, `"b":"2"`)
	f(`{"a":"1"},"tags":null`, ``)
	f(`{"a":"1"},"tags":{}`, ``)
}

// refMetric is a metric as the reference model decodes it.
type refMetric struct {
	name  string
	value float64
	typ   MetricType
	hasTS bool
	ts    int64
	tags  map[string]string
}

var rfc3339Shape = regexp.MustCompile(`^\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$`)

// refDecode is the reference model of the batch rules, built on
// encoding/json: it reports whether a body is accepted and what it holds.
func refDecode(body []byte, maxBatch int) ([]refMetric, bool) {
	if !json.Valid(body) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var top any
	if err := dec.Decode(&top); err != nil {
		return nil, false
	}
	obj, ok := top.(map[string]any)
	if !ok {
		return nil, false
	}
	arr, ok := obj["metrics"].([]any)
	if !ok || len(arr) == 0 || len(arr) > maxBatch {
		return nil, false
	}
	out := make([]refMetric, 0, len(arr))
	for _, el := range arr {
		o, ok := el.(map[string]any)
		if !ok {
			return nil, false
		}
		var m refMetric
		name, ok := o["name"].(string)
		if !ok || len(name) == 0 || len(name) > MaxNameBytes {
			return nil, false
		}
		m.name = name
		num, ok := o["value"].(json.Number)
		if !ok {
			return nil, false
		}
		v, err := strconv.ParseFloat(string(num), 64)
		if err != nil {
			return nil, false
		}
		m.value = v
		switch typ := o["type"].(type) {
		case nil:
		case string:
			if m.typ, ok = ParseMetricType([]byte(typ)); !ok {
				return nil, false
			}
		default:
			return nil, false
		}
		switch tags := o["tags"].(type) {
		case nil:
		case map[string]any:
			m.tags = map[string]string{}
			for k, v := range tags {
				s, ok := v.(string)
				if !ok {
					return nil, false
				}
				m.tags[k] = s
			}
		default:
			return nil, false
		}
		switch ts := o["timestamp"].(type) {
		case nil:
		case json.Number:
			if strings.ContainsAny(string(ts), ".eE") {
				return nil, false
			}
			n, err := strconv.ParseInt(string(ts), 10, 64)
			if err != nil || n < MinTimestampMs || n > MaxTimestampMs {
				return nil, false
			}
			m.hasTS, m.ts = true, n
		case string:
			if !rfc3339Shape.MatchString(ts) {
				return nil, false
			}
			tm, err := time.Parse(time.RFC3339Nano, strings.ToUpper(ts))
			if err != nil {
				return nil, false
			}
			n := tm.UnixMilli()
			if n < MinTimestampMs || n > MaxTimestampMs {
				return nil, false
			}
			m.hasTS, m.ts = true, n
		default:
			return nil, false
		}
		out = append(out, m)
	}
	return out, true
}

// checkDifferential decodes body with d and with the reference model and
// fails t unless both accept or both reject, with the same metrics.
func checkDifferential(t *testing.T, d *JSONDecoder, b *Batch, body []byte, maxBatch int) {
	t.Helper()
	want, wantOK := refDecode(body, maxBatch)
	err := d.Decode(body, maxBatch, b)
	if (err == nil) != wantOK {
		t.Fatalf("Decode(%q): got error %v; reference accepts: %v", body, err, wantOK)
	}
	if err != nil {
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Fatalf("Decode(%q): error %T", body, err)
		}
		if de.Metric < 0 && de.Offset > len(body) {
			t.Fatalf("Decode(%q): offset %d beyond body", body, de.Offset)
		}
		if json.Valid(body) == (de.Metric < 0 && de.Offset >= 0) {
			t.Fatalf("Decode(%q): error %q disagrees with json.Valid=%v", body, err, json.Valid(body))
		}
		return
	}
	if b.Len() != len(want) {
		t.Fatalf("Decode(%q): got %d metrics; want %d", body, b.Len(), len(want))
	}
	for i, w := range want {
		m := &b.Metrics[i]
		if string(m.Name) != w.name || math.Float64bits(m.Value) != math.Float64bits(w.value) ||
			m.Type != w.typ || m.HasTimestamp != w.hasTS || m.TimestampMs != w.ts {
			t.Fatalf("Decode(%q): metric %d got %s; want %+v", body, i, render(b), w)
		}
		tags := b.MetricTags(i)
		if len(tags) != len(w.tags) {
			t.Fatalf("Decode(%q): metric %d got %d tags; want %v", body, i, len(tags), w.tags)
		}
		for _, tag := range tags {
			if v, ok := w.tags[string(tag.Key)]; !ok || v != string(tag.Value) {
				t.Fatalf("Decode(%q): metric %d tag %q=%q; want %v", body, i, tag.Key, tag.Value, w.tags)
			}
		}
	}
	checkStoredLines(t, b)
}

// checkStoredLines encodes a decoded batch and checks every storage line
// with encoding/json: valid JSON holding the metric, its value bit for bit,
// and the same bytes AppendLine writes for the metric alone. A value text
// copied from the body must be what the encoder writes for the value.
func checkStoredLines(t *testing.T, b *Batch) {
	t.Helper()
	client := []byte("c\"1\xff")
	const receivedMs = 1795713606123
	lines := AppendBatch(nil, b, client, receivedMs)
	for i := range b.Metrics {
		m := &b.Metrics[i]
		end := bytes.IndexByte(lines, '\n') + 1
		if end == 0 {
			t.Fatalf("stored lines end before metric %d", i)
		}
		line := lines[:end]
		lines = lines[end:]
		checkLine(t, line, m, b.MetricTags(i), client, receivedMs)
		if alone := AppendLine(nil, m, b.MetricTags(i), client, receivedMs); !bytes.Equal(line, alone) {
			t.Fatalf("metric %d: AppendBatch wrote %q; AppendLine %q", i, line, alone)
		}
		if len(m.ValueText) > 0 && string(appendFloat(nil, m.Value)) != string(m.ValueText) {
			t.Fatalf("metric %d: value text %q; the encoder writes %s", i, m.ValueText, appendFloat(nil, m.Value))
		}
		// Texts copied from the body must give the line that the fields
		// alone give.
		fields := *m
		fields.ValueText, fields.TagsText, fields.NamePlain = nil, nil, false
		if formatted := AppendLine(nil, &fields, b.MetricTags(i), client, receivedMs); !bytes.Equal(line, formatted) {
			t.Fatalf("metric %d: line with copied texts %q; from the fields %q", i, line, formatted)
		}
	}
	if len(lines) != 0 {
		t.Fatalf("stored lines: %q left after the last metric", lines)
	}
}

// jsonCorpus is the seed corpus of the differential test and the fuzzer:
// valid batches, batches that break a rule, and broken JSON.
func jsonCorpus() []string {
	return []string{
		`{"metrics":[{"name":"cpu_usage","value":75.5,"type":"gauge","tags":{"host":"server1"},"timestamp":1764172800123}]}`,
		`{"metrics":[{"name":"a","value":1},{"name":"b","value":-2e-3,"type":"counter"},{"name":"c","value":0.5,"type":"summary","timestamp":"2026-11-26T17:20:06.123+01:00"}]}`,
		`{"metrics":[{"name":"h","value":1E2,"type":"histogram","tags":{"a":"1","b":"2","a":"3"}}],"other":{"x":[1,"2",null,true,false,{}]}}`,
		`{"metrics":[{"name":"a\u00e9\ud83d\ude00\ud800","value":1,"tags":{"\n":"\t","k":"\"\\\/"}}]}`,
		"{\"metrics\":[{\"name\":\"\xff\xfe\",\"value\":1,\"tags\":{\"\xc3\":\"\xed\xa0\x80\"}}]}",
		`{"metrics":[{"name":"a","value":1,"type":null,"tags":null,"timestamp":null}]}`,
		`{"metrics":[{"name":"a","value":1}],"metrics":[{"name":"b","value":2}]}`,
		`{"metrics":[{"name":"","value":1}],"metrics":[{"name":"b","value":2}]}`,
		`{"metrics":[{"name":"a","name":"","value":1}]}`,
		`{"metrics":[{"name":"","name":"a","value":"x","value":1}]}`,
		`{"metrics":[{"name":"a","value":1,"timestamp":-62167219200000},{"name":"b","value":1,"timestamp":253402300799999}]}`,
		`{"metrics":[{"name":"a","value":1,"timestamp":253402300800000}]}`,
		`{"metrics":[{"name":"a","value":1,"timestamp":"9999-12-31T23:59:59.999-01:00"}]}`,
		`{"metrics":[{"name":"a","value":1,"timestamp":"2026-11-26t17:20:06z"}]}`,
		`{"metrics":[{"name":"a","value":1,"timestamp":1.0}]}`,
		`{"metrics":[{"name":"a","value":1e400}]}`,
		`{"metrics":[{"name":"a","value":1e-400}]}`,
		`{"metrics":[{"name":"a","value":123456789012345678901234567890}]}`,
		`{"metrics":[{"name":"a","value":"1"}]}`,
		`{"metrics":[{"name":"a","value":1,"type":"Counter"}]}`,
		`{"metrics":[{"name":"a","value":1,"tags":{"k":1}}]}`,
		`{"metrics":[{"name":"a","value":1,"tags":["k"]}]}`,
		`{"metrics":[1,2]}`,
		`{"metrics":[{"name":"a","value":1},{"name":"a","value":1},{"name":"a","value":1},{"name":"a","value":1},{"name":"a","value":1}]}`,
		`{"metrics":{}}`,
		`{"metrics":[]}`,
		`{}`,
		`[]`,
		`"x"`,
		`{"metrics":[{"name":"a","value":1}]} `,
		`{"metrics":[{"name":"a","value":1}]}x`,
		`{"metrics":[{"name":"a","value":01}]}`,
		`{"metrics":[{"name":"a","value":-}]}`,
		`{"metrics":[{"name":"a","value":.5}]}`,
		`{"metrics":[{"name":"a","value":1.5e+3,"x":[[[[{"y":[]}]]]]}]}`,
		`{"metrics":[{"name":"a\x","value":1}]}`,
		`{"metrics":[{"name":"a\u00G0","value":1}]}`,
		"{\"metrics\":[{\"name\":\"a\x01\",\"value\":1}]}",
		`{"metrics":[{"name":"a","value":1,}]}`,
		`{"metrics":[{"name":"a","value":1}],}`,
		`{"metrics":[{"name":"a","value":1} {"name":"b","value":2}]}`,
		`{"metrics" [{"name":"a","value":1}]}`,
		`{"x":tru,"metrics":[{"name":"a","value":1}]}`,
		`{"x":nulll,"metrics":[{"name":"a","value":1}]}`,
		`{"metrics":[{"n\u0061me":"a","v\u0061lue":1,"t\u0079pe":"g\u0061uge"}]}`,
		`{"Metrics":[{"name":"a","value":1}]}`,
		`{"metrics":[{"Name":"a","value":1}]}`,
		`{"metrics":[{"name":"` + strings.Repeat("x", 255) + `","value":1}]}`,
		`{"metrics":[{"name":"` + strings.Repeat("x", 256) + `","value":1}]}`,
		`{"metrics":[{"name":"` + strings.Repeat(`\u00e9`, 128) + `","value":1}]}`,
		`{"metrics":[{"name":"m","value":2,"tags":{"a":"1","b":"2","c":"3","d":"4","e":"5","f":"6","g":"7","h":"8","i":"9","j":"10","k":"11","l":"12","m":"13","n":"14","o":"15","p":"16","q":"17","a":"x","p":"y","r":"z"}}]}`,
		` {"metrics" : [ {"name" : "a" , "value" : 1 } ] } `,
	}
}

// TestDecodeDifferential holds the decoder to encoding/json and the
// reference model over the corpus and over mutations of it: every prefix,
// every single-byte deletion and many single-byte replacements.
func TestDecodeDifferential(t *testing.T) {
	var d JSONDecoder
	var b Batch
	repl := []byte{'"', '\\', '{', '}', '[', ']', ',', ':', '0', '1', 'e', '-', '.', 'u', 'n', ' ', '\n', 0x00, 0x7f, 0xc3, 0xff}
	for _, doc := range jsonCorpus() {
		body := []byte(doc)
		for _, maxBatch := range []int{4, 1000} {
			checkDifferential(t, &d, &b, body, maxBatch)
		}
		if len(body) > 300 {
			continue
		}
		for i := range body {
			checkDifferential(t, &d, &b, body[:i], 4)
			mut := append(append([]byte{}, body[:i]...), body[i+1:]...)
			checkDifferential(t, &d, &b, mut, 4)
			mut = append([]byte{}, body...)
			for _, c := range repl {
				mut[i] = c
				checkDifferential(t, &d, &b, mut, 4)
			}
		}
	}
}

// TestRawKeys checks the little-endian images knownKey compares with.
func TestRawKeys(t *testing.T) {
	image := func(s string) uint64 {
		var b [8]byte
		copy(b[:], s)
		return binary.LittleEndian.Uint64(b[:])
	}
	for _, c := range []struct {
		got  uint64
		text string
	}{{rawName, `"name"`}, {rawValue, `"value"`}, {rawType, `"type"`}, {rawTags, `"tags"`}, {rawTimesta, `"timesta`}, {rawMP, `mp"`},
		{rawGauge, `"gauge"`}, {rawCounter, `"counter`}, {rawHistogr, `"histogr`}, {rawSummary, `"summary`},
		{rawOpenName, `{"name":`}, {rawNextValue, `,"value"`}, {rawNextType, `,"type":`}, {rawNextTags, `,"tags":`},
		{rawNextTimes, `,"timest`}, {rawEstamp, `,"timestamp":`[5:]}} {
		if want := image(c.text); c.got != want {
			t.Fatalf("image of %s: got %#x; want %#x", c.text, c.got, want)
		}
	}
	if rawKeyBytes != len(`"timestamp"`) {
		t.Fatalf("rawKeyBytes %d", rawKeyBytes)
	}
}

// TestDecodeMetricFast checks which metrics the fast path takes, and that
// each decodes as on the general path, which a space after the metric's
// '{' forces.
func TestDecodeMetricFast(t *testing.T) {
	f := func(metric string, fast bool) {
		t.Helper()
		body := []byte(`{"metrics":[` + metric + `]}`)
		var b Batch
		d := JSONDecoder{buf: body, pos: len(`{"metrics":[`), b: &b, maxBatch: DefaultMaxBatch}
		if got := d.decodeMetricFast(); got != fast {
			t.Fatalf("%s: fast path %v; want %v", metric, got, fast)
		}
		if !fast && (b.Len() != 0 || len(b.Tags) != 0 || d.pos != len(`{"metrics":[`)) {
			t.Fatalf("%s: the fast path left %d metrics, %d tags, pos %d", metric, b.Len(), len(b.Tags), d.pos)
		}
		var fastDec, slowDec JSONDecoder
		var slow Batch
		fastErr := fastDec.Decode(body, 0, &b)
		slowErr := slowDec.Decode([]byte(`{"metrics":[{ `+metric[1:]+`]}`), 0, &slow)
		if (fastErr == nil) != (slowErr == nil) {
			t.Fatalf("%s: error %v; on the general path %v", metric, fastErr, slowErr)
		}
		if fastErr != nil {
			return
		}
		if got, want := render(&b), render(&slow); got != want {
			t.Fatalf("%s: got %s; on the general path %s", metric, got, want)
		}
		m, s := &b.Metrics[0], &slow.Metrics[0]
		if string(m.ValueText) != string(s.ValueText) || string(m.TagsText) != string(s.TagsText) {
			t.Fatalf("%s: texts %q %q; on the general path %q %q", metric, m.ValueText, m.TagsText, s.ValueText, s.TagsText)
		}
		checkStoredLines(t, &b)
	}
	f(`{"name":"cpu","value":75.5,"type":"gauge","tags":{"host":"s1"},"timestamp":1764172800123}`, true)
	f(`{"name":"cpu","value":75.50,"type":"counter","tags":{"a":"1","b":"2"},"timestamp":-1}`, true)
	f(`{"name":"cpu","value":-1e-7,"type":"histogram","tags":{}}`, true)
	f(`{"name":"cpu","value":0,"type":"summary"}`, true)
	f(`{"name":"cpu","value":1,"tags":{"k":""},"timestamp":0}`, true)
	f(`{"name":"cpu","value":1,"timestamp":253402300799999}`, true)
	f(`{"name":"c","value":1}`, true)
	f(`{"name":"c","value":1e400}`, false)
	for _, v := range []string{"0", "-0", "0.5", "-0.25", "7", "1234567", "1234567.1234567", "12345678", "1.12345678",
		"1.", "1.e5", "1e5", "1.5E3", "-", "-a", "00", "01.5", "0.0", "-1234567.0000001"} {
		f(`{"name":"c","value":`+v+`,"type":"gauge","tags":{"host":"s1"},"timestamp":1764172800123}`, isJSONNumber([]byte(v)))
		checkPlainDecimal(t, v)
	}
	f(`{"name":"c","value":1,"timestamp":253402300800000}`, false)
	f(`{"name":"c","value":1,"timestamp":1.5}`, false)
	f(`{"name":"c","value":1,"timestamp":0}`, true)
	f(`{"name":"c","value":1,"timestamp":7}`, true)
	f(`{"name":"c","value":1,"timestamp":12345678}`, true)
	f(`{"name":"c","value":1,"timestamp":123456789012345}`, true)
	f(`{"name":"c","value":1,"timestamp":1234567890123456}`, false)
	f(`{"name":"c","value":1,"timestamp":-62167219200000}`, true)
	f(`{"name":"c","value":1,"timestamp":01}`, false)
	f(`{"name":"c","value":1,"timestamp":1e3}`, false)
	f(`{"name":"c","value":1,"timestamp":12345678e1}`, false)
	f(`{"name":"c","value":1,"timestamp":12345678.0}`, false)
	f(`{"name":"c","value":1,"timestamp":1764172800123 }`, false)
	f(`{"name":"c","value":1,"timestamp":"2026-11-26T17:20:06.123Z"}`, false)
	f(`{"name":"c","value":1,"timestamp":null}`, false)
	f(`{"name":"c","value":1,"type":null}`, false)
	f(`{"name":"c","value":1,"type":"Gauge"}`, false)
	f(`{"name":"c","value":1,"tags":{"a":"1","a":"2"}}`, false)
	f(`{"name":"c","value":1,"tags":{"a":"1","b":"2","a":"3"}}`, false)
	manyTags := func(n int) string {
		var sb strings.Builder
		for i := range n {
			fmt.Fprintf(&sb, `,"k%d":"v"`, i)
		}
		return `{` + sb.String()[1:] + `}`
	}
	f(`{"name":"c","value":1,"tags":`+manyTags(linearTags-1)+`}`, true)
	f(`{"name":"c","value":1,"tags":`+manyTags(linearTags)+`}`, false)
	f(`{"name":"c","value":1,"tags":{"a":1}}`, false)
	f(`{"name":"c","value":1,"tags":{"a":"caf\u00e9"}}`, false)
	f(`{"name":"c","value":1,"tags":{"a":"1" }}`, false)
	f(`{"name":"c","value":1,"tags":null}`, false)
	f(`{"name":"c","value":1,"name":"d"}`, false)
	f(`{"name":"c","value":1,"type":"gauge","value":2}`, false)
	f(`{"name":"c","value":1,"other":2}`, false)
	f(`{"name":"c","value":1 }`, false)
	f(`{"name":"c","value":01}`, false)
	f(`{"name":"c","value":-}`, false)
	f(`{"name":"c","value":"1"}`, false)
	f(`{"name":"","value":1}`, false)
	f(`{"name":"`+strings.Repeat("n", 255)+`","value":1}`, true)
	f(`{"name":"`+strings.Repeat("n", 256)+`","value":1}`, false)
	f(`{"name":"a\nb","value":1}`, false)
	f(`{"value":1,"name":"c"}`, false)
	f(`{"name":"c"}`, false)
	f(`{}`, false)
}

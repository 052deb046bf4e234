package forward

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/snappy"
)

func TestPlainDecimal(t *testing.T) {
	f := func(text string, want bool) {
		t.Helper()
		got, ok := plainDecimal([]byte(text))
		if ok != want {
			t.Errorf("plainDecimal(%q): ok %v; want %v", text, ok, want)
			return
		}
		if !ok {
			return
		}
		ref, err := strconv.ParseFloat(text, 64)
		if err != nil || math.Float64bits(got) != math.Float64bits(ref) {
			t.Errorf("plainDecimal(%q) = %v (%#x); strconv gives %v (%#x)", text, got, math.Float64bits(got), ref, math.Float64bits(ref))
		}
	}
	f("0", true)
	f("-0", true)
	f("-0.0", true)
	f("75.5", true)
	f("0.1", true)
	f("123456789012345", true)
	f("1234567890123456", false) // 16 digits: strconv decides
	f("0.00000000000001", true)
	f("0.000000000000001", false) // 16 digits
	f("999999999999999", true)
	f("-12.000", true)
	f("007", true)
	f("", false)
	f("-", false)
	f(".5", false)
	f("5.", false)
	f("1.2.3", false)
	f("1e5", false)
	f("+1", false)
	f("--1", false)

	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		digits := 1 + rng.IntN(15)
		var b strings.Builder
		if rng.IntN(2) == 0 {
			b.WriteByte('-')
		}
		dot := rng.IntN(digits + 1)
		for i := range digits {
			if i == dot && i > 0 {
				b.WriteByte('.')
			}
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		f(b.String(), true)
	}
}

func FuzzPlainDecimal(f *testing.F) {
	for _, s := range []string{"0", "-0.5", "123456789012345", "0.000000000000001", "9007199254740993"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got, ok := plainDecimal([]byte(text))
		if !ok {
			return
		}
		ref, err := strconv.ParseFloat(text, 64)
		if err != nil || math.Float64bits(got) != math.Float64bits(ref) {
			t.Fatalf("plainDecimal(%q) = %v; strconv gives %v, %v", text, got, ref, err)
		}
	})
}

// knownSeriesLines are stored lines that exercise both the split of a known series and the
// full parse: escapes, no tags, tags in another order, names that sanitise alike, a type with
// an escape, and lines that are broken after a series part that is known.
var knownSeriesLines = []string{
	`{"timestamp":"2026-11-26T17:20:06.123Z","client":"client-1","name":"cpu_usage","value":75.5,"type":"gauge","tags":{"host":"server1","dc":"eu"}}`,
	`{"timestamp":"2026-11-26T17:20:06.124Z","client":"client-1","name":"cpu_usage","value":76,"type":"gauge","tags":{"host":"server1","dc":"eu"}}`,
	`{"timestamp":"2026-11-26T17:20:06.125Z","client":"client-1","name":"cpu_usage","value":-1e-7,"type":"gauge","tags":{"dc":"eu","host":"server1"}}`,
	`{"timestamp":"2026-11-26T17:20:07.001Z","client":"client-1","name":"cpu.usage","value":1.5,"type":"counter","tags":{"host":"server1","dc":"eu"}}`,
	`{"timestamp":"2026-11-26T17:20:07.002Z","client":"c \"q\" \\","name":"n\u00e9\n","value":2,"type":"gauge","tags":{"k\"":"v\\u0041","__x":"1","client":"t"}}`,
	`{"timestamp":"2026-11-26T17:20:07.003Z","client":"","name":"bare","value":3,"type":"summary"}`,
	`{"timestamp":"2026-11-26T17:20:07.004Z","client":"","name":"bare","value":4,"type":"summary","tags":{}}`,
	`{"timestamp":"2026-11-26T17:20:07.005Z","client":"","name":"bare","value":5,"type":"gau\u0067e"}`,
	`{"timestamp":"2026-11-26T17:20:07.006Z","client":"client-1","name":"cpu_usage","value":1.2.3,"type":"gauge","tags":{"host":"server1","dc":"eu"}}`,
	`{"timestamp":"2026-11-26T17:20:07.00xZ","client":"client-1","name":"cpu_usage","value":1,"type":"gauge","tags":{"host":"server1","dc":"eu"}}`,
	`{"timestamp":"2026-13-26T17:20:07.007Z","client":"client-1","name":"cpu_usage","value":1,"type":"gauge","tags":{"host":"server1","dc":"eu"}}`,
	`{"timestamp":"2026-11-26T17:20:07.008Z","client":"client-1","name":"cpu_usage","value":1,"type":"gau` + "\x01" + `ge","tags":{"host":"server1","dc":"eu"}}`,
	`{"timestamp":"2026-11-26T17:20:07.009Z","client":"client-1","name":"cpu_usage","value":1e400,"type":"gauge","tags":{"host":"server1","dc":"eu"}}`,
	`{"timestamp":"2026-11-26T17:20:07.010Z","client":"client-1","name":"cpu_usage","value":12345678901234567,"type":"histogram","tags":{"host":"server1","dc":"eu"}}`,
	`{"timestamp":"2026-11-26T17:20:07.011Z","client":"client-1","name":"","value":1,"type":"gauge"}`,
	`not a line`,
}

// TestKnownSeriesMatchesFullParse runs the fuzz property on the lines above in every test run.
func TestKnownSeriesMatchesFullParse(t *testing.T) {
	checkKnownSeries(t, []byte(strings.Join(knownSeriesLines, "\n")+"\n"))
}

func FuzzKnownSeries(f *testing.F) {
	f.Add([]byte(strings.Join(knownSeriesLines, "\n") + "\n"))
	f.Add([]byte(knownSeriesLines[0] + "\n" + knownSeriesLines[8] + "\n"))
	f.Fuzz(func(t *testing.T, lines []byte) { checkKnownSeries(t, lines) })
}

// checkKnownSeries encodes lines with fresh encoders and again with encoders that have seen
// them, whose every line of a plain form then takes the known-series path: both must give the
// same samples, metadata and line protocol, and count the same invalid lines.
func checkKnownSeries(t *testing.T, lines []byte) {
	t.Helper()
	fresh, warm := newRWEncoder(), newRWEncoder()
	body, r1 := fresh.encode(lines)
	want, err := rwContent(body)
	if err != nil {
		t.Fatalf("fresh remote write: %v", err)
	}
	warm.encode(lines)
	body, r2 := warm.encode(lines)
	got, err := rwContent(body)
	if err != nil {
		t.Fatalf("known-series remote write: %v", err)
	}
	if !reflect.DeepEqual(got, want) || !sameResult(r1, r2) {
		t.Fatalf("remote write of known series differs:\n got %v %+v\nwant %v %+v", got, r2, want, r1)
	}

	fi, wi := newInfluxEncoder(), newInfluxEncoder()
	body, r1 = fi.encode(lines)
	wantText := gunzip(t, body)
	wi.encode(lines)
	body, r2 = wi.encode(lines)
	if gotText := gunzip(t, body); gotText != wantText || !sameResult(r1, r2) {
		t.Fatalf("line protocol of known series differs:\n got %q %+v\nwant %q %+v", gotText, r2, wantText, r1)
	}
}

// sameResult compares two encode results, the first error by its text.
func sameResult(a, b encodeResult) bool {
	ae, be := fmt.Sprint(a.firstErr), fmt.Sprint(b.firstErr)
	a.firstErr, b.firstErr = nil, nil
	return a == b && ae == be
}

// rwContent is what a remote-write body carries, as text that compares: each sample with its
// labels, then the metadata sorted.
func rwContent(body []byte) ([]string, error) {
	if body == nil {
		return nil, nil
	}
	samples, err := decodeRemoteWrite(body)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range samples {
		out = append(out, fmt.Sprintf("%v %d %#x", s.labels, s.ts, math.Float64bits(s.value)))
	}
	pb, _ := snappy.Decode(nil, body)
	var meta []string
	eachField(pb, func(num int, v []byte, _ uint64) error {
		if num == 3 {
			meta = append(meta, fmt.Sprintf("%x", v))
		}
		return nil
	})
	slices.Sort(meta)
	return append(out, meta...), nil
}

func gunzip(t *testing.T, body []byte) string {
	t.Helper()
	if body == nil {
		return ""
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(text)
}

// TestSeriesTablesBounded: clients that invent series fill an encoder's tables, which are
// emptied before the next batch once past their bounds; what is encoded stays the same.
func TestSeriesTablesBounded(t *testing.T) {
	rw, in := newRWEncoder(), newInfluxEncoder()
	for round := range 4 {
		var lines []byte
		for i := range 10000 {
			lines = fmt.Appendf(lines, `{"timestamp":"2026-11-26T17:20:06.123Z","client":"c","name":"n%d","value":%d,"type":"gauge","tags":{"round":"%d"}}`+"\n", i, i, round%2)
		}
		body, _ := rw.encode(lines)
		got, err := rwContent(body)
		if err != nil {
			t.Fatal(err)
		}
		fresh, _ := newRWEncoder().encode(lines)
		if want, _ := rwContent(fresh); !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: remote write differs from a fresh encoder's", round)
		}
		body, _ = in.encode(lines)
		fresh, _ = newInfluxEncoder().encode(lines)
		if gunzip(t, body) != gunzip(t, fresh) {
			t.Fatalf("round %d: line protocol differs from a fresh encoder's", round)
		}
		if n := len(rw.ids.ids); n > maxSeriesIDs+10000 || len(rw.sets) > maxSeriesIDs+10000 {
			t.Fatalf("round %d: %d series ids, %d label sets; bound %d + a batch", round, n, len(rw.sets), maxSeriesIDs)
		}
		if len(in.ids.ids) > maxSeriesIDs+10000 {
			t.Fatalf("round %d: %d series ids in the line-protocol encoder", round, len(in.ids.ids))
		}
	}
}

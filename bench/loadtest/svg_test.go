package loadtest

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"
)

func TestWriteSVG(t *testing.T) {
	curve := func(scale time.Duration) []Percentile {
		var ps []Percentile
		for i, q := range CurvePercentiles {
			ps = append(ps, Percentile{Q: q, Latency: scale * time.Duration(i+1)})
		}
		return ps
	}
	rows := []Row{
		{System: "gnetnop", ReqPerSec: 110000, Percentiles: curve(100 * time.Microsecond)},
		{System: "metricstream/written/auto", ReqPerSec: 80000, Percentiles: curve(300 * time.Microsecond)},
		{System: "victoria-metrics (line) & <friends>", ReqPerSec: 25000, Percentiles: curve(2 * time.Millisecond)},
		{System: "no curve", ReqPerSec: 0},
	}
	var b strings.Builder
	if err := WriteSVG(&b, "Load test", rows); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	// Well-formed XML, with every system's name in the text.
	var text strings.Builder
	dec := xml.NewDecoder(strings.NewReader(out))
	polylines := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, out)
		}
		switch tok := tok.(type) {
		case xml.CharData:
			text.Write(tok)
			text.WriteByte('\n')
		case xml.StartElement:
			if tok.Name.Local == "polyline" {
				polylines++
			}
		}
	}
	for _, r := range rows {
		if n := strings.Count(text.String(), r.System+"\n"); n != 2 {
			t.Errorf("%q named %d times (bar label and legend expected)", r.System, n)
		}
	}
	if polylines != 3 {
		t.Errorf("%d curves; want 3 (the row without percentiles has none)", polylines)
	}
	for _, label := range []string{"p50", "p99.99", "110 000", "1 ms"} {
		if !strings.Contains(text.String(), label+"\n") {
			t.Errorf("no %q label", label)
		}
	}
}

func TestCurveScale(t *testing.T) {
	s := curveScale{left: 0, top: 0, width: 100, height: 100, yMin: -1, yMax: 2}
	if x := s.x(50); x != 0 {
		t.Errorf("x(p50) = %v; want the left edge", x)
	}
	if x := s.x(99.99); x < 99.99 || x > 100.01 {
		t.Errorf("x(p99.99) = %v; want the right edge", x)
	}
	if y := s.y(100 * time.Millisecond); y != 0 {
		t.Errorf("y(100 ms) = %v; want the top", y)
	}
	if y := s.y(100 * time.Microsecond); y != 100 {
		t.Errorf("y(0.1 ms) = %v; want the bottom", y)
	}
	if lo, hi := latencyRange([]Row{{Percentiles: []Percentile{{50, 300 * time.Microsecond}, {99, 42 * time.Millisecond}}}}); lo != -1 || hi != 2 {
		t.Errorf("latencyRange = %v, %v; want -1, 2", lo, hi)
	}
}

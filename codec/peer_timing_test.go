//go:build !race

// Peer benchmarks: the fastest Go JSON and line-protocol parsers on the
// bodies the codec's own benchmarks use, so that every run of
//
//	go test -run '^$' -bench 'Decode10$|Encode10$|Peer' ./codec/
//
// prints the codec and its peers side by side. The peers are test-only
// dependencies; nothing on the product path imports them.

package codec

import (
	"encoding/json"
	"testing"
	"time"

	protocol "github.com/influxdata/line-protocol"
	"github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/valyala/fastjson"
)

// peerMetric is the struct the reflection-based peers decode a metric into.
type peerMetric struct {
	Name      string            `json:"name"`
	Value     float64           `json:"value"`
	Type      string            `json:"type"`
	Tags      map[string]string `json:"tags"`
	Timestamp int64             `json:"timestamp"`
}

type peerBatch struct {
	Metrics []peerMetric `json:"metrics"`
}

// peerSink keeps the peers' results alive so the compiler cannot drop the
// work, and lets each benchmark check what it read.
type peerSink struct {
	metrics, tagBytes int
	value             float64
	ts                int64
}

// BenchmarkPeerFastjson10 parses the BenchmarkDecode10 body with fastjson
// and walks the fields the codec decodes: name, value, type, every tag's
// key and value, and the timestamp.
func BenchmarkPeerFastjson10(b *testing.B) {
	body := benchBody(10, false)
	var p fastjson.Parser
	var sink peerSink
	walk := func() {
		v, err := p.ParseBytes(body)
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range v.GetArray("metrics") {
			sink.metrics++
			sink.tagBytes += len(m.GetStringBytes("name")) + len(m.GetStringBytes("type"))
			sink.value += m.GetFloat64("value")
			sink.ts += m.GetInt64("timestamp")
			m.GetObject("tags").Visit(func(k []byte, t *fastjson.Value) {
				sink.tagBytes += len(k) + len(t.GetStringBytes())
			})
		}
	}
	walk()
	checkPeerSink(b, &sink, 10)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		walk()
	}
}

// BenchmarkPeerEncodingJSON10 unmarshals the BenchmarkDecode10 body into a
// struct with encoding/json.
func BenchmarkPeerEncodingJSON10(b *testing.B) {
	benchmarkPeerUnmarshal(b, json.Unmarshal)
}

func benchmarkPeerUnmarshal(b *testing.B, unmarshal func([]byte, any) error) {
	body := benchBody(10, false)
	var batch peerBatch
	if err := unmarshal(body, &batch); err != nil {
		b.Fatal(err)
	}
	if len(batch.Metrics) != 10 || len(batch.Metrics[9].Tags) != 2 || batch.Metrics[9].Timestamp != 1795713606009 {
		b.Fatalf("got %+v; want 10 metrics with 2 tags", batch.Metrics)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		batch = peerBatch{}
		if err := unmarshal(body, &batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPeerLineProtocolV2_10 decodes the BenchmarkDecodeLineProtocol10
// body with the maintained influxdata line-protocol/v2 decoder, reading
// every measurement, tag, field and timestamp.
func BenchmarkPeerLineProtocolV2_10(b *testing.B) {
	body := lpBody(10, "value=75.5")
	var sink peerSink
	read := func() {
		dec := lineprotocol.NewDecoderWithBytes(body)
		for dec.Next() {
			m, err := dec.Measurement()
			if err != nil {
				b.Fatal(err)
			}
			sink.tagBytes += len(m)
			for {
				k, v, err := dec.NextTag()
				if err != nil {
					b.Fatal(err)
				}
				if k == nil {
					break
				}
				sink.tagBytes += len(k) + len(v)
			}
			for {
				k, v, err := dec.NextField()
				if err != nil {
					b.Fatal(err)
				}
				if k == nil {
					break
				}
				sink.metrics++
				sink.value += v.FloatV()
			}
			t, err := dec.Time(lineprotocol.Nanosecond, time.Time{})
			if err != nil {
				b.Fatal(err)
			}
			sink.ts += t.UnixMilli()
		}
	}
	read()
	checkPeerSink(b, &sink, 10)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		read()
	}
}

// BenchmarkPeerLineProtocolV0_10 parses the BenchmarkDecodeLineProtocol10
// body with the original influxdata line-protocol parser (the one the
// InfluxDB client module depends on), which builds a Metric per line.
func BenchmarkPeerLineProtocolV0_10(b *testing.B) {
	body := lpBody(10, "value=75.5")
	p := protocol.NewParser(protocol.NewMetricHandler())
	ms, err := p.Parse(body)
	if err != nil || len(ms) != 10 || len(ms[9].TagList()) != 2 {
		b.Fatalf("got %d metrics, %v; want 10 with 2 tags", len(ms), err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := p.Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}

func checkPeerSink(b *testing.B, s *peerSink, metrics int) {
	b.Helper()
	if s.metrics != metrics || s.tagBytes == 0 || s.value == 0 || s.ts == 0 {
		b.Fatalf("peer read %+v; want %d metrics with names, tags, values and timestamps", *s, metrics)
	}
}

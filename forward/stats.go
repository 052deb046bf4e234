package forward

import (
	"math"
	"strconv"
	"sync/atomic"

	"metricstream/codec"
)

// dropReason says why samples were dropped without reaching a sink.
type dropReason int

const (
	dropRejected  dropReason = iota // the sink answered a 4xx other than 429
	dropRetention                   // -max-disk-bytes deleted the segment before it was sent
	dropInvalid                     // a stored line that cannot be parsed
	numDropReasons
)

var dropReasonNames = [numDropReasons]string{"rejected", "retention", "invalid"}

// maxStatus bounds the HTTP statuses counted one by one; status 0 counts network errors and
// timeouts, and a NATS publish outcome uses statusNATSAck and statusNATSError.
const (
	maxStatus       = 600
	statusNATSAck   = 200
	statusNetError  = 0
	statusNATSError = 0
)

// Stats are the counters of one sink. Every field is written by the sink's goroutines and read
// by AppendJSON/AppendPrometheus on any goroutine (an event loop): atomics only.
type Stats struct {
	samples, bytes, wireBytes atomic.Uint64 // acknowledged samples, their stored bytes, request bytes
	requests                  [maxStatus]atomic.Uint64
	retries                   atomic.Uint64
	dropped                   [numDropReasons]struct{ samples, bytes, requests atomic.Uint64 }
	resentSamples             atomic.Uint64
	resentRequests            atomic.Uint64
	natsDuplicates            atomic.Uint64 // samples in publishes the stream acknowledged as duplicates
	lagBytes                  atomic.Int64
	lagSeconds                atomic.Uint64 // math.Float64bits
	cursor                    atomic.Pointer[[]Position]
}

// countStatus counts one request answered with status (0: no answer).
func (s *Stats) countStatus(status int) {
	if status < 0 || status >= maxStatus {
		status = statusNetError
	}
	s.requests[status].Add(1)
}

// drop counts samples and bytes dropped for reason (requests: 1 for a refused request).
func (s *Stats) drop(reason dropReason, samples, bytes int64, requests uint64) {
	d := &s.dropped[reason]
	d.samples.Add(uint64(samples))
	d.bytes.Add(uint64(bytes))
	d.requests.Add(requests)
}

// Snapshot is a copy of a sink's counters, for tests and the summary log.
type Snapshot struct {
	Samples, Bytes, WireBytes     uint64
	Requests                      map[int]uint64 // by status; 0 is a network error
	Retries                       uint64
	Dropped                       map[string][3]uint64 // by reason: samples, bytes, requests
	ResentSamples, ResentRequests uint64
	NATSDuplicates                uint64
	LagBytes                      int64
	LagSeconds                    float64
	Cursor                        []Position
}

// Snapshot copies the counters.
func (s *Stats) Snapshot() Snapshot {
	snap := Snapshot{
		Samples: s.samples.Load(), Bytes: s.bytes.Load(), WireBytes: s.wireBytes.Load(),
		Requests: map[int]uint64{}, Retries: s.retries.Load(), Dropped: map[string][3]uint64{},
		ResentSamples: s.resentSamples.Load(), ResentRequests: s.resentRequests.Load(),
		NATSDuplicates: s.natsDuplicates.Load(),
		LagBytes:       s.lagBytes.Load(), LagSeconds: math.Float64frombits(s.lagSeconds.Load()),
	}
	for code := range s.requests {
		if n := s.requests[code].Load(); n > 0 {
			snap.Requests[code] = n
		}
	}
	for r := range s.dropped {
		d := &s.dropped[r]
		snap.Dropped[dropReasonNames[r]] = [3]uint64{d.samples.Load(), d.bytes.Load(), d.requests.Load()}
	}
	if c := s.cursor.Load(); c != nil {
		snap.Cursor = *c
	}
	return snap
}

// appendJSON appends the sink's statistics as one JSON object.
func (s *Stats) appendJSON(dst []byte, name, url string) []byte {
	dst = append(dst, `{"sink":`...)
	dst = codec.AppendJSONString(dst, []byte(name))
	dst = append(dst, `,"url":`...)
	dst = codec.AppendJSONString(dst, []byte(url))
	dst = appendJSONUint(dst, "samples", s.samples.Load())
	dst = appendJSONUint(dst, "bytes", s.bytes.Load())
	dst = appendJSONUint(dst, "sent_bytes", s.wireBytes.Load())
	dst = append(dst, `,"requests":{`...)
	first := true
	for code := range s.requests {
		if n := s.requests[code].Load(); n > 0 {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = append(dst, '"')
			dst = append(dst, statusLabel(code)...)
			dst = append(dst, `":`...)
			dst = strconv.AppendUint(dst, n, 10)
		}
	}
	dst = append(dst, '}')
	dst = appendJSONUint(dst, "retries", s.retries.Load())
	dst = append(dst, `,"dropped":{`...)
	for r := range s.dropped {
		if r > 0 {
			dst = append(dst, ',')
		}
		d := &s.dropped[r]
		dst = append(dst, `"`+dropReasonNames[r]+`":{"samples":`...)
		dst = strconv.AppendUint(dst, d.samples.Load(), 10)
		dst = appendJSONUint(dst, "bytes", d.bytes.Load())
		dst = appendJSONUint(dst, "requests", d.requests.Load())
		dst = append(dst, '}')
	}
	dst = append(dst, '}')
	dst = appendJSONUint(dst, "resent_samples", s.resentSamples.Load())
	dst = appendJSONUint(dst, "resent_requests", s.resentRequests.Load())
	dst = appendJSONUint(dst, "nats_duplicates", s.natsDuplicates.Load())
	dst = append(dst, `,"lag_bytes":`...)
	dst = strconv.AppendInt(dst, s.lagBytes.Load(), 10)
	dst = append(dst, `,"lag_seconds":`...)
	dst = strconv.AppendFloat(dst, math.Float64frombits(s.lagSeconds.Load()), 'f', 3, 64)
	dst = append(dst, `,"cursor":[`...)
	if c := s.cursor.Load(); c != nil {
		for i, p := range *c {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"loop":`...)
			dst = strconv.AppendInt(dst, int64(p.Loop), 10)
			dst = appendJSONUint(dst, "segment", p.Seq)
			dst = append(dst, `,"offset":`...)
			dst = strconv.AppendInt(dst, p.Off, 10)
			dst = append(dst, '}')
		}
	}
	return append(dst, "]}"...)
}

func appendJSONUint(dst []byte, key string, v uint64) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, key...)
	dst = append(dst, '"', ':')
	return strconv.AppendUint(dst, v, 10)
}

// statusLabel names a counted status: the HTTP code, or "error" for no answer.
func statusLabel(code int) string {
	if code == statusNetError {
		return "error"
	}
	return strconv.Itoa(code)
}

// promFamily is one Prometheus family of the forwarder: name, type, help, and how to write the
// samples of one sink.
type promFamily struct {
	name, typ, help string
	samples         func(dst []byte, fam string, sink string, s *Stats) []byte
}

// promFamilies lists the forwarder's Prometheus families, in output order.
var promFamilies = []promFamily{
	{"metricstream_forward_samples_total", "counter", "Samples acknowledged by the sink.", counterOf(func(s *Stats) uint64 { return s.samples.Load() })},
	{"metricstream_forward_bytes_total", "counter", "Stored bytes of the samples acknowledged by the sink.", counterOf(func(s *Stats) uint64 { return s.bytes.Load() })},
	{"metricstream_forward_sent_bytes_total", "counter", "Bytes of the acknowledged requests or messages, as sent.", counterOf(func(s *Stats) uint64 { return s.wireBytes.Load() })},
	{"metricstream_forward_requests_total", "counter", "Requests or publishes by answer status (error: no answer).", appendRequests},
	{"metricstream_forward_retries_total", "counter", "Requests or publishes tried again after a failure.", counterOf(func(s *Stats) uint64 { return s.retries.Load() })},
	{"metricstream_forward_dropped_samples_total", "counter", "Samples never delivered, by reason (rejected by the sink, deleted by retention, invalid).", appendDropped(0)},
	{"metricstream_forward_dropped_bytes_total", "counter", "Stored bytes never delivered, by reason.", appendDropped(1)},
	{"metricstream_forward_resent_samples_total", "counter", "Samples sent again after a restart because their acknowledgement was not yet on disk.", counterOf(func(s *Stats) uint64 { return s.resentSamples.Load() })},
	{"metricstream_forward_resent_requests_total", "counter", "Requests that resent samples after a restart.", counterOf(func(s *Stats) uint64 { return s.resentRequests.Load() })},
	{"metricstream_forward_nats_duplicate_samples_total", "counter", "Samples in NATS publishes the stream acknowledged as duplicates (a republish it had stored already).", counterOf(func(s *Stats) uint64 { return s.natsDuplicates.Load() })},
	{"metricstream_forward_lag_bytes", "gauge", "Stored bytes not yet acknowledged by the sink.", gaugeOf(func(s *Stats) float64 { return float64(s.lagBytes.Load()) })},
	{"metricstream_forward_lag_seconds", "gauge", "Age of the oldest sample not yet acknowledged by the sink (by its timestamp), 0 when none.", gaugeOf(func(s *Stats) float64 { return math.Float64frombits(s.lagSeconds.Load()) })},
	{"metricstream_forward_cursor_segment", "gauge", "Segment sequence number of the sink's acknowledged cursor, per loop.", appendCursor(false)},
	{"metricstream_forward_cursor_offset_bytes", "gauge", "Byte offset in that segment of the sink's acknowledged cursor, per loop.", appendCursor(true)},
}

func counterOf(get func(*Stats) uint64) func([]byte, string, string, *Stats) []byte {
	return func(dst []byte, fam, sink string, s *Stats) []byte {
		dst = appendPromSeries(dst, fam, sink, "", "")
		dst = strconv.AppendUint(dst, get(s), 10)
		return append(dst, '\n')
	}
}

func gaugeOf(get func(*Stats) float64) func([]byte, string, string, *Stats) []byte {
	return func(dst []byte, fam, sink string, s *Stats) []byte {
		dst = appendPromSeries(dst, fam, sink, "", "")
		dst = strconv.AppendFloat(dst, get(s), 'g', -1, 64)
		return append(dst, '\n')
	}
}

func appendRequests(dst []byte, fam, sink string, s *Stats) []byte {
	for code := range s.requests {
		if n := s.requests[code].Load(); n > 0 {
			dst = appendPromSeries(dst, fam, sink, "status", statusLabel(code))
			dst = strconv.AppendUint(dst, n, 10)
			dst = append(dst, '\n')
		}
	}
	return dst
}

func appendDropped(field int) func([]byte, string, string, *Stats) []byte {
	return func(dst []byte, fam, sink string, s *Stats) []byte {
		for r := range s.dropped {
			v := s.dropped[r].samples.Load()
			if field == 1 {
				v = s.dropped[r].bytes.Load()
			}
			dst = appendPromSeries(dst, fam, sink, "reason", dropReasonNames[r])
			dst = strconv.AppendUint(dst, v, 10)
			dst = append(dst, '\n')
		}
		return dst
	}
}

func appendCursor(offset bool) func([]byte, string, string, *Stats) []byte {
	return func(dst []byte, fam, sink string, s *Stats) []byte {
		c := s.cursor.Load()
		if c == nil {
			return dst
		}
		for _, p := range *c {
			dst = appendPromSeries(dst, fam, sink, "loop", strconv.Itoa(p.Loop))
			if offset {
				dst = strconv.AppendInt(dst, p.Off, 10)
			} else {
				dst = strconv.AppendUint(dst, p.Seq, 10)
			}
			dst = append(dst, '\n')
		}
		return dst
	}
}

// appendPromSeries appends `fam{sink="…"[,k="v"]} `. Sink names and label values here hold only
// [A-Za-z0-9_.:-] characters, so they need no escaping.
func appendPromSeries(dst []byte, fam, sink, k, v string) []byte {
	dst = append(dst, fam...)
	dst = append(dst, `{sink="`...)
	dst = append(dst, sink...)
	dst = append(dst, '"')
	if k != "" {
		dst = append(dst, ',')
		dst = append(dst, k...)
		dst = append(dst, `="`...)
		dst = append(dst, v...)
		dst = append(dst, '"')
	}
	return append(dst, "} "...)
}

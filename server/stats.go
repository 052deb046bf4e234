package server

import (
	"strconv"
	"sync/atomic"
	"time"

	"metricstream/codec"
)

// reason names why a request got a 4xx or 5xx answer. Every reason has a
// counter in the statistics.
type reason uint8

const (
	reasonBadRequest       reason = iota // 400: malformed HTTP
	reasonInvalidBatch                   // 400: body decoded but not a valid batch
	reasonUnauthorized                   // 401
	reasonNotFound                       // 404
	reasonMethodNotAllowed               // 405
	reasonRequestTimeout                 // 408: -read-timeout passed
	reasonBodyTooLarge                   // 413
	reasonUnsupportedMedia               // 415
	reasonRateLimited                    // 429
	reasonHeaderTooLarge                 // 431
	reasonNotImplemented                 // 501
	reasonOverloaded                     // 503: writer queue full
	reasonUnavailable                    // 503: storage cannot write
	reasonVersion                        // 505
	reasonTooManyConns                   // 503 at accept: -max-conns reached
	numReasons
)

// reasons is the one table of refusals: each reason's name in the
// statistics and the status it is answered with. A refusal names its
// reason; the status comes from here.
var reasons = [numReasons]struct {
	name   string
	status int
}{
	reasonBadRequest:       {"bad_request", 400},
	reasonInvalidBatch:     {"invalid_batch", 400},
	reasonUnauthorized:     {"unauthorized", 401},
	reasonNotFound:         {"not_found", 404},
	reasonMethodNotAllowed: {"method_not_allowed", 405},
	reasonRequestTimeout:   {"request_timeout", 408},
	reasonBodyTooLarge:     {"body_too_large", 413},
	reasonUnsupportedMedia: {"unsupported_media_type", 415},
	reasonRateLimited:      {"rate_limited", 429},
	reasonHeaderTooLarge:   {"header_too_large", 431},
	reasonNotImplemented:   {"not_implemented", 501},
	reasonOverloaded:       {"overloaded", 503},
	reasonUnavailable:      {"storage_unavailable", 503},
	reasonVersion:          {"http_version_not_supported", 505},
	reasonTooManyConns:     {"too_many_connections", 503},
}

// reasonForStatus maps the status of a refusal that names no reason (the
// HTTP parser's errors) to the first reason of that status in reasons.
func reasonForStatus(status int) reason {
	for i := range reasons {
		if reasons[i].status == status {
			return reason(i)
		}
	}
	return reasonBadRequest
}

// counters are one event loop's statistics. The loop goroutine writes them
// (batches and metricsReceived when its stream acknowledges a batch, see
// pending.Ack; after the loops stopped, the store's Close may still do so);
// readers on other goroutines sum the loops' counters, so each field is
// atomic. Each loop
// has its own counters, so loops never share a cache line on the request
// path.
type counters struct {
	requests        atomic.Uint64
	metricsReceived atomic.Uint64 // metrics in acknowledged batches
	batches         atomic.Uint64 // acknowledged batches
	connsTotal      atomic.Uint64
	connsOpen       atomic.Int64
	errors          [numReasons]atomic.Uint64
	_               [64]byte
}

// countStored counts an acknowledged batch of n metrics.
func (c *counters) countStored(n int) {
	c.batches.Add(1)
	c.metricsReceived.Add(uint64(n))
}

// Snapshot is the server's statistics at one moment, as GET /metrics reports
// them.
type Snapshot struct {
	Requests            uint64
	MetricsReceived     uint64
	BatchesProcessed    uint64
	ValidationErrors    uint64
	RateLimited         uint64
	Overloaded          uint64
	ConnectionsOpen     int64
	ConnectionsTotal    uint64
	BytesWritten        uint64
	MetricsWritten      uint64
	Segments            int
	SegmentsDeleted     uint64
	QueueBytes          int64
	RingEventsDropped   uint64
	RingEvents          uint64
	Clients             int
	ClientsEvicted      uint64
	Writer              string
	WriterReason        string
	Ack                 string
	UptimeSeconds       float64
	Healthy             bool
	Errors              [numReasons]uint64
	StorageWriteErrors  uint64
	StorageSyncs        uint64
	StorageSubmissions  uint64
	StorageRepairedSize int64 // bytes cut from a torn segment tail at start
}

// Stats returns a snapshot of the server's statistics. Safe from any
// goroutine.
func (s *Server) Stats() Snapshot {
	var snap Snapshot
	for _, ls := range s.loops() {
		c := &ls.counters
		snap.Requests += c.requests.Load()
		snap.MetricsReceived += c.metricsReceived.Load()
		snap.BatchesProcessed += c.batches.Load()
		snap.ConnectionsTotal += c.connsTotal.Load()
		snap.ConnectionsOpen += c.connsOpen.Load()
		for i := range c.errors {
			snap.Errors[i] += c.errors[i].Load()
		}
	}
	snap.ValidationErrors = snap.Errors[reasonInvalidBatch]
	snap.RateLimited = snap.Errors[reasonRateLimited]
	snap.Overloaded = snap.Errors[reasonOverloaded] + snap.Errors[reasonUnavailable]
	st := s.store.Stats()
	snap.BytesWritten = st.BytesWritten
	snap.MetricsWritten = st.MetricsWritten
	snap.Segments = st.Segments
	snap.SegmentsDeleted = st.SegmentsDeleted
	snap.QueueBytes = st.QueueBytes
	snap.Writer = st.Writer
	snap.WriterReason = st.WriterReason
	snap.Ack = st.Ack
	snap.StorageWriteErrors = st.WriteErrors
	snap.StorageSyncs = st.Syncs
	snap.StorageSubmissions = st.Submissions
	snap.StorageRepairedSize = st.RepairedBytes
	es := s.engine.Stats()
	snap.RingEventsDropped = es.RingDropped
	snap.RingEvents = es.RingEvents
	snap.Clients = es.Clients
	snap.ClientsEvicted = es.Evicted
	snap.UptimeSeconds = time.Since(s.started).Seconds()
	snap.Healthy = s.store.Health() == nil
	return snap
}

// appendStatsJSON renders snap as the JSON body of GET /metrics.
func appendStatsJSON(dst []byte, snap *Snapshot) []byte {
	u := func(name string, v uint64) {
		dst = append(dst, '"')
		dst = append(dst, name...)
		dst = append(dst, `":`...)
		dst = strconv.AppendUint(dst, v, 10)
		dst = append(dst, ',')
	}
	dst = append(dst, '{')
	u("metrics_received", snap.MetricsReceived)
	u("batches_processed", snap.BatchesProcessed)
	u("validation_errors", snap.ValidationErrors)
	u("rate_limited_requests", snap.RateLimited)
	u("overloaded_requests", snap.Overloaded)
	u("requests_total", snap.Requests)
	u("connections_open", uint64(max(snap.ConnectionsOpen, 0)))
	u("connections_total", snap.ConnectionsTotal)
	u("bytes_written", snap.BytesWritten)
	u("metrics_written", snap.MetricsWritten)
	u("segments", uint64(snap.Segments))
	u("segments_deleted", snap.SegmentsDeleted)
	u("queue_bytes", uint64(max(snap.QueueBytes, 0)))
	u("ring_events_dropped", snap.RingEventsDropped)
	u("clients", uint64(snap.Clients))
	u("clients_evicted", snap.ClientsEvicted)
	u("ring_events", snap.RingEvents)
	u("storage_write_errors", snap.StorageWriteErrors)
	u("storage_syncs", snap.StorageSyncs)
	u("storage_submissions", snap.StorageSubmissions)
	u("storage_repaired_bytes", uint64(max(snap.StorageRepairedSize, 0)))
	dst = append(dst, `"writer":`...)
	dst = codec.AppendJSONString(dst, []byte(snap.Writer))
	dst = append(dst, `,"writer_reason":`...)
	dst = codec.AppendJSONString(dst, []byte(snap.WriterReason))
	dst = append(dst, `,"ack":`...)
	dst = codec.AppendJSONString(dst, []byte(snap.Ack))
	dst = append(dst, `,"healthy":`...)
	dst = strconv.AppendBool(dst, snap.Healthy)
	dst = append(dst, `,"uptime_seconds":`...)
	dst = strconv.AppendFloat(dst, snap.UptimeSeconds, 'f', 3, 64)
	dst = append(dst, `,"errors":{`...)
	for i := range snap.Errors {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, reasons[i].name...)
		dst = append(dst, `":`...)
		dst = strconv.AppendUint(dst, snap.Errors[i], 10)
	}
	dst = append(dst, "}}"...)
	return dst
}

// StatsAppender adds a component's statistics to GET /metrics (see
// Config.Extra). Called on an event loop: it must not block or take a lock
// that is held for long; read atomics.
type StatsAppender interface {
	// AppendJSON appends one or more JSON object members, each preceded by
	// a comma, e.g. `,"forward":[{"sink":"vm",...}]`.
	AppendJSON(dst []byte) []byte
	// AppendPrometheus appends complete Prometheus text-format families
	// (HELP, TYPE, samples), names prefixed metricstream_, labels escaped;
	// the output must pass `promtool check metrics`.
	AppendPrometheus(dst []byte) []byte
}

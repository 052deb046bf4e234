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

var reasonNames = [numReasons]string{
	reasonBadRequest:       "bad_request",
	reasonInvalidBatch:     "invalid_batch",
	reasonUnauthorized:     "unauthorized",
	reasonNotFound:         "not_found",
	reasonMethodNotAllowed: "method_not_allowed",
	reasonRequestTimeout:   "request_timeout",
	reasonBodyTooLarge:     "body_too_large",
	reasonUnsupportedMedia: "unsupported_media_type",
	reasonRateLimited:      "rate_limited",
	reasonHeaderTooLarge:   "header_too_large",
	reasonNotImplemented:   "not_implemented",
	reasonOverloaded:       "overloaded",
	reasonUnavailable:      "storage_unavailable",
	reasonVersion:          "http_version_not_supported",
	reasonTooManyConns:     "too_many_connections",
}

// reasonForStatus maps a protocol error's status to its reason.
func reasonForStatus(status int) reason {
	switch status {
	case 408:
		return reasonRequestTimeout
	case 413:
		return reasonBodyTooLarge
	case 415:
		return reasonUnsupportedMedia
	case 431:
		return reasonHeaderTooLarge
	case 501:
		return reasonNotImplemented
	case 505:
		return reasonVersion
	}
	return reasonBadRequest
}

// counters are one event loop's statistics. The loop goroutine is the only
// writer; readers on other goroutines sum the loops' counters, so each field
// is atomic. Each loop has its own counters, so loops never share a cache
// line on the request path.
type counters struct {
	requests        atomic.Uint64
	metricsReceived atomic.Uint64
	batches         atomic.Uint64
	connsTotal      atomic.Uint64
	connsOpen       atomic.Int64
	errors          [numReasons]atomic.Uint64
	_               [64]byte
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
	StorageRepairedSize int64
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
	u("storage_write_errors", snap.StorageWriteErrors)
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
		dst = append(dst, reasonNames[i]...)
		dst = append(dst, `":`...)
		dst = strconv.AppendUint(dst, snap.Errors[i], 10)
	}
	dst = append(dst, "}}"...)
	return dst
}

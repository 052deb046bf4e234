package server

import (
	"strconv"

	"metricstream/engine"
)

// promWriter appends Prometheus text exposition format (version 0.0.4).
type promWriter struct{ b []byte }

func (w *promWriter) header(name, typ, help string) {
	w.b = append(w.b, "# HELP "...)
	w.b = append(w.b, name...)
	w.b = append(w.b, ' ')
	w.b = append(w.b, help...)
	w.b = append(w.b, "\n# TYPE "...)
	w.b = append(w.b, name...)
	w.b = append(w.b, ' ')
	w.b = append(w.b, typ...)
	w.b = append(w.b, '\n')
}

func (w *promWriter) sample(name string, labels []string, v float64) {
	w.b = append(w.b, name...)
	if len(labels) > 0 {
		w.b = append(w.b, '{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = append(w.b, labels[i]...)
			w.b = append(w.b, `="`...)
			w.b = appendLabelValue(w.b, labels[i+1])
			w.b = append(w.b, '"')
		}
		w.b = append(w.b, '}')
	}
	w.b = append(w.b, ' ')
	w.b = strconv.AppendFloat(w.b, v, 'g', -1, 64)
	w.b = append(w.b, '\n')
}

func (w *promWriter) single(name, typ, help string, v float64) {
	w.header(name, typ, help)
	w.sample(name, nil, v)
}

// appendLabelValue escapes a label value as the text format requires:
// backslash, double quote and line feed.
func appendLabelValue(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			dst = append(dst, `\\`...)
		case '"':
			dst = append(dst, `\"`...)
		case '\n':
			dst = append(dst, `\n`...)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// appendPrometheus renders snap and the top clients in the Prometheus text
// format, every name prefixed metricstream_.
func appendPrometheus(dst []byte, snap *Snapshot, top []engine.ClientTotals) []byte {
	w := promWriter{b: dst}
	w.single("metricstream_metrics_received_total", "counter", "Metrics accepted in acknowledged batches.", float64(snap.MetricsReceived))
	w.single("metricstream_batches_processed_total", "counter", "Batches accepted and acknowledged.", float64(snap.BatchesProcessed))
	w.single("metricstream_validation_errors_total", "counter", "Batches rejected because they were not valid.", float64(snap.ValidationErrors))
	w.single("metricstream_rate_limited_requests_total", "counter", "Requests refused with 429 by the rate limiter.", float64(snap.RateLimited))
	w.single("metricstream_overloaded_requests_total", "counter", "Requests refused with 503 because storage was full or failing.", float64(snap.Overloaded))
	w.single("metricstream_requests_total", "counter", "HTTP requests read.", float64(snap.Requests))
	w.header("metricstream_request_errors_total", "counter", "Requests answered with an error status, by reason.")
	for i := range snap.Errors {
		w.sample("metricstream_request_errors_total", []string{"reason", reasons[i].name}, float64(snap.Errors[i]))
	}
	w.single("metricstream_connections_open", "gauge", "Open client connections.", float64(snap.ConnectionsOpen))
	w.single("metricstream_connections_total", "counter", "Client connections accepted.", float64(snap.ConnectionsTotal))
	w.single("metricstream_bytes_written_total", "counter", "Bytes appended to segment files.", float64(snap.BytesWritten))
	w.single("metricstream_metrics_written_total", "counter", "Metrics appended to segment files.", float64(snap.MetricsWritten))
	w.single("metricstream_segments", "gauge", "Segment files in the data directory.", float64(snap.Segments))
	w.single("metricstream_segments_deleted_total", "counter", "Segments deleted to stay under -max-disk-bytes.", float64(snap.SegmentsDeleted))
	w.single("metricstream_queue_bytes", "gauge", "Encoded bytes accepted and not yet written.", float64(snap.QueueBytes))
	w.single("metricstream_storage_write_errors_total", "counter", "Failed writes or syncs of segment files.", float64(snap.StorageWriteErrors))
	w.single("metricstream_storage_syncs_total", "counter", "Successful fdatasync calls on segment files.", float64(snap.StorageSyncs))
	w.single("metricstream_storage_submissions_total", "counter", "Writes submitted to the writer backend (pwritev calls or io_uring Pwritev SQEs).", float64(snap.StorageSubmissions))
	w.single("metricstream_storage_repaired_bytes", "gauge", "Bytes cut from a torn segment tail when the store opened.", float64(snap.StorageRepairedSize))
	w.single("metricstream_ring_events_total", "counter", "Decision events drained from the shard rings into the per-client totals.", float64(snap.RingEvents))
	w.single("metricstream_ring_events_dropped_total", "counter", "Decision events dropped because a shard ring was full.", float64(snap.RingEventsDropped))
	w.single("metricstream_clients", "gauge", "Clients tracked by the rate limiter.", float64(snap.Clients))
	w.single("metricstream_clients_evicted_total", "counter", "Clients evicted from the rate limiter.", float64(snap.ClientsEvicted))
	healthy := 0.0
	if snap.Healthy {
		healthy = 1
	}
	w.single("metricstream_healthy", "gauge", "1 when storage can write, else 0.", healthy)
	w.single("metricstream_uptime_seconds", "gauge", "Seconds since the server started.", snap.UptimeSeconds)
	w.header("metricstream_build_info", "gauge", "Writer backend and ack mode in use; always 1.")
	w.sample("metricstream_build_info", []string{"writer", snap.Writer, "ack", snap.Ack}, 1)
	if len(top) > 0 {
		w.header("metricstream_client_requests_total", "counter", "Requests per client and decision, from the decision rings (top clients only).")
		for _, c := range top {
			w.sample("metricstream_client_requests_total", []string{"client", c.ID, "decision", "allowed"}, float64(c.Allowed))
			w.sample("metricstream_client_requests_total", []string{"client", c.ID, "decision", "denied"}, float64(c.Denied))
		}
		w.header("metricstream_client_metrics_total", "counter", "Metrics accepted per client, from the decision rings (top clients only).")
		for _, c := range top {
			w.sample("metricstream_client_metrics_total", []string{"client", c.ID}, float64(c.Metrics))
		}
	}
	return w.b
}

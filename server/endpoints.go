package server

import (
	"bytes"
	"strconv"
	"time"

	"metricstream/codec"
)

// health answers GET /health: 200 while storage can write, else 503 with
// the reason.
func (c *conn) health(out []byte, now time.Time, req *codec.Request) []byte {
	ls := c.ls
	a := c.baseAnswer(req, 200)
	if err := ls.srv.store.Health(); err != nil {
		a.status = 503
		a.retryAfter = 1
		ls.body = append(ls.body[:0], `{"status":"unhealthy","service":"ingestion","reason":`...)
		ls.body = codec.AppendJSONString(ls.body, []byte(err.Error()))
		ls.body = append(ls.body, '}')
	} else {
		ls.body = append(ls.body[:0], `{"status":"healthy","service":"ingestion"}`...)
	}
	a.body = ls.body
	return c.respond(out, now, &a)
}

// stats answers GET /metrics with the statistics, as JSON or in the
// Prometheus text format.
func (c *conn) stats(out []byte, now time.Time, req *codec.Request) []byte {
	ls := c.ls
	s := ls.srv
	snap := s.Stats()
	a := c.baseAnswer(req, 200)
	if wantsPrometheus(req) {
		a.ctype = ctypePrometheus
		ls.body = appendPrometheus(ls.body[:0], &snap, s.engine.Top(s.cfg.TopClients))
		for _, x := range s.cfg.Extra {
			ls.body = x.AppendPrometheus(ls.body)
		}
	} else {
		ls.body = appendStatsJSON(ls.body[:0], &snap)
		ls.body = ls.body[:len(ls.body)-1] // reopen the object for the extras
		for _, x := range s.cfg.Extra {
			ls.body = x.AppendJSON(ls.body)
		}
		ls.body = append(ls.body, '}')
	}
	a.body = ls.body
	return c.respond(out, now, &a)
}

// clients answers GET /clients with the busiest clients.
func (c *conn) clients(out []byte, now time.Time, req *codec.Request) []byte {
	ls := c.ls
	top := ls.srv.engine.Top(ls.srv.cfg.TopClients)
	es := ls.srv.engine.Stats()
	b := append(ls.body[:0], `{"clients":[`...)
	for i, t := range top {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"client":`...)
		b = codec.AppendJSONString(b, []byte(t.ID))
		b = append(b, `,"requests":`...)
		b = strconv.AppendUint(b, t.Allowed+t.Denied, 10)
		b = append(b, `,"requests_allowed":`...)
		b = strconv.AppendUint(b, t.Allowed, 10)
		b = append(b, `,"requests_denied":`...)
		b = strconv.AppendUint(b, t.Denied, 10)
		b = append(b, `,"metrics_accepted":`...)
		b = strconv.AppendUint(b, t.Metrics, 10)
		b = append(b, `,"last_seen":"`...)
		b = codec.AppendTimestamp(b, t.LastSeen.UnixMilli())
		b = append(b, `"}`...)
	}
	b = append(b, `],"clients_tracked":`...)
	b = strconv.AppendInt(b, int64(es.Clients), 10)
	b = append(b, `,"ring_events_dropped":`...)
	b = strconv.AppendUint(b, es.RingDropped, 10)
	b = append(b, '}')
	ls.body = b
	a := c.baseAnswer(req, 200)
	a.body = b
	return c.respond(out, now, &a)
}

// wantsPrometheus reports whether a GET /metrics asks for the text format:
// ?format=prometheus, or an Accept header whose first media range is
// text/plain or application/openmetrics-text.
func wantsPrometheus(req *codec.Request) bool {
	if f := queryParam(req.Query, "format"); f != nil {
		return codec.EqualFoldASCII(f, "prometheus") || codec.EqualFoldASCII(f, "text")
	}
	first := req.Accept
	if i := bytes.IndexByte(first, ','); i >= 0 {
		first = first[:i]
	}
	if i := bytes.IndexByte(first, ';'); i >= 0 {
		first = first[:i]
	}
	first = bytes.TrimSpace(first)
	return codec.EqualFoldASCII(first, "text/plain") || codec.EqualFoldASCII(first, "application/openmetrics-text")
}

// queryParam returns the raw value of key in a query string, nil if absent.
// Values are not unescaped (see unescapeQuery).
func queryParam(q []byte, key string) []byte {
	for len(q) > 0 {
		var pair []byte
		if i := bytes.IndexByte(q, '&'); i >= 0 {
			pair, q = q[:i], q[i+1:]
		} else {
			pair, q = q, nil
		}
		k, v, _ := bytes.Cut(pair, []byte{'='})
		if string(k) == key {
			if v == nil {
				v = []byte{}
			}
			return v
		}
	}
	return nil
}

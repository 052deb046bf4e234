package server

import (
	"bytes"
	"errors"
	"strconv"
	"time"

	"metricstream/codec"
	"metricstream/engine"
	"metricstream/storage"
)

// route is an endpoint of the API.
type route uint8

const (
	routeNotFound route = iota
	routeMetrics        // GET: statistics; POST: JSON batch
	routeHealth
	routeClients
	routeWriteV1 // InfluxDB v1 line protocol
	routeWriteV2 // InfluxDB v2 line protocol
)

// maxClientIDBytes bounds a client id taken from the Authorization header.
const maxClientIDBytes = 256

func routeOf(path []byte) route {
	switch string(path) {
	case "/metrics":
		return routeMetrics
	case "/health":
		return routeHealth
	case "/clients":
		return routeClients
	case "/write":
		return routeWriteV1
	case "/api/v2/write":
		return routeWriteV2
	}
	return routeNotFound
}

// allowed returns the Allow header of r and whether m is in it.
func allowed(r route, m codec.Method) (string, bool) {
	switch r {
	case routeMetrics:
		return "GET, HEAD, POST", m == codec.MethodGET || m == codec.MethodHEAD || m == codec.MethodPOST
	case routeHealth, routeClients:
		return "GET, HEAD", m == codec.MethodGET || m == codec.MethodHEAD
	case routeWriteV1, routeWriteV2:
		return "POST", m == codec.MethodPOST
	}
	return "", false
}

func isIngest(r route, m codec.Method) bool {
	return m == codec.MethodPOST && (r == routeMetrics || r == routeWriteV1 || r == routeWriteV2)
}

// baseAnswer fills the connection handling of an answer to req.
func (c *conn) baseAnswer(req *codec.Request, status int) answer {
	keep := req.KeepAlive && !c.ls.srv.draining.Load()
	return answer{
		status:    status,
		ctype:     ctypeJSON,
		head:      req.Method == codec.MethodHEAD,
		close:     !keep,
		keepAlive: keep && req.Minor == 0,
	}
}

// errorAnswer answers req with status and {"error":msg}, counting reason.
func (c *conn) errorAnswer(out []byte, now time.Time, req *codec.Request, status int, why reason, msg string) []byte {
	ls := c.ls
	ls.counters.errors[why].Add(1)
	if status != 429 {
		ls.srv.logs.info("request refused", "remote", c.remote(), "status", status, "error", msg)
	}
	a := c.baseAnswer(req, status)
	ls.body = appendErrorBody(ls.body[:0], msg)
	a.body = ls.body
	if r := routeOf(req.Path); r == routeWriteV1 || r == routeWriteV2 {
		a.influxError = msg
	}
	switch status {
	case 401:
		a.authenticate = true
	case 503:
		a.retryAfter = 1
	}
	return c.respond(out, now, &a)
}

// onHead decides a request with Expect: 100-continue before its body is
// read: a refusal is sent at once, with the connection closed (the client
// may already be sending the body); otherwise 100 Continue.
func (c *conn) onHead(out []byte, now time.Time, req *codec.Request) []byte {
	ls := c.ls
	r := routeOf(req.Path)
	if r == routeNotFound {
		return c.fail(out, now, 404, "no endpoint at this path")
	}
	if allow, ok := allowed(r, req.Method); !ok {
		ls.counters.errors[reasonMethodNotAllowed].Add(1)
		ls.body = appendErrorBody(ls.body[:0], "method not allowed; allowed: "+allow)
		return c.respond(out, now, &answer{status: 405, ctype: ctypeJSON, body: ls.body, close: true, allow: allow})
	}
	if isIngest(r, req.Method) {
		client, ok := c.identify(req)
		if !ok {
			ls.counters.errors[reasonUnauthorized].Add(1)
			ls.body = appendErrorBody(ls.body[:0], "missing or invalid bearer token")
			return c.respond(out, now, &answer{status: 401, ctype: ctypeJSON, body: ls.body, close: true, authenticate: true})
		}
		if len(client) > maxClientIDBytes {
			return c.fail(out, now, 400, "client id in Authorization longer than 256 bytes")
		}
		if !knownEncoding(req.ContentEncoding) {
			return c.fail(out, now, 415, "unsupported Content-Encoding; send gzip or identity")
		}
		nowNs := now.UnixNano()
		cl, admitted, retry := ls.srv.engine.Admit(client, nowNs)
		if !admitted {
			ls.srv.engine.Record(cl, nowNs, false, 0)
			ls.counters.errors[reasonRateLimited].Add(1)
			ls.body = appendErrorBody(ls.body[:0], "Rate limit exceeded")
			return c.respond(out, now, &answer{status: 429, ctype: ctypeJSON, body: ls.body, close: true, retryAfter: retrySeconds(retry)})
		}
		c.decided, c.client = true, cl
	}
	return c.respond(out, now, &answer{status: 100})
}

// onRequest answers a complete request.
func (c *conn) onRequest(out []byte, now time.Time, req *codec.Request) []byte {
	decided := c.decided
	c.decided = false
	r := routeOf(req.Path)
	if r == routeNotFound {
		return c.errorAnswer(out, now, req, 404, reasonNotFound, "no endpoint at this path")
	}
	allow, ok := allowed(r, req.Method)
	if !ok {
		c.ls.counters.errors[reasonMethodNotAllowed].Add(1)
		a := c.baseAnswer(req, 405)
		a.allow = allow
		c.ls.body = appendErrorBody(c.ls.body[:0], "method not allowed; allowed: "+allow)
		a.body = c.ls.body
		return c.respond(out, now, &a)
	}
	if req.Method == codec.MethodPOST {
		return c.ingest(out, now, req, r, decided)
	}
	switch r {
	case routeHealth:
		return c.health(out, now, req)
	case routeClients:
		if !c.statsAuthorized(req) {
			return c.errorAnswer(out, now, req, 401, reasonUnauthorized, "missing or invalid bearer token")
		}
		return c.clients(out, now, req)
	default:
		if !c.statsAuthorized(req) {
			return c.errorAnswer(out, now, req, 401, reasonUnauthorized, "missing or invalid bearer token")
		}
		return c.stats(out, now, req)
	}
}

func knownEncoding(ce []byte) bool {
	return len(ce) == 0 || asciiEqualFold(ce, "identity") || asciiEqualFold(ce, "gzip") || asciiEqualFold(ce, "x-gzip")
}

// ingest decodes, validates and stores one batch.
func (c *conn) ingest(out []byte, now time.Time, req *codec.Request, r route, decided bool) []byte {
	ls := c.ls
	s := ls.srv
	nowNs := now.UnixNano()
	client, ok := c.identify(req)
	if !ok {
		return c.errorAnswer(out, now, req, 401, reasonUnauthorized, "missing or invalid bearer token")
	}
	if len(client) > maxClientIDBytes {
		return c.errorAnswer(out, now, req, 400, reasonBadRequest, "client id in Authorization longer than 256 bytes")
	}
	var cl *engine.Client
	if decided {
		cl = c.client
		c.client = nil
	} else {
		var admitted bool
		var retry time.Duration
		cl, admitted, retry = s.engine.Admit(client, nowNs)
		if !admitted {
			s.engine.Record(cl, nowNs, false, 0)
			ls.counters.errors[reasonRateLimited].Add(1)
			a := c.baseAnswer(req, 429)
			a.retryAfter = retrySeconds(retry)
			ls.body = appendErrorBody(ls.body[:0], "Rate limit exceeded")
			a.body = ls.body
			return c.respond(out, now, &a)
		}
	}

	body := req.Body
	switch {
	case len(req.ContentEncoding) == 0 || asciiEqualFold(req.ContentEncoding, "identity"):
	case asciiEqualFold(req.ContentEncoding, "gzip") || asciiEqualFold(req.ContentEncoding, "x-gzip"):
		if ls.gzip == nil {
			ls.gzip = codec.GetGzipDecoder()
		}
		var err error
		body, err = ls.gzip.Decode(body, s.cfg.MaxBodyBytes)
		if errors.Is(err, codec.ErrBodyTooLarge) {
			s.engine.Record(cl, nowNs, true, 0)
			return c.errorAnswer(out, now, req, 413, reasonBodyTooLarge, "decoded body larger than -max-body-bytes ("+strconv.Itoa(s.cfg.MaxBodyBytes)+")")
		}
		if err != nil {
			s.engine.Record(cl, nowNs, true, 0)
			return c.errorAnswer(out, now, req, 400, reasonInvalidBatch, "invalid gzip body")
		}
	default:
		s.engine.Record(cl, nowNs, true, 0)
		return c.errorAnswer(out, now, req, 415, reasonUnsupportedMedia, "unsupported Content-Encoding; send gzip or identity")
	}

	var err error
	lp := r != routeMetrics
	if lp {
		prec := codec.PrecisionNS
		if v := queryParam(req.Query, "precision"); v != nil {
			p, ok := codec.ParsePrecision(v)
			if !ok {
				s.engine.Record(cl, nowNs, true, 0)
				return c.errorAnswer(out, now, req, 400, reasonInvalidBatch, "invalid precision; use ns, us, ms or s")
			}
			prec = p
		}
		err = ls.lp.Decode(body, prec, s.cfg.MaxBatch, &ls.batch)
	} else {
		err = ls.json.Decode(body, s.cfg.MaxBatch, &ls.batch)
	}
	if err != nil {
		s.engine.Record(cl, nowNs, true, 0)
		return c.errorAnswer(out, now, req, 400, reasonInvalidBatch, err.Error())
	}
	n := ls.batch.Len()
	buf := storage.GetBuffer()
	buf.B = codec.AppendBatch(buf.B, &ls.batch, client, now.UnixMilli())
	ls.batch.Reset()

	if s.cfg.Ack == storage.AckQueued {
		if err := s.store.Append(buf, n, nil); err != nil {
			storage.PutBuffer(buf)
			return c.storeRefused(out, now, req, err)
		}
		s.engine.Record(cl, nowNs, true, n)
		p := pending{metrics: n, lp: lp}
		base := c.baseAnswer(req, 0)
		p.head, p.close, p.keep10 = base.head, base.close, base.keepAlive
		if p.close {
			c.closing = true
		}
		if len(c.queue) == 0 {
			return c.renderStored(out, now, &p)
		}
		q := c.newPending()
		q.buf = c.renderStored(q.buf[:0], now, &p)
		c.queue = append(c.queue, q)
		return out
	}

	p := c.newPending()
	p.stored, p.metrics, p.lp = true, n, lp
	base := c.baseAnswer(req, 0)
	p.head, p.close, p.keep10 = base.head, base.close, base.keepAlive
	s.inflight.Add(1)
	if err := s.store.Append(buf, n, p); err != nil {
		s.inflight.Add(-1)
		storage.PutBuffer(buf)
		c.recycle(p)
		return c.storeRefused(out, now, req, err)
	}
	s.engine.Record(cl, nowNs, true, n)
	if p.close {
		c.closing = true
	}
	c.queue = append(c.queue, p)
	return out
}

// storeRefused answers a batch the store would not take.
func (c *conn) storeRefused(out []byte, now time.Time, req *codec.Request, err error) []byte {
	switch {
	case errors.Is(err, storage.ErrQueueFull):
		return c.errorAnswer(out, now, req, 503, reasonOverloaded, "write queue full (-queue-bytes); retry later")
	case errors.Is(err, storage.ErrClosed):
		return c.errorAnswer(out, now, req, 503, reasonUnavailable, "server is shutting down")
	default:
		return c.errorAnswer(out, now, req, 503, reasonUnavailable, "storage cannot write; retry later")
	}
}

// identify returns the client id of req. Without an auth file it is the
// Authorization value less a "Bearer " or "Token " scheme, or "default";
// with one, the id the file gives the presented token, and ok is false for
// a missing or unknown token.
func (c *conn) identify(req *codec.Request) (client []byte, ok bool) {
	t := c.ls.srv.auth.Load()
	cred := credential(req.Authorization)
	if t == nil {
		if len(cred) == 0 {
			return defaultClient, true
		}
		return cred, true
	}
	return t.lookup(cred)
}

var defaultClient = []byte("default")

// credential strips a Bearer or Token scheme from an Authorization value.
func credential(v []byte) []byte {
	for _, scheme := range [...]string{"Bearer ", "Token "} {
		if len(v) >= len(scheme) && asciiEqualFold(v[:len(scheme)], scheme) {
			return bytes.TrimLeft(v[len(scheme):], " ")
		}
	}
	return v
}

// statsAuthorized reports whether req may read statistics.
func (c *conn) statsAuthorized(req *codec.Request) bool {
	s := c.ls.srv
	t := s.auth.Load()
	if t == nil || !s.cfg.AuthStats {
		return true
	}
	_, ok := t.lookup(credential(req.Authorization))
	return ok
}

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

func (c *conn) stats(out []byte, now time.Time, req *codec.Request) []byte {
	ls := c.ls
	snap := ls.srv.Stats()
	a := c.baseAnswer(req, 200)
	if wantsPrometheus(req) {
		a.ctype = ctypePrometheus
		ls.body = appendPrometheus(ls.body[:0], &snap, ls.srv.engine.Top(ls.srv.cfg.TopClients))
	} else {
		ls.body = appendStatsJSON(ls.body[:0], &snap)
	}
	a.body = ls.body
	return c.respond(out, now, &a)
}

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
		return asciiEqualFold(f, "prometheus") || asciiEqualFold(f, "text")
	}
	first := req.Accept
	if i := bytes.IndexByte(first, ','); i >= 0 {
		first = first[:i]
	}
	if i := bytes.IndexByte(first, ';'); i >= 0 {
		first = first[:i]
	}
	first = bytes.TrimSpace(first)
	return asciiEqualFold(first, "text/plain") || asciiEqualFold(first, "application/openmetrics-text")
}

// queryParam returns the raw value of key in a query string, nil if absent.
// Values are not unescaped: the parameters read here never need it.
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

// asciiEqualFold compares b with the lower-case ASCII string s, ignoring
// the case of b.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x := b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		y := s[i]
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

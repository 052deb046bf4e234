package server

import (
	"time"

	"metricstream/codec"
)

// handlerFunc answers a request that passed its route's checks.
type handlerFunc func(c *conn, out []byte, now time.Time, req *codec.Request) []byte

// access is what a request must present to be handled.
type access uint8

const (
	accessOpen   access = iota // nothing (health, ping)
	accessStats                // a token from -auth-file while -auth-stats is on
	accessClient               // a client id; with -auth-file, a token from it
)

// action is what a route does for one method.
type action struct {
	access access
	// ingest marks a batch upload: its content coding is checked and it is
	// rate-limited before its body is read.
	ingest bool
	handle handlerFunc
}

// route is one path of the API.
type route struct {
	path  string
	allow string  // the Allow header of a 405: the methods below
	get   *action // GET and HEAD; nil: not allowed
	post  *action // POST; nil: not allowed
	// influx adds X-Influxdb-Error to refusals: the InfluxDB client
	// libraries show that header to their users, not the JSON body.
	influx bool
}

// routes is the API: every path, its methods, what each needs and does.
// Handlers never read this table (lookup does), which keeps package
// initialisation free of cycles.
var routes = [...]route{
	{path: "/metrics", allow: "GET, HEAD, POST",
		get:  &action{access: accessStats, handle: (*conn).stats},
		post: &action{access: accessClient, ingest: true, handle: (*conn).ingestJSON}},
	{path: "/health", allow: "GET, HEAD",
		get: &action{access: accessOpen, handle: (*conn).health}},
	{path: "/clients", allow: "GET, HEAD",
		get: &action{access: accessStats, handle: (*conn).clients}},
	{path: "/write", allow: "POST", influx: true,
		post: &action{access: accessClient, ingest: true, handle: (*conn).ingestLineProtocol}},
	{path: "/api/v2/write", allow: "POST", influx: true,
		post: &action{access: accessClient, ingest: true, handle: (*conn).ingestLineProtocol}},
	{path: "/ping", allow: "GET, HEAD", influx: true,
		get: &action{access: accessOpen, handle: (*conn).ping}},
	{path: "/query", allow: "GET, HEAD, POST", influx: true,
		get:  &action{access: accessClient, handle: (*conn).query},
		post: &action{access: accessClient, handle: (*conn).query}},
}

// lookup returns the route of path, nil if there is none.
func lookup(path []byte) *route {
	for i := range routes {
		if string(path) == routes[i].path {
			return &routes[i]
		}
	}
	return nil
}

// actionFor returns what r does for method m, nil if m is not allowed.
func (r *route) actionFor(m codec.Method) *action {
	switch m {
	case codec.MethodGET, codec.MethodHEAD:
		return r.get
	case codec.MethodPOST:
		return r.post
	}
	return nil
}

// maxClientIDBytes bounds a client id taken from the request.
const maxClientIDBytes = 256

// refusal is why a request is not handled. The zero value refuses nothing.
type refusal struct {
	why   reason
	msg   string        // the {"error":...} message; empty: no refusal
	retry time.Duration // 429: when the bucket has a token again
	allow string        // 405: the Allow header
}

func (r refusal) refused() bool { return r.msg != "" }

func refuse(why reason, msg string) refusal { return refusal{why: why, msg: msg} }

// check runs every check of req that needs no body, in order: path,
// method, credentials and, for an ingest, content coding and rate limit.
// An admitted ingest leaves its client id in c.clientID and its engine
// client in c.client. It returns the action to run, or the refusal.
func (c *conn) check(req *codec.Request, nowNs int64) (*action, refusal) {
	r := lookup(req.Path)
	c.route = r
	if r == nil {
		return nil, refuse(reasonNotFound, "no endpoint at this path")
	}
	act := r.actionFor(req.Method)
	if act == nil {
		return nil, refusal{why: reasonMethodNotAllowed, msg: "method not allowed; allowed: " + r.allow, allow: r.allow}
	}
	switch act.access {
	case accessStats:
		if !c.statsAuthorized(req) {
			return nil, refuse(reasonUnauthorized, "missing or invalid bearer token")
		}
	case accessClient:
		client, ok := c.identify(req)
		if !ok {
			return nil, refuse(reasonUnauthorized, "missing or invalid bearer token")
		}
		if len(client) > maxClientIDBytes {
			return nil, refuse(reasonBadRequest, "client id in Authorization longer than 256 bytes")
		}
		c.clientID = client
	}
	if !act.ingest {
		return act, refusal{}
	}
	if !knownEncoding(req.ContentEncoding) {
		return nil, refuse(reasonUnsupportedMedia, "unsupported Content-Encoding; send gzip or identity")
	}
	if c.client != nil {
		return act, refusal{} // admitted at the request's head (Expect: 100-continue)
	}
	cl, admitted, retry := c.ls.srv.engine.Admit(c.clientID, nowNs)
	if !admitted {
		c.ls.srv.engine.Record(cl, nowNs, false, 0)
		return nil, refusal{why: reasonRateLimited, msg: "Rate limit exceeded", retry: retry}
	}
	c.client = cl
	return act, refusal{}
}

// onHead decides a request with Expect: 100-continue before its body is
// read: the same checks as onRequest; a refusal is sent at once with the
// connection closed (the client may already be sending the body),
// otherwise 100 Continue.
func (c *conn) onHead(out []byte, now time.Time, req *codec.Request) []byte {
	if _, r := c.check(req, now.UnixNano()); r.refused() {
		return c.refuse(out, now, nil, r)
	}
	return c.respond(out, now, &answer{status: 100})
}

// onRequest answers a complete request.
func (c *conn) onRequest(out []byte, now time.Time, req *codec.Request) []byte {
	act, r := c.check(req, now.UnixNano())
	if r.refused() {
		c.client = nil
		return c.refuse(out, now, req, r)
	}
	out = act.handle(c, out, now, req)
	c.client = nil
	return out
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

// refuse answers r with {"error":msg}, counting it under its reason. With
// req nil (a malformed request, or a refusal before the body was read) the
// answer closes the connection.
func (c *conn) refuse(out []byte, now time.Time, req *codec.Request, r refusal) []byte {
	ls := c.ls
	status := reasons[r.why].status
	ls.counters.errors[r.why].Add(1)
	switch {
	case r.why == reasonRateLimited: // counted, not logged: it is the limiter working
	case status < 500:
		ls.srv.logs.info("client error", "remote", c.remote(), "status", status, "error", r.msg)
	default:
		ls.srv.logs.info("request refused", "remote", c.remote(), "status", status, "error", r.msg)
	}
	a := answer{status: status, ctype: ctypeJSON, close: true}
	if req != nil {
		a = c.baseAnswer(req, status)
	}
	ls.body = appendErrorBody(ls.body[:0], r.msg)
	a.body = ls.body
	a.allow = r.allow
	a.authenticate = status == 401
	if r.why == reasonRateLimited {
		a.retryAfter = retrySeconds(r.retry)
	} else if status == 503 {
		a.retryAfter = 1
	}
	if c.route != nil && c.route.influx {
		a.influxError = r.msg
	}
	return c.respond(out, now, &a)
}

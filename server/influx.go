package server

import (
	"bytes"
	"sync"
	"sync/atomic"
	"time"

	"metricstream/codec"
)

// influxVersion is what GET /ping reports in X-Influxdb-Version: the
// InfluxDB release whose write API MetricStream accepts.
const influxVersion = "1.8.10"

// ping answers GET and HEAD /ping as InfluxDB does: 204 with the version,
// which client libraries and Telegraf use to check the server is there.
func (c *conn) ping(out []byte, now time.Time, req *codec.Request) []byte {
	a := c.baseAnswer(req, 204)
	a.influxVersion = true
	return c.respond(out, now, &a)
}

// query answers the InfluxQL statements InfluxDB v1 clients send before
// writing: CREATE DATABASE (noted, nothing else to do: writes need no
// database to exist) and SHOW DATABASES (the databases noted). Anything
// else is refused: MetricStream stores metrics, it does not serve queries.
func (c *conn) query(out []byte, now time.Time, req *codec.Request) []byte {
	ls := c.ls
	q := queryParam(req.Query, "q")
	if q == nil && req.Method == codec.MethodPOST {
		q = queryParam(req.Body, "q") // application/x-www-form-urlencoded
	}
	ls.scratch = unescapeQuery(ls.scratch[:0], q)
	stmt := bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(ls.scratch), []byte{';'}))
	a := c.baseAnswer(req, 200)
	switch {
	case hasWords(stmt, "create", "database"):
		name := stmt[len("create"):]
		name = bytes.TrimSpace(bytes.TrimSpace(name)[len("database"):])
		if i := bytes.IndexAny(name, " \t"); i >= 0 {
			name = name[:i] // WITH DURATION ...: retention is not ours to keep
		}
		name = bytes.Trim(name, `"`)
		if len(name) == 0 {
			return c.refuse(out, now, req, refuse(reasonBadRequest, "CREATE DATABASE needs a name"))
		}
		ls.srv.databases.note(name)
		ls.body = append(ls.body[:0], `{"results":[{"statement_id":0}]}`...)
	case hasWords(stmt, "show", "databases"):
		ls.body = ls.srv.databases.appendResult(ls.body[:0])
	default:
		return c.refuse(out, now, req, refuse(reasonBadRequest,
			"queries are not served: MetricStream only ingests (CREATE DATABASE and SHOW DATABASES are answered)"))
	}
	a.body = ls.body
	return c.respond(out, now, &a)
}

// hasWords reports whether stmt starts with the two words w1 and w2
// (lower case), ignoring case and the blanks between them.
func hasWords(stmt []byte, w1, w2 string) bool {
	if len(stmt) <= len(w1) || !codec.EqualFoldASCII(stmt[:len(w1)], w1) {
		return false
	}
	rest := stmt[len(w1):]
	if rest[0] != ' ' && rest[0] != '\t' {
		return false
	}
	rest = bytes.TrimLeft(rest, " \t")
	if len(rest) < len(w2) || !codec.EqualFoldASCII(rest[:len(w2)], w2) {
		return false
	}
	return len(rest) == len(w2) || rest[len(w2)] == ' ' || rest[len(w2)] == '\t'
}

// maxDatabases bounds the database names SHOW DATABASES lists; names past
// it are not noted. maxDatabaseBytes bounds one name.
const (
	maxDatabases     = 64
	maxDatabaseBytes = 256
)

// databaseSet holds the database names seen in db= and CREATE DATABASE.
// Readers load the immutable list; the first sight of a name copies it
// under mu (at most maxDatabases times in the server's life).
type databaseSet struct {
	list atomic.Pointer[[]string]
	mu   sync.Mutex
}

// note adds name to the set unless it is there, too long, or the set is
// full. A name already there costs a scan of the list and no allocation.
func (d *databaseSet) note(name []byte) {
	if len(name) > maxDatabaseBytes || d.has(name) {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var old []string
	if p := d.list.Load(); p != nil {
		old = *p
	}
	if len(old) >= maxDatabases || d.has(name) {
		return
	}
	list := append(append(make([]string, 0, len(old)+1), old...), string(name))
	d.list.Store(&list)
}

func (d *databaseSet) has(name []byte) bool {
	if p := d.list.Load(); p != nil {
		for _, n := range *p {
			if n == string(name) {
				return true
			}
		}
	}
	return false
}

// appendResult appends the answer of SHOW DATABASES.
func (d *databaseSet) appendResult(dst []byte) []byte {
	dst = append(dst, `{"results":[{"statement_id":0,"series":[{"name":"databases","columns":["name"],"values":[`...)
	if p := d.list.Load(); p != nil {
		for i, n := range *p {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '[')
			dst = codec.AppendJSONString(dst, []byte(n))
			dst = append(dst, ']')
		}
	}
	return append(dst, "]}]}]}"...)
}

package server

import (
	"errors"
	"strconv"
	"time"

	"github.com/valyala/bytebufferpool"

	"metricstream/codec"
	"metricstream/storage"
)

// ingestJSON stores a JSON batch (POST /metrics).
func (c *conn) ingestJSON(out []byte, now time.Time, req *codec.Request) []byte {
	return c.ingest(out, now, req, false)
}

// ingestLineProtocol stores an InfluxDB line-protocol batch (POST /write,
// POST /api/v2/write) and notes the database it names.
func (c *conn) ingestLineProtocol(out []byte, now time.Time, req *codec.Request) []byte {
	if db := queryParam(req.Query, "db"); len(db) > 0 {
		ls := c.ls
		ls.scratch = unescapeQuery(ls.scratch[:0], db)
		ls.srv.databases.note(ls.scratch)
	}
	return c.ingest(out, now, req, true)
}

// ingest decodes, validates and stores one batch of a client that check
// admitted (c.client, c.clientID).
func (c *conn) ingest(out []byte, now time.Time, req *codec.Request, lp bool) []byte {
	ls := c.ls
	nowNs := now.UnixNano()
	n, r := c.decodeBatch(req, lp)
	if r.refused() {
		ls.srv.engine.Record(c.client, nowNs, true, 0)
		return c.refuse(out, now, req, r)
	}
	buf := storage.GetBuffer()
	buf.B = codec.AppendBatch(buf.B, &ls.batch, c.clientID, now.UnixMilli())
	ls.batch.Reset()
	return c.store(out, now, req, buf, n, lp)
}

// decodeBatch decodes req's body into the loop's batch and returns the
// number of metrics in it.
func (c *conn) decodeBatch(req *codec.Request, lp bool) (int, refusal) {
	ls := c.ls
	cfg := &ls.srv.cfg
	body, r := c.decodedBody(req)
	if r.refused() {
		return 0, r
	}
	var err error
	if lp {
		prec := codec.PrecisionNS
		if v := queryParam(req.Query, "precision"); v != nil {
			p, ok := codec.ParsePrecision(v)
			if !ok {
				return 0, refuse(reasonInvalidBatch, "invalid precision; use ns, us, ms or s")
			}
			prec = p
		}
		err = ls.lp.Decode(body, prec, cfg.MaxBatch, &ls.batch)
	} else {
		err = ls.json.Decode(body, cfg.MaxBatch, &ls.batch)
	}
	if err != nil {
		return 0, refuse(reasonInvalidBatch, err.Error())
	}
	return ls.batch.Len(), refusal{}
}

// knownEncoding reports whether a Content-Encoding is one the server
// decodes.
func knownEncoding(ce []byte) bool {
	return len(ce) == 0 || codec.EqualFoldASCII(ce, "identity") || isGzip(ce)
}

func isGzip(ce []byte) bool {
	return codec.EqualFoldASCII(ce, "gzip") || codec.EqualFoldASCII(ce, "x-gzip")
}

// decodedBody returns req's body with its content coding (checked by
// check) removed.
func (c *conn) decodedBody(req *codec.Request) ([]byte, refusal) {
	if !isGzip(req.ContentEncoding) {
		return req.Body, refusal{}
	}
	ls := c.ls
	if ls.gzip == nil {
		ls.gzip = codec.GetGzipDecoder()
	}
	limit := ls.srv.cfg.MaxBodyBytes
	body, err := ls.gzip.Decode(req.Body, limit)
	switch {
	case errors.Is(err, codec.ErrBodyTooLarge):
		return nil, refuse(reasonBodyTooLarge, "decoded body larger than -max-body-bytes ("+strconv.Itoa(limit)+")")
	case err != nil:
		return nil, refuse(reasonInvalidBatch, "invalid gzip body")
	}
	return body, refusal{}
}

// store hands the encoded batch to storage and queues its answer: at once
// with -ack queued, when storage acknowledges it otherwise.
func (c *conn) store(out []byte, now time.Time, req *codec.Request, buf *bytebufferpool.ByteBuffer, n int, lp bool) []byte {
	ls := c.ls
	s := ls.srv
	nowNs := now.UnixNano()
	base := c.baseAnswer(req, 0)
	if s.cfg.Ack == storage.AckQueued {
		if err := ls.stream.Append(buf, n, nil); err != nil {
			storage.PutBuffer(buf)
			return c.refuse(out, now, req, storeRefusal(err))
		}
		s.engine.Record(c.client, nowNs, true, n)
		ls.counters.countStored(n) // queued is acknowledged
		p := pending{metrics: n, lp: lp, head: base.head, close: base.close, keep10: base.keepAlive}
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
	p.head, p.close, p.keep10 = base.head, base.close, base.keepAlive
	s.inflight.Add(1)
	if err := ls.stream.Append(buf, n, p); err != nil {
		s.inflight.Add(-1)
		storage.PutBuffer(buf)
		c.recycle(p)
		return c.refuse(out, now, req, storeRefusal(err))
	}
	s.engine.Record(c.client, nowNs, true, n)
	if p.close {
		c.closing = true
	}
	c.queue = append(c.queue, p)
	return out
}

// storeRefusal is the answer to a batch the store would not take.
func storeRefusal(err error) refusal {
	switch {
	case errors.Is(err, storage.ErrQueueFull):
		return refuse(reasonOverloaded, "write queue full (-queue-bytes); retry later")
	case errors.Is(err, storage.ErrClosed):
		return refuse(reasonUnavailable, "server is shutting down")
	default:
		return refuse(reasonUnavailable, "storage cannot write; retry later")
	}
}

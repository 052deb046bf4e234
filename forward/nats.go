package forward

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The NATS JetStream sink (SPEC §11, issue 12). A batch is published as one or more messages,
// each a slice of whole stored lines of at most NATSMaxMsgBytes, with
//
//	Nats-Msg-Id: <origin>-<loop>-<segment>-<start>-<end>
//
// where origin identifies the data directory (forward-origin, 16 random hex digits made once),
// and start and end are the message's byte offsets in the segment. The id names exactly the
// bytes the message carries, so a republish after a timeout, a disconnect or a crash is
// recognised by the stream within its Duplicates window; the reader cuts the batches of a
// resend exactly as before (the .sent file), so the messages and their ids are the same.
//
// Messages are published asynchronously (at most Inflight batches' messages pending); a batch
// is acknowledged when every one of its messages is, and the cursor moves over the contiguous
// prefix of acknowledged batches. A failed or timed-out publish is republished with the same id
// after the backoff: a timeout means "outcome unknown", and the stream deduplicates.

// natsTarget is a parsed nats:// sink URL.
type natsTarget struct {
	servers []string // nats://host:port each
	user    *url.Userinfo
	subject string
	stream  string
}

// validateNATS checks nats://host:port[,host:port…]/<subject>?stream=<name>.
func (sp *sinkSpec) validateNATS(u *url.URL) error {
	rest := strings.TrimPrefix(sp.URL, u.Scheme+"://")
	if at := strings.LastIndex(strings.SplitN(rest, "/", 2)[0], "@"); at >= 0 {
		rest = rest[at+1:]
	}
	hosts, _, _ := strings.Cut(rest, "/")
	for _, h := range strings.Split(hosts, ",") {
		if h == "" {
			return fmt.Errorf("%q: empty host in the server list", redact(u))
		}
		sp.nats.servers = append(sp.nats.servers, u.Scheme+"://"+h)
	}
	sp.nats.user = u.User
	sp.nats.subject = strings.TrimPrefix(u.Path, "/")
	sp.nats.stream = u.Query().Get("stream")
	if sp.nats.subject == "" || strings.ContainsAny(sp.nats.subject, " \t*>/") {
		return fmt.Errorf("%q: want a subject without wildcards after the hosts, e.g. nats://host:4222/metrics.edge1?stream=METRICS", redact(u))
	}
	if sp.nats.stream == "" || strings.ContainsAny(sp.nats.stream, " \t.*>") {
		return fmt.Errorf("%q: want ?stream=<name> (no dots, spaces or wildcards)", redact(u))
	}
	if sp.NATSCreds != "" {
		if _, err := os.Stat(sp.NATSCreds); err != nil {
			return fmt.Errorf("NATS credentials: %w", err)
		}
	}
	if sp.NATSTokenFile != "" {
		tok, err := readSecret(sp.NATSTokenFile)
		if err != nil {
			return err
		}
		sp.token = tok
	}
	sp.Format = FormatNATS
	sp.target = "nats://" + hosts + "/" + sp.nats.subject + "?stream=" + sp.nats.stream
	sp.name = sanitizeSinkName("nats_" + sp.nats.subject + "_" + sp.nats.stream)
	return nil
}

// natsSink publishes to one JetStream stream.
type natsSink struct {
	sp    sinkSpec
	dir   string
	ua    string
	bo    backoff
	stats *Stats
	log   *slog.Logger

	nc     *nats.Conn          // set by start, immutable after
	js     jetstream.JetStream // set by start, immutable after
	origin string              // set by start, immutable after

	mu    sync.Mutex // guards ready; held while the stream is checked
	ready bool       // the stream was found (or created) and matches
}

func newNATSSink(sp sinkSpec, dir, ua string, bo backoff, st *Stats, log *slog.Logger) *natsSink {
	return &natsSink{sp: sp, dir: dir, ua: ua, bo: bo, stats: st, log: log}
}

// start connects (reconnecting forever in the background when the servers are down) and checks
// or creates the stream when a server answers; a stream that does not match is an error.
func (n *natsSink) start(ctx context.Context) error {
	origin, err := loadOrigin(n.dir)
	if err != nil {
		return err
	}
	n.origin = origin
	opts := []nats.Option{nats.Name(n.ua), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second),
		nats.RetryOnFailedConnect(true), nats.Timeout(n.sp.Timeout), nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				n.log.Warn("forward: NATS connection lost; reconnecting", "sink", n.sp.name, "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			n.log.Info("forward: NATS reconnected", "sink", n.sp.name, "server", c.ConnectedUrlRedacted())
		})}
	switch {
	case n.sp.NATSCreds != "":
		opts = append(opts, nats.UserCredentials(n.sp.NATSCreds))
	case n.sp.token != "":
		opts = append(opts, nats.Token(n.sp.token))
	}
	if u := n.sp.nats.user; u != nil {
		pass, _ := u.Password()
		opts = append(opts, nats.UserInfo(u.Username(), pass))
	}
	n.nc, err = nats.Connect(strings.Join(n.sp.nats.servers, ","), opts...)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	n.js, err = jetstream.New(n.nc, jetstream.WithPublishAsyncMaxPending(n.sp.Inflight*64),
		jetstream.WithPublishAsyncTimeout(n.sp.Timeout))
	if err != nil {
		n.nc.Close()
		return err
	}
	if !n.nc.IsConnected() {
		n.log.Warn("forward: no NATS server answers yet; the stream is checked once one does", "sink", n.sp.name)
		return nil
	}
	// A cluster still electing its JetStream leader does not answer: wait a little only, the
	// workers check again before they publish.
	checkCtx, cancel := context.WithTimeout(ctx, min(n.sp.Timeout, 5*time.Second))
	defer cancel()
	if err := n.ensureStream(checkCtx); err != nil {
		var mismatch *streamMismatch
		if errors.As(err, &mismatch) {
			n.nc.Close()
			return err
		}
		n.log.Warn("forward: cannot check the NATS stream yet; trying again before publishing", "sink", n.sp.name, "err", err)
	}
	return nil
}

func (n *natsSink) close() {
	if n.nc != nil {
		n.nc.Close()
	}
}

// streamMismatch is an existing stream whose configuration the forwarder cannot use.
type streamMismatch struct {
	stream, what string
}

func (e *streamMismatch) Error() string {
	return fmt.Sprintf("NATS stream %s exists with %s; fix the stream or the flags", e.stream, e.what)
}

// ensureStream checks the stream, creating it when missing. Safe from any worker.
func (n *natsSink) ensureStream(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ready {
		return nil
	}
	name, subject := n.sp.nats.stream, n.sp.nats.subject
	s, err := n.js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = n.js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{subject},
			Storage: jetstream.FileStorage, Replicas: n.sp.NATSReplicas, Duplicates: DefaultNATSDuplicates})
		if err != nil {
			return fmt.Errorf("create stream %s: %w", name, err)
		}
		n.log.Info("forward: NATS stream created", "sink", n.sp.name, "stream", name, "subject", subject,
			"replicas", n.sp.NATSReplicas, "duplicates", DefaultNATSDuplicates.String())
		n.ready = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up stream %s: %w", name, err)
	}
	cfg := s.CachedInfo().Config
	switch {
	case !subjectCovered(cfg.Subjects, subject):
		return &streamMismatch{name, fmt.Sprintf("subjects %v, which do not include %s", cfg.Subjects, subject)}
	case cfg.Storage != jetstream.FileStorage:
		return &streamMismatch{name, "memory storage (want file storage)"}
	case cfg.Duplicates < DefaultNATSDuplicates:
		return &streamMismatch{name, fmt.Sprintf("a duplicates window of %v (want at least %v)", cfg.Duplicates, DefaultNATSDuplicates)}
	case cfg.Replicas != n.sp.NATSReplicas:
		return &streamMismatch{name, fmt.Sprintf("%d replicas, not the %d of -forward-nats-replicas", cfg.Replicas, n.sp.NATSReplicas)}
	}
	n.ready = true
	return nil
}

// subjectCovered reports whether one of the stream's subject filters matches subject.
func subjectCovered(filters []string, subject string) bool {
	want := strings.Split(subject, ".")
	for _, f := range filters {
		tokens := strings.Split(f, ".")
		ok := len(tokens) <= len(want)
		for i := 0; ok && i < len(tokens); i++ {
			switch {
			case tokens[i] == ">":
				return true
			case tokens[i] != "*" && tokens[i] != want[i]:
				ok = false
			}
		}
		if ok && len(tokens) == len(want) {
			return true
		}
	}
	return false
}

// loadOrigin returns the data directory's origin id, creating it on first use.
func loadOrigin(dir string) (string, error) {
	path := filepath.Join(dir, "forward-origin")
	if data, err := os.ReadFile(path); err == nil {
		if id := strings.TrimSpace(string(data)); len(id) == 16 {
			return id, nil
		}
	}
	var b [8]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	if err := saveCursorAtomic(path, []byte(id+"\n")); err != nil {
		return "", fmt.Errorf("save origin id: %w", err)
	}
	return id, nil
}

func (n *natsSink) newWorker(stopping <-chan struct{}) deliverer {
	return &natsWorker{sink: n, bo: n.bo, stopping: stopping}
}

// natsWorker publishes one batch at a time.
type natsWorker struct {
	sink     *natsSink
	bo       backoff
	stopping <-chan struct{}
	msgs     []natsMsg
}

// natsMsg is one message of a batch: its bytes in the batch and whether it was acknowledged.
type natsMsg struct {
	start, end int
	lines      int
	acked      bool
}

func (w *natsWorker) deliver(ctx context.Context, b *batch) error {
	n := w.sink
	w.split(b)
	if err := b.waitTurn(ctx, w.stopping); err != nil {
		return err
	}
	for {
		checkCtx, cancel := context.WithTimeout(ctx, n.sp.Timeout)
		err := n.ensureStream(checkCtx)
		cancel()
		if err == nil {
			err = w.publish(ctx, b)
		}
		if err == nil {
			w.bo.reset()
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		delay := w.bo.next(0)
		n.stats.retries.Add(1)
		n.log.Warn("forward: NATS publish failed; publishing again with the same ids", "sink", n.sp.name,
			"err", err, "retry_in", delay.Round(time.Millisecond).String())
		if err := waitRetry(ctx, w.stopping, delay); err != nil {
			return err
		}
	}
}

// split cuts b into messages of whole lines of at most NATSMaxMsgBytes (a longer line alone).
func (w *natsWorker) split(b *batch) {
	w.msgs = w.msgs[:0]
	max := w.sink.sp.NATSMaxMsgBytes
	cur := natsMsg{}
	eachLine(b.data, func(line []byte, off int) {
		end := off + len(line) + 1
		if cur.lines > 0 && end-cur.start > max {
			w.msgs = append(w.msgs, cur)
			cur = natsMsg{start: off}
		}
		cur.end = end
		cur.lines++
	})
	if cur.lines > 0 {
		w.msgs = append(w.msgs, cur)
	}
}

// publish sends every message of b not yet acknowledged and waits for the answers. It returns
// nil once all are acknowledged (or dropped as too large); otherwise the first failure.
func (w *natsWorker) publish(ctx context.Context, b *batch) error {
	n := w.sink
	futures := make([]jetstream.PubAckFuture, len(w.msgs))
	debug := n.log.Enabled(ctx, slog.LevelDebug)
	var firstErr error
	for i := range w.msgs {
		m := &w.msgs[i]
		if m.acked {
			continue
		}
		msg := nats.NewMsg(n.sp.nats.subject)
		// A copy: nats.go keeps the message and may publish it again by itself (its retry after
		// "no responders") after this batch's buffer went back to the pool.
		msg.Data = bytes.Clone(b.data[m.start:m.end])
		msg.Header.Set(jetstream.MsgIDHeader, w.msgID(b, m))
		f, err := n.js.PublishMsgAsync(msg)
		if errors.Is(err, nats.ErrMaxPayload) {
			w.dropTooLarge(b, m, err)
			continue
		}
		if err != nil {
			n.stats.countStatus(statusNATSError)
			firstErr = cmpOr(firstErr, err)
			continue
		}
		futures[i] = f
	}
	b.release() // published in order; the next batch of the stream may publish too
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case ack := <-f.Ok():
			m := &w.msgs[i]
			m.acked = true
			n.stats.countStatus(statusNATSAck)
			n.stats.samples.Add(uint64(m.lines))
			n.stats.bytes.Add(uint64(m.end - m.start))
			n.stats.wireBytes.Add(uint64(m.end - m.start))
			if ack.Duplicate {
				n.stats.natsDuplicates.Add(uint64(m.lines))
			}
			if debug {
				n.log.Debug("forward: NATS ack", "sink", n.sp.name, "id", w.msgID(b, m), "stream", ack.Stream,
					"seq", ack.Sequence, "duplicate", ack.Duplicate)
			}
		case err := <-f.Err():
			n.stats.countStatus(statusNATSError)
			firstErr = cmpOr(firstErr, err)
			if debug {
				n.log.Debug("forward: NATS publish failed", "sink", n.sp.name, "id", w.msgID(b, &w.msgs[i]), "err", err)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return firstErr
}

// msgID names the bytes of message m of batch b.
func (w *natsWorker) msgID(b *batch, m *natsMsg) string {
	buf := make([]byte, 0, 64)
	buf = append(buf, w.sink.origin...)
	buf = append(buf, '-')
	buf = strconv.AppendInt(buf, int64(b.loop), 10)
	buf = append(buf, '-')
	buf = strconv.AppendUint(buf, b.start.Seq, 10)
	buf = append(buf, '-')
	buf = strconv.AppendInt(buf, b.start.Off+int64(m.start), 10)
	buf = append(buf, '-')
	buf = strconv.AppendInt(buf, b.start.Off+int64(m.end), 10)
	return string(buf)
}

// dropTooLarge drops a message the server refuses as larger than its max_payload.
func (w *natsWorker) dropTooLarge(b *batch, m *natsMsg, err error) {
	n := w.sink
	m.acked = true
	n.stats.drop(dropRejected, int64(m.lines), int64(m.end-m.start), 1)
	n.log.Error("forward: NATS server refuses the message as too large; its samples are dropped (lower -forward-nats-max-msg-bytes)",
		"sink", n.sp.name, "bytes", m.end-m.start, "samples", m.lines,
		"segment", refOf(b.start).FileName(), "offset", b.start.Off+int64(m.start), "err", err)
}

package journey

// Queue is what the request path hands a batch to before the writer takes
// it: Offer copies the batch in (a request's buffer) or refuses it, Serve
// hands the oldest one to the writer and lets it go.
type Queue interface {
	// Offer queues a copy of batch; false means refused (503).
	Offer(batch []byte) bool
	// Serve removes the oldest batch, if any.
	Serve()
	// Held is the bytes of the batches queued now.
	Held() int64
}

// UnboundedQueue is the C++ phase-6 predecessor: every batch is accepted,
// so under overload the backlog, and the memory that holds it, grows for
// as long as the overload lasts. It is used by one goroutine.
type UnboundedQueue struct {
	items [][]byte
	head  int
	held  int64
}

// Offer queues a copy of batch; it never refuses.
func (q *UnboundedQueue) Offer(batch []byte) bool {
	q.items = append(q.items, append([]byte(nil), batch...))
	q.held += int64(len(batch))
	return true
}

// Serve drops the oldest batch.
func (q *UnboundedQueue) Serve() {
	if q.head == len(q.items) {
		return
	}
	q.held -= int64(len(q.items[q.head]))
	q.items[q.head] = nil
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
}

// Held is the bytes queued now.
func (q *UnboundedQueue) Held() int64 { return q.held }

// BoundedQueue is the phase-6 fix as MetricStream has it (-queue-bytes):
// a batch that would take the queued bytes past Bound is refused, and the
// client gets 503 and retries later. It is used by one goroutine.
type BoundedQueue struct {
	// Bound is the most bytes held at once.
	Bound int64
	q     UnboundedQueue
}

// Offer queues a copy of batch, or refuses it when it does not fit.
func (b *BoundedQueue) Offer(batch []byte) bool {
	if b.q.held+int64(len(batch)) > b.Bound {
		return false
	}
	return b.q.Offer(batch)
}

// Serve drops the oldest batch.
func (b *BoundedQueue) Serve() { b.q.Serve() }

// Held is the bytes queued now.
func (b *BoundedQueue) Held() int64 { return b.q.held }

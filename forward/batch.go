package forward

import (
	"context"
	"errors"
	"time"
)

// errStopping ends a delivery that waits to retry when the forwarder stops: the batch is sent
// again on the next start.
var errStopping = errors.New("forward: stopping")

// waitRetry waits d before a retry. It returns ctx's error, or errStopping when stopping closes
// first: a request on the wire may finish during shutdown, a sink that is down is not waited for.
func waitRetry(ctx context.Context, stopping <-chan struct{}, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-stopping:
		return errStopping
	case <-t.C:
		return nil
	}
}

// batch is a run of whole stored lines of one segment, sent as one request (or, for NATS, as
// one or more messages). The reader fills it; then exactly one worker owns it until it hands it
// to the acker, which owns it until it is recycled.
type batch struct {
	loop       int
	start, end Position // [start.Off, end.Off) of segment start.Seq; end.Seq == start.Seq
	data       []byte   // the lines, each ending in '\n'
	lines      int
	resent     int  // lines that an earlier run had already sent (counted as resends)
	dropped    bool // refused by the sink (4xx): the cursor moves over it all the same
	done       bool // acker: delivered or dropped

	// Order within a stream: a batch is sent only after the previous batch of its stream (turn
	// is closed), and closes its own channel (release) once it was delivered, dropped or, for
	// NATS, published. Batches of one stream are encoded in parallel but never overtake each
	// other on the wire, so a receiver that wants each series in time order (Prometheus) gets it.
	turn     <-chan struct{}
	sent     chan struct{}
	released bool // owned by the worker
}

// closedTurn is the turn of a stream's first batch.
var closedTurn = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// waitTurn waits until the previous batch of b's stream released its turn.
func (b *batch) waitTurn(ctx context.Context, stopping <-chan struct{}) error {
	select {
	case <-b.turn:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-stopping:
		return errStopping
	}
}

// release lets the next batch of the stream go; once.
func (b *batch) release() {
	if !b.released {
		b.released = true
		close(b.sent)
	}
}

// deliverer sends batches to one sink. deliver returns when the sink acknowledged the batch
// (nil), or refused it for good (the batch is marked dropped and counted, nil), or ctx was
// cancelled (ctx.Err()), or the forwarder is stopping while it waits to retry (errStopping); it
// retries everything else itself, forever. A deliverer is used by one worker goroutine at a
// time; newWorker makes one per worker, given the channel closed when the forwarder stops.
type deliverer interface {
	deliver(ctx context.Context, b *batch) error
}

// sinkKind makes the deliverers of one sink and releases what they share.
type sinkKind interface {
	// start prepares the sink (a NATS connection and stream check); an error stops the
	// forwarder's start-up.
	start(ctx context.Context) error
	newWorker(stopping <-chan struct{}) deliverer
	close()
}

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

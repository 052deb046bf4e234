package forward

import "context"

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
// cancelled (ctx.Err()); it retries everything else itself, forever. A deliverer is used by one
// worker goroutine at a time; newWorker makes one per worker.
type deliverer interface {
	deliver(ctx context.Context, b *batch) error
}

// sinkKind makes the deliverers of one sink and releases what they share.
type sinkKind interface {
	// start prepares the sink (a NATS connection and stream check); an error stops the
	// forwarder's start-up.
	start(ctx context.Context) error
	newWorker() deliverer
	close()
}

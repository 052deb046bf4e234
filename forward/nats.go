package forward

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
)

// natsTarget is a parsed nats:// sink URL.
type natsTarget struct {
	servers []string // nats://host:port each
	subject string
	stream  string
}

func (sp *sinkSpec) validateNATS(u *url.URL) error {
	return errors.New("nats sink: not built yet")
}

type natsSink struct{}

func newNATSSink(sp sinkSpec, ua string, bo backoff, st *Stats, log *slog.Logger) *natsSink {
	return &natsSink{}
}
func (n *natsSink) start(context.Context) error { return errors.New("not built") }
func (n *natsSink) newWorker() deliverer        { return nil }
func (n *natsSink) close()                      {}

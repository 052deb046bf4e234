package forward

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// startNATS runs a single nats-server with JetStream on a free loopback port until the test ends.
func startNATS(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		t.Skip("nats-server is not installed (Debian package nats-server); skipping")
	}
	addr := freeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "-a", host, "-p", port, "-js", "-sd", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	waitFor(t, 15*time.Second, "nats-server listening", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return addr
}

// TestNATSRepublishIsDeduplicated: forwarding the same lines again (a cursor moved back, as a
// crash leaves it) publishes the same messages under the same ids, and the stream acknowledges
// every one as a duplicate: it holds each line once.
func TestNATSRepublishIsDeduplicated(t *testing.T) {
	addr := startNATS(t)
	dir := t.TempDir()
	seg := SegmentRef{Loop: 0, Seq: 1}
	appendTestLines(t, dir, seg, "m", 0, 100)
	sc := SinkConfig{URL: "nats://" + addr + "/metrics.edge?stream=EDGE#n", Batch: 25, Inflight: 2, NATSMaxMsgBytes: 1024}
	end := fileSize(t, filepath.Join(dir, seg.FileName()))
	var log logBuffer
	run := func() Snapshot {
		f := startForwarder(t, dir, sc, &log)
		waitFor(t, 15*time.Second, "everything acknowledged", func() bool {
			c := onlySink(f).Cursor
			return len(c) == 1 && c[0].Off == end
		})
		closeForwarder(t, f)
		return onlySink(f)
	}
	first := run()
	msgs := streamMsgs(t, addr, "EDGE")
	if first.Samples != 100 || first.NATSDuplicates != 0 || msgs < 4 {
		t.Fatalf("first run: %+v, %d messages", first, msgs)
	}
	// Back to the start, as after a crash before any cursor was saved.
	if err := os.Remove(filepath.Join(dir, "forward-n.cursor")); err != nil {
		t.Fatal(err)
	}
	second := run()
	if second.NATSDuplicates != 100 || streamMsgs(t, addr, "EDGE") != msgs {
		t.Fatalf("second run: %d duplicate samples acknowledged, stream has %d messages; want 100 and still %d",
			second.NATSDuplicates, streamMsgs(t, addr, "EDGE"), msgs)
	}
}

func streamMsgs(t *testing.T, addr, stream string) uint64 {
	t.Helper()
	nc, err := nats.Connect("nats://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	s, err := js.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	return s.CachedInfo().State.Msgs
}

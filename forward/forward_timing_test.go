package forward

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"metricstream/bench"
	"metricstream/codec"
)

// benchLines returns n stored lines of a realistic shape: 1000 series (100 names × 10 hosts),
// three tags, the client id, timestamps one millisecond apart ending now.
func benchLines(n int) []byte {
	var buf []byte
	now := time.Now().UnixMilli()
	for i := range n {
		m := codec.Metric{Name: []byte(fmt.Sprintf("node_metric_%d", i%100)), Value: float64(i) * 0.25, Type: codec.Gauge,
			HasTimestamp: true, TimestampMs: now - int64(n-i)}
		tags := []codec.Tag{
			{Key: []byte("host"), Value: []byte(fmt.Sprintf("edge-%d", i/100%10))},
			{Key: []byte("dc"), Value: []byte("eu-west-1")},
			{Key: []byte("rack"), Value: []byte("r12")},
		}
		buf = codec.AppendLine(buf, &m, tags, []byte("client-7"), 0)
	}
	return buf
}

// workloadLines returns n stored lines of the load test's workload (bench.AppendBatch: 14
// families over 200 hosts with their regions and third tags, timestamps spread over the last
// ten seconds), as the server stores them.
func workloadLines(b *testing.B, n int) []byte {
	rng := rand.New(rand.NewPCG(7, 11))
	now := time.Now()
	var d codec.JSONDecoder
	var batch codec.Batch
	var lines []byte
	for len(lines) == 0 || bytes.Count(lines, []byte{'\n'}) < n {
		body := bench.AppendBatch(nil, bench.FormatJSON, 100, rng, now)
		if err := d.Decode(body, 1000, &batch); err != nil {
			b.Fatal(err)
		}
		lines = codec.AppendBatch(lines, &batch, []byte("client-1"), now.UnixMilli())
	}
	return lines
}

func BenchmarkEncodeRemoteWrite(b *testing.B) {
	benchEncode(b, newRWEncoder(), benchLines(10000))
}

// BenchmarkEncodeRemoteWriteWorkload encodes batches of the load test's workload, each new to
// the encoder's tables only the first time round.
func BenchmarkEncodeRemoteWriteWorkload(b *testing.B) {
	benchEncode(b, newRWEncoder(), workloadLines(b, 10000))
}

func BenchmarkEncodeInfluxWorkload(b *testing.B) {
	benchEncode(b, newInfluxEncoder(), workloadLines(b, 10000))
}

// benchEncode encodes lines with e once per iteration.
func benchEncode(b *testing.B, e encoder, lines []byte) {
	n := bytes.Count(lines, []byte{'\n'})
	b.SetBytes(int64(len(lines)))
	b.ReportAllocs()
	var body []byte
	for b.Loop() {
		var r encodeResult
		if body, r = e.encode(lines); r.samples != n {
			b.Fatal(r)
		}
	}
	b.ReportMetric(float64(b.N)*float64(n)/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(len(lines))/float64(n), "stored-B/sample")
	b.ReportMetric(float64(len(body))/float64(n), "wire-B/sample")
}

func BenchmarkEncodeInflux(b *testing.B) {
	benchEncode(b, newInfluxEncoder(), benchLines(10000))
}

// BenchmarkForwardVictoriaMetrics forwards b.N stored samples, in two loops' streams, to a real
// VictoriaMetrics by remote write, from the start of reading to the last acknowledgement saved
// in the cursor. The servers are started before the timer.
func BenchmarkForwardVictoriaMetrics(b *testing.B) {
	bin, err := exec.LookPath("victoria-metrics")
	if err != nil {
		b.Skip("victoria-metrics is not installed (Debian package victoria-metrics); skipping")
	}
	addr := freeAddr(b)
	vm := exec.Command(bin, "-storageDataPath", b.TempDir(), "-httpListenAddr", addr, "-loggerLevel", "ERROR")
	if err := vm.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		vm.Process.Signal(syscall.SIGTERM)
		vm.Wait()
	}()
	waitFor(b, 20*time.Second, "victoria-metrics answering /health", func() bool {
		resp, err := http.Get("http://" + addr + "/health")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	benchForward(b, "http://"+addr+"/api/v1/write")
}

// benchForward forwards b.N stored samples, written into two loops' streams before the timer,
// to the sink at url, and stops the timer once the cursor holds the last acknowledgement.
func benchForward(b *testing.B, url string) {
	dir := b.TempDir()
	ends := writeBenchSegments(b, dir)
	b.ResetTimer()
	f, err := New(Config{Dir: dir, Sinks: []SinkConfig{{URL: url, Inflight: 4}},
		Logger: (&logBuffer{}).logger(), PollInterval: time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + f.Threads())) // as the binary runs it
	if err := f.Start(NewDirSource(dir)); err != nil {
		b.Fatal(err)
	}
	for !cursorAt(f, ends) {
		time.Sleep(time.Millisecond) // polling the forwarder's progress
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f.Close(ctx)
}

// cursorAt reports whether the forwarder's only sink acknowledged up to ends (loop → offset
// in segment 1).
func cursorAt(f *Forwarder, ends map[int]int64) bool {
	c := onlySink(f).Cursor
	if len(c) != len(ends) {
		return false
	}
	for _, p := range c {
		if p.Off != ends[p.Loop] {
			return false
		}
	}
	return true
}

// BenchmarkForwardNATS forwards b.N stored samples, in two loops' streams, to a real
// single-node nats-server (an R1 file-storage stream created by the forwarder), in messages of
// the default size, from the start of reading to the last acknowledgement saved.
func BenchmarkForwardNATS(b *testing.B) {
	addr := startNATS(b)
	benchForward(b, "nats://"+addr+"/bench?stream=BENCH")
}

// writeBenchSegments writes b.N stored lines into segment 1 of loops 0 and 1 and returns the
// offset each ends at.
func writeBenchSegments(b *testing.B, dir string) map[int]int64 {
	lines := benchLines(b.N)
	half := len(lines) / 2
	for half > 0 && lines[half-1] != '\n' {
		half++
	}
	ends := map[int]int64{}
	for loop, part := range [][]byte{lines[:half], lines[half:]} {
		if len(part) == 0 {
			continue
		}
		ends[loop] = int64(len(part))
		if err := os.WriteFile(filepath.Join(dir, SegmentRef{Loop: loop, Seq: 1}.FileName()), part, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(lines)) / int64(b.N))
	b.ReportAllocs()
	return ends
}

// freeAddr returns a loopback host:port that was free a moment ago.
func freeAddr(tb testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

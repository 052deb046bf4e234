package forward

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"

	"metricstream/codec"
)

// appendTestLines appends n stored lines to segment ref of dir, metrics named prefix_<i> with
// value i, and returns the lines' bytes.
func appendTestLines(t *testing.T, dir string, ref SegmentRef, prefix string, from, n int) int64 {
	t.Helper()
	var buf []byte
	for i := from; i < from+n; i++ {
		m := codec.Metric{Name: []byte(fmt.Sprintf("%s_%d", prefix, i)), Value: float64(i), Type: codec.Counter,
			HasTimestamp: true, TimestampMs: 1795713606000 + int64(i)}
		buf = codec.AppendLine(buf, &m, []codec.Tag{{Key: []byte("host"), Value: []byte("h1")}}, []byte("client-1"), 0)
	}
	f, err := os.OpenFile(filepath.Join(dir, ref.FileName()), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(buf); err != nil {
		t.Fatal(err)
	}
	return int64(len(buf))
}

// rwSample is one decoded remote-write sample with its series' labels.
type rwSample struct {
	labels map[string]string
	ts     int64
	value  float64
}

// decodeRemoteWrite decodes a snappy-compressed WriteRequest (time series only). It checks what
// the spec requires: labels sorted, no duplicates, __name__ present, samples in time order.
func decodeRemoteWrite(body []byte) ([]rwSample, error) {
	pb, err := snappy.Decode(nil, body)
	if err != nil {
		return nil, fmt.Errorf("snappy: %w", err)
	}
	var out []rwSample
	err = eachField(pb, func(num int, v []byte, _ uint64) error {
		if num != 1 {
			return nil // metadata
		}
		labels := map[string]string{}
		var order []string
		var samples []rwSample
		err := eachField(v, func(num int, v []byte, _ uint64) error {
			switch num {
			case 1:
				var name, value string
				eachField(v, func(num int, v []byte, _ uint64) error {
					if num == 1 {
						name = string(v)
					} else {
						value = string(v)
					}
					return nil
				})
				if _, dup := labels[name]; dup {
					return fmt.Errorf("label %q twice", name)
				}
				labels[name] = value
				order = append(order, name)
			case 2:
				var s rwSample
				eachField(v, func(num int, v []byte, x uint64) error {
					if num == 1 {
						s.value = math.Float64frombits(x)
					} else {
						s.ts = int64(x)
					}
					return nil
				})
				samples = append(samples, s)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if !sort.StringsAreSorted(order) || labels["__name__"] == "" {
			return fmt.Errorf("labels %v unsorted or without __name__", order)
		}
		for i := range samples {
			if i > 0 && samples[i].ts < samples[i-1].ts {
				return errors.New("samples out of time order")
			}
			samples[i].labels = labels
		}
		out = append(out, samples...)
		return nil
	})
	return out, err
}

// eachField walks the protobuf fields of b: fn gets the field number and the bytes of a
// length-delimited field or the value of a varint or fixed64.
func eachField(b []byte, fn func(num int, v []byte, x uint64) error) error {
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return errors.New("bad key")
		}
		b = b[n:]
		num := int(key >> 3)
		switch key & 7 {
		case 0:
			x, n := binary.Uvarint(b)
			if n <= 0 {
				return errors.New("bad varint")
			}
			b = b[n:]
			if err := fn(num, nil, x); err != nil {
				return err
			}
		case 1:
			if len(b) < 8 {
				return errors.New("short fixed64")
			}
			if err := fn(num, nil, binary.LittleEndian.Uint64(b)); err != nil {
				return err
			}
			b = b[8:]
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return errors.New("bad length")
			}
			if err := fn(num, b[n:n+int(l)], 0); err != nil {
				return err
			}
			b = b[n+int(l):]
		default:
			return fmt.Errorf("wire type %d", key&7)
		}
	}
	return nil
}

// rwReceiver is an httptest handler that decodes remote write, answering with the statuses
// scripted by answer (nil: 204).
type rwReceiver struct {
	t      *testing.T
	answer func(n int) (status int, header http.Header)

	mu       sync.Mutex
	requests int
	got      map[string]int // metric name → times received
	times    []time.Time    // arrival of every request
	sizes    []int          // samples in each accepted request, in arrival order
}

func newRWReceiver(t *testing.T) *rwReceiver { return &rwReceiver{t: t, got: map[string]int{}} }

func (rr *rwReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rr.mu.Lock()
	n := rr.requests
	rr.requests++
	rr.times = append(rr.times, time.Now())
	rr.mu.Unlock()
	if r.Header.Get("Content-Encoding") != "snappy" || r.Header.Get("X-Prometheus-Remote-Write-Version") != "0.1.0" ||
		r.Header.Get("Content-Type") != "application/x-protobuf" || !strings.HasPrefix(r.Header.Get("User-Agent"), "metricstream/") {
		rr.t.Errorf("request headers %v", r.Header)
	}
	status := http.StatusNoContent
	if rr.answer != nil {
		var h http.Header
		status, h = rr.answer(n)
		for k, v := range h {
			w.Header()[k] = v
		}
	}
	if status/100 == 2 {
		samples, err := decodeRemoteWrite(body)
		if err != nil {
			rr.t.Errorf("request %d: %v", n, err)
		}
		rr.mu.Lock()
		for _, s := range samples {
			rr.got[s.labels["__name__"]]++
		}
		rr.sizes = append(rr.sizes, len(samples))
		rr.mu.Unlock()
	}
	w.WriteHeader(status)
	if status == http.StatusBadRequest {
		io.WriteString(w, "out of order sample")
	}
}

// requestSizes returns the samples of each accepted request, in arrival order.
func (rr *rwReceiver) requestSizes() []int {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return slices.Clone(rr.sizes)
}

// received returns how many distinct names arrived and how many samples in all.
func (rr *rwReceiver) received() (names, samples int) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	for _, n := range rr.got {
		samples += n
	}
	return len(rr.got), samples
}

// waitFor polls cond every 10 ms until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond) // polling the forwarder's progress
	}
}

// logBuffer collects log output for assertions.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

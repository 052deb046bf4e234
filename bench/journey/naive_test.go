package journey

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"metricstream/codec"
	"metricstream/engine"
)

// TestNaiveDecodeMatchesCodec checks that the naive parser and the codec
// read the same metrics from the generated batches the benchmark uses.
func TestNaiveDecodeMatchesCodec(t *testing.T) {
	for _, n := range []int{1, 10, 100} {
		body := batchBody(n)
		naive, err := NaiveDecode(body)
		if err != nil {
			t.Fatalf("n=%d: NaiveDecode: %v", n, err)
		}
		var d codec.JSONDecoder
		var b codec.Batch
		if err := d.Decode(body, 0, &b); err != nil {
			t.Fatalf("n=%d: codec: %v", n, err)
		}
		if len(naive) != n || b.Len() != n {
			t.Fatalf("n=%d: naive %d metrics, codec %d", n, len(naive), b.Len())
		}
		for i, nm := range naive {
			m := b.Metrics[i]
			if nm.Name != string(m.Name) || nm.Value != m.Value || nm.Type != m.Type.String() || nm.Timestamp != m.TimestampMs {
				t.Fatalf("n=%d metric %d: naive %+v, codec %s %v %v %d", n, i, nm, m.Name, m.Value, m.Type, m.TimestampMs)
			}
			tags := b.MetricTags(i)
			if len(tags) != len(nm.Tags) {
				t.Fatalf("n=%d metric %d: naive tags %v, codec %d tags", n, i, nm.Tags, len(tags))
			}
			for _, tag := range tags {
				if nm.Tags[string(tag.Key)] != string(tag.Value) {
					t.Fatalf("n=%d metric %d: tag %s: naive %q, codec %q", n, i, tag.Key, nm.Tags[string(tag.Key)], tag.Value)
				}
			}
		}
	}
}

func TestNaiveDecodeRejects(t *testing.T) {
	for _, body := range []string{
		``, `{"data":[]}`, `{"metrics":{}}`, `{"metrics":[{"name":"a"`,
		`{"metrics":[{"name":1,"value":1,"type":"gauge","tags":{},"timestamp":1}]}`,
		`{"metrics":[{"name":"a","value":x,"type":"gauge","tags":{},"timestamp":1}]}`,
		`{"metrics":[{"name":"a","value":1,"type":"gauge","timestamp":1}]}`,
	} {
		if m, err := NaiveDecode([]byte(body)); err == nil {
			t.Errorf("NaiveDecode(%q) = %+v; want an error", body, m)
		}
	}
	if m, err := NaiveDecode([]byte(`{"metrics":[]}`)); err != nil || len(m) != 0 {
		t.Errorf("empty batch: %v, %v", m, err)
	}
}

// TestLimitersAgree checks that the three limiters make the same decisions:
// a burst of 5, then one token a second.
func TestLimitersAgree(t *testing.T) {
	ids := clientIDs(2)
	eng, err := engine.New(engine.Config{Rate: 1, Burst: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Stop()
	const sec = int64(1e9)
	start := 100 * sec
	limiters := map[string]func([]byte, int64) bool{
		"global":     NewGlobalLimiter(1, 5, ids).Allow,
		"pool":       NewPoolLimiter(1, 5, ids).Allow,
		"cas-bucket": func(id []byte, now int64) bool { _, ok, _ := eng.Admit(id, now); return ok },
	}
	steps := []struct {
		id   int
		at   int64
		want bool
	}{
		{0, 0, true}, {0, 0, true}, {0, 0, true}, {0, 0, true}, {0, 0, true}, {0, 0, false},
		{1, 0, true}, {0, sec / 2, false}, {0, sec, true}, {0, sec, false}, {0, 3 * sec, true}, {0, 3 * sec, true}, {0, 3 * sec, false},
	}
	for name, allow := range limiters {
		for i, s := range steps {
			if got := allow(ids[s.id], start+s.at); got != s.want {
				t.Errorf("%s step %d (client %d at %v s): %v; want %v", name, i, s.id, float64(s.at)/1e9, got, s.want)
			}
		}
	}
	if NewGlobalLimiter(1, 5, ids).Allow([]byte("stranger"), 0) || NewPoolLimiter(1, 5, ids).Allow([]byte("stranger"), 0) {
		t.Error("an unknown client was allowed")
	}
}

// TestMutexTotalsMatchesRing checks that both ways of recording decisions
// end with the same totals.
func TestMutexTotalsMatchesRing(t *testing.T) {
	ids := clientIDs(3)
	m := NewMutexTotals()
	eng, err := engine.New(engine.Config{Rate: 1e9, RingSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Stop()
	for i := range 300 {
		id := ids[i%len(ids)]
		allowed, metrics := i%5 != 0, 0
		if allowed {
			metrics = 10
		}
		m.Record(id, int64(i), allowed, metrics)
		c, _, _ := eng.Admit(id, int64(i))
		eng.Record(c, int64(i), allowed, metrics)
	}
	eng.Drain()
	top := eng.Top(len(ids))
	if len(top) != len(ids) {
		t.Fatalf("engine tracks %d clients; want %d", len(top), len(ids))
	}
	for _, ct := range top {
		req, allowed, metrics := m.Totals([]byte(ct.ID))
		if uint64(req) != ct.Allowed+ct.Denied || uint64(allowed) != ct.Allowed || uint64(metrics) != ct.Metrics {
			t.Errorf("%s: mutex map %d/%d/%d, ring %+v", ct.ID, req, allowed, metrics, ct)
		}
	}
}

func TestQueuesUnderOverload(t *testing.T) {
	batch := batchBody(10)
	unbounded := &UnboundedQueue{}
	if refused := overloadEpisode(unbounded, batch); refused != 0 {
		t.Errorf("unbounded queue refused %d", refused)
	}
	if want := int64(episodeArrivals/2) * int64(len(batch)); unbounded.Held() != want {
		t.Errorf("unbounded queue holds %d bytes; want %d", unbounded.Held(), want)
	}
	bounded := &BoundedQueue{Bound: overloadBound}
	refused := overloadEpisode(bounded, batch)
	if bounded.Held() > overloadBound || refused == 0 {
		t.Errorf("bounded queue holds %d bytes (bound %d), refused %d", bounded.Held(), overloadBound, refused)
	}
	for _, q := range []Queue{unbounded, bounded} {
		for q.Held() > 0 {
			q.Serve()
		}
		q.Serve() // an empty queue stays empty
		if !q.Offer(batch) || q.Held() != int64(len(batch)) {
			t.Errorf("%T does not take a batch once drained", q)
		}
	}
}

// TestGroupCommitWritesTheSameBytes checks that a writev per group leaves
// the file a write per batch leaves.
func TestGroupCommitWritesTheSameBytes(t *testing.T) {
	dir := t.TempDir()
	var contents [][]byte
	for _, group := range []int{1, 64} {
		f, err := os.Create(filepath.Join(dir, "g"+string(rune('0'+group%10))))
		if err != nil {
			t.Fatal(err)
		}
		var iov [][]byte
		for i := range 100 {
			iov = append(iov, batchBody(1+i%3))
		}
		for i := 0; i < len(iov); i += group {
			if err := appendGroup(int(f.Fd()), iov[i:min(i+group, len(iov))], true); err != nil {
				t.Fatal(err)
			}
		}
		data, err := os.ReadFile(f.Name())
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		contents = append(contents, data)
	}
	if len(contents[0]) == 0 || !bytes.Equal(contents[0], contents[1]) {
		t.Errorf("write per batch left %d bytes, writev per 64 %d, not the same", len(contents[0]), len(contents[1]))
	}
}

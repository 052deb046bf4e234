package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestWorkloadLuaUpToDate regenerates wrk/workload.lua and compares it with
// the committed file: the wrk scripts must send the workload workload.go
// defines.
func TestWorkloadLuaUpToDate(t *testing.T) {
	var want bytes.Buffer
	if err := WriteWorkloadLua(&want); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("wrk", "workload.lua"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("wrk/workload.lua differs from bench/workload.go: run `go generate ./bench/`")
	}
}

// sample is one generated metric, from either format.
type sample struct {
	name, typ, value string
	tags             map[string]string
	ts               int64
}

// checkSample reports how s breaks the workload definition, or nil; its
// timestamp must lie in [loMs, hiMs].
func checkSample(s sample, loMs, hiMs int64) error {
	i := slices.IndexFunc(catalogue[:], func(k metricKind) bool { return k.name == s.name })
	if i < 0 {
		return fmt.Errorf("name %q is not in the catalogue", s.name)
	}
	k := catalogue[i]
	if want := map[bool]string{true: "counter", false: "gauge"}[k.counter]; s.typ != "" && s.typ != want {
		return fmt.Errorf("%s: type %q; want %q", s.name, s.typ, want)
	}
	v, err := strconv.ParseFloat(s.value, 64)
	if err != nil {
		return fmt.Errorf("%s: value %q: %v", s.name, s.value, err)
	}
	if k.counter && (v != math.Trunc(v) || v < k.lo || v > k.lo+k.hi*1000) {
		return fmt.Errorf("%s: counter value %v outside [%v, %v]", s.name, v, k.lo, k.lo+k.hi*1000)
	}
	if !k.counter && (v < k.lo || v >= k.hi || math.Abs(v*100-math.Round(v*100)) > 1e-6*max(1, v)) {
		return fmt.Errorf("%s: gauge value %v outside [%v, %v) or not two decimals", s.name, v, k.lo, k.hi)
	}
	host, err := strconv.Atoi(strings.TrimPrefix(s.tags["host"], "server-"))
	if err != nil || host < 0 || host >= hostCount || s.tags["region"] != regions[host%len(regions)] {
		return fmt.Errorf("%s: host %q, region %q", s.name, s.tags["host"], s.tags["region"])
	}
	wantTags := 2
	if k.tag3 != "" {
		wantTags = 3
		if !slices.Contains(tag3Value[k.tag3], s.tags[k.tag3]) {
			return fmt.Errorf("%s: tag %s=%q not among %v", s.name, k.tag3, s.tags[k.tag3], tag3Value[k.tag3])
		}
	}
	if len(s.tags) != wantTags {
		return fmt.Errorf("%s: tags %v; want %d", s.name, s.tags, wantTags)
	}
	if s.ts < loMs || s.ts > hiMs {
		return fmt.Errorf("%s: timestamp %d not in [%d, %d]", s.name, s.ts, loMs, hiMs)
	}
	return nil
}

// jsonSamples decodes a JSON batch.
func jsonSamples(body []byte) ([]sample, error) {
	var batch struct {
		Metrics []struct {
			Name      string            `json:"name"`
			Value     json.Number       `json:"value"`
			Type      string            `json:"type"`
			Tags      map[string]string `json:"tags"`
			Timestamp int64             `json:"timestamp"`
		} `json:"metrics"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&batch); err != nil {
		return nil, err
	}
	out := make([]sample, len(batch.Metrics))
	for i, m := range batch.Metrics {
		out[i] = sample{name: m.Name, typ: m.Type, value: m.Value.String(), tags: m.Tags, ts: m.Timestamp}
	}
	return out, nil
}

// lineSamples parses the line protocol the workload produces (no escapes
// needed by its tag values, one "value" field, a timestamp).
func lineSamples(body []byte) ([]sample, error) {
	var out []sample
	for line := range strings.SplitSeq(strings.TrimSuffix(string(body), "\n"), "\n") {
		f := strings.Split(line, " ")
		if len(f) != 3 || !strings.HasPrefix(f[1], "value=") {
			return nil, fmt.Errorf("line %q", line)
		}
		key := strings.Split(f[0], ",")
		s := sample{name: key[0], value: strings.TrimPrefix(f[1], "value="), tags: map[string]string{}}
		for _, kv := range key[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, fmt.Errorf("tag %q in line %q", kv, line)
			}
			s.tags[k] = v
		}
		ts, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("timestamp in line %q: %v", line, err)
		}
		s.ts = ts
		out = append(out, s)
	}
	return out, nil
}

// checkBodies checks every sample of bodies and that every kind of the
// catalogue appears.
func checkBodies(t *testing.T, bodies [][]byte, parse func([]byte) ([]sample, error), loMs, hiMs int64) {
	t.Helper()
	seen := map[string]bool{}
	n := 0
	for _, body := range bodies {
		samples, err := parse(body)
		if err != nil {
			t.Fatalf("%v in body %.200q", err, body)
		}
		for _, s := range samples {
			if err := checkSample(s, loMs, hiMs); err != nil {
				t.Fatalf("%v in body %.200q", err, body)
			}
			seen[s.name] = true
			n++
		}
	}
	if len(seen) != len(catalogue) {
		t.Fatalf("%d samples cover %d of the %d kinds: %v", n, len(seen), len(catalogue), seen)
	}
}

// TestAppendBatchFollowsWorkload checks loadgen's generator against the
// definition with the same checker as the wrk scripts.
func TestAppendBatchFollowsWorkload(t *testing.T) {
	now := time.UnixMilli(1764172800123)
	rng := rand.New(rand.NewPCG(3, 3))
	for _, f := range []struct {
		format Format
		parse  func([]byte) ([]sample, error)
	}{{FormatJSON, jsonSamples}, {FormatLine, lineSamples}} {
		var bodies [][]byte
		for range 100 {
			bodies = append(bodies, AppendBatch(nil, f.format, 10, rng, now))
		}
		t.Run(f.format.String(), func(t *testing.T) {
			checkBodies(t, bodies, f.parse, now.UnixMilli()-timestampSpreadMs+1, now.UnixMilli())
		})
	}
}

// TestWrkScriptsFollowWorkload runs each wrk script for a second against a
// server that keeps the bodies, and checks every metric they sent against
// the workload definition.
func TestWrkScriptsFollowWorkload(t *testing.T) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		t.Skip("wrk not installed (Debian package wrk): the scripts cannot be run")
	}
	cases := []struct {
		script, path string
		args         []string
		parse        func([]byte) ([]sample, error)
	}{
		{"metrics.lua", "/metrics", []string{"10"}, jsonSamples},
		{"metrics_pool.lua", "/metrics", []string{"5", "10"}, jsonSamples},
		{"line.lua", "/write?precision=ms", []string{"10"}, lineSamples},
	}
	for _, c := range cases {
		t.Run(c.script, func(t *testing.T) {
			var mu sync.Mutex
			var bodies [][]byte
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				mu.Lock()
				if len(bodies) < 300 {
					bodies = append(bodies, body)
				}
				mu.Unlock()
				w.WriteHeader(http.StatusNoContent)
			}))
			defer srv.Close()
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			args := append([]string{"-t1", "-c2", "-d1s", "-s", filepath.Join("wrk", c.script), srv.URL + c.path, "--"}, c.args...)
			out, err := exec.CommandContext(ctx, wrk, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("wrk: %v\n%s", err, out)
			}
			if !bytes.Contains(out, []byte("latency percentile 99.99:")) {
				t.Errorf("wrk output lacks the percentile lines of done():\n%s", out)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(bodies) < 100 {
				t.Fatalf("got %d bodies; want at least 100\n%s", len(bodies), out)
			}
			// The scripts take now from os.time(), in whole seconds, and
			// wrk's clock reads may trail Go's: allow clockSlackMs either way.
			const clockSlackMs = 3000
			lo := start.UnixMilli() - timestampSpreadMs - clockSlackMs
			checkBodies(t, bodies, c.parse, lo, time.Now().UnixMilli()+clockSlackMs)
		})
	}
}

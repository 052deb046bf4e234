package main

// A real Prometheus server scrapes the real binary: the statistics must be
// accepted by Prometheus's own parser and land in its database with the
// values the server counted. Skipped where prometheus is not installed
// (Debian package "prometheus"; .ci/run installs it).

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ecoPromScrapeConfig is the scrape configuration the test gives
// Prometheus; %s is the MetricStream host:port. It is the one the README
// recommends, with a 1 s interval so that the test is quick.
const ecoPromScrapeConfig = `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: metricstream
    metrics_path: /metrics
    params:
      format: [prometheus]
    static_configs:
      - targets: ['%s']
`

// ecoPromSample is one element of a Prometheus instant-query vector.
type ecoPromSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"` // [unix seconds, "value as text"]
}

// ecoPromQuery runs an instant query and returns the vector's samples. A
// transport error or a non-success answer is returned, not fatal, so that
// callers can poll a Prometheus that is still starting.
func ecoPromQuery(promAddr, query string) ([]ecoPromSample, error) {
	status, body, err := ecoGet("http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return nil, err
	}
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     []ecoPromSample `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("query %q: status %d, body not JSON: %v", query, status, err)
	}
	if r.Status != "success" || r.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %q: status %d %s %q, result type %q", query, status, r.Status, r.Error, r.Data.ResultType)
	}
	return r.Data.Result, nil
}

// ecoSampleValue returns the sample's value as a number.
func ecoSampleValue(s ecoPromSample) (float64, error) {
	text, ok := s.Value[1].(string)
	if !ok {
		return 0, fmt.Errorf("sample value %v is not a string", s.Value[1])
	}
	return strconv.ParseFloat(text, 64)
}

func TestPrometheusScrapes(t *testing.T) {
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (Debian package prometheus); skipping the scrape test")
	}
	start := time.Now()
	deadline := start.Add(50 * time.Second) // the whole test stays under 60 s

	p := startProc(t, t.TempDir(), "-ack", "written")
	// A known number of metrics, in batches of different sizes.
	const wantMetrics = 7
	for _, body := range []string{
		`{"metrics":[{"name":"a","value":1}]}`,
		`{"metrics":[{"name":"b","value":2},{"name":"c","value":3}]}`,
		`{"metrics":[{"name":"d","value":4},{"name":"e","value":5},{"name":"f","value":6},{"name":"g","value":7}]}`,
	} {
		if status, answer := ecoPost(t, p.addr, "/metrics", nil, []byte(body)); status != http.StatusOK {
			t.Fatalf("ingest: %d %s", status, answer)
		}
	}

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(ecoPromScrapeConfig, p.addr)), 0o644); err != nil {
		t.Fatal(err)
	}
	promAddr := ecoFreePort(t)
	cmd := exec.Command(promBin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+promAddr,
		"--log.level=warn",
	)
	promLogs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = promLogs, promLogs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			ecoStop(t, cmd, done, 10*time.Second)
		}
	})

	// Poll until the scraped counter carries the value the server counted.
	// Prometheus needs its TSDB open, then one scrape interval.
	query := "metricstream_metrics_received_total"
	var lastErr error
	var got []ecoPromSample
	for {
		select {
		case err := <-done:
			stopped = true
			t.Fatalf("prometheus exited early: %v\n%s", err, promLogs.String())
		default:
		}
		got, lastErr = ecoPromQuery(promAddr, query)
		if lastErr == nil && len(got) == 1 {
			if v, err := ecoSampleValue(got[0]); err == nil && v == wantMetrics {
				break
			}
		}
		if time.Now().After(deadline) {
			_, targets, _ := ecoGet("http://" + promAddr + "/api/v1/targets")
			t.Fatalf("no %s == %d after %v: last answer %+v, error %v\ntargets: %s\nprometheus log:\n%s",
				query, wantMetrics, time.Since(start).Round(time.Millisecond), got, lastErr, targets, promLogs.String())
		}
		time.Sleep(200 * time.Millisecond) // polling interval, not synchronisation
	}
	if job := got[0].Metric["job"]; job != "metricstream" {
		t.Errorf("sample labels %v; want job=\"metricstream\"", got[0].Metric)
	}

	up, err := ecoPromQuery(promAddr, `up{job="metricstream"}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(up) != 1 {
		t.Fatalf(`up{job="metricstream"}: %+v; want one sample`, up)
	}
	if v, err := ecoSampleValue(up[0]); err != nil || v != 1 {
		t.Fatalf(`up{job="metricstream"} = %v (%v); want 1`, up[0].Value, err)
	}
	if inst := up[0].Metric["instance"]; inst != p.addr {
		t.Errorf("instance %q; want %q", inst, p.addr)
	}

	// The scrape must have parsed cleanly, or Prometheus drops samples.
	_, targets, err := ecoGet("http://" + promAddr + "/api/v1/targets")
	if err != nil {
		t.Fatal(err)
	}
	var tr struct {
		Data struct {
			ActiveTargets []struct {
				Health    string `json:"health"`
				LastError string `json:"lastError"`
				ScrapeURL string `json:"scrapeUrl"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	if err := json.Unmarshal(targets, &tr); err != nil || len(tr.Data.ActiveTargets) != 1 {
		t.Fatalf("targets: %v %s", err, targets)
	}
	if at := tr.Data.ActiveTargets[0]; at.Health != "up" || at.LastError != "" || !strings.Contains(at.ScrapeURL, "format=prometheus") {
		t.Fatalf("target %+v; want health up, no error, format=prometheus in the URL", at)
	}

	stopped = true
	if err := ecoStop(t, cmd, done, 15*time.Second); err != nil {
		t.Errorf("prometheus exit: %v\n%s", err, promLogs.String())
	}
	ecoStopProc(t, p)
	t.Logf("scraped and queried in %v", time.Since(start).Round(time.Millisecond))
}

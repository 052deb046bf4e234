package ingest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHandle(t *testing.T) {
	svc, err := Open(Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	now := time.Date(2026, 11, 26, 17, 20, 6, 123e6, time.UTC)
	long := strings.Repeat("n", 256)
	f := func(body string, wantStatus int, wantBody string) {
		t.Helper()
		a := svc.Handle("client-1", []byte(body), now)
		if a.Status != wantStatus || string(a.Body) != wantBody {
			t.Errorf("Handle(%.60q) = %d %s; want %d %s", body, a.Status, a.Body, wantStatus, wantBody)
		}
	}
	f(`{"metrics":[{"name":"cpu_usage","value":75.5,"type":"gauge","tags":{"host":"server1"},"timestamp":1764172800123}]}`,
		200, `{"success":true,"metrics_processed":1}`)
	f(`{"metrics":[{"name":"a","value":1},{"name":"b","value":-2e3,"type":"counter","timestamp":"2026-11-26T17:20:06.5Z","x":[1]}]}`,
		200, `{"success":true,"metrics_processed":2}`)
	f(`{"metrics":[]}`, 400, `{"error":"Batch cannot be empty"}`)
	f(`{}`, 400, `{"error":"Batch cannot be empty"}`)
	f(`{"metrics":[`+strings.Repeat(`{"name":"a","value":1},`, 1000)+`{"name":"a","value":1}]}`,
		400, `{"error":"Batch size exceeds maximum (1000 metrics)"}`)
	f(`{"metrics":[{"name":"a","value":1},{"name":"","value":1}]}`, 400, `{"error":"metric 1: name is empty"}`)
	f(`{"metrics":[{"name":"`+long+`","value":1}]}`, 400, `{"error":"metric 0: name exceeds 255 bytes"}`)
	f(`{"metrics":[{"name":"a"}]}`, 400, `{"error":"metric 0: value is missing"}`)
	f(`{"metrics":[{"name":"a","value":1,"type":"meter"}]}`, 400, `{"error":"metric 0: type must be counter, gauge, histogram or summary"}`)
	f(`{"metrics":[{"name":"a","value":1e999}]}`, 400, `{"error":"invalid JSON: wrong type for field \"metrics.value\" at byte 37"}`)
	f(`{"metrics":[{"name":"a","value":1}`, 400, `{"error":"invalid JSON: syntax error at byte 34"}`)
	f(`{"metrics":[{"name":"a","value":1}]]`, 400, `{"error":"invalid JSON: syntax error at byte 36"}`)

	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(svc.file.Name()))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"timestamp":"2025-11-26T16:00:00.123Z","client":"client-1","name":"cpu_usage","value":75.5,"type":"gauge","tags":{"host":"server1"}}
{"timestamp":"2026-11-26T17:20:06.123Z","client":"client-1","name":"a","value":1,"type":"gauge"}
{"timestamp":"2026-11-26T17:20:06.500Z","client":"client-1","name":"b","value":-2000,"type":"counter"}
`
	if string(got) != want {
		t.Fatalf("data file:\n%s\nwant:\n%s", got, want)
	}
	if a := svc.Handle("c", []byte(`{"metrics":[{"name":"a","value":1}]}`), now); a.Status != 503 {
		t.Fatalf("Handle after Close = %d; want 503", a.Status)
	}
}

func TestRateLimit(t *testing.T) {
	svc, err := Open(Config{DataDir: t.TempDir(), Rate: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	body := []byte(`{"metrics":[{"name":"a","value":1}]}`)
	for i, want := range []int{200, 200, 200, 429} {
		if a := svc.Handle("one", body, time.Now()); a.Status != want {
			t.Fatalf("request %d of client one: %d; want %d", i, a.Status, want)
		}
	}
	if a := svc.Handle("two", body, time.Now()); a.Status != 200 {
		t.Fatalf("client two: %d; want 200 (own bucket)", a.Status)
	}
}

func TestClientID(t *testing.T) {
	for in, want := range map[string]string{"": "default", "Bearer client-7": "client-7", "Token abc": "Token abc"} {
		if got := ClientID(in); got != want {
			t.Errorf("ClientID(%q) = %q; want %q", in, got, want)
		}
	}
}

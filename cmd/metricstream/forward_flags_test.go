package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestForwardFlagErrors: every bad forwarding setting exits with status 2 and a one-line reason
// before anything starts.
func TestForwardFlagErrors(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty-token")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const rw = "http://127.0.0.1:1/api/v1/write"
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-forward", "ftp://x/y"}, "scheme must be http, https or nats"},
		{[]string{"-forward", "http://127.0.0.1:1/ingest"}, "cannot tell the format from the path; set -forward-format"},
		{[]string{"-forward", rw, "-forward-format", "json"}, "-forward-format must be auto, remote-write or influx"},
		{[]string{"-forward", rw, "-forward-timeout", "0s"}, "-forward-timeout must be positive"},
		{[]string{"-forward", rw, "-forward-batch", "0"}, "-forward-batch must be at least 1"},
		{[]string{"-forward", rw, "-forward-rate", "-5"}, "-forward-rate must not be negative"},
		{[]string{"-forward", rw, "-forward-inflight", "0"}, "-forward-inflight must be 1 to 1024"},
		{[]string{"-forward", rw, "-forward-nice", "20"}, "-forward-nice must be 0 to 19, not 20"},
		{[]string{"-forward", rw, "-forward-nice", "-1"}, "-forward-nice must be 0 to 19, not -1"},
		{[]string{"-forward", rw, "-forward-token-file", empty}, "want one non-empty line"},
		{[]string{"-forward", rw, "-forward-token-file", "/nonexistent/token"}, "token file"},
		{[]string{"-forward", rw, "-forward", rw}, "would share the cursor"},
		{[]string{"-forward", "nats://127.0.0.1:1/a.b"}, "want ?stream=<name>"},
		{[]string{"-forward", "nats://127.0.0.1:1/a.*?stream=S"}, "want a subject without wildcards"},
		{[]string{"-forward", "nats://127.0.0.1:1/a?stream=S", "-forward-nats-replicas", "7"}, "-forward-nats-replicas must be 1 to 5"},
		{[]string{"-forward", "nats://127.0.0.1:1/a?stream=S", "-forward-nats-max-msg-bytes", "100"}, "-forward-nats-max-msg-bytes must be at least 1024"},
		{[]string{"-forward", "nats://127.0.0.1:1/a?stream=S", "-forward-nats-creds", "/nonexistent/creds"}, "NATS credentials"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cmd := exec.Command(binPath, append([]string{"-addr", "127.0.0.1:0", "-data-dir", t.TempDir()}, tc.args...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 2 {
				t.Fatalf("exit %v; want status 2 (stderr %q)", err, stderr.String())
			}
			if lines := strings.Count(strings.TrimSpace(stderr.String()), "\n"); lines != 0 || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("stderr %q; want one line with %q", stderr.String(), tc.want)
			}
		})
	}
}

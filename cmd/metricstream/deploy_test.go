package main

// Checks of the systemd unit in deploy/: systemd itself accepts it, its
// limits sit above the binary's defaults, and the binary runs with exactly
// the flags its ExecStart gives.

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ecoUnitPath is the unit file, relative to this package's directory.
const ecoUnitPath = "../../deploy/metricstream.service"

// ecoUnitService returns the directives of the unit's [Service] section,
// each key with its values in file order (keys such as SystemCallFilter
// may repeat). Comments and blank lines are skipped; the unit uses no line
// continuations.
func ecoUnitService(t *testing.T) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(ecoUnitPath)
	if err != nil {
		t.Fatal(err)
	}
	dirs := map[string][]string{}
	section := ""
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
			continue
		case line[0] == '[':
			section = line
			continue
		case strings.HasSuffix(line, `\`):
			t.Fatalf("%s:%d: line continuation not supported by this test", ecoUnitPath, i+1)
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s:%d: not a directive: %q", ecoUnitPath, i+1, line)
		}
		if section == "[Service]" {
			dirs[k] = append(dirs[k], v)
		}
	}
	return dirs
}

// ecoUnitOne returns the single value of a [Service] directive.
func ecoUnitOne(t *testing.T, dirs map[string][]string, key string) string {
	t.Helper()
	vs := dirs[key]
	if len(vs) != 1 {
		t.Fatalf("unit has %d %s= lines; want 1", len(vs), key)
	}
	return vs[0]
}

// ecoSystemdSeconds parses the systemd time spans the unit uses: a bare
// number of seconds, or a number with s, min or h.
func ecoSystemdSeconds(t *testing.T, v string) float64 {
	t.Helper()
	units := []struct {
		suffix string
		mul    float64
	}{{"min", 60}, {"s", 1}, {"h", 3600}, {"", 1}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(n), 64); err == nil {
				return f * u.mul
			}
		}
	}
	t.Fatalf("cannot parse systemd time span %q", v)
	return 0
}

// ecoHelpFlagRE matches the line of `metricstream -h` that names a flag;
// its description follows on lines indented further.
var ecoHelpFlagRE = regexp.MustCompile(`^  -([a-z0-9-]+)`)

// ecoHelpDefaultRE matches the default that ends a flag's description.
var ecoHelpDefaultRE = regexp.MustCompile(`\(default ([^)]+)\)$`)

// ecoHelpDefaults returns the default of every flag that `bin -h` shows
// one for, keyed by flag name without the dash.
func ecoHelpDefaults(t *testing.T) map[string]string {
	t.Helper()
	out, err := exec.Command(binPath, "-h").CombinedOutput()
	if err != nil {
		t.Fatalf("-h: %v\n%s", err, out)
	}
	defaults := map[string]string{}
	flag := ""
	for line := range strings.Lines(string(out)) {
		line = strings.TrimRight(line, "\n")
		if m := ecoHelpFlagRE.FindStringSubmatch(line); m != nil {
			flag = m[1]
			continue
		}
		if m := ecoHelpDefaultRE.FindStringSubmatch(line); m != nil && flag != "" {
			defaults[flag] = strings.Trim(m[1], `"`)
		}
	}
	return defaults
}

func TestDeployUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed; skipping the unit check")
	}
	data, err := os.ReadFile(ecoUnitPath)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := filepath.Abs(binPath)
	if err != nil {
		t.Fatal(err)
	}
	// verify insists that ExecStart's binary exists: point it at ours.
	const installed = "ExecStart=/usr/local/bin/metricstream "
	if !strings.Contains(string(data), installed) {
		t.Fatalf("unit lacks %q", installed)
	}
	unit := filepath.Join(t.TempDir(), "metricstream.service")
	if err := os.WriteFile(unit, []byte(strings.Replace(string(data), installed, "ExecStart="+bin+" ", 1)), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, analyze, "verify", unit).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	// verify exits 0 on warnings too; any line about our unit is one.
	for line := range strings.Lines(string(out)) {
		if strings.Contains(line, "metricstream") {
			t.Errorf("systemd-analyze verify: %s", strings.TrimSpace(line))
		} else if strings.TrimSpace(line) != "" {
			t.Logf("systemd-analyze verify (about another unit): %s", strings.TrimSpace(line))
		}
	}

	// The sandboxing score, where this systemd can compute it offline
	// (--offline appeared in systemd 250). 10 is unprotected; the unit
	// scores about 1.4, and anything above 2 means hardening was lost.
	out, err = exec.CommandContext(ctx, analyze, "security", "--offline=yes", "--no-pager", unit).CombinedOutput()
	if err != nil && strings.Contains(string(out), "offline") && !strings.Contains(string(out), "exposure level") {
		t.Logf("systemd-analyze security --offline unsupported here: %s", strings.TrimSpace(string(out)))
		return
	}
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security: no exposure level (%v)\n%s", err, out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	if score > 2 {
		t.Errorf("exposure level %.1f; want at most 2\n%s", score, out)
	}
	t.Logf("systemd-analyze security: exposure level %.1f", score)
}

func TestDeployUnitLimitsAboveDefaults(t *testing.T) {
	dirs := ecoUnitService(t)
	defaults := ecoHelpDefaults(t)

	drain, err := time.ParseDuration(defaults["drain-timeout"])
	if err != nil {
		t.Fatalf("-drain-timeout default %q: %v", defaults["drain-timeout"], err)
	}
	if stop := ecoSystemdSeconds(t, ecoUnitOne(t, dirs, "TimeoutStopSec")); stop <= drain.Seconds() {
		t.Errorf("TimeoutStopSec %vs does not exceed -drain-timeout %v: systemd would SIGKILL a drain", stop, drain)
	}

	maxConns, err := strconv.Atoi(defaults["max-conns"])
	if err != nil {
		t.Fatalf("-max-conns default %q: %v", defaults["max-conns"], err)
	}
	nofile, err := strconv.Atoi(ecoUnitOne(t, dirs, "LimitNOFILE"))
	if err != nil {
		t.Fatalf("LimitNOFILE: %v", err)
	}
	if nofile <= maxConns {
		t.Errorf("LimitNOFILE %d does not exceed -max-conns %d", nofile, maxConns)
	}
	t.Logf("defaults from -h: -drain-timeout %v, -max-conns %d", drain, maxConns)

	for key, want := range map[string]string{
		"DynamicUser":     "yes",
		"StateDirectory":  "metricstream",
		"ProtectSystem":   "strict",
		"ProtectHome":     "yes",
		"PrivateTmp":      "yes",
		"NoNewPrivileges": "yes",
		"Restart":         "on-failure",
		"KillSignal":      "SIGTERM",
		"ExecReload":      "/bin/kill -HUP $MAINPID",
	} {
		if got := ecoUnitOne(t, dirs, key); got != want {
			t.Errorf("%s=%s; want %s", key, got, want)
		}
	}
	// io_uring must stay allowed by name whatever @system-service holds.
	filters := strings.Join(dirs["SystemCallFilter"], " ")
	for _, sc := range []string{"io_uring_setup", "io_uring_enter", "io_uring_register"} {
		if !strings.Contains(filters, sc) {
			t.Errorf("SystemCallFilter does not allow %s", sc)
		}
	}
}

// TestDeployUnitExecStartRuns runs the binary with the unit's own flags,
// only the address and the data directory moved to the test's, and checks
// that it serves, logs one JSON object per line, and drains on SIGTERM
// within the unit's TimeoutStopSec.
func TestDeployUnitExecStartRuns(t *testing.T) {
	dirs := ecoUnitService(t)
	args := strings.Fields(ecoUnitOne(t, dirs, "ExecStart"))[1:]
	dataDir := t.TempDir()
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "-addr":
			args[i+1] = "127.0.0.1:0"
		case "-data-dir":
			if args[i+1] != "/var/lib/"+ecoUnitOne(t, dirs, "StateDirectory") {
				t.Errorf("-data-dir %s is not the StateDirectory", args[i+1])
			}
			args[i+1] = dataDir
		}
	}
	cmd := exec.Command(binPath, args...)
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); pw.Close() }()
	exited := false
	t.Cleanup(func() {
		if !exited {
			cmd.Process.Kill()
			<-done
		}
	})

	// Every log line must be a JSON object; the listening one gives the
	// address. The scanner goroutine ends when the pipe closes.
	listening := make(chan string, 1)
	logDone := make(chan []string, 1)
	go func() {
		var bad []string
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var rec map[string]any
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				bad = append(bad, sc.Text())
				continue
			}
			if rec["msg"] == "listening" {
				if addr, ok := rec["addr"].(string); ok {
					listening <- addr
				}
			}
		}
		io.Copy(io.Discard, pr)
		logDone <- bad
	}()
	var addr string
	select {
	case addr = <-listening:
	case err := <-done:
		exited = true
		t.Fatalf("exited before listening with the unit's flags %v: %v", args, err)
	case <-time.After(15 * time.Second):
		t.Fatalf("did not listen within 15s with the unit's flags %v", args)
	}
	status, body, err := ecoGet("http://" + addr + "/health")
	if err != nil || status != 200 {
		t.Fatalf("/health: %d %s %v", status, body, err)
	}

	stop := time.Duration(ecoSystemdSeconds(t, ecoUnitOne(t, dirs, "TimeoutStopSec")) * float64(time.Second))
	exited = true
	if err := ecoStop(t, cmd, done, stop); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
	if bad := <-logDone; len(bad) > 0 {
		t.Errorf("log lines that are not JSON with -log-format json:\n%s", strings.Join(bad, "\n"))
	}
}

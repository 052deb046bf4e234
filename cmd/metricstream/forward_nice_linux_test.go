package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"metricstream/forward"
)

// threadNices counts the threads of process pid by niceness (field 19 of /proc/<pid>/task/<tid>/stat).
func threadNices(t *testing.T, pid int) map[int]int {
	t.Helper()
	stats, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	nices := map[int]int{}
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread ended between the listing and the read
		}
		// The command name in field 2 may hold spaces; the fields after its ')' do not.
		fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if n, err := strconv.Atoi(fields[16]); err == nil {
			nices[n]++
		}
	}
	return nices
}

// TestForwardNice: the forwarder reads and encodes on threads of its own at -forward-nice (15
// by default) while everything else stays at the process's priority, and the process runs with
// as many more Go processors as it has such threads (the start-up line's gomaxprocs). With
// -forward-nice 0 no thread is niced; with -loops 0 the loops are one per processor the process
// had before the forwarder's were added. The sink is refused, so the forwarder cuts and encodes
// and then retries.
func TestForwardNice(t *testing.T) {
	// The binary starts with the processors this test has (the same CPUs, cgroup and
	// environment), and forward.Forwarder.Threads counts from them.
	procs := runtime.GOMAXPROCS(0)
	threads := max(1, procs/2) + 1
	for _, tc := range []struct {
		name  string
		args  []string
		nice  int // 0: no thread niced
		loops int // in the start-up line
	}{
		{"default", []string{"-loops", "1"}, forward.DefaultNice, 1},
		{"nice 7", []string{"-loops", "1", "-forward-nice", "7"}, 7, 1},
		{"nice 0", []string{"-loops", "1", "-forward-nice", "0"}, 0, 1},
		{"a loop per processor", []string{"-loops", "0"}, forward.DefaultNice, procs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-forward", "http://127.0.0.1:1/api/v1/write"}, tc.args...)
			p := startProc(t, t.TempDir(), args...)
			if status, _ := ecoPost(t, p.addr, "/metrics", nil, []byte(`{"metrics":[{"name":"m","value":1}]}`)); status != 200 {
				t.Fatalf("POST: status %d", status)
			}
			fwPoll(t, 10*time.Second, "a retry of the refused sink", func() bool { return fwRetries(p.addr) > 0 })
			nices := threadNices(t, p.cmd.Process.Pid)
			if tc.nice != 0 && nices[tc.nice] != threads {
				t.Errorf("%d threads at niceness %d; want %d (threads by niceness: %v)", nices[tc.nice], tc.nice, threads, nices)
			}
			for n, count := range nices {
				if n != 0 && n != tc.nice {
					t.Errorf("%d threads at niceness %d; want none (threads by niceness: %v)", count, n, nices)
				}
			}
			want := regexp.MustCompile(fmt.Sprintf(`msg=starting .*loops=%d .*gomaxprocs=%d\b`, tc.loops, max(procs, tc.loops)+threads))
			if !want.MatchString(p.logs.String()) {
				t.Errorf("start-up line lacks %s:\n%s", want, p.logs.String())
			}
			ecoStopProc(t, p)
		})
	}
}

// TestForwardNiceRefused: where setpriority is refused (a seccomp profile), the forwarder says
// so once in the log and forwards at the process's priority: no thread is niced, and the
// refused sink is still retried.
func TestForwardNiceRefused(t *testing.T) {
	command := func(args ...string) *exec.Cmd {
		cmd := refusedCommand(args...)
		cmd.Env = append(cmd.Env, seccompRefuseEnv+"=setpriority")
		return cmd
	}
	p := startCommand(t, t.TempDir(), command, "-forward", "http://127.0.0.1:1/api/v1/write")
	if status, _ := ecoPost(t, p.addr, "/metrics", nil, []byte(`{"metrics":[{"name":"m","value":1}]}`)); status != 200 {
		t.Fatalf("POST: status %d", status)
	}
	fwPoll(t, 10*time.Second, "a retry of the refused sink", func() bool { return fwRetries(p.addr) > 0 })
	if nices := threadNices(t, p.cmd.Process.Pid); len(nices) != 1 || nices[0] == 0 {
		t.Errorf("threads by niceness %v; want all at 0", nices)
	}
	ecoStopProc(t, p)
	logs := p.logs.String()
	want := "cannot lower the priority of the forwarding threads"
	if n := strings.Count(logs, want); n != 1 || !strings.Contains(logs, "operation not permitted") {
		t.Errorf("the log says %q %d times (want once, with the kernel's reason):\n%s", want, n, logs)
	}
}

// fwRetries is the only sink's retries in GET /metrics (-1 when it cannot be read).
func fwRetries(addr string) int {
	_, body, err := ecoGet("http://" + addr + "/metrics")
	var stats struct {
		Forward []struct{ Retries int } `json:"forward"`
	}
	if err != nil || json.Unmarshal(body, &stats) != nil || len(stats.Forward) != 1 {
		return -1
	}
	return stats.Forward[0].Retries
}

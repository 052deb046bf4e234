package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Disk-stall bounds of TestDiskStall.
const (
	stallQueueBytes = 256 << 10             // -queue-bytes of the server under test
	stallMemMargin  = 48 << 20              // RSS growth allowed during the freeze on top of -queue-bytes
	stallAnswerMax  = 50 * time.Millisecond // /health and GET /metrics during the freeze
)

// mountExt4 loop-mounts a fresh 128 MiB ext4 image and returns its mount point; it skips the test
// when that is not possible here (not root, no tools, no loop devices).
func mountExt4(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: loop-mounts an ext4 image and freezes it with fsfreeze")
	}
	for _, tool := range []string{"mkfs.ext4", "fsfreeze", "mount", "umount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: %v", tool, err)
		}
	}
	base := t.TempDir()
	img, mnt := filepath.Join(base, "disk.img"), filepath.Join(base, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("truncate", "-s", "128M", img).CombinedOutput(); err != nil {
		t.Fatalf("truncate: %v %s", err, out)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v %s", err, out)
	}
	if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot loop-mount an image here: %v %s", err, out)
	}
	t.Cleanup(func() {
		_ = exec.Command("fsfreeze", "-u", mnt).Run()
		// The kernel tears io_uring rings down asynchronously: retry until the mount is free.
		deadline := time.Now().Add(10 * time.Second)
		for {
			out, err := exec.Command("umount", mnt).CombinedOutput()
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("umount %s: %v %s", mnt, err, out)
				return
			}
			time.Sleep(20 * time.Millisecond) // polling interval
		}
	})
	return mnt
}

// stallLoad sends 100-metric batches with unique names from conns connections until stop is
// closed and counts the answers by status; acked collects the names of acknowledged metrics.
type stallLoad struct {
	ok, busy, other atomic.Int64
	mu              sync.Mutex
	acked           map[string]bool
	wg              sync.WaitGroup
}

func startStallLoad(addr string, conns int, stop <-chan struct{}) *stallLoad {
	l := &stallLoad{acked: map[string]bool{}}
	for g := range conns {
		l.wg.Add(1)
		go l.conn(addr, g, stop)
	}
	return l
}

func (l *stallLoad) conn(addr string, g int, stop <-chan struct{}) {
	defer l.wg.Done()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		prefix := fmt.Sprintf("s%d_r%d_", g, i)
		var b strings.Builder
		b.WriteString(`{"metrics":[`)
		for j := range 100 {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"name":"%sm%d","value":%d,"tags":{"conn":"%d"}}`, prefix, j, i, g)
		}
		b.WriteString(`]}`)
		req := fmt.Sprintf("POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%s", b.Len(), b.String())
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.WriteString(c, req); err != nil {
			return
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case 200:
			l.ok.Add(1)
			l.mu.Lock()
			for j := range 100 {
				l.acked[prefix+"m"+strconv.Itoa(j)] = true
			}
			l.mu.Unlock()
		case 503:
			l.busy.Add(1)
			time.Sleep(5 * time.Millisecond) // a refused client backs off before retrying
		default:
			l.other.Add(1)
		}
	}
}

// rssBytes is the resident set size of process pid.
func rssBytes(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// timedGet fetches url and returns its status and how long the answer took.
func timedGet(t *testing.T, client *http.Client, url string) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s during the freeze: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(start)
}

// TestDiskStall freezes the data directory's file system (fsfreeze) under load with the default
// writer: /health and GET /metrics keep answering within 50 ms (never twice in a row later), memory stays within -queue-bytes
// plus a margin, ingest answers 503 once the bound is reached, and after the thaw ingest works
// again and every acknowledged batch is on disk.
func TestDiskStall(t *testing.T) {
	mnt := mountExt4(t)
	dir := filepath.Join(mnt, "data")
	p := startProc(t, dir, "-ack", "written", "-rate", "0", "-loops", "2",
		"-queue-bytes", strconv.Itoa(stallQueueBytes))
	thawed := false
	t.Cleanup(func() {
		if !thawed {
			_ = exec.Command("fsfreeze", "-u", mnt).Run()
		}
	})
	client := &http.Client{Timeout: 5 * time.Second}
	var stats struct{ Writer string }
	resp, err := client.Get("http://" + p.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&stats)
	resp.Body.Close()
	if stats.Writer != "io_uring" {
		t.Skipf("the default writer here is %q: with the file writer a frozen disk holds the loops (README)", stats.Writer)
	}

	stop := make(chan struct{})
	load := startStallLoad(p.addr, 32, stop)
	waitUntil(t, "acknowledged batches before the freeze", func() bool { return load.ok.Load() >= 50 })
	rssBefore := rssBytes(t, p.cmd.Process.Pid)
	if out, err := exec.Command("fsfreeze", "-f", mnt).CombinedOutput(); err != nil {
		t.Fatalf("fsfreeze -f: %v %s", err, out)
	}
	busyAtFreeze := load.busy.Load()
	// A stalled loop stays stalled while the file system is frozen, so every later answer it
	// gives is late too; a lone late answer is the machine's scheduling (this test shares its
	// CPUs). So the test fails on two late answers in a row from the same path.
	var worst time.Duration
	var rssMax int64
	late := map[string]int{}
	lateTotal := 0
	for deadline := time.Now().Add(1500 * time.Millisecond); time.Now().Before(deadline); {
		for _, path := range []string{"/health", "/metrics"} {
			status, took := timedGet(t, client, "http://"+p.addr+path)
			if status != 200 {
				t.Fatalf("GET %s during the freeze: %d; want 200", path, status)
			}
			worst = max(worst, took)
			if took <= stallAnswerMax {
				late[path] = 0
				continue
			}
			late[path]++
			lateTotal++
			if late[path] == 2 {
				t.Fatalf("GET %s during the freeze: two answers in a row later than %v (the last after %v)", path, stallAnswerMax, took)
			}
		}
		rssMax = max(rssMax, rssBytes(t, p.cmd.Process.Pid))
		time.Sleep(20 * time.Millisecond) // sampling interval
	}
	if load.busy.Load() == busyAtFreeze {
		t.Fatalf("no 503 during the freeze (%d acknowledged); the -queue-bytes bound was never reached", load.ok.Load())
	}
	if growth := rssMax - rssBefore; growth > stallQueueBytes+stallMemMargin {
		t.Fatalf("RSS grew by %d bytes during the freeze; bound %d (-queue-bytes) + %d", growth, stallQueueBytes, stallMemMargin)
	}
	okAtThaw := load.ok.Load()
	if out, err := exec.Command("fsfreeze", "-u", mnt).CombinedOutput(); err != nil {
		t.Fatalf("fsfreeze -u: %v %s", err, out)
	}
	thawed = true
	waitUntil(t, "ingest after the thaw", func() bool { return load.ok.Load() >= okAtThaw+50 })
	close(stop)
	load.wg.Wait()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-p.done; err != nil {
		t.Fatalf("exit: %v\n%s", err, p.logs.String())
	}
	stored := storedNames(t, dir)
	for n := range load.acked {
		if !stored[n] {
			t.Fatalf("acknowledged %s missing after the thaw", n)
		}
	}
	t.Logf("freeze: worst /health or /metrics %v (%d lone answers over %v), RSS %d -> %d bytes, %d refused with 503; %d metrics acknowledged, all on disk",
		worst, lateTotal, stallAnswerMax, rssBefore, rssMax, load.busy.Load()-busyAtFreeze, len(load.acked))
}

// waitUntil polls cond until it holds or 20 s pass.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling interval
	}
}

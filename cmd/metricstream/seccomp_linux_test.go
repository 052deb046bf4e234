package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// seccompExecEnv names the binary TestSeccompExecHelper runs under a seccomp filter that refuses
// io_uring_setup(2), as container runtimes' default profiles do, or the system call that
// seccompRefuseEnv names.
const seccompExecEnv = "METRICSTREAM_SECCOMP_EXEC"

// seccompRefuseEnv, when set to "setpriority", makes the filter refuse setpriority(2) instead.
const seccompRefuseEnv = "METRICSTREAM_SECCOMP_REFUSE"

// sysIOURingSetup is io_uring_setup's number, the same on every architecture (Linux 5.1+).
const sysIOURingSetup = 425

// TestSeccompExecHelper is not a test: run by refusedCommand, it installs the filter on its thread
// and execs the server (the filter survives exec), with the arguments after "--".
func TestSeccompExecHelper(t *testing.T) {
	bin := os.Getenv(seccompExecEnv)
	if bin == "" {
		t.Skip("helper process of TestIOURingRefusedByKernel")
	}
	runtime.LockOSThread()
	nr := uint32(sysIOURingSetup)
	if os.Getenv(seccompRefuseEnv) == "setpriority" {
		nr = unix.SYS_SETPRIORITY
	}
	if err := refuseSyscall(nr); err != nil {
		fmt.Fprintln(os.Stderr, "seccomp:", err)
		os.Exit(3)
	}
	err := syscall.Exec(bin, append([]string{bin}, flag.Args()...), os.Environ())
	fmt.Fprintln(os.Stderr, "exec:", err)
	os.Exit(3)
}

// refuseSyscall makes system call nr fail with EPERM for this thread and what it execs.
func refuseSyscall(nr uint32) error {
	const (
		setModeFilter = 1
		retAllow      = 0x7fff0000
		retErrno      = 0x00050000
	)
	filter := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}, // seccomp_data.nr
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: nr},
		{Code: unix.BPF_RET | unix.BPF_K, K: retErrno | uint32(unix.EPERM)},
		{Code: unix.BPF_RET | unix.BPF_K, K: retAllow},
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	if _, _, e := unix.Syscall(unix.SYS_SECCOMP, setModeFilter, 0, uintptr(unsafe.Pointer(&prog))); e != 0 {
		return e
	}
	return nil
}

// refusedCommand runs the binary under test with args where the kernel refuses io_uring.
func refusedCommand(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestSeccompExecHelper$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), seccompExecEnv+"="+binPath)
	return cmd
}

// TestIOURingRefusedByKernel: where the kernel refuses io_uring (a seccomp filter, as in a
// container), -writer auto falls back to the file writer and says why, and -writer io_uring
// exits 1 with the kernel's reason.
func TestIOURingRefusedByKernel(t *testing.T) {
	if len(writers(t)) < 2 {
		t.Skip("io_uring is not available here in the first place")
	}
	t.Run("auto falls back", func(t *testing.T) {
		p := startCommand(t, t.TempDir(), refusedCommand, "-writer", "auto")
		resp, err := http.Get("http://" + p.addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		var st struct {
			Writer       string `json:"writer"`
			WriterReason string `json:"writer_reason"`
		}
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if st.Writer != "file" || !strings.Contains(st.WriterReason, "operation not permitted") {
			t.Fatalf("writer %q (%q); want file, with the kernel's refusal as the reason", st.Writer, st.WriterReason)
		}
		if !strings.Contains(p.logs.String(), "operation not permitted") {
			t.Fatalf("start-up log does not say why io_uring is not used:\n%s", p.logs.String())
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		if err := <-p.done; err != nil {
			t.Fatalf("exit: %v", err)
		}
	})
	t.Run("io_uring exits 1", func(t *testing.T) {
		cmd := refusedCommand("-writer", "io_uring", "-addr", "127.0.0.1:0", "-data-dir", t.TempDir(), "-stats-interval", "0")
		var stderr syncBuffer
		cmd.Stderr = &stderr
		done := make(chan error, 1)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { done <- cmd.Wait() }()
		var err error
		select {
		case err = <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatalf("-writer io_uring did not exit where the kernel refuses io_uring\n%s", stderr.String())
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Fatalf("exit = %v; want status 1\n%s", err, stderr.String())
		}
		if !strings.Contains(stderr.String(), "iouring_setup: operation not permitted") {
			t.Fatalf("stderr does not carry the kernel's reason:\n%s", stderr.String())
		}
	})
}

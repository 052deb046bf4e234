//go:build linux

// Command loadtest runs the side-by-side load test behind `make loadtest`:
// MetricStream in three configurations, the net/http, fasthttp and gnet
// no-op baselines, and VictoriaMetrics when it is installed, each driven by
// wrk with the same batches, in interleaved rounds, on one machine.
//
// It builds nothing: bench/loadtest.sh builds bin/metricstream (with the
// io_uring writer built in), bin/nethttpbase, bin/fasthttpbase, bin/gnetnop and this
// command first. Run it from the repository root (the wrk scripts are read
// from -scripts):
//
//	bin/loadtest                       # 2 rounds of 10 s runs, 64 connections
//	bin/loadtest -d 5s -rounds 3 -json results.json
//	bin/loadtest -systems gnetnop,metricstream/written/file -idle-conns 0
//
// For every run a system is started as a subprocess on a free loopback port
// with a new temporary data directory, probed until GET /health answers
// 200, loaded by a discarded warm-up wrk run and then by the measured one,
// measured (VmHWM, VmRSS), stopped with SIGTERM and waited for. With two or
// more CPUs and taskset installed, wrk runs on CPU 0 and the server on CPU
// 1, so the generator and the server do not take each other's CPU. Once,
// the reference MetricStream also holds -idle-conns idle keep-alive
// connections opened by this process, to show memory per connection.
//
// The report (markdown) goes to stdout, progress to stderr. Exit status: 0
// after a complete run, 1 when a system that should have run could not be
// measured (the table then lacks it) or the run could not start, 2 for bad
// flags.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"metricstream/bench/loadtest"
)

const (
	// metricsPerRequest is the batch size passed to the wrk scripts.
	metricsPerRequest = 10
	// limiterRate is the per-client rate given to every server with a
	// limiter: the limiter runs on every request but never refuses one.
	limiterRate = "1000000000"
	// readyTimeout bounds the wait for a started server to answer /health.
	readyTimeout = 20 * time.Second
	// stopTimeout bounds the wait for a server to exit after SIGTERM
	// (MetricStream drains for up to 20 s); then it is killed.
	stopTimeout = 30 * time.Second
	// idleParallel is the number of idle connections opened at a time.
	idleParallel = 64
	// stderrTail is how much of a server's stderr is kept for error
	// messages.
	stderrTail = 4 << 10
)

// errUnavailable reports an optional system that exited with status 1 at
// start: its feature (the io_uring writer) is not available here.
var errUnavailable = errors.New("not available on this machine")

// system is one server under test and how to drive it.
type system struct {
	name string
	bin  string
	// args builds the server's arguments for a listen address and a data
	// directory.
	args func(addr, dataDir string) []string
	// script is the wrk script under -scripts; target the request target
	// (path and query) it is pointed at; health the readiness probe path.
	script, target, health string
	// optional systems that exit with status 1 at start are skipped with
	// a note instead of failing the run.
	optional bool
}

// options are the command's flags.
type options struct {
	duration, warmup time.Duration
	rounds, conns    int
	threads          int
	idleConns        int
	binDir           string
	scriptDir        string
	wrkPath          string
	vmPath           string
	pin              string
	systems          string
	jsonPath         string
}

// pinning says where wrk and the servers run. The prefixes are prepended to
// their command lines; both are empty when unpinned.
type pinning struct {
	wrk, server []string
	desc        string
}

// machine describes the host in the report.
type machine struct {
	CPUs        int    `json:"cpus"`
	CPUModel    string `json:"cpu_model"`
	Kernel      string `json:"kernel"`
	GoVersion   string `json:"go_version"`
	WrkVersion  string `json:"wrk_version"`
	LoadBefore  string `json:"loadavg_before"`
	LoadAfter   string `json:"loadavg_after"`
	StartedUTC  string `json:"started_utc"`
	OpenFileMax uint64 `json:"open_files_limit"`
}

// report is what -json writes.
type report struct {
	Machine   machine              `json:"machine"`
	Pinning   string               `json:"pinning"`
	Duration  string               `json:"duration"`
	Warmup    string               `json:"warmup"`
	Rounds    int                  `json:"rounds"`
	Conns     int                  `json:"connections"`
	Threads   int                  `json:"wrk_threads"`
	Metrics   int                  `json:"metrics_per_request"`
	Reference string               `json:"reference"`
	Rows      []loadtest.Row       `json:"summary"`
	Runs      []loadtest.Run       `json:"runs"`
	Idle      *loadtest.IdleMemory `json:"idle_memory,omitempty"`
	Notes     []string             `json:"notes,omitempty"`
	Skipped   map[string]string    `json:"skipped,omitempty"`
	Commands  map[string][]string  `json:"server_commands"`
}

func main() {
	os.Exit(run())
}

func run() int {
	var o options
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.DurationVar(&o.duration, "d", 10*time.Second, "duration of each measured wrk run (whole seconds, at least 1s)")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "duration of the discarded wrk run before each measured one (whole seconds; 0 skips it)")
	fs.IntVar(&o.rounds, "rounds", 2, "rounds; each round runs every system once, in the same order")
	fs.IntVar(&o.conns, "conns", 64, "wrk connections (-c)")
	fs.IntVar(&o.threads, "threads", 1, "wrk threads (-t); at most -conns")
	fs.IntVar(&o.idleConns, "idle-conns", 10000, "idle keep-alive connections held once against the reference MetricStream to measure its memory (0 skips it)")
	fs.StringVar(&o.binDir, "bin", "bin", "`directory` of the metricstream, nethttpbase, fasthttpbase and gnetnop binaries")
	fs.StringVar(&o.scriptDir, "scripts", filepath.Join("bench", "wrk"), "`directory` of the wrk scripts metrics.lua and line.lua")
	fs.StringVar(&o.wrkPath, "wrk", "wrk", "wrk executable")
	fs.StringVar(&o.vmPath, "victoria-metrics", "victoria-metrics", "VictoriaMetrics single-node executable, added with the line-protocol script when found; empty skips it")
	fs.StringVar(&o.pin, "pin", "auto", "CPU pinning with taskset: auto (wrk on CPU 0, server on CPU 1 when there are 2+ CPUs and taskset exists), on or off")
	fs.StringVar(&o.systems, "systems", "", "comma-separated names of the systems to run (default: all)")
	fs.StringVar(&o.jsonPath, "json", "", "also write the results as JSON to this `file`")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := o.validate(fs); err != nil {
		fmt.Fprintf(os.Stderr, "loadtest: %v\n", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := o.execute(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadtest: %v\n", err)
		return 1
	}
	return code
}

// validate checks the flags once, before anything starts.
func (o *options) validate(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	whole := func(name string, d time.Duration, zeroOK bool) error {
		if d%time.Second != 0 || d < 0 || (d == 0 && !zeroOK) {
			return fmt.Errorf("-%s %v: wrk takes whole seconds", name, d)
		}
		return nil
	}
	if err := whole("d", o.duration, false); err != nil {
		return err
	}
	if err := whole("warmup", o.warmup, true); err != nil {
		return err
	}
	switch {
	case o.rounds < 1:
		return errors.New("-rounds must be at least 1")
	case o.conns < 1:
		return errors.New("-conns must be at least 1")
	case o.threads < 1 || o.threads > o.conns:
		return errors.New("-threads must be between 1 and -conns")
	case o.idleConns < 0:
		return errors.New("-idle-conns must not be negative")
	case o.pin != "auto" && o.pin != "on" && o.pin != "off":
		return fmt.Errorf("-pin must be auto, on or off, not %q", o.pin)
	}
	return nil
}

// systemList is every system in run order, VictoriaMetrics included when
// vmBin is not empty. msRef is the MetricStream written configuration whose
// line-protocol twin runs next to VictoriaMetrics.
func (o *options) systemList(vmBin, msWriter string) []system {
	ms := filepath.Join(o.binDir, "metricstream")
	metricstream := func(ack, writer, script, target, suffix string, optional bool) system {
		return system{
			name: "metricstream/" + ack + "/" + writer + suffix,
			bin:  ms,
			args: func(addr, dir string) []string {
				return []string{"-addr", addr, "-data-dir", dir, "-ack", ack, "-writer", writer,
					"-rate", limiterRate, "-stats-interval", "0"}
			},
			script: script, target: target, health: "/health", optional: optional,
		}
	}
	baseline := func(name string, withData bool) system {
		return system{
			name: name,
			bin:  filepath.Join(o.binDir, name),
			args: func(addr, dir string) []string {
				if !withData {
					return []string{"-addr", addr}
				}
				return []string{"-addr", addr, "-data-dir", dir, "-rate", limiterRate}
			},
			script: "metrics.lua", target: "/metrics", health: "/health",
		}
	}
	list := []system{
		metricstream("written", "file", "metrics.lua", "/metrics", "", false),
		metricstream("written", "io_uring", "metrics.lua", "/metrics", "", true),
		metricstream("queued", "auto", "metrics.lua", "/metrics", "", false),
		baseline("nethttpbase", true),
		baseline("fasthttpbase", true),
		baseline("gnetnop", false),
	}
	if vmBin != "" {
		list = append(list,
			system{
				name: "victoria-metrics (line)",
				bin:  vmBin,
				args: func(addr, dir string) []string {
					return []string{"-httpListenAddr", addr, "-storageDataPath", dir,
						"-influxSkipSingleField", "-loggerLevel", "ERROR"}
				},
				script: "line.lua", target: "/write?precision=ms", health: "/health",
			},
			metricstream("written", msWriter, "line.lua", "/write?precision=ms", " (line)", false),
		)
	}
	return list
}

// execute runs everything and prints the report. The returned code is 1
// when a system that should have run was not measured.
func (o *options) execute(ctx context.Context) (int, error) {
	wrkBin, err := exec.LookPath(o.wrkPath)
	if err != nil {
		return 1, fmt.Errorf("wrk not found (apt-get install wrk): %w", err)
	}
	for _, name := range []string{"metricstream", "nethttpbase", "fasthttpbase", "gnetnop"} {
		if _, err := os.Stat(filepath.Join(o.binDir, name)); err != nil {
			return 1, fmt.Errorf("%w (run bench/loadtest.sh, which builds the binaries first)", err)
		}
	}
	for _, script := range []string{"metrics.lua", "line.lua"} {
		if _, err := os.Stat(filepath.Join(o.scriptDir, script)); err != nil {
			return 1, fmt.Errorf("wrk script: %w (run from the repository root or set -scripts)", err)
		}
	}
	o.wrkPath = wrkBin

	rep := report{
		Duration: o.duration.String(), Warmup: o.warmup.String(), Rounds: o.rounds,
		Conns: o.conns, Threads: o.threads, Metrics: metricsPerRequest,
		Skipped: map[string]string{}, Commands: map[string][]string{},
	}
	// The limit must be raised before any server starts: children inherit
	// it, and an explicit Setrlimit stops Go from restoring the original
	// limit in them.
	if rep.Machine.OpenFileMax, err = raiseNoFile(uint64(o.idleConns) + 4096); err != nil {
		rep.Notes = append(rep.Notes, "open-files limit not raised: "+err.Error())
	}
	if o.idleConns > 0 && rep.Machine.OpenFileMax < uint64(o.idleConns)+256 {
		n := int(max(0, int64(rep.Machine.OpenFileMax)-256))
		rep.Notes = append(rep.Notes, fmt.Sprintf("open-files limit %d: idle connections lowered from %d to %d",
			rep.Machine.OpenFileMax, o.idleConns, n))
		o.idleConns = n
	}
	rep.Machine.fill(o.wrkPath)
	pin := choosePinning(o.pin)
	rep.Pinning = pin.desc

	vmBin := ""
	if o.vmPath != "" {
		if p, err := exec.LookPath(o.vmPath); err == nil {
			vmBin = p
		} else {
			rep.Notes = append(rep.Notes, "VictoriaMetrics not installed ("+o.vmPath+" not found): skipped")
		}
	}

	// The reference is MetricStream's default (-writer auto runs the file
	// writer); the io_uring writer is optional and probed before the rounds.
	all := o.systemList(vmBin, "file")
	reference := all[0].name
	uring := all[1]
	fmt.Fprintf(os.Stderr, "loadtest: checking %s\n", uring.name)
	if err := probeSystem(ctx, uring, pin); err != nil {
		if !errors.Is(err, errUnavailable) {
			return 1, err
		}
		rep.Skipped[uring.name] = err.Error()
		all = slices.Delete(all, 1, 2)
	}
	systems, err := o.selectSystems(all, rep.Skipped)
	if err != nil {
		return 1, err
	}
	rep.Reference = reference
	for _, s := range systems {
		rep.Commands[s.name] = append(append(slices.Clone(pin.server), s.bin), s.args("127.0.0.1:PORT", "DATADIR")...)
	}

	code := 0
	failed := map[string]bool{}
	for round := 1; round <= o.rounds; round++ {
		for _, s := range systems {
			if failed[s.name] {
				continue
			}
			if err := ctx.Err(); err != nil {
				return 1, err
			}
			r, err := o.measure(ctx, s, pin, round)
			if err != nil {
				if ctx.Err() != nil {
					return 1, ctx.Err()
				}
				failed[s.name] = true
				rep.Skipped[s.name] = fmt.Sprintf("round %d: %v", round, err)
				fmt.Fprintf(os.Stderr, "loadtest: %s: %v\n", s.name, err)
				code = 1
				continue
			}
			rep.Runs = append(rep.Runs, r)
			fmt.Fprintf(os.Stderr, "loadtest: round %d/%d %s: %s req/s (2xx), p99 %s, errors %d, peak RSS %s\n",
				round, o.rounds, s.name, loadtest.FormatCount(r.Wrk.OKPerSec()), loadtest.FormatLatency(r.Wrk.P99),
				r.Wrk.Errors(), loadtest.FormatBytes(r.Memory.HWM))
		}
	}
	rep.Rows = loadtest.Summarize(rep.Runs, metricsPerRequest, reference)

	if o.idleConns > 0 {
		var ref *system
		for i := range systems {
			if systems[i].name == reference && !failed[reference] {
				ref = &systems[i]
			}
		}
		if ref == nil {
			rep.Notes = append(rep.Notes, "idle-connection memory not measured: "+reference+" did not run")
		} else {
			fmt.Fprintf(os.Stderr, "loadtest: %s with %d idle connections\n", ref.name, o.idleConns)
			m, err := o.measureIdle(ctx, *ref, pin)
			if err != nil {
				if ctx.Err() != nil {
					return 1, ctx.Err()
				}
				rep.Notes = append(rep.Notes, "idle-connection memory not measured: "+err.Error())
				code = 1
			} else {
				for _, row := range rep.Rows {
					if row.System == ref.name {
						m.LoadRSS, m.LoadPeak = row.EndRSS, row.PeakRSS
					}
				}
				m.LoadConns = o.conns
				rep.Idle = &m
			}
		}
	}
	rep.Machine.LoadAfter = loadAvg()

	if err := o.print(os.Stdout, &rep, systems); err != nil {
		return 1, err
	}
	if o.jsonPath != "" {
		data, err := json.MarshalIndent(&rep, "", "  ")
		if err != nil {
			return 1, fmt.Errorf("encode JSON: %w", err)
		}
		if err := os.WriteFile(o.jsonPath, append(data, '\n'), 0o644); err != nil {
			return 1, err
		}
	}
	return code, nil
}

// selectSystems applies -systems to all. Systems in skipped are left out.
func (o *options) selectSystems(all []system, skipped map[string]string) ([]system, error) {
	want := map[string]bool{}
	for name := range strings.SplitSeq(o.systems, ",") {
		if name = strings.TrimSpace(name); name != "" {
			want[name] = true
		}
	}
	everything := len(want) == 0
	var out []system
	for _, s := range all {
		chosen := everything || want[s.name]
		delete(want, s.name)
		if _, skip := skipped[s.name]; !skip && chosen {
			out = append(out, s)
		}
	}
	for name := range want {
		var names []string
		for _, s := range all {
			names = append(names, s.name)
		}
		return nil, fmt.Errorf("-systems: unknown system %q (known: %s)", name, strings.Join(names, ", "))
	}
	if len(out) == 0 {
		return nil, errors.New("no system to run")
	}
	return out, nil
}

// measure runs one round of one system: start, warm up, measure, stop.
func (o *options) measure(ctx context.Context, s system, pin pinning, round int) (loadtest.Run, error) {
	run := loadtest.Run{System: s.name, Round: round}
	srv, addr, err := startSystem(ctx, s, pin)
	if err != nil {
		return run, err
	}
	defer srv.cleanup()
	url := "http://" + addr + s.target
	script := filepath.Join(o.scriptDir, s.script)
	if o.warmup > 0 {
		if _, err := o.wrk(ctx, pin, script, url, o.warmup); err != nil {
			return run, fmt.Errorf("warm-up: %w", err)
		}
	}
	out, err := o.wrk(ctx, pin, script, url, o.duration)
	if err != nil {
		return run, err
	}
	if run.Wrk, err = loadtest.ParseWrk(out); err != nil {
		return run, err
	}
	if run.Memory, err = loadtest.ReadMemory(srv.pid()); err != nil {
		return run, fmt.Errorf("server gone after the run: %w%s", err, srv.tail())
	}
	if err := srv.stop(); err != nil {
		return run, err
	}
	return run, nil
}

// measureIdle starts s once, reads its memory, opens o.idleConns idle
// keep-alive connections, and reads it again.
func (o *options) measureIdle(ctx context.Context, s system, pin pinning) (loadtest.IdleMemory, error) {
	m := loadtest.IdleMemory{System: s.name, Conns: o.idleConns}
	srv, addr, err := startSystem(ctx, s, pin)
	if err != nil {
		return m, err
	}
	defer srv.cleanup()
	if m.Before, err = loadtest.ReadMemory(srv.pid()); err != nil {
		return m, err
	}
	conns, err := loadtest.OpenIdle(ctx, addr, s.health, o.idleConns, idleParallel)
	if err != nil {
		return m, err
	}
	m.Idle, err = loadtest.ReadMemory(srv.pid())
	conns.Close()
	if err != nil {
		return m, err
	}
	return m, srv.stop()
}

// probeSystem starts s and stops it again, to learn whether it can run.
func probeSystem(ctx context.Context, s system, pin pinning) error {
	srv, _, err := startSystem(ctx, s, pin)
	if err != nil {
		return err
	}
	defer srv.cleanup()
	return srv.stop()
}

// wrk runs one wrk load and returns its stdout.
func (o *options) wrk(ctx context.Context, pin pinning, script, url string, d time.Duration) ([]byte, error) {
	args := append(slices.Clone(pin.wrk), o.wrkPath,
		"-t"+strconv.Itoa(o.threads), "-c"+strconv.Itoa(o.conns),
		"-d"+strconv.Itoa(int(d/time.Second))+"s", "--latency", "-s", script, url,
		"--", strconv.Itoa(metricsPerRequest))
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("wrk: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// server is one running system process. It is owned by the goroutine that
// started it; the wait goroutine only sets waitErr and closes done.
type server struct {
	name    string
	cmd     *exec.Cmd
	dataDir string
	stderr  *tailWriter
	done    chan struct{} // closed when cmd.Wait returned
	waitErr error         // valid once done is closed
	stopped bool
}

// startSystem starts s on a free loopback port with a new data directory
// and waits until it answers its health probe. An optional system that
// exits with status 1 before that yields errUnavailable.
func startSystem(ctx context.Context, s system, pin pinning) (*server, string, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	dir, err := os.MkdirTemp("", "loadtest-"+strings.NewReplacer("/", "-", " ", "", "(", "", ")", "").Replace(s.name)+"-")
	if err != nil {
		return nil, "", err
	}
	args := append(append(slices.Clone(pin.server), s.bin), s.args(addr, dir)...)
	srv := &server{name: s.name, dataDir: dir, stderr: &tailWriter{max: stderrTail}, done: make(chan struct{})}
	srv.cmd = exec.Command(args[0], args[1:]...)
	srv.cmd.Stdout, srv.cmd.Stderr = srv.stderr, srv.stderr
	srv.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := srv.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, "", fmt.Errorf("start %s: %w", s.name, err)
	}
	go func() {
		srv.waitErr = srv.cmd.Wait()
		close(srv.done)
	}()

	rctx, cancel := context.WithTimeout(ctx, readyTimeout)
	go func() {
		select {
		case <-srv.done:
			cancel()
		case <-rctx.Done():
		}
	}()
	err = loadtest.WaitReady(rctx, addr, s.health)
	cancel()
	if err == nil {
		return srv, addr, nil
	}
	select {
	case <-srv.done:
		srv.stopped = true
		os.RemoveAll(dir)
		var ee *exec.ExitError
		if s.optional && errors.As(srv.waitErr, &ee) && ee.ExitCode() == 1 {
			return nil, "", fmt.Errorf("%w: exited with status 1 at start%s", errUnavailable, srv.tail())
		}
		return nil, "", fmt.Errorf("%s exited at start: %v%s", s.name, srv.waitErr, srv.tail())
	default:
		srv.cleanup()
		return nil, "", fmt.Errorf("%s: %w%s", s.name, err, srv.tail())
	}
}

// pid is the server's process id (taskset execs the server in place).
func (s *server) pid() int { return s.cmd.Process.Pid }

// stop sends SIGTERM, waits up to stopTimeout (then kills), removes the
// data directory, and reports an exit other than status 0.
func (s *server) stop() error {
	if s.stopped {
		return nil
	}
	s.stopped = true
	defer os.RemoveAll(s.dataDir)
	s.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(stopTimeout)
	defer t.Stop()
	select {
	case <-s.done:
	case <-t.C:
		s.cmd.Process.Kill()
		<-s.done
		return fmt.Errorf("%s did not exit within %v of SIGTERM; killed%s", s.name, stopTimeout, s.tail())
	}
	if s.waitErr != nil {
		return fmt.Errorf("%s exited after SIGTERM: %v%s", s.name, s.waitErr, s.tail())
	}
	return nil
}

// cleanup stops the server if stop has not run, ignoring its exit status.
func (s *server) cleanup() {
	if !s.stopped {
		s.stop()
	}
}

// tail formats the last line of the server's output for an error message.
func (s *server) tail() string {
	t := strings.TrimSpace(s.stderr.String())
	if t == "" {
		return ""
	}
	if i := strings.LastIndexByte(t, '\n'); i >= 0 {
		t = t[i+1:]
	}
	return "; last output: " + t
}

// tailWriter keeps the last max bytes written to it. The exec package
// copies the process's output to it from its own goroutine.
type tailWriter struct {
	mu  sync.Mutex // guards buf
	buf []byte
	max int
}

// Write keeps the tail of p; it never fails.
func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if over := len(w.buf) - w.max; over > 0 {
		w.buf = append(w.buf[:0], w.buf[over:]...)
	}
	return len(p), nil
}

// String returns the kept tail.
func (w *tailWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}

// freeAddr finds a free loopback port. The port is free when the function
// returns; another process could take it before the server binds it, which
// shows up as a start failure.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// raiseNoFile raises this process's open-files limit to at least want, the
// hard limit too when allowed (as root), else the soft limit to the hard
// one. It returns the soft limit in force afterwards.
func raiseNoFile(want uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur >= want {
		// Set it anyway, so that children inherit it rather than the
		// limit Go found at start-up.
		return lim.Cur, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	if lim.Max < want {
		raised := syscall.Rlimit{Cur: want, Max: want}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			return want, nil
		}
		lim.Cur = lim.Max
	} else {
		lim.Cur = want
	}
	return lim.Cur, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
}

// choosePinning decides where wrk and the servers run.
func choosePinning(mode string) pinning {
	_, tasksetErr := exec.LookPath("taskset")
	cpus := runtime.NumCPU()
	switch {
	case mode == "off":
		return pinning{desc: "unpinned (-pin off): wrk and the server share all CPUs"}
	case cpus < 2 || tasksetErr != nil:
		why := fmt.Sprintf("%d CPU", cpus)
		if tasksetErr != nil {
			why = "taskset not found"
		}
		return pinning{desc: "unpinned (" + why + "): wrk and the server share all CPUs"}
	}
	return pinning{
		wrk:    []string{"taskset", "-c", "0"},
		server: []string{"taskset", "-c", "1"},
		desc: "pinned with taskset: wrk on CPU 0, the server on CPU 1 " +
			"(Go servers then run with GOMAXPROCS 1 and MetricStream with one event loop)",
	}
}

// fill describes the machine.
func (m *machine) fill(wrkPath string) {
	m.CPUs = runtime.NumCPU()
	m.GoVersion = runtime.Version()
	m.StartedUTC = time.Now().UTC().Format(time.RFC3339)
	m.LoadBefore = loadAvg()
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(data))
	}
	// wrk -v prints its version and exits with status 1.
	out, _ := exec.Command(wrkPath, "-v").CombinedOutput()
	if f := strings.Fields(string(out)); len(f) >= 2 && f[0] == "wrk" {
		m.WrkVersion = f[1]
	}
}

// loadAvg is the first three fields of /proc/loadavg.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// print writes the markdown report.
func (o *options) print(w io.Writer, rep *report, systems []system) error {
	m := rep.Machine
	fmt.Fprintf(w, "## Load test\n\n")
	fmt.Fprintf(w, "- machine: %d CPUs, %s, %s, %s, wrk %s\n", m.CPUs, m.CPUModel, m.Kernel, m.GoVersion, m.WrkVersion)
	fmt.Fprintf(w, "- load average (1, 5, 15 min) before: %s; after: %s\n", m.LoadBefore, m.LoadAfter)
	fmt.Fprintf(w, "- CPU: %s\n", rep.Pinning)
	warm := "no warm-up run"
	if o.warmup > 0 {
		warm = "a discarded " + o.warmup.String() + " warm-up run before each measured run"
	}
	fmt.Fprintf(w, "- load: `wrk -t%d -c%d -d%s --latency -s <script> <url> -- %d` (%d metrics per request, one client id), "+
		"%s, %s interleaved (every system once per round, same order)\n",
		o.threads, o.conns, o.duration, metricsPerRequest, metricsPerRequest, warm, plural(o.rounds, "round"))
	fmt.Fprintf(w, "- servers: started fresh for every run on 127.0.0.1 with a new data directory, stopped with SIGTERM after it; "+
		"MetricStream, nethttpbase and fasthttpbase with a per-client limit of %s req/s (the limiter runs but never refuses)\n", limiterRate)
	for _, s := range systems {
		fmt.Fprintf(w, "  - %s: `%s` (%s, %s)\n", s.name, strings.Join(rep.Commands[s.name], " "), s.script, s.target)
	}
	for _, name := range sortedKeys(rep.Skipped) {
		fmt.Fprintf(w, "- skipped %s: %s\n", name, oneLine(rep.Skipped[name]))
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "- note: %s\n", n)
	}
	fmt.Fprintf(w, "\n### Results (median of %s)\n\n", plural(o.rounds, "round"))
	if err := loadtest.WriteTable(w, rep.Rows, rep.Reference); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nreq/s counts 2xx answers only; metrics/s = req/s × %d; p50 and p99 are wrk's (closed loop, medians of the rounds); "+
		"errors = non-2xx answers + socket errors, summed over the rounds; peak RSS = largest VmHWM of the server's process; "+
		"the last column is req/s over %s's.\n", metricsPerRequest, rep.Reference)
	if rep.Idle != nil {
		fmt.Fprintf(w, "\n### Memory\n\n")
		if err := loadtest.WriteIdle(w, *rep.Idle); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\n### Rounds\n\n")
	return loadtest.WriteRounds(w, rep.Runs)
}

// plural prints n and noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// oneLine keeps the first line of a possibly multi-line message.
func oneLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

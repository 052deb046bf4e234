//go:build linux

// Command loadtest runs the side-by-side load test behind `make loadtest`:
// the gnet ceiling, MetricStream in eight configurations (-ack written with
// the default writer, with the file writer and without page-cache trimming,
// -ack queued, -ack synced, line protocol, and forwarding to VictoriaMetrics,
// at its default priority and at ingest's, when the binary has -forward), the
// net/http and fasthttp baselines, and VictoriaMetrics when
// it is installed, each driven by wrk with the same batches, in interleaved
// rounds, on one machine.
//
// It builds nothing: bench/loadtest.sh builds bin/metricstream,
// bin/nethttpbase, bin/fasthttpbase, bin/gnetnop and this command first.
// Run it from the repository root (the wrk scripts are read from -scripts):
//
//	bin/loadtest                       # 2 rounds of 10 s runs, 64 connections, pinned
//	bin/loadtest -d 5s -rounds 3 -json results.json
//	bin/loadtest -pin off              # unpinned: wrk and the servers share every CPU
//	bin/loadtest -systems gnetnop,metricstream/written/file -idle-conns 0
//
// Systems are picked by name (the sys constants); the reference of the
// ratios is metricstream/written/auto. For every run a system is started as
// a subprocess on a free loopback port with a new temporary data directory
// (after its sink, for the forwarding systems), probed until GET /health
// answers 200, loaded by a discarded warm-up wrk run and then by the
// measured one, measured (VmHWM, VmRSS; MetricStream's statistics name its
// writer), stopped with SIGTERM and waited for. With two or more CPUs and
// taskset installed, wrk runs on CPU 0 and the server on CPU 1, so the
// generator and the server do not take each other's CPU. Once, the
// reference also holds -idle-conns idle keep-alive connections opened by
// this process, to show memory per connection.
//
// The report (markdown) goes to stdout (and to -md), progress to stderr;
// -svg writes the chart of req/s bars and latency percentile curves, -json
// the raw results. Exit status: 0 after a complete run, 1 when a system that should
// have run could not be measured (the table then lacks it) or the run could
// not start, 2 for bad flags.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
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

// options are the command's flags, and where progress goes.
type options struct {
	duration, warmup time.Duration
	rounds, conns    int
	threads          int
	idleConns        int
	binDir           string
	scriptDir        string
	wrkPath          string
	vmPath           string
	forwardEven      bool // run sysForwardEven too
	pin              string
	systems          string
	jsonPath         string
	svgPath          string
	mdPath           string
	log              io.Writer
}

// pinning says where wrk and the servers run. The prefixes are prepended to
// their command lines; both are empty when unpinned.
type pinning struct {
	wrk, server []string
	desc        string
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run parses args, runs the load test and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	o := options{log: stderr}
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.duration, "d", 10*time.Second, "duration of each measured wrk run (whole seconds, at least 1s)")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "duration of the discarded wrk run before each measured one (whole seconds; 0 skips it)")
	fs.IntVar(&o.rounds, "rounds", 2, "rounds; each round runs every system once, in the same order")
	fs.IntVar(&o.conns, "conns", 64, "wrk connections (-c)")
	fs.IntVar(&o.threads, "threads", 1, "wrk threads (-t); at most -conns")
	fs.IntVar(&o.idleConns, "idle-conns", 10000, "idle keep-alive connections held once against "+reference+" to measure its memory (0 skips it)")
	fs.StringVar(&o.binDir, "bin", "bin", "`directory` of the metricstream, nethttpbase, fasthttpbase and gnetnop binaries")
	fs.StringVar(&o.scriptDir, "scripts", filepath.Join("bench", "wrk"), "`directory` of the wrk scripts metrics.lua and line.lua")
	fs.StringVar(&o.wrkPath, "wrk", "wrk", "wrk executable")
	fs.StringVar(&o.vmPath, "victoria-metrics", "victoria-metrics", "VictoriaMetrics single-node executable, added with the line-protocol script (and as the forwarding sink) when found; empty skips it")
	fs.BoolVar(&o.forwardEven, "forward-even", true, "run "+sysForwardEven+" (the forwarder at ingest's priority) next to "+sysForward)
	fs.StringVar(&o.pin, "pin", "auto", "CPU pinning with taskset: auto (wrk on CPU 0, server on CPU 1 when there are 2+ CPUs and taskset exists), on, or off (unpinned: wrk and the servers share every CPU)")
	fs.StringVar(&o.systems, "systems", "", "comma-separated names of the systems to run (default: all available)")
	fs.StringVar(&o.jsonPath, "json", "", "also write the results as JSON to this `file`")
	fs.StringVar(&o.svgPath, "svg", filepath.Join("bench", "loadtest.svg"), "write the chart (req/s bars, latency percentile curves) to this `file`; empty skips it")
	fs.StringVar(&o.mdPath, "md", "", "also write the markdown report to this `file`, ready to paste into BENCHMARKS.md")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := o.validate(fs); err != nil {
		fmt.Fprintf(stderr, "loadtest: %v\n", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := o.execute(ctx, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "loadtest: %v\n", err)
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

// execute runs everything and prints the report. The returned code is 1
// when a system that should have run was not measured.
func (o *options) execute(ctx context.Context, stdout io.Writer) (int, error) {
	systems, rep, err := o.prepare()
	if err != nil {
		return 1, err
	}
	pin := choosePinning(o.pin)
	rep.Pinning = pin.desc
	for _, s := range systems {
		rep.Commands[s.name] = append(append(slices.Clone(pin.server), s.bin), s.args("127.0.0.1:PORT", "DATADIR", "127.0.0.1:SINKPORT")...)
	}
	code := o.runRounds(ctx, systems, pin, rep)
	if err := ctx.Err(); err != nil {
		return 1, err
	}
	rep.Rows = loadtest.Summarize(rep.Runs, metricsPerRequest, reference)
	rep.Ratios = computeRatios(rep.Rows, rep.Writers)
	if o.idleConns > 0 {
		code = max(code, o.idleMemory(ctx, systems, pin, rep))
		if err := ctx.Err(); err != nil {
			return 1, err
		}
	}
	rep.Machine.LoadAfter = loadAvg()
	var md bytes.Buffer
	if err := o.print(&md, rep, systems); err != nil {
		return 1, err
	}
	if _, err := stdout.Write(md.Bytes()); err != nil {
		return 1, err
	}
	if o.mdPath != "" {
		if err := os.WriteFile(o.mdPath, md.Bytes(), 0o644); err != nil {
			return 1, err
		}
	}
	return code, o.writeFiles(rep)
}

// prepare finds wrk, the systems to run and their files, raises the
// open-files limit and starts the report.
func (o *options) prepare() ([]system, *report, error) {
	wrkBin, err := exec.LookPath(o.wrkPath)
	if err != nil {
		return nil, nil, fmt.Errorf("wrk not found (apt-get install wrk): %w", err)
	}
	o.wrkPath = wrkBin
	inv := o.discover()
	systems, err := o.selectSystems(o.systemList(inv))
	if err != nil {
		return nil, nil, err
	}
	if err := o.checkFiles(systems); err != nil {
		return nil, nil, err
	}
	rep := &report{
		Duration: o.duration.String(), Warmup: o.warmup.String(), Rounds: o.rounds,
		Conns: o.conns, Threads: o.threads, Metrics: metricsPerRequest, Reference: reference,
		Skipped: map[string]string{}, Commands: map[string][]string{}, Writers: map[string]string{},
		Forwarded: map[string]forwardedRun{},
		Notes:     inv.notes,
	}
	o.raiseLimit(rep)
	rep.Machine.fill(o.wrkPath)
	return systems, rep, nil
}

// raiseLimit raises the open-files limit for the idle connections, and
// lowers -idle-conns when it cannot. It must run before any server starts:
// children inherit the limit, and an explicit Setrlimit stops Go from
// restoring the original limit in them.
func (o *options) raiseLimit(rep *report) {
	var err error
	if rep.Machine.OpenFileMax, err = raiseNoFile(uint64(o.idleConns) + 4096); err != nil {
		rep.Notes = append(rep.Notes, "open-files limit not raised: "+err.Error())
	}
	if o.idleConns > 0 && rep.Machine.OpenFileMax < uint64(o.idleConns)+256 {
		n := int(max(0, int64(rep.Machine.OpenFileMax)-256))
		rep.Notes = append(rep.Notes, fmt.Sprintf("open-files limit %d: idle connections lowered from %d to %d",
			rep.Machine.OpenFileMax, o.idleConns, n))
		o.idleConns = n
	}
}

// runRounds measures every system once per round, in order, and records
// the runs in rep. A system that fails is skipped for the remaining rounds
// and makes the returned code 1.
func (o *options) runRounds(ctx context.Context, systems []system, pin pinning, rep *report) int {
	code := 0
	for round := 1; round <= o.rounds; round++ {
		for _, s := range systems {
			if _, failed := rep.Skipped[s.name]; failed {
				continue
			}
			if ctx.Err() != nil {
				return 1
			}
			r, st, err := o.measure(ctx, s, pin, round)
			if err != nil {
				if ctx.Err() != nil {
					return 1
				}
				rep.Skipped[s.name] = fmt.Sprintf("round %d: %v", round, err)
				fmt.Fprintf(o.log, "loadtest: %s: %v\n", s.name, err)
				code = 1
				continue
			}
			rep.Runs = append(rep.Runs, r)
			if s.metricstream {
				rep.Writers[s.name] = st.Writer
			}
			if s.sink != nil {
				rep.Forwarded[s.name] = forwardedRun{Round: round, Reported: st.Forward != nil, Samples: st.forwarded(),
					Acknowledged: int64(r.Wrk.OKPerSec()*r.Wrk.Duration.Seconds()+0.5) * metricsPerRequest}
			}
			p999, _ := r.Wrk.At(99.9)
			fmt.Fprintf(o.log, "loadtest: round %d/%d %s: %s req/s (2xx), p99 %s, p99.9 %s, errors %d, peak RSS %s\n",
				round, o.rounds, s.name, loadtest.FormatCount(r.Wrk.OKPerSec()), loadtest.FormatLatency(r.Wrk.P99),
				loadtest.FormatLatency(p999), r.Wrk.Errors(), loadtest.FormatBytes(r.Memory.HWM))
		}
	}
	return code
}

// idleMemory measures the reference with o.idleConns idle connections and
// records it in rep; it returns 1 when that failed.
func (o *options) idleMemory(ctx context.Context, systems []system, pin pinning, rep *report) int {
	ref := find(systems, reference)
	if _, failed := rep.Skipped[reference]; ref == nil || failed {
		rep.Notes = append(rep.Notes, "idle-connection memory not measured: "+reference+" did not run")
		return 0
	}
	fmt.Fprintf(o.log, "loadtest: %s with %d idle connections\n", ref.name, o.idleConns)
	m, err := o.measureIdle(ctx, *ref, pin)
	if err != nil {
		rep.Notes = append(rep.Notes, "idle-connection memory not measured: "+err.Error())
		return 1
	}
	for _, row := range rep.Rows {
		if row.System == ref.name {
			m.LoadRSS, m.LoadPeak = row.EndRSS, row.PeakRSS
		}
	}
	m.LoadConns = o.conns
	rep.Idle = &m
	return 0
}

// measure runs one round of one system: start (after its sink), warm up,
// measure, read a MetricStream's statistics, stop.
func (o *options) measure(ctx context.Context, s system, pin pinning, round int) (run loadtest.Run, st msStats, err error) {
	run = loadtest.Run{System: s.name, Round: round}
	sinkAddr := ""
	if s.sink != nil {
		// The sink stands for the central tier, another machine in a deployment: it runs
		// beside the load generator, never on the edge server's CPU.
		sink, addr, err := startSystem(ctx, *s.sink, pin.wrk, "")
		if err != nil {
			return run, st, fmt.Errorf("sink: %w", err)
		}
		defer sink.cleanup()
		sinkAddr = addr
	}
	srv, addr, err := startSystem(ctx, s, pin.server, sinkAddr)
	if err != nil {
		return run, st, err
	}
	defer srv.cleanup()
	url := "http://" + addr + s.target
	script := filepath.Join(o.scriptDir, s.script)
	if o.warmup > 0 {
		if _, err := o.wrk(ctx, pin, script, url, o.warmup); err != nil {
			return run, st, fmt.Errorf("warm-up: %w", err)
		}
	}
	out, err := o.wrk(ctx, pin, script, url, o.duration)
	if err != nil {
		return run, st, err
	}
	if run.Wrk, err = loadtest.ParseWrk(out); err != nil {
		return run, st, err
	}
	if run.Memory, err = loadtest.ReadMemory(srv.pid()); err != nil {
		return run, st, fmt.Errorf("server gone after the run: %w%s", err, srv.tail())
	}
	if s.metricstream {
		if st, err = statsOf(ctx, addr); err != nil {
			return run, st, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return run, st, srv.stop()
}

// measureIdle starts s once, reads its memory, opens o.idleConns idle
// keep-alive connections, and reads it again.
func (o *options) measureIdle(ctx context.Context, s system, pin pinning) (loadtest.IdleMemory, error) {
	m := loadtest.IdleMemory{System: s.name, Conns: o.idleConns}
	srv, addr, err := startSystem(ctx, s, pin.server, "")
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

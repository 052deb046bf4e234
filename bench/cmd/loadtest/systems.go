//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// The systems under test, by name. Everything that picks a system (the
// reference, the ratios, the idle-memory run) picks it by one of these.
const (
	sysCeiling  = "gnetnop"
	sysWritten  = "metricstream/written/auto"
	sysFile     = "metricstream/written/file"
	sysKernelPC = "metricstream/written/auto -cache-bytes 0"
	sysQueued   = "metricstream/queued/auto"
	sysSynced   = "metricstream/synced/auto"
	sysLine     = "metricstream/written/auto (line)"
	sysNetHTTP  = "nethttpbase"
	sysFastHTTP = "fasthttpbase"
	sysVM       = "victoria-metrics (line)"
	sysForward  = "metricstream/written/auto +forward"
	// sysForwardEven is sysForward with the forwarder at ingest's priority
	// (-forward-nice 0): the CPU shared evenly instead of ingest first, which
	// shows what the default's lower priority buys ingest and costs forwarding.
	sysForwardEven = "metricstream/written/auto +forward -forward-nice 0"
)

// reference is the system every row's ratio is taken against: MetricStream
// as shipped (-ack written, -writer auto).
const reference = sysWritten

// The wrk scripts under -scripts and the request targets they are pointed
// at.
const (
	jsonScript = "metrics.lua"
	lineScript = "line.lua"
	jsonTarget = "/metrics"
	lineTarget = "/write?precision=ms"
)

// system is one server under test and how to drive it.
type system struct {
	name string
	bin  string
	// args builds the server's arguments for a listen address, a data
	// directory and, for a system with a sink, the sink's address.
	args func(addr, dataDir, sinkAddr string) []string
	// script is the wrk script under -scripts; target the request target
	// (path and query) it is pointed at; health the readiness probe path.
	script, target, health string
	// sink, when set, is started (not measured, pinned with wrk) before the
	// system and stopped after it; the system forwards to it.
	sink *system
	// metricstream systems answer GET /metrics with their statistics,
	// which name the writer -writer auto chose.
	metricstream bool
}

// inventory is what was found on this machine: which optional systems can
// run, and why the others cannot.
type inventory struct {
	vmBin   string // VictoriaMetrics executable; "" when absent
	forward bool   // bin/metricstream -h lists -forward
	notes   []string
}

// forwardFlag matches the -forward flag in the output of `metricstream -h`.
var forwardFlag = regexp.MustCompile(`(?m)^\s+-forward(\s|$)`)

// discover looks for VictoriaMetrics and for MetricStream's -forward flag.
func (o *options) discover() inventory {
	var inv inventory
	if o.vmPath != "" {
		if p, err := exec.LookPath(o.vmPath); err == nil {
			inv.vmBin = p
		} else {
			inv.notes = append(inv.notes, "VictoriaMetrics not installed ("+o.vmPath+" not found): "+sysVM+" and the forwarding systems skipped")
		}
	}
	// -h prints the flags and exits with status 0 or 2 (flag.ErrHelp).
	out, _ := exec.Command(filepath.Join(o.binDir, "metricstream"), "-h").CombinedOutput()
	inv.forward = forwardFlag.Match(out)
	if !inv.forward && inv.vmBin != "" {
		inv.notes = append(inv.notes, "bin/metricstream -h lists no -forward flag: the forwarding systems skipped")
	}
	return inv
}

// systemList is every system in run order. VictoriaMetrics is included when
// inv.vmBin is set; MetricStream forwarding to it when inv.forward is set
// too.
func (o *options) systemList(inv inventory) []system {
	list := []system{
		o.baseline(sysCeiling, false),
		o.metricstream(sysWritten, "written", "auto", jsonScript, jsonTarget),
		o.metricstream(sysFile, "written", "file", jsonScript, jsonTarget),
		o.untrimmed(o.metricstream(sysKernelPC, "written", "auto", jsonScript, jsonTarget)),
		o.metricstream(sysQueued, "queued", "auto", jsonScript, jsonTarget),
		o.metricstream(sysSynced, "synced", "auto", jsonScript, jsonTarget),
		o.metricstream(sysLine, "written", "auto", lineScript, lineTarget),
		o.baseline(sysNetHTTP, true),
		o.baseline(sysFastHTTP, true),
	}
	if inv.vmBin == "" {
		return list
	}
	vm := system{
		name: sysVM,
		bin:  inv.vmBin,
		args: func(addr, dir, _ string) []string {
			return []string{"-httpListenAddr", addr, "-storageDataPath", dir,
				"-influxSkipSingleField", "-loggerLevel", "ERROR"}
		},
		script: lineScript, target: lineTarget, health: "/health",
	}
	list = append(list, vm)
	if inv.forward {
		list = append(list, o.forwarding(sysForward, &vm))
		if o.forwardEven {
			list = append(list, o.forwarding(sysForwardEven, &vm, "-forward-nice", "0"))
		}
	}
	return list
}

// forwarding is the reference forwarding by remote write to sink, with the
// extra flags.
func (o *options) forwarding(name string, sink *system, extra ...string) system {
	fwd := o.metricstream(name, "written", "auto", jsonScript, jsonTarget)
	plain := fwd.args
	fwd.args = func(addr, dir, sinkAddr string) []string {
		args := append(plain(addr, dir, ""), "-forward", "http://"+sinkAddr+"/api/v1/write")
		return append(args, extra...)
	}
	fwd.sink = sink
	return fwd
}

// metricstream is bin/metricstream with an ack mode and a writer, loaded
// with script at target.
func (o *options) metricstream(name, ack, writer, script, target string) system {
	return system{
		name: name,
		bin:  filepath.Join(o.binDir, "metricstream"),
		args: func(addr, dir, _ string) []string {
			return []string{"-addr", addr, "-data-dir", dir, "-ack", ack, "-writer", writer,
				"-rate", limiterRate, "-stats-interval", "0"}
		},
		script: script, target: target, health: "/health", metricstream: true,
	}
}

// untrimmed is s with the page cache left to the kernel (no trimming): what
// the trimmer buys, measured in the same run.
func (o *options) untrimmed(s system) system {
	plain := s.args
	s.args = func(addr, dir, sinkAddr string) []string {
		return append(plain(addr, dir, sinkAddr), "-cache-bytes", "0")
	}
	return s
}

// baseline is one of the bench/cmd baselines, loaded with the JSON script;
// withData gives it a data directory and the limiter rate.
func (o *options) baseline(name string, withData bool) system {
	return system{
		name: name,
		bin:  filepath.Join(o.binDir, name),
		args: func(addr, dir, _ string) []string {
			if !withData {
				return []string{"-addr", addr}
			}
			return []string{"-addr", addr, "-data-dir", dir, "-rate", limiterRate}
		},
		script: jsonScript, target: jsonTarget, health: "/health",
	}
}

// selectSystems applies -systems to all.
func (o *options) selectSystems(all []system) ([]system, error) {
	want := map[string]bool{}
	for name := range strings.SplitSeq(o.systems, ",") {
		if name = strings.TrimSpace(name); name != "" {
			want[name] = true
		}
	}
	everything := len(want) == 0
	var out []system
	for _, s := range all {
		if everything || want[s.name] {
			out = append(out, s)
		}
		delete(want, s.name)
	}
	for name := range want {
		var names []string
		for _, s := range all {
			names = append(names, s.name)
		}
		return nil, fmt.Errorf("-systems: unknown or unavailable system %q (here: %s)", name, strings.Join(names, ", "))
	}
	if len(out) == 0 {
		return nil, errors.New("no system to run")
	}
	return out, nil
}

// checkFiles checks that the binaries and wrk scripts of systems exist.
func (o *options) checkFiles(systems []system) error {
	for _, s := range systems {
		if _, err := os.Stat(s.bin); err != nil {
			return fmt.Errorf("%s: %w (run bench/loadtest.sh, which builds the binaries first)", s.name, err)
		}
		if _, err := os.Stat(filepath.Join(o.scriptDir, s.script)); err != nil {
			return fmt.Errorf("wrk script: %w (run from the repository root or set -scripts)", err)
		}
	}
	return nil
}

// find returns the system named name in systems, or nil.
func find(systems []system, name string) *system {
	for i := range systems {
		if systems[i].name == name {
			return &systems[i]
		}
	}
	return nil
}

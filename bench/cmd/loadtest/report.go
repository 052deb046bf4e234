//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"metricstream/bench/loadtest"
)

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
	Ratios    []ratio              `json:"ratios"`
	Runs      []loadtest.Run       `json:"runs"`
	Idle      *loadtest.IdleMemory `json:"idle_memory,omitempty"`
	Notes     []string             `json:"notes,omitempty"`
	Skipped   map[string]string    `json:"skipped,omitempty"`
	Commands  map[string][]string  `json:"server_commands"`
	// Writers maps each MetricStream system to the writer its statistics
	// named (what -writer auto chose).
	Writers map[string]string `json:"writers,omitempty"`
	// Forwarded maps each forwarding system to its last run's count.
	Forwarded map[string]forwardedRun `json:"forwarded,omitempty"`
}

// forwardedRun is how far a forwarding system got in one run: the samples
// its sinks acknowledged by the end of the measured run, of those it
// acknowledged to wrk in that run (the warm-up's come on top).
type forwardedRun struct {
	Round int `json:"round"`
	// Reported is false when the statistics had no "forward" entry.
	Reported     bool  `json:"reported"`
	Samples      int64 `json:"samples"`
	Acknowledged int64 `json:"acknowledged"`
}

// ratio is one comparison the report states: Num's req/s over Den's. Both
// send the same metrics per request, so it is the ratio of samples/s too.
type ratio struct {
	Label string  `json:"label"`
	Num   string  `json:"numerator"`
	Den   string  `json:"denominator"`
	Value float64 `json:"value"`
}

// ratioDefs are the comparisons the issues ask for, by system name. The
// label of the writer comparison names the writer -writer auto ran.
var ratioDefs = []ratio{
	{Label: "MetricStream -ack written over the gnet ceiling", Num: sysWritten, Den: sysCeiling},
	{Label: "default writer (%s) over the file writer, -ack written", Num: sysWritten, Den: sysFile},
	{Label: "page-cache trimming on over off (-cache-bytes 64 MiB over 0)", Num: sysWritten, Den: sysKernelPC},
	{Label: "-ack synced over -ack written", Num: sysSynced, Den: sysWritten},
	{Label: "-ack queued over -ack written", Num: sysQueued, Den: sysWritten},
	{Label: "forwarding to VictoriaMetrics on over off", Num: sysForward, Den: sysWritten},
	{Label: "forwarding at ingest's priority (-forward-nice 0) on over off", Num: sysForwardEven, Den: sysWritten},
	{Label: "MetricStream JSON over VictoriaMetrics line protocol, samples/s", Num: sysWritten, Den: sysVM},
	{Label: "MetricStream line protocol over VictoriaMetrics line protocol, samples/s", Num: sysLine, Den: sysVM},
	{Label: "MetricStream over net/http (thread per connection, same work)", Num: sysWritten, Den: sysNetHTTP},
	{Label: "MetricStream over fasthttp (worker pool, same work)", Num: sysWritten, Den: sysFastHTTP},
}

// computeRatios evaluates ratioDefs on rows, leaving out those whose
// systems did not both run.
func computeRatios(rows []loadtest.Row, writers map[string]string) []ratio {
	rate := map[string]float64{}
	for _, r := range rows {
		rate[r.System] = r.ReqPerSec
	}
	var out []ratio
	for _, d := range ratioDefs {
		num, den := rate[d.Num], rate[d.Den]
		if num == 0 || den == 0 {
			continue
		}
		if strings.Contains(d.Label, "%s") {
			d.Label = fmt.Sprintf(d.Label, cmp(writers[d.Num], "unknown"))
		}
		d.Value = num / den
		out = append(out, d)
	}
	return out
}

// cmp returns s, or def when s is empty.
func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
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

// writeFiles writes the -json and -svg files the flags ask for.
func (o *options) writeFiles(rep *report) error {
	if o.jsonPath != "" {
		data, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return fmt.Errorf("encode JSON: %w", err)
		}
		if err := os.WriteFile(o.jsonPath, append(data, '\n'), 0o644); err != nil {
			return err
		}
	}
	if o.svgPath != "" {
		var b bytes.Buffer
		title := fmt.Sprintf("MetricStream load test %s (%s): wrk -c%d -d%s, %d metrics a request, %s",
			rep.Machine.StartedUTC[:10], strings.SplitN(rep.Pinning, ":", 2)[0], o.conns, o.duration, metricsPerRequest, plural(o.rounds, "round"))
		if err := loadtest.WriteSVG(&b, title, rep.Rows); err != nil {
			return err
		}
		if err := os.WriteFile(o.svgPath, b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// print writes the markdown report.
func (o *options) print(w io.Writer, rep *report, systems []system) error {
	o.printSetup(w, rep, systems)
	fmt.Fprintf(w, "\n### Results (median of %s)\n\n", plural(o.rounds, "round"))
	if err := loadtest.WriteTable(w, rep.Rows, rep.Reference); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nreq/s counts 2xx answers only; metrics/s = req/s × %d; latencies are wrk's (closed loop, medians of the rounds; "+
		"p99.9 and p99.99 from the scripts' done()); errors = non-2xx answers + socket errors, summed over the rounds; "+
		"peak RSS = largest VmHWM of the server's process; the last column is req/s over %s's.\n", metricsPerRequest, rep.Reference)
	if o.svgPath != "" {
		fmt.Fprintf(w, "\n![req/s per system and latency percentile curves](%s)\n", o.svgPath)
	}
	if len(rep.Ratios) > 0 {
		fmt.Fprintf(w, "\n### Ratios\n\n| comparison | ratio |\n| --- | ---: |\n")
		for _, r := range rep.Ratios {
			fmt.Fprintf(w, "| %s (`%s` / `%s`) | %s |\n", r.Label, r.Num, r.Den, loadtest.FormatRatio(r.Value))
		}
	}
	if rep.Idle != nil {
		fmt.Fprintf(w, "\n### Memory\n\n")
		if err := loadtest.WriteIdle(w, *rep.Idle); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\n### Rounds\n\n")
	return loadtest.WriteRounds(w, rep.Runs)
}

// printSetup writes the report's header: machine, pinning, load, systems.
func (o *options) printSetup(w io.Writer, rep *report, systems []system) {
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
		fmt.Fprintf(w, "  - %s: `%s` (%s, %s)", s.name, strings.Join(rep.Commands[s.name], " "), s.script, s.target)
		if wr := rep.Writers[s.name]; wr != "" {
			fmt.Fprintf(w, "; writer: %s", wr)
		}
		if s.sink != nil {
			fmt.Fprintf(w, "; forwards to %s started beside it, on wrk's CPU (the central tier is not on the edge host)", s.sink.name)
			if f, ok := rep.Forwarded[s.name]; ok && !f.Reported {
				fmt.Fprintf(w, "; round %d: its statistics (GET /metrics) had no \"forward\" entry", f.Round)
			} else if ok {
				fmt.Fprintf(w, "; round %d: the sink had acknowledged %s samples when wrk stopped, of %s ingested in the measured run (plus the warm-up's)",
					f.Round, loadtest.FormatCount(float64(f.Samples)), loadtest.FormatCount(float64(f.Acknowledged)))
			}
		}
		fmt.Fprintln(w)
	}
	for _, name := range sortedKeys(rep.Skipped) {
		fmt.Fprintf(w, "- skipped %s: %s\n", name, oneLine(rep.Skipped[name]))
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "- note: %s\n", n)
	}
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

package main

// Forwarding to a real VictoriaMetrics single node through the real binary (SPEC §11, issue
// 11): both wire formats compared sample by sample, a sink outage, and kill -9 of the forwarder.

import (
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// fwSinkURLs returns the two sinks of one VictoriaMetrics, told apart by an extra label.
func fwSinkURLs(vm *fwVM) (rw, influx string) {
	return "http://" + vm.addr + "/api/v1/write?extra_label=via=rw#rw",
		"http://" + vm.addr + "/write?extra_label=via=influx#influx"
}

// TestForwardVictoriaMetrics: every stored sample reaches VictoriaMetrics through remote write
// and through line protocol, with the same name, labels, value and timestamp.
func TestForwardVictoriaMetrics(t *testing.T) {
	vm := fwStartVM(t, t.TempDir(), "")
	rw, influx := fwSinkURLs(vm)
	dir := t.TempDir()
	p := startProc(t, dir, "-ack", "written", "-rate", "0", "-forward", rw, "-forward", influx, "-forward-batch", "100")
	var acks atomic.Int64
	fwLoad(t, p.addr, 4, 50, nil, &acks)
	if acks.Load() != 200 {
		t.Fatalf("%d of 200 batches acknowledged", acks.Load())
	}
	wantRW := fwExpected(t, dir, "remote-write", map[string]string{"via": "rw"})
	wantInflux := fwExpected(t, dir, "influx", map[string]string{"via": "influx"})
	if len(wantRW) != 600 {
		t.Fatalf("%d stored lines; want 600", len(wantRW))
	}
	fwPoll(t, 20*time.Second, "600 samples per sink in VictoriaMetrics", func() bool {
		return len(vm.export(t, `{via="rw"}`)) >= 600 && len(vm.export(t, `{via="influx"}`)) >= 600
	})
	fwDiff(t, "remote write", vm.export(t, `{via="rw"}`), wantRW)
	fwDiff(t, "line protocol", vm.export(t, `{via="influx"}`), wantInflux)
	fwCheckStats(t, p.addr, map[string]int{"rw": 600, "influx": 600})
	ecoStopProc(t, p)
	for _, sink := range []string{"rw", "influx"} {
		s, ok := fwLastSummary(p.logs.String(), sink)
		if !ok || s.samples != 600 || s.failed != 0 || s.rejected+s.retention+s.invalid != 0 || s.lagBytes != 0 {
			t.Errorf("sink %s summary %+v (found %v); want 600 samples, no failure, no drop, no lag", sink, s, ok)
		}
	}
}

// sinkOutage is how long TestForwardSinkOutage keeps VictoriaMetrics down: the 30 s, in
// which the retries back off from 1 s to 16 s and a backlog of about 30 s of writes builds up.
const sinkOutage = 30 * time.Second

// TestForwardSinkOutage: VictoriaMetrics is stopped for sinkOutage while clients keep writing,
// then started again on the same port and data. Every acknowledged sample arrives, and the lag
// rises during the outage and returns to 0.
func TestForwardSinkOutage(t *testing.T) {
	t.Parallel() // mostly the outage's wait: it overlaps the other waiting tests
	vmDir := t.TempDir()
	vm := fwStartVM(t, vmDir, "")
	rw, _ := fwSinkURLs(vm)
	dir := t.TempDir()
	p := startProc(t, dir, "-ack", "written", "-rate", "0", "-stats-interval", "200ms", "-forward", rw, "-forward-batch", "200")
	stop := make(chan struct{})
	var acks atomic.Int64
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		fwLoadEvery(t, p.addr, 2, 0, 2*time.Millisecond, stop, &acks) // about 3 000 samples/s
	}()
	fwPoll(t, 10*time.Second, "samples in VictoriaMetrics", func() bool { return len(vm.export(t, `{via="rw"}`)) > 0 })
	vm.stop(t)
	outage := time.Now()
	fwPoll(t, 10*time.Second, "a lag during the outage", func() bool {
		s, _ := fwLastSummary(p.logs.String(), "rw")
		return s.lagBytes > 0 && s.retries > 0
	})
	time.Sleep(time.Until(outage.Add(sinkOutage))) // the outage itself: clients keep writing
	vm = fwStartVM(t, vmDir, vm.addr)
	time.Sleep(500 * time.Millisecond) // writes go on a little after the sink is back
	close(stop)
	<-loaded
	want := fwExpected(t, dir, "remote-write", map[string]string{"via": "rw"})
	if int64(len(want)) < 3*acks.Load() {
		t.Fatalf("%d stored lines for %d acknowledged batches of 3", len(want), acks.Load())
	}
	// The next retry may be a whole backoff step (up to 32 s after a 30 s outage) away.
	fwPoll(t, 75*time.Second, "the backlog in VictoriaMetrics", func() bool { return len(vm.export(t, `{via="rw"}`)) >= len(want) })
	fwDiff(t, "after the outage", vm.export(t, `{via="rw"}`), want)
	fwPoll(t, 10*time.Second, "the lag back to 0", func() bool {
		s, _ := fwLastSummary(p.logs.String(), "rw")
		return s.lagBytes == 0
	})
	s, _ := fwLastSummary(p.logs.String(), "rw")
	t.Logf("%d samples after a %v outage, %d retries, %d failed requests", len(want), sinkOutage, s.retries, s.failed)
	ecoStopProc(t, p)
}

// TestForwardKill9: the forwarder is killed with kill -9 mid-stream and restarted. Afterwards
// VictoriaMetrics holds every stored sample; the samples it holds twice were resent, and the
// resends, counted, are at most the in-flight window.
func TestForwardKill9(t *testing.T) {
	vm := fwStartVM(t, t.TempDir(), "")
	rw, _ := fwSinkURLs(vm)
	dir := t.TempDir()
	const inflight, batch = 4, 50
	args := []string{"-ack", "written", "-rate", "0", "-forward", rw, "-forward-batch", "50", "-forward-inflight", "4"}
	p := startProc(t, dir, args...)
	stop := make(chan struct{})
	var acks atomic.Int64
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		fwLoad(t, p.addr, 4, 0, stop, &acks)
	}()
	fwPoll(t, 10*time.Second, "forwarding under way", func() bool {
		return acks.Load() > 1000 && len(vm.export(t, `{via="rw",conn="0",__name__="fw_reqs"}`)) > 100
	})
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	close(stop)
	<-loaded

	p2 := startProc(t, dir, append(args, "-stats-interval", "200ms")...)
	want := fwExpected(t, dir, "remote-write", map[string]string{"via": "rw"})
	fwPoll(t, 30*time.Second, "every stored sample", func() bool {
		s, _ := fwLastSummary(p2.logs.String(), "rw")
		return s.lagBytes == 0 && strings.Contains(p2.logs.String(), "forward summary")
	})
	ecoStopProc(t, p2)
	got := vm.export(t, `{via="rw"}`)
	dups := fwDuplicates(got)
	if len(got)-dups != len(want) {
		fwDiff(t, "after kill -9 and restart (duplicates aside)", fwUnique(got), want)
	}
	s, _ := fwLastSummary(p2.logs.String(), "rw")
	if int64(dups) > s.resentSamples {
		t.Errorf("%d samples stored twice but only %d counted as resent", dups, s.resentSamples)
	}
	if s.resentRequests > inflight || s.resentSamples > inflight*batch {
		t.Errorf("resent %d requests, %d samples; the window is %d requests of %d", s.resentRequests, s.resentSamples, inflight, batch)
	}
	t.Logf("%d stored samples all in VictoriaMetrics; %d twice; resent %d samples in %d requests after kill -9",
		len(want), dups, s.resentSamples, s.resentRequests)
}

// fwDuplicates counts the keys that repeat the one before them (sorted input).
func fwDuplicates(keys []string) int {
	n := 0
	for i := 1; i < len(keys); i++ {
		if keys[i] == keys[i-1] {
			n++
		}
	}
	return n
}

// fwUnique drops repeated keys of a sorted list.
func fwUnique(keys []string) []string {
	var out []string
	for i, k := range keys {
		if i == 0 || k != keys[i-1] {
			out = append(out, k)
		}
	}
	return out
}

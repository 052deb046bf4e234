//go:build linux

package main

import (
	"flag"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	good := options{duration: 10 * time.Second, warmup: time.Second, rounds: 2, conns: 64, threads: 1, idleConns: 10000, pin: "auto"}
	cases := []struct {
		name   string
		change func(*options)
		ok     bool
	}{
		{"defaults", func(*options) {}, true},
		{"no warm-up", func(o *options) { o.warmup = 0 }, true},
		{"sub-second duration", func(o *options) { o.duration = 1500 * time.Millisecond }, false},
		{"zero duration", func(o *options) { o.duration = 0 }, false},
		{"negative warm-up", func(o *options) { o.warmup = -time.Second }, false},
		{"no rounds", func(o *options) { o.rounds = 0 }, false},
		{"no connections", func(o *options) { o.conns = 0 }, false},
		{"more threads than connections", func(o *options) { o.threads = 65 }, false},
		{"negative idle connections", func(o *options) { o.idleConns = -1 }, false},
		{"bad pinning", func(o *options) { o.pin = "maybe" }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := good
			c.change(&o)
			err := o.validate(flag.NewFlagSet("t", flag.ContinueOnError))
			if (err == nil) != c.ok {
				t.Errorf("validate = %v; want ok %v", err, c.ok)
			}
		})
	}
}

func TestSelectSystems(t *testing.T) {
	o := options{binDir: "bin"}
	all := o.systemList("/usr/bin/victoria-metrics", "file")
	names := func(ss []system) string {
		var n []string
		for _, s := range ss {
			n = append(n, s.name)
		}
		return strings.Join(n, ",")
	}
	cases := []struct {
		name, filter string
		skipped      map[string]string
		want         string
		err          bool
	}{
		{"all", "", nil, "metricstream/written/file,metricstream/written/io_uring,metricstream/queued/auto," +
			"nethttpbase,fasthttpbase,gnetnop,victoria-metrics (line),metricstream/written/file (line)", false},
		{"two, in run order", "gnetnop, metricstream/written/io_uring", nil, "metricstream/written/io_uring,gnetnop", false},
		{"skipped left out", "gnetnop,nethttpbase", map[string]string{"gnetnop": "x"}, "nethttpbase", false},
		{"only a skipped one", "gnetnop", map[string]string{"gnetnop": "x"}, "", true},
		{"unknown", "gnetnop,nginx", nil, "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o.systems = c.filter
			got, err := o.selectSystems(all, c.skipped)
			if (err != nil) != c.err || names(got) != c.want {
				t.Errorf("got %q, %v; want %q, error %v", names(got), err, c.want, c.err)
			}
		})
	}
}

func TestSystemArgs(t *testing.T) {
	o := options{binDir: "bin"}
	all := o.systemList("", "file")
	if len(all) != 6 {
		t.Fatalf("got %d systems without VictoriaMetrics; want 6", len(all))
	}
	got := strings.Join(all[1].args("127.0.0.1:1", "/d"), " ")
	want := "-addr 127.0.0.1:1 -data-dir /d -ack written -writer io_uring -rate 1000000000 -stats-interval 0"
	if got != want || !all[1].optional || all[0].optional {
		t.Errorf("io_uring system: args %q, optional %v; want %q, optional", got, all[1].optional, want)
	}
	withVM := o.systemList("vm", "file")
	twin := withVM[len(withVM)-1]
	if twin.name != "metricstream/written/file (line)" || twin.script != "line.lua" || twin.target != "/write?precision=ms" {
		t.Errorf("line-protocol twin = %+v", twin)
	}
}

func TestTailWriter(t *testing.T) {
	w := &tailWriter{max: 8}
	for _, s := range []string{"abc", "defgh", "ijklmnopq", "r"} {
		if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if got := w.String(); got != "klmnopqr" {
		t.Errorf("tail = %q; want %q", got, "klmnopqr")
	}
}

func TestPlural(t *testing.T) {
	for n, want := range map[int]string{1: "1 round", 2: "2 rounds", 0: "0 rounds"} {
		if got := plural(n, "round"); got != want {
			t.Errorf("plural(%d) = %q; want %q", n, got, want)
		}
	}
}

package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRunRejectsBadFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-format", "xml"}, "unknown format"},
		{[]string{"-d", "0"}, "-d 0 needs -n"},
		{[]string{"-c", "0"}, "must be positive"},
		{[]string{"-url", "https://127.0.0.1/metrics", "-n", "1"}, "only http://"},
		{[]string{"-rate", "-5", "-n", "1"}, "rate must be"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"-nosuchflag"}, "flag provided but not defined"},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		if got := run(c.args, &stdout, &stderr); got != 2 {
			t.Errorf("run(%q) = %d; want 2 (stderr %q)", c.args, got, stderr.String())
		}
		if !strings.Contains(stderr.String(), c.want) {
			t.Errorf("run(%q) stderr %q; want it to mention %q", c.args, stderr.String(), c.want)
		}
		if stdout.Len() != 0 {
			t.Errorf("run(%q) wrote %q to stdout; want nothing", c.args, stdout.String())
		}
	}
}

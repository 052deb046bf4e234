package loadtest

import (
	"errors"
	"os"
	"testing"
)

func TestParseProcStatus(t *testing.T) {
	const status = "Name:\tmetricstream\nUmask:\t0022\nState:\tS (sleeping)\n" +
		"VmPeak:\t 1268472 kB\nVmSize:\t 1268472 kB\nVmLck:\t       0 kB\n" +
		"VmHWM:\t   36132 kB\nVmRSS:\t   30208 kB\nRssAnon:\t   20480 kB\nThreads:\t7\n"
	cases := []struct {
		name string
		in   string
		want Memory
		err  error
	}{
		{"full", status, Memory{HWM: 36132 << 10, RSS: 30208 << 10}, nil},
		{"zombie", "Name:\tx\nState:\tZ (zombie)\nThreads:\t1\n", Memory{}, ErrProcStatus},
		{"rss only", "VmRSS:\t 1 kB\n", Memory{RSS: 1 << 10}, ErrProcStatus},
		{"bad unit", "VmHWM:\t 1 MB\nVmRSS:\t 1 kB\n", Memory{}, ErrProcStatus},
		{"bad number", "VmHWM:\t x kB\nVmRSS:\t 1 kB\n", Memory{}, ErrProcStatus},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseProcStatus([]byte(c.in))
			if !errors.Is(err, c.err) || (c.err == nil && got != c.want) {
				t.Errorf("got %+v, %v; want %+v, %v", got, err, c.want, c.err)
			}
		})
	}
}

func TestReadMemorySelf(t *testing.T) {
	m, err := ReadMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS <= 0 || m.HWM < m.RSS {
		t.Errorf("got %+v; want 0 < RSS <= HWM", m)
	}
	if _, err := ReadMemory(-1); err == nil {
		t.Error("ReadMemory(-1) succeeded")
	}
}

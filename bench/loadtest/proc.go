package loadtest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Memory is a process's resident memory as the kernel reports it, in bytes.
type Memory struct {
	// HWM is VmHWM: the peak resident set since the process started.
	HWM int64 `json:"hwm_bytes"`
	// RSS is VmRSS: the resident set when it was read.
	RSS int64 `json:"rss_bytes"`
}

// ReadMemory reads VmHWM and VmRSS from /proc/<pid>/status. The process
// must still be running (a zombie has no memory lines).
func ReadMemory(pid int) (Memory, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return Memory{}, fmt.Errorf("loadtest: read process status: %w", err)
	}
	return ParseProcStatus(data)
}

// ParseProcStatus extracts VmHWM and VmRSS from the text of a
// /proc/<pid>/status file ("VmRSS:\t   12345 kB").
func ParseProcStatus(data []byte) (Memory, error) {
	var m Memory
	var haveHWM, haveRSS bool
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmHWM" && key != "VmRSS") {
			continue
		}
		fields := strings.Fields(val)
		if len(fields) != 2 || fields[1] != "kB" {
			return m, fmt.Errorf("%w: %s line %q", ErrProcStatus, key, val)
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || kb < 0 {
			return m, fmt.Errorf("%w: %s line %q", ErrProcStatus, key, val)
		}
		if key == "VmHWM" {
			m.HWM, haveHWM = kb<<10, true
		} else {
			m.RSS, haveRSS = kb<<10, true
		}
	}
	if err := sc.Err(); err != nil {
		return m, fmt.Errorf("loadtest: read process status: %w", err)
	}
	if !haveHWM || !haveRSS {
		return m, ErrProcStatus
	}
	return m, nil
}

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cpuByProcess sums user+system CPU ticks by command name over this
// process and its descendants (the servers and workers it started), so a
// phase's cost can be split between Temporal, PostgreSQL and Herald. Other
// processes of the same names on the machine (another test's servers) are
// not counted.
func cpuByProcess() map[string]int64 {
	type proc struct {
		ppid  int
		name  string
		ticks int64
	}
	procs := map[int]proc{}
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open || close+2 > len(s) {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(s[:open]))
		if err != nil {
			continue
		}
		fields := strings.Fields(s[close+2:])
		if len(fields) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		utime, _ := strconv.ParseInt(fields[11], 10, 64)
		stime, _ := strconv.ParseInt(fields[12], 10, 64)
		procs[pid] = proc{ppid: ppid, name: s[open+1 : close], ticks: utime + stime}
	}
	self := os.Getpid()
	mine := map[int]bool{}
	var ours func(pid int) bool
	ours = func(pid int) bool {
		if pid == self {
			return true
		}
		if v, seen := mine[pid]; seen {
			return v
		}
		mine[pid] = false // a cycle cannot happen, but a reused pid could mislead
		p, ok := procs[pid]
		v := ok && p.ppid > 0 && ours(p.ppid)
		mine[pid] = v
		return v
	}
	out := map[string]int64{}
	for pid, p := range procs {
		if ours(pid) {
			out[p.name] += p.ticks
		}
	}
	return out
}

// cpuDelta is the CPU milliseconds each of the named processes spent between two readings.
func cpuDelta(before, after map[string]int64, names ...string) map[string]float64 {
	const tickMS = 10 // USER_HZ is 100 on Linux
	d := map[string]float64{}
	for _, n := range names {
		d[n] = float64(after[n]-before[n]) * tickMS
	}
	return d
}

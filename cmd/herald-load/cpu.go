package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cpuByProcess sums user+system CPU ticks of every process by command name,
// so a phase's cost can be split between Temporal, PostgreSQL and Herald.
func cpuByProcess() map[string]int64 {
	out := map[string]int64{}
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open {
			continue
		}
		name := s[open+1 : close]
		fields := strings.Fields(s[close+2:])
		if len(fields) < 13 {
			continue
		}
		utime, _ := strconv.ParseInt(fields[11], 10, 64)
		stime, _ := strconv.ParseInt(fields[12], 10, 64)
		out[name] += utime + stime
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

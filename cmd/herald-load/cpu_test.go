package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The CPU readings count this process and what it started, never another
// process on the machine with a server's name.
func TestCPUByProcessCountsOnlyOurOwn(t *testing.T) {
	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		t.Skip("no sleep binary:", err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	got := cpuByProcess()
	if _, ok := got["sleep"]; !ok {
		t.Errorf("the child we started is not counted: %v", got)
	}
	if _, ok := got[selfName()]; !ok {
		t.Errorf("this process is not counted: %v", got)
	}
	if os.Getpid() != 1 {
		b, err := os.ReadFile("/proc/1/comm")
		if err != nil {
			t.Skip(err)
		}
		if init := strings.TrimSpace(string(b)); init != selfName() && init != "sleep" {
			if _, ok := got[init]; ok {
				t.Errorf("pid 1 (%s), not ours, is counted: %v", init, got)
			}
		}
	}
}

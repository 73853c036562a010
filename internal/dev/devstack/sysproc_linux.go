package devstack

import "syscall"

// sysProcAttr puts the server in its own process group, so a Ctrl-C in the
// terminal reaches only herald and herald decides the shutdown order, and
// asks the kernel to signal the server if herald dies without calling Stop
// (a crashed or timed-out test binary would otherwise leak servers).
func sysProcAttr(cred *syscall.Credential, parentDeath syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Setpgid:    true,
		Credential: cred,
		Pdeathsig:  parentDeath,
	}
}

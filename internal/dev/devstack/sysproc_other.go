//go:build !linux

package devstack

import "syscall"

// sysProcAttr puts the server in its own process group, so a Ctrl-C in the
// terminal reaches only herald and herald decides the shutdown order. There is
// no portable parent-death signal outside Linux, so parentDeath is ignored.
func sysProcAttr(cred *syscall.Credential, parentDeath syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Setpgid:    true,
		Credential: cred,
	}
}

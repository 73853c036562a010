// Package devstack starts the real local servers Herald depends on
// (PostgreSQL and the Temporal dev server) as child processes.
//
// It is shared by the `herald dev` command and the integration-test harness so
// that both exercise exactly the same server setup. Servers run until their
// Stop method is called; the context passed to a Start function only bounds
// start-up.
//
// Each server runs in its own process group, so a Ctrl-C in the terminal is
// not delivered to it directly: the caller is expected to catch the signal
// and call Stop, in whatever order its own shutdown needs. On Linux the
// servers are also signalled if the calling process dies without calling
// Stop, so crashed test binaries do not leak them.
package devstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// FreePort returns a TCP port on 127.0.0.1 that is currently free.
//
// Nothing stops another process from taking the port before the caller binds
// it, so callers that pick a port this way should be prepared to retry.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port

	// Linux hands out ephemeral ports randomly, so a port we just released can
	// be handed straight to the next caller (e.g. the Temporal dev server
	// picking ports for its internal services). Leaving a server-side closed
	// connection in TIME_WAIT keeps the kernel from reallocating the port for
	// bind(:0) for a while, while explicit binds with SO_REUSEADDR (which both
	// Go and PostgreSQL set) still succeed. macOS allocates sequentially and
	// does not need this.
	if runtime.GOOS != "darwin" {
		c, err := net.DialTCP("tcp", nil, l.Addr().(*net.TCPAddr))
		if err != nil {
			return port, nil
		}
		defer func() { _ = c.Close() }()
		if s, err := l.Accept(); err == nil {
			s.Close()
		}
	}
	return port, nil
}

// tailBuffer keeps the last bytes written to it so that a failed start can
// report what the server said without keeping its whole log in memory.
type tailBuffer struct {
	mu        sync.Mutex
	buf       []byte
	max       int
	truncated bool
}

func newTailBuffer(max int) *tailBuffer {
	return &tailBuffer{max: max}
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.truncated = true
	}
	return len(p), nil
}

// String returns the retained output, starting at a line boundary if older
// output was dropped.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	if t.truncated {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return strings.TrimSpace(string(b))
}

// withTail appends the captured server output to err, which is usually the
// only useful clue when a server fails to start.
func withTail(err error, tail *tailBuffer) error {
	out := tail.String()
	if out == "" {
		return err
	}
	return fmt.Errorf("%w\n--- server output (tail) ---\n%s", err, out)
}

// process is a started server with its exit status collected in the
// background, so start-up can notice an early exit while polling for
// readiness.
type process struct {
	name string
	cmd  *exec.Cmd
	tail *tailBuffer
	done chan struct{}
	err  error // exit status; valid once done is closed

	stopOnce sync.Once
	stopErr  error
}

// startProcess starts cmd with its output sent to log and to a tail buffer.
func startProcess(name string, cmd *exec.Cmd, log io.Writer) (*process, error) {
	p := &process{
		name: name,
		cmd:  cmd,
		tail: newTailBuffer(16 << 10),
		done: make(chan struct{}),
	}
	w := io.MultiWriter(log, p.tail)
	cmd.Stdout = w
	cmd.Stderr = w
	// Grandchildren that inherit the output pipe must not be able to block
	// Wait forever once the server itself has exited.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exitedEarly reports the exit of a server that should still be running.
func (p *process) exitedEarly() error {
	err := p.err
	if err == nil {
		err = errors.New("exit status 0")
	}
	return withTail(fmt.Errorf("%s exited during start-up: %w", p.name, err), p.tail)
}

// stop sends sig (to the whole process group if group is set), escalates to
// force after grace, and waits for the process to exit. It is idempotent.
func (p *process) stop(sig syscall.Signal, grace time.Duration, force syscall.Signal, group bool) error {
	p.stopOnce.Do(func() {
		p.stopErr = p.doStop(sig, grace, force, group)
	})
	return p.stopErr
}

func (p *process) doStop(sig syscall.Signal, grace time.Duration, force syscall.Signal, group bool) error {
	select {
	case <-p.done:
		if p.err == nil {
			return fmt.Errorf("%s had already exited", p.name)
		}
		return withTail(fmt.Errorf("%s had already exited: %w", p.name, p.err), p.tail)
	default:
	}

	pid := p.cmd.Process.Pid
	if group {
		pid = -pid
	}
	// ESRCH only means it exited between the check above and now; Wait
	// below reports how.
	if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signalling %s: %w", p.name, err)
	}

	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
		if exitedBy(p.err, sig) {
			return nil
		}
		if p.err != nil {
			return withTail(fmt.Errorf("%s: %w", p.name, p.err), p.tail)
		}
		return nil
	case <-timer.C:
	}

	_ = syscall.Kill(pid, force)
	<-p.done
	return withTail(fmt.Errorf("%s did not exit within %s of %v; sent %v", p.name, grace, sig, force), p.tail)
}

// exitedBy reports whether err is a death by exactly sig, which is the
// expected outcome of asking a server without a handler for sig to stop.
func exitedBy(err error, sig syscall.Signal) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

// sleepCtx waits for d or until ctx is done, whichever is first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// isAddrInUse reports whether a server's output says it could not bind its
// port, which with auto-picked ports means we lost a race and may retry.
func isAddrInUse(tail *tailBuffer) bool {
	return strings.Contains(strings.ToLower(tail.String()), "address already in use")
}
